"""The real Chromium the browser tests drive (Playwright's sync API, Debian's chromium), and
the helpers every browser test uses.

Registered from ``conftest.py``; a test asks for the ``browser`` fixture (one Chromium per
test module: launching one costs about a second), opens its own context per size, signs a
person of the cast (``conftest.py``) in with ``sign_in``, and saves its screenshots with
``shoot`` under ``SHOTS`` for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
# The two sizes the pages are checked and photographed at: a laptop and a phone.
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
ROOT = Path(__file__).resolve().parent.parent
# axe-core from npm (package.json); `make install` copies it next to htmx.
AXE_SCRIPTS = [
    ROOT / "socialdesk" / "web" / "static" / "vendor" / "axe.min.js",
    ROOT / "node_modules" / "axe-core" / "axe.min.js",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One Chromium for the whole test module; each test opens its own contexts (cookies and
    storage are per context, so tests stay independent)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
            "(scripts/ensure-services.sh does this for `make test`)."
        )
    # Playwright's sync API runs an event loop in this thread; Django then sees an "async
    # context" and refuses ORM calls from the test body. The live server runs in its own
    # thread. Set for this module's tests only (a module fixture cannot use monkeypatch).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def shoot(page, name: str) -> None:
    """Save a full-page screenshot as ``artifacts/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(
    page,
    base: str,
    email: str,
    *,
    password: str = PASSWORD,
    lands_on: str | None = "/w/crumb/",
) -> None:
    """Sign in through the login form as a person would, and wait for the page it leads to:
    ``lands_on`` (a path, or a glob such as ``/w/crumb/**``), or any page but the login form
    when None."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if lands_on is None:
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
    else:
        page.wait_for_url(f"{base}{lands_on}")


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the page as it is now; its violations of the given impacts, each as
    ``{"id", "impact", "help", "targets"}`` (CSS selectors of the offending elements).

    Use it as ``assert axe_violations(page) == []`` so a failure prints what to fix.
    """
    script = next((path for path in AXE_SCRIPTS if path.exists()), None)
    if script is None:
        pytest.fail("axe-core is missing: run `make install` (npm install copies it).")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: an inline <script> tag (add_script_tag)
        # is refused by the pages' Content-Security-Policy, as it should be.
        page.evaluate(script.read_text(encoding="utf-8"))
    results = page.evaluate("async () => await window.axe.run(document)")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in results["violations"]
        if violation["impact"] in impacts
    ]

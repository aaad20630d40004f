"""The real Chromium the browser tests drive (Playwright's sync API, Debian's chromium).

Registered from ``conftest.py``; a test asks for the ``browser`` fixture and saves its
screenshots under ``SHOTS`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
ROOT = Path(__file__).resolve().parent.parent
# axe-core from npm (package.json); `make install` copies it next to htmx.
AXE_SCRIPTS = [
    ROOT / "socialdesk" / "web" / "static" / "vendor" / "axe.min.js",
    ROOT / "node_modules" / "axe-core" / "axe.min.js",
]


@pytest.fixture
def browser(monkeypatch) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
            "(scripts/ensure-services.sh does this for `make test`)."
        )
    # Playwright's sync API runs an event loop in this thread; Django then sees an "async
    # context" and refuses ORM calls from the test body. The live server runs in its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the page as it is now; its violations of the given impacts, each as
    ``{"id", "impact", "help", "targets"}`` (CSS selectors of the offending elements).

    Use it as ``assert axe_violations(page) == []`` so a failure prints what to fix.
    """
    script = next((path for path in AXE_SCRIPTS if path.exists()), None)
    if script is None:
        pytest.fail("axe-core is missing: run `make install` (npm install copies it).")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=script.read_text(encoding="utf-8"))
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

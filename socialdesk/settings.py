"""All of Socialdesk's settings, read from environment variables.

The embedded default needs no variable at all: a data folder (``SOCIALDESK_DATA_DIR``,
default ``./data``) holds the SQLite database, uploaded media, and a secret key and an
encryption key generated on first run. Production sets ``DATABASE_URL``, ``SECRET_KEY``
(or ``SECRET_KEY_FILE``) and ``ENCRYPTION_KEYS``; a production database with a generated
secret is refused, because a secret that lives next to the data protects nothing.

Every helper below fails loudly with the variable's name and what a valid value looks like.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import dj_database_url
import dj_email_url
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true/false, 1/0, yes/no.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_fetch_allow(name: str) -> list[str]:
    """Hosts and networks the guarded fetch may reach inside this server's network.

    Comma-separated; each is checked here so that a typo stops the start, not a webhook.
    """
    from socialdesk.guarded_fetch import parse_allow_entry

    entries = env_list(name, [])
    for entry in entries:
        try:
            parse_allow_entry(entry)
        except ValueError as error:
            raise ImproperlyConfigured(f"{name}: {error}") from None
    return entries


def secret_from_env_or_file(name: str) -> str | None:
    """``NAME`` wins; else ``NAME_FILE`` names a file holding it (Docker/systemd secrets)."""
    if value := os.environ.get(name):
        return value
    if path := os.environ.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return None


# Key files this very process generated: `socialdesk restore` may replace those (and only
# those) with the keys from a backup, since they protect nothing yet.
GENERATED_KEY_FILES: list[Path] = []


def generated_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a secret from the data folder, creating it (mode 600) on first run."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        GENERATED_KEY_FILES.append(path)
    return path.read_text().strip()


DATA_DIR = Path(env_str("SOCIALDESK_DATA_DIR", str(Path.cwd() / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
EMBEDDED = DATABASE_URL == "" or DATABASE_URL.startswith("sqlite")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a valid database URL ({exc}); "
            "use sqlite:////path/to/db.sqlite3 or postgres://user@host:5432/name."
        ) from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "socialdesk.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers run beside a
    # writer, IMMEDIATE takes the write lock at BEGIN (so a transaction never fails halfway
    # when it upgrades from read to write), and the timeout waits for the lock instead of
    # raising "database is locked".
    # Connections are kept between requests and tasks: opening one runs the pragmas below and
    # registers Django's SQL functions, which cost the worker more than a delivery's queries.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests run on a file too, not Django's default shared-cache memory database: there a
    # second thread's write fails at once ("table is locked") where the product's file waits
    # for its turn, so threaded tests (live server, racing workers) would test another thing.
    # A name of its own per run, outside the data folder: a -wal file left by an earlier run
    # must never meet a new database of the same name (tests/conftest.py removes them).
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"socialdesk-test-{os.getpid()}.sqlite3")
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PostgreSQL only: the planner's price of a random page read, set on each new connection
# (socialdesk/database.py). 1.1 suits SSDs and a database that fits in memory (the server's
# default, 4, made the calendar read whole tables); empty keeps the server's own value.
PG_RANDOM_PAGE_COST = env_str("SOCIALDESK_PG_RANDOM_PAGE_COST", "1.1").strip()
if PG_RANDOM_PAGE_COST:
    try:
        if not 0 < float(PG_RANDOM_PAGE_COST) < 1000:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            f"SOCIALDESK_PG_RANDOM_PAGE_COST={PG_RANDOM_PAGE_COST!r} is not a positive number "
            "(1.1 for SSDs; leave it empty to keep the server's setting)."
        ) from None

# --- Secrets --------------------------------------------------------------------------------
_secret = secret_from_env_or_file("SECRET_KEY")
if _secret is None:
    if not EMBEDDED and not DEBUG and not env_bool("SOCIALDESK_ALLOW_GENERATED_SECRET", False):
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DATABASE_URL points at a "
            "production database; generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'"
        )
    _secret = generated_secret(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50))
SECRET_KEY = _secret

# Fernet keys for credentials at rest, newest first; older keys still decrypt (rotation).
_keys = env_list("ENCRYPTION_KEYS", [])
if not _keys:
    _keys = [generated_secret(DATA_DIR / "encryption_key", lambda: Fernet.generate_key().decode())]
for _key in _keys:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS holds a key that is not a Fernet key (32 url-safe base64 bytes); "
            "generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from None
ENCRYPTION_KEYS = _keys

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Set by the operator: links in emails use SITE_URL. Unset: they use the address the person
# who asked is using (``workspaces.services.site_address``), so they match the real port.
SITE_URL_EXPLICIT = bool(os.environ.get("SITE_URL", "").strip())

# --- Email ----------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL", "console:")
try:
    vars().update(dj_email_url.parse(EMAIL_URL))
except Exception as exc:
    raise ImproperlyConfigured(
        f"EMAIL_URL={EMAIL_URL!r} is not understood ({exc}); "
        "use console: or smtp://user:password@host:587/?tls=True"
    ) from None
# True when emails are only printed in the server's log (the embedded default).
EMAIL_TO_CONSOLE = EMAIL_URL.startswith("console:")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Socialdesk <socialdesk@localhost>")

# --- Django ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    # The API docs page (Swagger UI) then loads its scripts from our static files, not a CDN
    # with an inline script, so it runs under the Content-Security-Policy.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    # Two-factor sign-in: authenticator apps (TOTP) and recovery codes (static tokens).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "socialdesk.workspaces",
    "socialdesk.networks",
    "socialdesk.content",
    "socialdesk.publishing",
    "socialdesk.page",
    "socialdesk.notifications",
    "socialdesk.workflow",
    "socialdesk.review",
    "socialdesk.inbox",
    "socialdesk.analytics",
    "socialdesk.listening",
    "socialdesk.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Short links (/l/<code>) are answered here, before every middleware a redirect does not
    # need (sessions, CSRF, users, two-factor): a click must cost ≤ 5 ms (analytics.clicks).
    "socialdesk.analytics.clicks.ShortLinkMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After htmx (it answers htmx requests with HX-Redirect) and OTP (it reads is_verified).
    "socialdesk.workspaces.two_factor.RequireTwoFactorMiddleware",
    # Last, so the page it answers with has the signed-in person's navigation.
    "socialdesk.web.middleware.RefuseNulMiddleware",
]

ROOT_URLCONF = "socialdesk.urls"
WSGI_APPLICATION = "socialdesk.wsgi.application"
AUTH_USER_MODEL = "workspaces.User"
# Django's ModelBackend, which can also take the user a workspace page's membership query read
# (socialdesk/workspaces/backends.py). Sessions signed in under the old name sign in again once.
AUTHENTICATION_BACKENDS = ["socialdesk.workspaces.backends.MemberBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The name authenticator apps show next to a Socialdesk code.
OTP_TOTP_ISSUER = "Socialdesk"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "socialdesk.web.context_processors.workspace",
                "csp.context_processors.nonce",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed but not hashed: pages render even where collectstatic has not run (tests);
    # `socialdesk run` collects and compresses before it serves.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Whitenoise serves collected files; when they have not been collected (tests, a fresh
# checkout), it falls back to the app folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True

# --- Security headers -----------------------------------------------------------------------
# Served over https (SITE_URL says so): cookies only over https, and browsers told to use
# nothing else for a year (HSTS). SECURE_COOKIES=true still forces the cookies alone, e.g.
# behind a proxy that terminates TLS for an http SITE_URL during a move.
SITE_IS_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", SITE_IS_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SITE_IS_HTTPS else 0
if SITE_IS_HTTPS:
    # An https SITE_URL means a TLS proxy in front (README, Production): its
    # X-Forwarded-Proto tells Django the request came over https, which HSTS needs.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No page is meant to be embedded in another site (not the public page, not a review link),
# so every response refuses framing: frame-ancestors for today's browsers, X-Frame-Options
# for old ones.
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp). Scripts come only from our own static files: no page
# has an inline script or event handler, and htmx runs without eval (base.html's
# htmx-config). Styles have no 'unsafe-inline' either: templates hold no style attribute
# (bars and colour dots are SVG attributes), the one runtime <style> (FullCalendar's) takes
# the request's nonce from <meta name="csp-nonce">, and the public page's accent colour is
# allowed by its hash (page.views). No form-action: connecting Mastodon posts a form that
# redirects to the person's instance, which form-action 'self' would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        # data: for the stylesheet's small icons; blob: for the composer's preview of a file
        # chosen but not uploaded yet.
        "img-src": [SELF, "data:", "blob:"],
        # data: for FullCalendar's icon font (its arrows), which its stylesheet inlines.
        "font-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Powerful browser features no page uses, refused for every page and anything it embeds.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Background work ------------------------------------------------------------------------
# SOCIALDESK_TASKS_BACKEND picks the queue: "database" (default: django-tasks-db, the
# embedded mode, nothing else to run) or "redis" (django-tasks-rq on REDIS_URL, for many
# workers). TASKS_BACKEND (a dotted backend path) still overrides both, e.g. for a test backend.
TASKS_BACKEND_NAME = env_str("SOCIALDESK_TASKS_BACKEND", "database").strip().lower()
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
_task_backends = {
    "database": "django_tasks_db.DatabaseBackend",
    "redis": "django_tasks_rq.RQBackend",
}
if TASKS_BACKEND_NAME not in _task_backends:
    raise ImproperlyConfigured(
        f"SOCIALDESK_TASKS_BACKEND={TASKS_BACKEND_NAME!r} is not a task backend: use "
        "database (the default) or redis (with REDIS_URL)."
    )
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", _task_backends[TASKS_BACKEND_NAME])}}
if TASKS_BACKEND_NAME == "redis":
    INSTALLED_APPS.append("django_rq")
    # django-rq's queue settings; the worker runs rq's scheduler for ``run_after``.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
# The worker's dispatcher claims due deliveries in batches straight from the deliveries table
# and keeps ``PUBLISHING_SEND_THREADS`` network calls in flight per process
# (publishing.dispatcher); off, each delivery goes through a task of its own (the older path,
# which the engine's unit tests drive one step at a time).
PUBLISHING_DISPATCHER = env_bool("SOCIALDESK_DISPATCHER", True)
PUBLISHING_SEND_THREADS = env_int("SOCIALDESK_SEND_THREADS", 8)
# A worker that has not written its heartbeat for this long counts as stopped.
WORKER_HEARTBEAT_STALE_SECONDS = env_int("WORKER_HEARTBEAT_STALE_SECONDS", 30)
# A post published this long after its time is late: its author and the leads are told, and
# /health says "degraded" while the oldest due post is this late (publishing.lateness).
PUBLISHING_LATE_SECONDS = env_int("PUBLISHING_LATE_SECONDS", 300)

# --- Fetching addresses users give (socialdesk.guarded_fetch) ------------------------------
# Internal hosts or networks a webhook (and later feeds, link cards …) may reach, e.g.
# "hooks.internal,10.1.2.0/24,127.0.0.1:8080". Empty: only public addresses.
SOCIALDESK_FETCH_ALLOW = env_fetch_allow("SOCIALDESK_FETCH_ALLOW")

# --- Uploads --------------------------------------------------------------------------------
MEDIA_MAX_BYTES = env_int("MEDIA_MAX_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Networks that connect through the operator's own app (issue 16) -----------------------
# Each network's client id and secret come from the environment: ``INSTAGRAM_CLIENT_ID`` and
# ``INSTAGRAM_CLIENT_SECRET`` (or ``INSTAGRAM_CLIENT_SECRET_FILE``), and so on with the
# prefixes ``networks.catalog`` lists. A network without them says "ask your administrator".
OAUTH_NETWORK_PREFIXES = (
    "INSTAGRAM",
    "FACEBOOK",
    "GOOGLE_BUSINESS",
    "LINKEDIN",
    "TIKTOK",
    "YOUTUBE",
    "PINTEREST",
    "THREADS",
    "X",
)
NETWORK_APPS: dict[str, dict[str, str]] = {
    prefix.lower(): {
        "client_id": os.environ.get(f"{prefix}_CLIENT_ID", "").strip(),
        "client_secret": (secret_from_env_or_file(f"{prefix}_CLIENT_SECRET") or "").strip(),
    }
    for prefix in OAUTH_NETWORK_PREFIXES
    if os.environ.get(f"{prefix}_CLIENT_ID", "").strip()
}
# Where networks that take media only by address (Instagram, Threads, Google Business Profile)
# fetch Socialdesk's media files: a CDN or the web server in front of the media folder; empty:
# SITE_URL + MEDIA_URL (networks.http.public_media_url).
MEDIA_PUBLIC_URL = env_str("MEDIA_PUBLIC_URL", "").strip().rstrip("/")
# Network → another server answering the network's own paths (``networks.http.endpoint``): a
# network's sandbox, or the recorded exchanges in the tests. Empty in production.
NETWORK_URL_OVERRIDES: dict[str, str] = {}

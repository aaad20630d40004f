#!/usr/bin/env bash
# Start the real services the test suite uses when they are not running, or say how to.
set -uo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is not running on 127.0.0.1:5432; starting it…"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start 2>&1 || true
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL could not be started. Start it with:" >&2
    echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
    exit 1
  fi
fi

# Redis carries the tasks in CI's third pass (SOCIALDESK_TASKS_BACKEND=redis).
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is not running on 127.0.0.1:6379; starting it…"
  if ! command -v redis-server >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) || true
  fi
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "Redis could not be started. Install and start it with:" >&2
    echo "  apt-get install -y redis-server && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''" >&2
    exit 1
  fi
fi

# Screenshots should show posts' emoji as a person sees them, not as empty boxes.
if ! fc-list 2>/dev/null | grep -qi "color emoji"; then
  (apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1 ||
    (apt-get update -qq && apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1)) ||
    echo "Note: no colour emoji font (apt-get install fonts-noto-color-emoji); screenshots show boxes."
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is missing; installing Debian's chromium for the browser tests…"
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || {
    echo "Could not install Chromium. Install it with: apt-get install -y chromium" >&2
    exit 1
  }
fi

# pdftoppm and pdftotext (poppler-utils): the report tests turn the PDF back into pages to look
# at; WeasyPrint draws the PDF with Pango and the DejaVu fonts.
if ! command -v pdftoppm >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "DejaVu Sans"; then
  echo "poppler-utils or fonts-dejavu-core is missing; installing them for the report tests…"
  (apt-get update -qq && apt-get install -y -qq poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) || {
    echo "Could not install them. Install them with: apt-get install -y poppler-utils fonts-dejavu-core" >&2
    exit 1
  }
fi

# pg_dump and pg_restore: `socialdesk backup`/`restore` on PostgreSQL and their tests.
if ! command -v pg_dump >/dev/null 2>&1 || ! command -v pg_restore >/dev/null 2>&1; then
  echo "pg_dump/pg_restore are missing; installing Debian's postgresql-client for the backup tests…"
  (apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null) || {
    echo "Could not install them. Install them with: apt-get install -y postgresql-client" >&2
    exit 1
  }
fi

# The local Bluesky network the connector tests run against: built once (~2-3 minutes) into a
# cache folder outside the clone, instant afterwards.
bash "$(dirname "$0")/../peers/bluesky/install.sh" >/dev/null || {
  echo "Could not build the local Bluesky network. Try: bash peers/bluesky/install.sh" >&2
  exit 1
}

# The Matrix (Synapse), Nostr (nostr-relay) and WordPress servers the connector tests run
# against: each Python server in a venv of its own in the same cache (its dependencies never
# enter the product's venv), WordPress, PHP and MariaDB from Debian. Once; instant afterwards.
bash "$(dirname "$0")/../peers/open/install.sh" >/dev/null || {
  echo "Could not install the Matrix, Nostr and WordPress test servers. Try: bash peers/open/install.sh" >&2
  exit 1
}

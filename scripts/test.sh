#!/usr/bin/env bash
# `make test`: lint, types, migrations check, then the whole suite on SQLite, the suite again
# on PostgreSQL without the tests whose outcome does not depend on the database (browser
# tests: they drive pages, the database under them is the SQLite pass's), then the publishing
# tests with the Redis task backend. The output ends with one summary line per run and the
# minutes the whole took.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
finish() {  # always the last line, also when a step stops the run early
  awk -v seconds=$(( $(date +%s) - started )) 'BEGIN { printf "make test: %.1f minutes\n", seconds / 60 }'
}
trap finish EXIT
export SOCIALDESK_DATA_DIR="${SOCIALDESK_DATA_DIR:-$(mktemp -d /tmp/socialdesk-test.XXXXXX)}"
mkdir -p artifacts

step() { echo; echo "== $*"; }

step "ruff"
ruff check . && ruff format --check . || exit 1
step "mypy"
mypy socialdesk || exit 1
step "migrations are up to date"
socialdesk makemigrations --check --dry-run || exit 1
step "services"
bash scripts/ensure-services.sh || exit 1

summary() {  # database, junit file -> "database: N passed, N failed"
  python - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
name, path = sys.argv[1], sys.argv[2]
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError):
    print(f"{name}: 0 passed, 1 failed")
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
line = f"{name}: {tests - bad - skipped} passed, {bad} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
PY
}

status=0
step "pytest on SQLite"
DATABASE_URL="" pytest --junitxml=artifacts/junit-sqlite.xml "$@" || status=1
step "pytest on PostgreSQL"
# PG_TEST_URL chooses another database (pytest-django uses "test_" + its name).
# Left out here (deselected, not skipped): the tests marked `browser` or `any_database`,
# which run in the SQLite pass (their outcome does not depend on the database). Schemathesis stays: PostgreSQL refuses what SQLite stores (NUL characters, ids
# past 64 bits; see socialdesk/api_support.py). The chaos test stays: exactly-once under
# killed workers rests on the database's row locks, which differ between the two.
DATABASE_URL="${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/socialdesk}" SECRET_KEY=test-only-secret \
  pytest --junitxml=artifacts/junit-postgresql.xml -m "not browser and not any_database" "$@" || status=1

# The publishing engine once more with its tasks on Redis (django-tasks-rq), on SQLite, in a
# Redis database of its own that the tests empty (REDIS_TEST_URL to choose another).
step "publishing tests with the Redis task backend"
SOCIALDESK_TASKS_BACKEND=redis REDIS_URL="${REDIS_TEST_URL:-redis://127.0.0.1:6379/15}" \
  DATABASE_URL="" pytest --junitxml=artifacts/junit-redis.xml \
  tests/test_tasks_redis.py tests/test_dispatch.py tests/test_scheduling.py \
  tests/test_pacing.py tests/test_cli_worker.py tests/test_chaos.py || status=1

echo
summary sqlite artifacts/junit-sqlite.xml
summary postgresql artifacts/junit-postgresql.xml
summary redis artifacts/junit-redis.xml
exit $status

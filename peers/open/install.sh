#!/usr/bin/env bash
# Install the Matrix, Nostr and WordPress servers the connector tests run against, once, into a
# cache folder outside the clone (each Python server in a venv of its own, so its dependencies
# never enter the product's venv), plus Debian's WordPress, PHP and MariaDB. Idempotent: what is
# already there is left alone.
#
# Needs PyPI and Debian's packages only. Prints one line per server: NAME=FOLDER.
# Usage: bash peers/open/install.sh [matrix|nostr|wordpress ...]   (default: all three)
set -euo pipefail

SYNAPSE_VERSION="1.163.2"
NOSTR_RELAY_VERSION="1.14"
CACHE="${SOCIALDESK_PEERS_CACHE:-$HOME/.cache/socialdesk/peers}"
PYTHON="${SOCIALDESK_PEERS_PYTHON:-python3}"
mkdir -p "$CACHE"

# A venv of its own for one server package.
venv() {
  local name="$1" dir="$2"
  shift 2
  if [ -f "$dir/.complete" ]; then
    echo "$name=$dir"
    return 0
  fi
  exec 9>"$CACHE/.$name-install.lock"
  flock 9
  if [ ! -f "$dir/.complete" ]; then
    echo "Installing $* into $dir (first time only)…" >&2
    # Built in place (venv scripts name their folder); only the stamp written last makes it
    # count as complete, so an interrupted install is redone.
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir" >&2
    if ! "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" 2>"$CACHE/.$name-pip.log"; then
      # (pip's notes about package folders this machine does not have are left out)
      grep -v "is ignored: it is neither a file nor a directory" "$CACHE/.$name-pip.log" >&2
      exit 1
    fi
    touch "$dir/.complete"
  fi
  exec 9>&-
  echo "$name=$dir"
}

wanted="${*:-matrix nostr wordpress}"
for what in $wanted; do
  case "$what" in
    matrix)
      venv matrix "$CACHE/matrix-synapse-$SYNAPSE_VERSION" "matrix-synapse==$SYNAPSE_VERSION"
      ;;
    nostr)
      venv nostr "$CACHE/nostr-relay-$NOSTR_RELAY_VERSION" "nostr-relay==$NOSTR_RELAY_VERSION"
      ;;
    wordpress)
      missing=""
      for package in wordpress php-cli php-mysql mariadb-server; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
          missing="$missing $package"
      done
      if [ -n "$missing" ]; then
        echo "Installing Debian's$missing…" >&2
        export DEBIAN_FRONTEND=noninteractive
        # The folders must not be started as system services: the tests start their own.
        apt-get install -y -qq --no-install-recommends $missing >&2 ||
          (apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $missing >&2)
      fi
      # Debian's wp-config.php reads /etc/wordpress/config-<name>.php; ours takes everything
      # from the environment the tests start PHP with (peers/wordpress/router.php).
      here="$(cd "$(dirname "$0")/.." && pwd)"
      if ! cmp -s "$here/wordpress/config-socialdesk-test.php" /etc/wordpress/config-socialdesk-test.php; then
        install -m 644 "$here/wordpress/config-socialdesk-test.php" /etc/wordpress/
      fi
      echo "wordpress=/usr/share/wordpress"
      ;;
    *)
      echo "Unknown server: $what (matrix, nostr or wordpress)" >&2
      exit 2
      ;;
  esac
done

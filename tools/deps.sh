#!/bin/sh
# Install the Debian packages moonfeast needs, only when some are missing
# (or the packages named as arguments: `make fuzz` asks for clang's).
# Idempotent; runs apt-get update once, then one apt-get install.
set -e
PKGS="build-essential pkg-config libluajit2-5.1-dev libsqlite3-dev libyaml-dev
libprotobuf-c-dev protobuf-c-compiler libhiredis-dev libmicrohttpd-dev
libjansson-dev libpq-dev libsnappy-dev libzstd-dev liblz4-dev zlib1g-dev redis-server
postgresql sqlite3 curl groff-base"
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO=sudo || {
        echo "deps: missing packages:$missing (run as root or install them)" >&2
        exit 1
    }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"

#!/bin/sh
# Install what the build and the tests need and that is missing: Debian
# packages (with apt-get, as root or through sudo) and the npm packages of
# tests/compat (the original's WebSocket library and client, for the
# compatibility tests).  Does nothing when everything is there.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

# Build: compiler, pkg-config, OpenSSL, libev, msgpack-c, jansson, check.
# Tests: python3-websockets (an independent WebSocket implementation),
# node and npm (the original peers), haproxy and openssl (TLS in front),
# tmux (a terminal emulator whose screen and modes the tests read);
# clang and its run-time (libFuzzer) for the fuzz harnesses.
PKGS="build-essential pkg-config libssl-dev libev-dev libmsgpack-dev
libjansson-dev check python3 python3-websockets openssl haproxy clang tmux
libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps: run as root: apt-get install -y$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq $missing
fi

# npm packages for the compatibility tests, pinned by package-lock.json.
if [ -f "$top/tests/compat/package.json" ] &&
    [ ! -f "$top/tests/compat/node_modules/.medusa-installed" ]; then
	echo "deps: installing npm packages for tests/compat"
	(cd "$top/tests/compat" && npm ci --no-audit --no-fund --loglevel=error \
	    --ignore-scripts)
	touch "$top/tests/compat/node_modules/.medusa-installed"
fi
exit 0

#!/bin/sh
# Install what is needed and missing: Debian packages (with apt-get, as
# root or through sudo) and, for the tests, the npm packages of
# tests/compat (the original's WebSocket library and client).  Does
# nothing when everything is there.
#
#   tools/deps.sh run     what building and running need (make run, make
#                         install, make deb)
#   tools/deps.sh test    that, and what the tests need (make test); the
#                         default
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-test}

# Build and run: compiler, pkg-config, OpenSSL, libev, msgpack-c, jansson,
# hiredis (the session directory's client: Redis's own C library, with a
# libev adapter so the workers never block on it);
# dpkg-dev for make deb (dpkg-shlibdeps, dpkg-gencontrol).
RUN_PKGS="build-essential pkg-config libssl-dev libev-dev libmsgpack-dev
libjansson-dev libhiredis-dev dpkg-dev"
# Tests: check (unit tests), python3-websockets (an independent WebSocket
# implementation), node and npm (the original peers, below), redis-server
# (the session directory of several reflectors), haproxy and
# openssl (TLS in front), tmux (a terminal emulator whose screen and modes
# the tests read), openssh-client (ssh-keygen and ssh-agent make and hold
# the keys the credential tests sign with); clang and its run-time (libFuzzer) for the fuzz
# harnesses; for the install and package tests lintian, mandoc (man pages
# checked), man-db (man -l), systemd (systemd-analyze verify) and adduser
# (the package's postinst); prometheus (/usr/bin/promtool checks /metrics,
# and a real /usr/bin/prometheus scrapes it, test_metrics); redis-server (the
# session directory's tests).
TEST_PKGS="check python3 python3-websockets openssl haproxy redis-server clang
libclang-rt-14-dev lintian mandoc man-db systemd adduser tmux openssh-client
prometheus"

case "$what" in
run)	PKGS=$RUN_PKGS ;;
test)	PKGS="$RUN_PKGS $TEST_PKGS" ;;
*)	echo "usage: tools/deps.sh [run|test]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ "$what" = test ] &&
    { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
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
if [ "$what" = test ] && [ -f "$top/tests/compat/package.json" ] &&
    [ ! -f "$top/tests/compat/node_modules/.medusa-installed" ]; then
	echo "deps: installing npm packages for tests/compat"
	(cd "$top/tests/compat" && npm ci --no-audit --no-fund --loglevel=error \
	    --ignore-scripts)
	touch "$top/tests/compat/node_modules/.medusa-installed"
fi
exit 0

#!/usr/bin/env bash
# What the test suite needs from the system that pip and npm cannot bring: a Redis server (the
# storage and cache suites talk to a real one) and Debian's Chromium (the widget's browser tests;
# no browser is ever downloaded). `make test` runs this first, so a fresh clone needs nothing else.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "the test suite needs these system packages: ${missing[*]}" >&2
    echo "on Debian: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

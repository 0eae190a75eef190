#!/usr/bin/env bash
# Makes sure Debian's Chromium is on the machine for the browser tests (tests/browser): Playwright drives it through
# executable_path and never downloads a browser of its own. Silent when it is already there.
set -euo pipefail
chromium=/usr/bin/chromium
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "browser: $chromium is missing; as root run: apt-get install -y chromium (the browser tests drive Debian's Chromium)" >&2
  exit 1
fi
echo "browser: installing Debian's chromium ..." >&2
if ! { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
  echo "browser: could not install Debian's chromium with apt-get (see above)" >&2
  exit 1
fi
[ -x "$chromium" ] || { echo "browser: apt-get installed chromium but $chromium is still missing" >&2; exit 1; }

#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser tests; install it when we are allowed to.
set -u
browser="${CRM_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no $browser and no apt-get; browser tests will not find a browser." >&2
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "ensure_chromium: $browser is missing; install it with: sudo apt-get install chromium" >&2
  exit 0
fi
echo "ensure_chromium: installing Debian's chromium (once)…"
$SUDO apt-get update -qq >/dev/null && \
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || \
  echo "ensure_chromium: apt-get could not install chromium." >&2
exit 0

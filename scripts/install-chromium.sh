#!/usr/bin/env bash
# Installs Debian's chromium so the chaos report test can open report.html in a
# real headless browser (through playwright-core, which downloads no browser of
# its own). The test launches /usr/bin/chromium and skips with a message when it
# is missing.
#
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or sudo)
# and Debian's package archive.
set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
  say "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install chromium by your system's means so that /usr/bin/chromium exists" >&2
  exit 1
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO='sudo'; else
    say "needs root (or sudo) to run apt-get" >&2
    exit 1
  fi
fi

say "apt-get install chromium (Debian's package; fonts come with it)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
say "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"

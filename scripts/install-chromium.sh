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

. "$(dirname "$0")/lib/apt.sh"
apt_prepare "install chromium by your system's means so that /usr/bin/chromium exists"
# Debian's package; fonts come with it.
apt_install chromium fonts-dejavu-core
say "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"

#!/usr/bin/env bash
# Installs Debian's prometheus package for its `promtool`, which a test uses to
# lint what the API server serves on /metrics (`promtool check metrics`).
#
# Idempotent: does nothing when promtool is already installed. Needs root (or
# sudo) and Debian's package archive. The package's Prometheus service is not
# started: only the promtool binary is wanted.
set -euo pipefail

say() { printf 'install-prometheus: %s\n' "$*"; }

if command -v promtool >/dev/null 2>&1; then
  say "promtool already installed: $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install Prometheus' promtool by your system's means so that \`promtool\` is on the PATH" >&2
  exit 1
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO='sudo'; else
    say "needs root (or sudo) to run apt-get" >&2
    exit 1
  fi
fi

# Keep the package from starting its service: policy-rc.d exit 101 means "action forbidden".
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

say "apt-get update"
$SUDO apt-get update -q >/dev/null
say "apt-get install prometheus (for promtool)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends prometheus >/dev/null

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

if ! command -v promtool >/dev/null 2>&1; then
  say "apt-get finished but no \`promtool\` is on the PATH" >&2
  exit 1
fi
say "installed $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"

#!/usr/bin/env bash
# Installs Debian's prometheus package: `promtool`, which tests use to lint what
# the API server and `up --metrics-port` serve (`promtool check metrics`,
# `check config`), and the `prometheus` binary, which a test runs against
# `up --metrics-port` to see the series move.
#
# Idempotent: does nothing when promtool is already installed. Needs root (or
# sudo) and Debian's package archive. The package's Prometheus service is not
# started: the tests start their own Prometheus on a loopback port.
set -euo pipefail

say() { printf 'install-prometheus: %s\n' "$*"; }

if command -v promtool >/dev/null 2>&1; then
  say "promtool already installed: $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi

. "$(dirname "$0")/lib/apt.sh"
apt_prepare "install Prometheus' promtool by your system's means so that \`promtool\` is on the PATH"
# The package's Prometheus service must not run: tests start their own.
apt_install_without_service prometheus prometheus

if ! command -v promtool >/dev/null 2>&1; then
  say "apt-get finished but no \`promtool\` is on the PATH" >&2
  exit 1
fi
say "installed $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"

#!/usr/bin/env bash
# Installs Debian's etcd (server and etcdctl) so `npx kubethreads bench kv` can
# race kubethreads' store against a real 3-member etcd on loopback.
#
# Idempotent: does nothing when `etcd` is already on the PATH. Needs root (or
# sudo) and Debian's package archive. The package's own service is not started:
# the benchmark starts and kills its own etcd processes, and a stray etcd on
# 2379 would only get in the way.
set -euo pipefail

say() { printf 'install-etcd: %s\n' "$*"; }

if command -v etcd >/dev/null 2>&1; then
  say "etcd already installed: $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
  exit 0
fi

. "$(dirname "$0")/lib/apt.sh"
apt_prepare "install etcd 3.4+ by your system's means so that \`etcd\` is on the PATH"
# The benchmark starts and kills its own etcd processes: the package's service must not run.
apt_install_without_service etcd etcd-server etcd-client

if ! command -v etcd >/dev/null 2>&1; then
  say "apt-get finished but no \`etcd\` is on the PATH" >&2
  exit 1
fi
say "installed $(command -v etcd) ($(etcd --version | head -n 1)) and $(command -v etcdctl || echo 'no etcdctl')"

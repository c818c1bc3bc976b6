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

if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install etcd 3.4+ by your system's means so that \`etcd\` is on the PATH" >&2
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
say "apt-get install etcd-server etcd-client"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends etcd-server etcd-client >/dev/null

# On a machine with systemd the unit may be enabled anyway; the benchmark does not want it running.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
fi

if ! command -v etcd >/dev/null 2>&1; then
  say "apt-get finished but no \`etcd\` is on the PATH" >&2
  exit 1
fi
say "installed $(command -v etcd) ($(etcd --version | head -n 1)) and $(command -v etcdctl || echo 'no etcdctl')"

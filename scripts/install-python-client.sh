#!/usr/bin/env bash
# Installs Debian's python3-kubernetes, the official Python client, so the
# client-matrix test (src/api/http/python-client.test.ts) drives the API server
# with a client nobody here wrote. The test runs /usr/bin/python3, where Debian
# installs the package: a pyenv or venv `python3` earlier on the PATH lacks it.
#
# Idempotent: does nothing when /usr/bin/python3 can already import kubernetes.
# Needs root (or sudo) and Debian's package archive.
set -euo pipefail

say() { printf 'install-python-client: %s\n' "$*"; }
PYTHON=/usr/bin/python3

version() { "$PYTHON" -c 'import kubernetes; print(kubernetes.__version__)' 2>/dev/null; }

if [ -x "$PYTHON" ] && v="$(version)"; then
  say "python3-kubernetes already installed: $PYTHON imports kubernetes $v"
  exit 0
fi

. "$(dirname "$0")/lib/apt.sh"
apt_prepare "install the kubernetes Python package for $PYTHON by your system's means"
apt_install python3-kubernetes

if ! v="$(version)"; then
  say "apt-get finished but $PYTHON cannot import kubernetes" >&2
  exit 1
fi
say "installed: $PYTHON imports kubernetes $v"

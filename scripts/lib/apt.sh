# Shared by the scripts/install-*.sh installers (sourced, not run): Debian's
# apt-get as root or through sudo, and installing packages whose services must
# not start. Each installer defines `say` (its own prefix) before sourcing this.

# Sets SUDO ('' as root, 'sudo' otherwise); exits with a message when apt-get
# is missing (naming what to install instead: $1) or root cannot be had.
apt_prepare() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: $1" >&2
    exit 1
  fi
  SUDO=''
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO='sudo'; else
      say "needs root (or sudo) to run apt-get" >&2
      exit 1
    fi
  fi
}

# apt-get update, then install the packages quietly without recommends.
apt_install() {
  say "apt-get update"
  $SUDO apt-get update -q >/dev/null
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# As apt_install, but no package's service is started meanwhile (policy-rc.d
# exit 101 means "action forbidden"; removed again when the script exits), and
# the systemd unit $1 is disabled after.
apt_install_without_service() {
  local unit="$1"
  shift
  APT_POLICY=/usr/sbin/policy-rc.d
  APT_POLICY_CREATED=0
  if [ ! -e "$APT_POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$APT_POLICY" >/dev/null
    $SUDO chmod +x "$APT_POLICY"
    APT_POLICY_CREATED=1
  fi
  trap 'if [ "$APT_POLICY_CREATED" = 1 ]; then $SUDO rm -f "$APT_POLICY"; fi' EXIT
  apt_install "$@"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
}

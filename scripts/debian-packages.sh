#!/usr/bin/env bash
# Install the Debian packages named as arguments that are missing, as root or through sudo. Without either,
# stop at once and print the one command that installs them, so `make` never half-sets-up a machine.
#   scripts/debian-packages.sh dovecot-imapd chromium ...
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

command -v apt-get >/dev/null || {
  echo "error: XGet's tests need the Debian packages ${missing[*]}, and this machine has no apt-get." >&2
  echo "Install them (or their equivalents) with your package manager, then run make test again." >&2
  exit 1
}
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "error: XGet needs the Debian packages ${missing[*]}; installing them needs root. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "then run make again." >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian's packages"
log=$(mktemp)
if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "error: apt-get could not install ${missing[*]} (its whole output: $log)" >&2
  exit 1
fi
rm -f "$log"

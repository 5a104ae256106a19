#!/usr/bin/env bash
# Installs the system packages the tests and benchmarks use (Debian/Ubuntu):
# a real unbound, dig, named-checkzone, dnsperf, Nix, jq and shellcheck. Safe to run again: it installs only
# what is missing, with one `apt-get update` when something is.
set -euo pipefail

packages=(unbound bind9-dnsutils bind9-utils dnsperf nix-bin jq shellcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian unbound package may start a system unbound on port 53; the tests
# run their own instances on free ports and do not need it.
command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 2; }

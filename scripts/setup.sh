#!/usr/bin/env bash
# Installs the system packages the tests and benchmarks use (Debian/Ubuntu):
# a real unbound, a real Knot DNS (knotd, knotc), dig, named-checkzone,
# dnsperf, Nix, jq and shellcheck. Safe to run again: it installs only
# what is missing, with one `apt-get update` when something is.
set -euo pipefail

packages=(unbound knot bind9-dnsutils bind9-utils dnsperf nix-bin jq shellcheck)
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
# The Debian unbound and knot packages may start system servers on port 53;
# the tests run their own instances on free ports and do not need them.
command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 2; }

#!/usr/bin/env bash
# A clan node, end to end: the machine's DNS set-up as clan-core's real clan
# machinery and nixpkgs' real unbound/resolved/resolvconf modules render it
# (nix/tests/node.nix, paths moved under a temp dir), run for real here:
# unbound-checkconf on the rendered unbound.conf, a real unbound started from
# it, the exact scripts of dm-dns-prepare and dm-dns-install, and dig, for
# three cases: no mesh file, the old service's unsigned file, a signed file.
#
#   nix/tests/node.sh VENDOR_DIR PACKAGE_DIR
set -euo pipefail
vendor=$1
package=$2
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
unbound_pid=
cleanup() {
  [ -z "$unbound_pid" ] || kill "$unbound_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
pass() { printf 'ok   node: %s\n' "$1"; }
fail() {
  printf 'FAIL node: %s\n' "$1" >&2
  [ ! -f "$work/unbound.log" ] || sed 's/^/  unbound: /' "$work/unbound.log" >&2
  exit 1
}

# Debian puts the unbound programs in /usr/sbin; the rendered units call
# ${unbound.package}/bin/unbound-control.
mkdir -p "$work/unbound-package/bin" "$work/unbound"
for program in unbound unbound-control unbound-checkconf; do
  ln -s "$(command -v "$program")" "$work/unbound-package/bin/$program"
done

render() {
  nix-instantiate --read-write-mode --eval --strict --json nix/tests/node.nix \
    --arg vendor "$vendor" --arg packageDir "$package" \
    --argstr unboundDir "$work/unbound-package" --argstr work "$work" -A "$1" | jq -r .
}
render unboundConf >"$work/unbound.conf"
render prepare >"$work/prepare.sh"
render install >"$work/install.sh"
zone_file=$(render zoneFile)
delegate=$(render delegate)
resolved_conf=$(render resolvedConf)
port=$(sed -n 's/^  port: //p' "$work/unbound.conf")

# Routing: resolved sends ~clan, and only it, to the port unbound listens on;
# the user's nameserver stays the global one; resolv.conf is resolved's stub.
[ "$delegate" = $'[Delegate]\nDNS=127.0.0.1:'"$port"$'\nDomains=~clan' ] \
  || fail "dns-delegate does not route ~clan to unbound's port $port: $delegate"
grep -qx 'DNS=192.0.2.53' <<<"$resolved_conf" || fail "resolved.conf lost the user's nameserver: $resolved_conf"
[ "$(render resolvConf)" = /run/systemd/resolve/stub-resolv.conf ] || fail "resolv.conf is not resolved's stub"
[ "$(render resolvconfEnabled)" = false ] || fail "resolvconf would write 127.0.0.1 into resolv.conf"
case $port in 53 | 5353) fail "unbound on port $port" ;; esac
pass "resolved routes only ~clan to 127.0.0.1:$port, the user's nameserver kept"

run_unit() { # script file; prints its stderr, returns its status
  bash "$1" 2>"$work/unit.err"
}
dig_() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"; }
start_unbound() { # from the rendered unbound.conf, as the unbound unit does
  unbound -d -c "$work/unbound.conf" >"$work/unbound.log" 2>&1 &
  unbound_pid=$!
  for _ in $(seq 50); do
    unbound-control -c "$work/unbound.conf" status >/dev/null 2>&1 && return
    sleep 0.1
  done
  fail "unbound did not start"
}

# 1. No mesh file yet: prepare writes this node's own zone, unbound starts.
mkdir -p "$(dirname "$zone_file")" # what the module's tmpfiles rule creates
run_unit "$work/prepare.sh" || fail "prepare without a mesh file: $(cat "$work/unit.err")"
unbound-checkconf "$work/unbound.conf" >/dev/null || fail "unbound-checkconf: $(unbound-checkconf "$work/unbound.conf" 2>&1)"
pass "unbound-checkconf accepts the rendered unbound.conf"
start_unbound
[ "$(dig_ alpha.clan A +short)" = 10.0.0.1 ] || fail "alpha.clan before any mesh file"
dig_ example.org A | grep -q 'status: REFUSED' || fail "unbound answers names outside the clan"
pass "no mesh file: own records answer, other names REFUSED (no loop back to resolved)"

# 2. The old service's unsigned file, and no zone yet (first boot after migrating).
kill "$unbound_pid"; wait "$unbound_pid" 2>/dev/null || true; unbound_pid=
rm -f "$zone_file"
mkdir -p "$work/mesh/dns"
printf 'local-zone: "clan." transparent\nlocal-data: "music.clan. CNAME alpha.clan."' >"$work/mesh/dns/cnames"
if run_unit "$work/prepare.sh"; then fail "prepare accepted an unsigned file"; fi
grep -q 'own records was written' "$work/unit.err" || fail "prepare on the unsigned file: $(cat "$work/unit.err")"
start_unbound
[ "$(dig_ alpha.clan A +short)" = 10.0.0.1 ] || fail "alpha.clan with the unsigned file"
dig_ music.clan A | grep -q 'status: NXDOMAIN' || fail "the unsigned file's CNAME is served"
pass "old unsigned file: refused, yet unbound starts and serves the node's own records"

# 3. A signed file arrives: the install unit's script verifies and reloads.
target/release/dm-dns zone --exports examples/clan-exports.json --domain clan --out "$work/zone" 2>/dev/null
target/release/dm-dns sign --key nix/tests/vm-signing.key --zone "$work/zone" --serial 100 \
  --out "$work/mesh/dns/cnames" 2>/dev/null
run_unit "$work/install.sh" || fail "install of a signed file: $(cat "$work/unit.err")"
answer=$(dig_ music.clan A +noall +answer | awk '{print $1, $4, $5}')
[ "$answer" = $'music.clan. CNAME alpha.clan.\nalpha.clan. A 10.0.0.1' ] || fail "music.clan after install: $answer"
pass "signed file: music.clan answers CNAME alpha.clan. and 10.0.0.1 in one response"

# 4. `dm-dns status` with nothing but the environment the module sets.
render statusEnvironment >"$work/status.env"
status=$(
  # shellcheck disable=SC1091
  . "$work/status.env" && target/release/dm-dns status --json
) || fail "status after install: $status"
[ "$(jq -r '.health + " " + (.installed.serial | tostring) + " " + (.served_serial | tostring)' <<<"$status")" = "current 100 100" ] \
  || fail "status after install: $status"
pass "status: current, serial 100 installed and served, from the module's environment alone"

#!/usr/bin/env bash
# A clan node, end to end, and the user's journey on it: the machine's DNS
# set-up as clan-core's real clan machinery and nixpkgs' real
# unbound/resolved/resolvconf modules render it (nix/tests/node.nix, paths
# moved under a temp dir), run for real here: the build step that checks
# /etc/dm-dns/node.json, unbound-checkconf on the rendered unbound.conf, a
# real unbound started from it in front of a real Knot started as its unit
# does, the exact commands (ExecStart) of dm-dns-prepare and dm-dns-install, the push machine's dm-send-dns with a stand-in data-mesher
# that delivers what it is given, and dig. The walk:
#   1. no mesh file yet: the node's own records;
#   2. migration: the built-in service's unsigned zone.conf is live; the
#      node refuses it, dm-send-dns replaces it, the node installs;
#   3. names beyond endpoints: a declared record, a wildcard endpoint, and
#      reverse lookups of a machine's yggdrasil address and of the declared
#      address, routed by the rendered unbound.conf and Knot configuration;
#   4. key rotation: a push signed by the new key; a node not yet redeployed
#      refuses it and `status` says to redeploy; once redeployed it installs;
#   5. the server role: alpha redeployed as a server for devices outside the
#      clan on 127.0.1.1, other names forwarded to a stand-in upstream (a
#      second unbound on 127.0.3.53); allowed and refused sources, the
#      node's own path unchanged, `status` saying what it serves.
# `dm-dns status` and `dm-dns explain NAME` run under `env -i` with no
# arguments, as an operator on the node runs them.
#
# It runs in a mount namespace of its own whose /etc is the host's with the
# node's files over it (dm-dns/node.json, unbound/unbound.conf), so the
# commands find them where they do on a node. Needs root (CI runs as root).
#
#   nix/tests/node.sh VENDOR_DIR PACKAGE_DIR
set -euo pipefail
if [ -z "${DM_DNS_NODE_NAMESPACE:-}" ]; then
  exec unshare --mount --propagation private env DM_DNS_NODE_NAMESPACE=1 "$0" "$@"
fi
vendor=$1
package=$2
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
host_etc=$(mktemp -d)
unbound_pid=
knot_pid=
cleanup() {
  [ -z "$unbound_pid" ] || kill "$unbound_pid" 2>/dev/null || true
  [ -z "$knot_pid" ] || kill "$knot_pid" 2>/dev/null || true
  umount /etc 2>/dev/null || true
  umount "$host_etc" 2>/dev/null || true
  rmdir "$host_etc" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
pass() { printf 'ok   node: %s\n' "$1"; }
fail() {
  printf 'FAIL node: %s\n' "$1" >&2
  [ ! -f "$work/unbound.log" ] || sed 's/^/  unbound: /' "$work/unbound.log" >&2
  exit 1
}

# The node's /etc: the host's entries, then the node's own files over them.
mount --bind /etc "$host_etc"
mount -t tmpfs tmpfs /etc
for entry in "$host_etc"/* "$host_etc"/.[!.]*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  ln -s "$entry" "/etc/${entry##*/}"
done
rm -f /etc/unbound /etc/dm-dns
mkdir -p /etc/unbound /etc/dm-dns

# Debian puts the unbound programs in /usr/sbin; the rendered units call
# ${unbound.package}/bin/unbound-control.
mkdir -p "$work/unbound-package/bin" "$work/unbound"
for program in unbound unbound-control unbound-checkconf; do
  ln -s "$(command -v "$program")" "$work/unbound-package/bin/$program"
done
# Knot's likewise (nixpkgs' knot-dns has both in bin/).
mkdir -p "$work/knot-package/bin" "$work/knot-run" "$work/knot-state"
for program in knotd knotc; do
  ln -s "$(command -v "$program")" "$work/knot-package/bin/$program"
done

render() { # attribute [rotated [server]]
  nix-instantiate --read-write-mode --eval --strict --json nix/tests/node.nix \
    --arg vendor "$vendor" --arg packageDir "$package" --arg rotated "${2:-false}" \
    --arg server "${3:-false}" \
    --argstr unboundDir "$work/unbound-package" --argstr knotDir "$work/knot-package" \
    --argstr work "$work" -A "$1" | jq -r .
}
render unboundConf >/etc/unbound/unbound.conf
render prepare >"$work/prepare.sh"
render install >"$work/install.sh"
render knot >"$work/knot.sh"
for variant in false true; do
  render nodeConfigBuild "$variant" >"$work/node-config-$variant.sh"
  render sendText "$variant" >"$work/send-$variant.sh"
  render sendEnv "$variant" >"$work/send-$variant.env"
done
zone_file=$(render zoneFile)
delegate=$(render delegate)
resolved_conf=$(render resolvedConf)
port=$(sed -n 's/^  port: //p' /etc/unbound/unbound.conf)
# What the push machine signs: the zone derivation, built.
zone=$(nix-build --no-out-link nix/tests/node.nix --arg vendor "$vendor" --arg packageDir "$package" \
  --argstr unboundDir "$work/unbound-package" --argstr knotDir "$work/knot-package" \
  --argstr work "$work" -A zone 2>"$work/build.log") \
  || { cat "$work/build.log" >&2; fail "building the zone derivation"; }

# Deploying a node configuration: its build step, with the package on PATH.
deploy_config() { # rotated
  out=/etc/dm-dns/node.json PATH="$package/bin:$PATH" bash -euo pipefail "$work/node-config-$1.sh" \
    2>"$work/config.err" || fail "building node.json: $(cat "$work/config.err")"
}
deploy_config false
jq -e '.domain == "clan" and .redeploy == "clan machines update alpha" and .hosts == {"10.0.0.1": ["alpha.clan"], "10.0.0.2": ["beta.clan"]}' \
  /etc/dm-dns/node.json >/dev/null || fail "node.json: $(cat /etc/dm-dns/node.json)"
pass "node.json: built through 'dm-dns config', alpha's own name at 10.0.0.1, not NixOS's 127.0.0.2"

# Routing: resolved sends the domain (a search domain too: short names) and
# the reverse zones (routing-only), and only those, to the port unbound
# listens on; the user's nameserver stays the global one; resolv.conf is
# resolved's stub.
reverse_routes='~4.0.ip6.arpa ~5.0.ip6.arpa ~2.0.ip6.arpa ~3.0.ip6.arpa ~20.1.168.192.in-addr.arpa'
[ "$delegate" = $'[Delegate]\nDNS=127.0.0.1:'"$port"$'\nDomains=clan '"$reverse_routes" ] \
  || fail "dns-delegate does not route clan and the reverse zones to unbound's port $port: $delegate"
grep -qx 'DNS=192.0.2.53' <<<"$resolved_conf" || fail "resolved.conf lost the user's nameserver: $resolved_conf"
[ "$(render resolvConf)" = /run/systemd/resolve/stub-resolv.conf ] || fail "resolv.conf is not resolved's stub"
[ "$(render resolvconfEnabled)" = false ] || fail "resolvconf would write 127.0.0.1 into resolv.conf"
case $port in 53 | 5353) fail "unbound on port $port" ;; esac
pass "resolved routes clan (search domain) and the reverse zones to 127.0.0.1:$port, the user's nameserver kept"

run_unit() { # script file; its stderr in unit.err, returns its status
  bash "$1" 2>"$work/unit.err"
}
# The operator's commands on the node: nothing from the caller's environment.
operator() { env -i "$package/bin/dm-dns" "$@"; }
health() { operator status --json | jq -r '.health'; }
dig_() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"; }
start_unbound() { # Knot as its unit does, then unbound from the rendered unbound.conf
  local knot_command
  read -ra knot_command <"$work/knot.sh"
  "${knot_command[@]}" >"$work/knot.log" 2>&1 &
  knot_pid=$!
  for _ in $(seq 50); do
    knotc -s "$work/knot-run/knot.sock" zone-read clan. @ SOA >/dev/null 2>&1 && break
    sleep 0.1
  done
  knotc -s "$work/knot-run/knot.sock" zone-read clan. @ SOA >/dev/null 2>&1 || fail "knot did not load the zone"
  unbound -d -c /etc/unbound/unbound.conf >"$work/unbound.log" 2>&1 &
  unbound_pid=$!
  for _ in $(seq 50); do
    unbound-control -c /etc/unbound/unbound.conf status >/dev/null 2>&1 && return
    sleep 0.1
  done
  fail "unbound did not start"
}
stop_unbound() {
  kill "$unbound_pid" "$knot_pid"
  wait "$unbound_pid" "$knot_pid" 2>/dev/null || true
  unbound_pid=
  knot_pid=
}
mesh_file=$work/mesh/dns/cnames
mkdir -p "$(dirname "$mesh_file")"

# 1. No mesh file yet: prepare writes this node's own zone, unbound starts.
mkdir -p "$(dirname "$zone_file")" # what the module's tmpfiles rule creates
run_unit "$work/prepare.sh" || fail "prepare without a mesh file: $(cat "$work/unit.err")"
unbound-checkconf /etc/unbound/unbound.conf >/dev/null \
  || fail "unbound-checkconf: $(unbound-checkconf /etc/unbound/unbound.conf 2>&1)"
pass "unbound-checkconf accepts the rendered unbound.conf"
start_unbound
[ "$(dig_ alpha.clan A +short)" = 10.0.0.1 ] || fail "alpha.clan before any mesh file: $(dig_ alpha.clan A +short)"
dig_ example.org A | grep -q 'status: REFUSED' || fail "unbound answers names outside the clan"
pass "no mesh file: own records answer (alpha.clan 10.0.0.1), other names REFUSED (no loop back to resolved)"
[ "$(health)" = never-installed ] || fail "env -i dm-dns status before any install: $(operator status)"
pass "env -i dm-dns status: never-installed, from the node configuration alone"

# 2. Migration. The built-in service's unsigned file is live, and no zone
# yet (first boot after the switch): refused, yet unbound starts.
stop_unbound
rm -f "$zone_file"
printf 'local-zone: "clan." transparent\nlocal-data: "music.clan. CNAME alpha.clan."' >"$mesh_file"
if run_unit "$work/prepare.sh"; then fail "prepare accepted an unsigned file"; fi
grep -q 'own records was written' "$work/unit.err" || fail "prepare on the unsigned file: $(cat "$work/unit.err")"
start_unbound
[ "$(dig_ alpha.clan A +short)" = 10.0.0.1 ] || fail "alpha.clan with the unsigned file"
dig_ music.clan A | grep -q 'status: NXDOMAIN' || fail "the unsigned file's CNAME is served"
[ "$(operator status --json | jq -r '.health + " " + .last_refused.kind')" = "never-installed not-signed" ] \
  || fail "status with the unsigned file: $(operator status)"
pass "migration: the built-in's unsigned file refused (not-signed), unbound serves the node's own records"

# The push machine: dm-send-dns as rendered, with a stand-in data-mesher
# that delivers the file to this node as data-mesher would.
mkdir -p "$work/bin"
cat >"$work/bin/data-mesher" <<'MESHER'
#!/usr/bin/env bash
[ "$1 $2" = "file update" ] && [ -f "$3" ] || { echo "bad call: $*" >&2; exit 9; }
cp "$3" "$DM_DNS_MESH_FILE.delivered" && mv "$DM_DNS_MESH_FILE.delivered" "$DM_DNS_MESH_FILE"
MESHER
chmod +x "$work/bin/data-mesher"
push() { # rotated key serial: dm-send-dns, as root on the push machine
  (
    # shellcheck disable=SC1090
    . "$work/send-$1.env"
    export DM_DNS_KEY=$2 DM_DNS_ZONE=$zone
    PATH="$work/bin:$package/bin:$PATH" bash -euo pipefail "$work/send-$1.sh" --serial "$3"
  ) >"$work/push.out" 2>&1 || fail "dm-send-dns: $(cat "$work/push.out")"
}
push false nix/tests/vm-signing.key 100
grep -q "cannot be verified (unsigned: the built-in service's zone?) and will be replaced" "$work/push.out" \
  || fail "dm-send-dns over the built-in's file: $(cat "$work/push.out")"
grep -q '^summary: 2 to add, 0 to retarget, 0 to remove; address records: 3 to add, 0 to remove$' "$work/push.out" || fail "dm-send-dns summary: $(cat "$work/push.out")"
run_unit "$work/install.sh" || fail "install of the first signed file: $(cat "$work/unit.err")"
answer=$(dig_ music.clan A +noall +answer | awk '{print $1, $4, $5}')
[ "$answer" = $'music.clan. CNAME alpha.clan.\nalpha.clan. A 10.0.0.1' ] || fail "music.clan after install: $answer"
[ "$(health)" = current ] || fail "status after the migration: $(operator status)"
explained=$(operator explain music.clan) || fail "env -i dm-dns explain music.clan: $explained"
grep -q "127.0.0.1:$port answers now: music.clan. CNAME alpha.clan.; alpha.clan. A 10.0.0.1" <<<"$explained" \
  || fail "explain does not ask the node's unbound: $explained"
grep -q '^+ printer.clan A 192.168.1.20  (from settings)$' "$work/push.out" || fail "dm-send-dns on the declared record: $(cat "$work/push.out")"
pass "migration: dm-send-dns replaced the built-in's file, the node installed it; env -i status current, explain asks unbound"

# 3. Names beyond endpoints, through the rendered configuration.
[ "$(dig_ printer.clan A +short)" = 192.168.1.20 ] || fail "declared printer.clan: $(dig_ printer.clan A +short)"
answer=$(dig_ bucket.s3.clan A +noall +answer | awk '{print $1, $4, $5}')
[ "$answer" = $'bucket.s3.clan. CNAME alpha.clan.\nalpha.clan. A 10.0.0.1' ] || fail "bucket.s3.clan: $answer"
pass "a declared record and a wildcard endpoint (bucket.s3.clan) answer through Knot and unbound"
ptr() { dig_ -x "$1" +short; }
for _ in $(seq 50); do [ -n "$(ptr 200:1111:2222::a)" ] && break; sleep 0.1; done
[ "$(ptr 200:1111:2222::a)" = alpha.clan. ] || fail "dig -x of alpha's yggdrasil address: $(ptr 200:1111:2222::a)"
[ "$(ptr 192.168.1.20)" = printer.clan. ] || fail "dig -x of the declared address: $(ptr 192.168.1.20)"
dig_ -x 200:9999::1 | grep -q 'status: NXDOMAIN' || fail "an unknown yggdrasil address has a name"
# Outside the reverse zones (resolved would not even ask): no name, whether
# unbound refuses or answers from its own empty RFC 6303 zones.
[ -z "$(ptr 192.168.1.21)" ] || fail "a LAN address outside the reverse zones got a name"
[ -z "$(ptr 10.0.0.1)" ] || fail "the node's own address got a reverse name"
dig_ -x 8.8.8.8 | grep -q 'status: REFUSED' || fail "a public address's reverse name reached unbound's recursion"
pass "dig -x: alpha's yggdrasil address and the declared one answered; unknown ones not"

# 4. Key rotation: the clan's key is regenerated, the push machine
# redeployed, and it pushes a zone signed by the new key.
push true nix/tests/rotated-signing.key 200
old_key=$("$package/bin/dm-dns" pubkey nix/tests/vm-signing.pub)
grep -q "signed by $old_key, not a trusted key: the key before a rotation?" "$work/push.out" \
  || fail "dm-send-dns over the old key's file: $(cat "$work/push.out")"
if run_unit "$work/install.sh"; then fail "a node not redeployed installed a zone of the new key"; fi
[ "$(dig_ music.clan A +short | head -1)" = alpha.clan. ] || fail "the refusal changed the answers"
status=$(operator status) && fail "status is 0 for a refused update: $status"
if ! grep -q 'health:        refused' <<<"$status" \
  || ! grep -q 'redeploy this machine: clan machines update alpha' <<<"$status"; then
  fail "status does not say to redeploy: $status"
fi
pass "rotation: a node not yet redeployed refuses the new key, the old zone serves, status says to redeploy"
deploy_config true
run_unit "$work/install.sh" || fail "install after the redeploy: $(cat "$work/unit.err")"
grep -q 'applied as a transaction' "$work/unit.err" || fail "install did not give Knot a transaction: $(cat "$work/unit.err")"
[ "$(operator status --json | jq -r '.health + " " + (.installed.serial | tostring)')" = "current 200" ] \
  || fail "status after the redeploy: $(operator status)"
pass "rotation: the redeployed node installs serial 200 of the new key; status current"

# 5. The server role. An upstream for names outside the clan: a second
# unbound on 127.0.3.53 that knows outside.example.com.
mkdir -p "$work/upstream"
cat >"$work/upstream/unbound.conf" <<UPSTREAM
server:
  interface: 127.0.3.53
  port: 53
  username: ""
  chroot: ""
  directory: "$work/upstream"
  pidfile: "$work/upstream/unbound.pid"
  use-syslog: no
  do-daemonize: no
  access-control: 127.0.0.0/8 allow
  local-zone: "outside.example.com." static
  local-data: "outside.example.com. A 192.0.2.7"
remote-control:
  control-enable: no
UPSTREAM
unbound -d -c "$work/upstream/unbound.conf" >"$work/upstream.log" 2>&1 &
upstream_pid=$!
trap 'kill "$upstream_pid" 2>/dev/null || true; cleanup' EXIT
stop_unbound
render unboundConf true true >/etc/unbound/unbound.conf
render nodeConfigBuild true true >"$work/node-config-server.sh"
out=/etc/dm-dns/node.json PATH="$package/bin:$PATH" bash -euo pipefail "$work/node-config-server.sh" \
  2>"$work/config.err" || fail "building the server's node.json: $(cat "$work/config.err")"
unbound-checkconf /etc/unbound/unbound.conf >/dev/null \
  || fail "unbound-checkconf (server): $(unbound-checkconf /etc/unbound/unbound.conf 2>&1)"
grep -q 'ip-freebind: yes' /etc/unbound/unbound.conf || fail "the server's unbound.conf has no ip-freebind"
start_unbound
pass "server role: unbound-checkconf accepts the rendered unbound.conf (listen 127.0.1.1, ip-freebind)"
ask() { # source name type [dig options]: a device at `source` asking the server
  dig @127.0.1.1 -b "$1" +time=2 +tries=1 "${@:2}"
}
answer=$(ask 127.0.1.2 music.clan A +noall +answer | awk '{print $1, $4, $5}')
[ "$answer" = $'music.clan. CNAME alpha.clan.\nalpha.clan. A 10.0.0.1' ] || fail "a device asking music.clan: $answer"
[ "$(ask 127.0.1.2 alpha.clan A +short)" = 10.0.0.1 ] || fail "a device asking alpha.clan"
ask 127.0.1.2 nothing.clan A | grep -q 'status: NXDOMAIN' || fail "a device asking an unknown clan name"
for _ in $(seq 50); do [ -n "$(ask 127.0.1.2 outside.example.com A +short)" ] && break; sleep 0.1; done
[ "$(ask 127.0.1.2 outside.example.com A +short)" = 192.0.2.7 ] || fail "a device asking outside.example.com (forwarded): $(ask 127.0.1.2 outside.example.com A)"
pass "server role: an allowed device gets music.clan (CNAME and address), a machine name, NXDOMAIN, and other names through the forwarder"
ask 127.0.2.1 music.clan A | grep -q 'status: REFUSED' || fail "a device outside allow was answered"
ask 127.0.2.1 outside.example.com A | grep -q 'status: REFUSED' || fail "an open resolver for outside allow"
dig_ outside.example.com A | grep -q 'status: REFUSED' || fail "the node's own path answers other names"
[ "$(dig_ music.clan A +short | head -1)" = alpha.clan. ] || fail "the node's own path lost the clan"
pass "server role: a device outside allow is REFUSED; the node's own path still answers only the clan"
served=$(operator status --json | jq -c '.serves')
[ "$served" = '{"listen":["127.0.1.1"],"allow":["127.0.1.0/24"],"forward":["127.0.3.53"]}' ] \
  || fail "status does not report what the server serves: $served"
operator status | grep -q '^serves others: 127.0.1.1$' || fail "status text: $(operator status)"
pass "server role: env -i dm-dns status reports the listen address, the allowed network and the forwarder"

#!/usr/bin/env bash
# The Nix tests that run without nixpkgs, with Debian's nix-bin:
#  1. every .nix file parses; every shell script passes shellcheck;
#  2. nix/lib's topic tests (nix/lib/*-tests.nix, nix-unit's shape);
#  3. the clan service and NixOS module through clan-core's real clanLib.clan
#     and nixpkgs' real unbound/resolved/resolvconf modules
#     (nix/clan-service/tests/eval.nix), and a node rendered by them and run with a
#     real unbound (nix/tests/node.sh);
#  4. dm-send-dns as the push machine gets it, against a stand-in data-mesher
#     CLI that checks its arguments the way clan-core uses them;
#  5. for every golden fixture, `nix-build` of lib.mkZone with the locally
#     built binary gives the same bytes as running `dm-dns zone` directly, and
#     `nix-build --check` rebuilds it bit for bit; the golden check passes,
#     and fails with the diff for a wrong expected zone;
#  6. the flake's outputs, with a stand-in nixpkgs that provides the local
#     binary: their structure, its golden checks, and .#dm-dns-zone.
#
# Steps 3 and 6 need the vendored upstream sources (clan-core, nixpkgs' lib,
# mininixos): ../shared/vendor from the repository root, or DM_DNS_VENDOR.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Root on a bare machine: no build users, no sandbox, no binary cache.
export NIX_CONFIG=$'sandbox = false\nbuild-users-group =\nsubstituters =\n'
command -v nix-build >/dev/null || { echo "nix-build missing: run scripts/setup.sh" >&2; exit 2; }
# The vendored sources sit next to the repository, or next to the one this
# clone was made from (a CI clone in a scratch directory).
origin=$(git config --get remote.origin.url || true)
vendor=
for candidate in ${DM_DNS_VENDOR:+"$DM_DNS_VENDOR"} ../shared/vendor ${origin:+"$origin/../shared/vendor"}; do
  if [ -d "$candidate/clan-core" ] && [ -d "$candidate/nixpkgs-lib" ] && [ -d "$candidate/mininixos" ]; then
    vendor=$(realpath "$candidate")
    break
  fi
done
[ -n "$vendor" ] || {
  echo "nix tests: no vendored sources (clan-core, nixpkgs-lib, mininixos) at \$DM_DNS_VENDOR," \
    "../shared/vendor or next to the origin repository; see README.md 'Tests'" >&2
  exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
mkdir -p "$work/package/bin"
cp target/release/dm-dns "$work/package/bin/dm-dns"
dm_dns=target/release/dm-dns
public_base64=$("$dm_dns" pubkey nix/tests/vm-signing.pub)
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1" >&2; exit 1; }

while IFS= read -r -d '' f; do
  nix-instantiate --parse "$f" >/dev/null || fail "parse $f"
done < <(git ls-files -z '*.nix')
pass "every .nix file parses"
shellcheck -s bash nix/scripts/*.sh nix/tests/*.sh scripts/*.sh .ci/run || fail "shellcheck"
pass "shellcheck: nix/scripts, nix/tests, scripts"

# Runs nix-unit shaped test files; prints each failure, fails if any.
unit() { # label files...
  local label=$1 files
  shift
  files="[ $(printf '%s ' "$@") ]"
  nix-instantiate --read-write-mode --eval --strict --json nix/tests/unit.nix --arg files "$files" \
    --arg args "{ vendor = $vendor; publicBase64 = \"$public_base64\";
      fakePackage = { outPath = \"/nix/store/0000000000000000000000000000000a-dm-dns\"; system = \"x86_64-linux\"; }; }" \
    >"$work/unit.json" || fail "$label: evaluation"
  jq -r '.[] | select(.failure) | "FAIL \(.test): \(.failure)"' "$work/unit.json" >&2
  jq -e 'all(.failure == null)' "$work/unit.json" >/dev/null || fail "$label"
  pass "$label: $(jq length "$work/unit.json") tests"
}
unit "nix/lib" ./nix/lib/*-tests.nix
# The runner itself must report failures.
nix-instantiate --eval --strict --json nix/tests/unit.nix --arg files '[ ./nix/tests/unit-selftest.nix ]' \
  | jq -e 'map(.failure != null) == [true, true, false]' >/dev/null || fail "unit.nix misses failures"
pass "unit.nix reports a wrong value and a missing error"
unit "clan service and NixOS module through the real clan-core and NixOS modules" ./nix/clan-service/tests/eval.nix
# The shell the modules render (the vars generators), as a machine
# gets it.
mkdir -p "$work/rendered"
nix-instantiate --eval --strict --json -E "
  let alpha = (import ./nix/tests/clan { vendor = $vendor; }).nodes.alpha; in {
    generator-zone = alpha.clan.core.vars.generators.dm-dns.script;
    generator-signing-key = alpha.clan.core.vars.generators.dm-dns-signing-key.script;
  }" >"$work/rendered.json" || fail "rendering the module's scripts"
for name in $(jq -r 'keys[]' "$work/rendered.json"); do
  jq -r --arg n "$name" '.[$n]' "$work/rendered.json" >"$work/rendered/$name.sh"
done
# $out is set by clan's vars runner (SC2154: referenced but not assigned).
shellcheck -s bash -e SC2154 "$work"/rendered/generator-*.sh || fail "shellcheck of the generators"
pass "shellcheck: the generators' scripts as rendered"
# Address records: the zone input of a clan evaluated by the real clan-core
# (vars read through clanLib.getPublicValue), built by the real binary.
clan_zone() { # harness-arguments output-dir
  local input
  input=$(nix-instantiate --read-write-mode --eval --strict --json -E "
    let c = import ./nix/tests/clan ({ vendor = $vendor; } // $1); in
    builtins.elemAt c.nodes.alpha.services.dm-dns.zone.args 2" | jq -r .) || fail "evaluating the clan"
  local networks
  networks=$(nix-instantiate --eval --strict --json -E "
    let c = import ./nix/tests/clan ({ vendor = $vendor; } // $1); in
    c.nodes.alpha.clan.core.vars.generators.dm-dns.validation.networks or \"\"" | jq -r .)
  "$dm_dns" zone --exports "$input" --domain clan --out "$2" ${networks:+--networks "$networks"} 2>/dev/null \
    || fail "dm-dns zone on the clan's exports"
}
addresses() { grep -E '^local-data: "[a-z]+\.clan\. A' "$1/zone.conf" | tr '\n' ' '; }
clan_zone '{ }' "$work/clan-default"
[ "$(addresses "$work/clan-default")" = 'local-data: "alpha.clan. AAAA 200:1111:2222::a" local-data: "beta.clan. AAAA 4ab:1::b" ' ] \
  || fail "clan addresses by priority: $(addresses "$work/clan-default")"
jq -e '. as $m | [.skipped_addresses[] | "\($m.scopes[.[1]] | split(":")[3]) \(.[2])"]
  == ["alpha outside-network", "alpha lower-priority", "beta not-an-address", "beta unavailable"]' \
  "$work/clan-default/manifest.json" >/dev/null || fail "clan skipped addresses"
pass "addresses: highest internal priority per machine, internet left out, names and missing vars skipped"
clan_zone '{ networks = { yggdrasil = { priority = 2000; peers.alpha = [ { var = "address"; } ]; };
  mycelium = { priority = 3000; peers.alpha = [ { plain = "4ab:1::a"; } ]; }; }; }' "$work/clan-priority"
[ "$(addresses "$work/clan-priority")" = 'local-data: "alpha.clan. AAAA 4ab:1::a" ' ] \
  || fail "a changed priority: $(addresses "$work/clan-priority")"
clan_zone '{ dmDnsSettings.networks = [ "internet" ]; }' "$work/clan-setting"
[ "$(addresses "$work/clan-setting")" = 'local-data: "alpha.clan. A 203.0.113.1" ' ] \
  || fail "the networks setting: $(addresses "$work/clan-setting")"
pass "addresses: a changed priority and the role's networks setting change the choice"
nix/tests/node.sh "$vendor" "$work/package"

# dm-send-dns with a stand-in for data-mesher's CLI (not installable here).
mkdir -p "$work/send/bin"
cat >"$work/send/bin/data-mesher" <<'MESHER'
#!/usr/bin/env bash
# Checks the call as clan-core makes it: file update PATH --network-id PATH ...
[ "$1 $2" = "file update" ] && [ -f "$3" ] || { echo "bad call: $*" >&2; exit 9; }
shift 3
while [ $# -gt 0 ]; do
  case $1 in
    --network-id | --key) [ -r "$2" ] || { echo "$1 is not a readable file: $2" >&2; exit 9; } ;;
    --url | --name) ;;
    *) echo "unknown option $1" >&2; exit 9 ;;
  esac
  printf '%s=%s\n' "$1" "$2" >>"$DATA_MESHER_CALLS"
  shift 2
done
MESHER
chmod +x "$work/send/bin/data-mesher"
ln -s "$PWD/$dm_dns" "$work/send/bin/dm-dns"
"$dm_dns" zone --exports examples/clan-exports.json --domain clan --out "$work/send/zone" 2>/dev/null
echo "network id (public)" >"$work/send/network.pub"
send() { # zone-dir arguments...
  DATA_MESHER_CALLS="$work/send/calls" PATH="$work/send/bin:$PATH" DM_DNS_ZONE="$1" \
    DM_DNS_KEY=nix/tests/vm-signing.key DM_DNS_PUBLIC_KEY=nix/tests/vm-signing.pub \
    DM_DNS_MESH_FILE="$work/send/live" DM_DNS_NETWORK_ID="$work/send/network.pub" \
    DM_DNS_MESH_NAME=dns/cnames DM_DNS_URL=http://localhost:7331 \
    bash -euo pipefail nix/scripts/dm-send-dns.sh "${@:2}" >"$work/send/out" 2>&1 \
    || { cat "$work/send/out" >&2; fail "dm-send-dns ${*:2}"; }
}
send "$work/send/zone" --serial 7
grep -qx -- "--network-id=$work/send/network.pub" "$work/send/calls" || fail "dm-send-dns: --network-id is not the path"
grep -qx -- "--name=dns/cnames" "$work/send/calls" || fail "dm-send-dns: --name"
grep -q '^+ music.clan CNAME alpha.clan.  (from navidrome:music:server:alpha' "$work/send/out" \
  || fail "dm-send-dns does not say what changed: $(cat "$work/send/out")"
pass "dm-send-dns signs (--serial passed on), calls data-mesher with file paths, says what changed"
# --dry-run against a live file: nothing pushed, the changes with their scopes.
"$dm_dns" sign --key nix/tests/vm-signing.key --zone "$work/send/zone" --serial 7 --out "$work/send/live" 2>/dev/null
rm -f "$work/send/calls"
send "$work/send/zone" --dry-run
[ ! -e "$work/send/calls" ] || fail "dm-send-dns --dry-run called data-mesher"
grep -qx 'no changes' "$work/send/out" || fail "dry run against the same zone: $(cat "$work/send/out")"
jq '."navidrome:music:server:alpha".endpoints.hosts += ["stream.clan"]' examples/clan-exports.json >"$work/send/more.json"
"$dm_dns" zone --exports "$work/send/more.json" --domain clan --out "$work/send/more" 2>/dev/null
send "$work/send/more" --dry-run
grep -q '^live zone: serial 7, signed 1970-01-01T00:00:07Z' "$work/send/out" || fail "dry run: $(cat "$work/send/out")"
if [ "$(grep -c '^[-+~] ' "$work/send/out")" != 1 ] \
  || ! grep -q '^+ stream.clan CNAME alpha.clan.  (from navidrome:music:server:alpha)' "$work/send/out"; then
  fail "dry run: $(cat "$work/send/out")"
fi
pass "dm-send-dns --dry-run: the live file verified, only the added name, with its scope"

build() { # fixture attr [extra nix-build args]
  nix-build nix/tests/zone.nix --no-out-link --arg packageDir "$work/package" --arg vendor "$vendor" \
    --arg fixture "$PWD/$1" -A "$2" "${@:3}"
}

for fixture in checks/*/; do
  fixture=${fixture%/}
  exports=$(ls "$fixture"/exports.*)
  direct="$work/direct-$(basename "$fixture")"
  records=()
  [ ! -f "$fixture/records.json" ] || records=(--records "$fixture/records.json")
  "$dm_dns" zone --exports "$exports" "${records[@]}" --domain "$(cat "$fixture/domain")" --out "$direct" 2>/dev/null
  out=$(build "$fixture" zone 2>"$work/build.log") || { cat "$work/build.log" >&2; fail "nix-build $fixture"; }
  for f in zone.conf zone.db manifest.json; do
    cmp -s "$out/$f" "$direct/$f" || fail "$fixture: nix-build $f differs from dm-dns zone"
  done
  build "$fixture" zone --check 2>"$work/check.log" >/dev/null \
    || { cat "$work/check.log" >&2; fail "$fixture: nix-build --check is not bit for bit"; }
  build "$fixture" golden 2>"$work/golden.log" >/dev/null \
    || { cat "$work/golden.log" >&2; fail "$fixture: golden check"; }
  pass "$fixture: mkZone == dm-dns zone, --check reproducible, golden check passes"
done

# A golden check must be able to fail: a fixture whose expected zone is wrong.
broken="$work/broken"
cp -rL checks/example "$broken"
chmod -R u+w "$broken"
sed -i 's/music.clan. CNAME alpha.clan./music.clan. CNAME beta.clan./' "$broken/expected/zone.conf"
if nix-build nix/tests/zone.nix --no-out-link --arg packageDir "$work/package" --arg vendor "$vendor" \
  --arg fixture "$broken" -A golden >"$work/broken.log" 2>&1; then
  fail "golden check passed for a wrong expected zone"
fi
grep -q 'retargeted  music.clan: beta.clan -> alpha.clan' "$work/broken.log" \
  || { cat "$work/broken.log" >&2; fail "failing golden check does not show the diff"; }
pass "golden check fails and prints the diff for a wrong expected zone"

flake() { nix-build nix/tests/flake.nix --no-out-link --arg packageDir "$work/package" --arg vendor "$vendor" "$@"; }
nix-instantiate --eval --strict nix/tests/flake.nix --arg packageDir "$work/package" --arg vendor "$vendor" \
  -A expectations >/dev/null || fail "flake outputs"
flake -A checks >/dev/null 2>"$work/flake.log" || { cat "$work/flake.log" >&2; fail "flake golden checks"; }
zone=$(flake -A dm-dns-zone 2>"$work/flake.log") || { cat "$work/flake.log" >&2; fail ".#dm-dns-zone"; }
for f in zone.conf zone.db manifest.json; do
  cmp -s "$zone/$f" "checks/example/expected/$f" || fail ".#dm-dns-zone $f differs from checks/example"
done
pass "flake outputs: structure, golden checks, .#dm-dns-zone equals checks/example"

#!/usr/bin/env bash
# The Nix tests that run without nixpkgs, with Debian's nix-bin:
#  1. every .nix file parses;
#  2. lib.nix and both modules evaluate as expected (nix/tests/lib-test.nix);
#  3. for every golden fixture, `nix-build` of lib.mkZone with the locally
#     built binary gives the same bytes as running `dm-dns zone` directly, and
#     `nix-build --check` rebuilds it bit for bit;
#  4. the golden check the flake runs passes for every fixture and fails,
#     showing the diff, for a fixture whose expected zone is wrong;
#  5. the flake's outputs, with a stand-in nixpkgs that provides the local
#     binary: their structure, its golden checks, and .#dm-dns-zone.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Root on a bare machine: no build users, no sandbox, no binary cache.
export NIX_CONFIG=$'sandbox = false\nbuild-users-group =\nsubstituters =\n'
command -v nix-build >/dev/null || { echo "nix-build missing: run scripts/setup.sh" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
mkdir -p "$work/package/bin"
cp target/release/dm-dns "$work/package/bin/dm-dns"
dm_dns=target/release/dm-dns
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1" >&2; exit 1; }

while IFS= read -r -d '' f; do
  nix-instantiate --parse "$f" >/dev/null || fail "parse $f"
done < <(git ls-files -z '*.nix')
pass "every .nix file parses"

nix-instantiate --eval --strict nix/tests/lib-test.nix \
  --arg publicPem "builtins.readFile $PWD/nix/tests/vm-signing.pub" \
  --argstr publicBase64 "$("$dm_dns" pubkey nix/tests/vm-signing.pub)" >"$work/lib-test.out" \
  || fail "lib-test.nix"
pass "lib.nix and modules: $(grep -o '"[^"]*"' "$work/lib-test.out" | wc -l) expectations"

build() { # fixture attr [extra nix-build args]
  nix-build nix/tests/zone.nix --no-out-link --arg packageDir "$work/package" \
    --arg fixture "$PWD/$1" -A "$2" "${@:3}"
}

for fixture in checks/*/; do
  fixture=${fixture%/}
  exports=$(ls "$fixture"/exports.* | head -n 1)
  direct="$work/direct-$(basename "$fixture")"
  "$dm_dns" zone --exports "$exports" --domain "$(cat "$fixture/domain")" --out "$direct" 2>/dev/null
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
if nix-build nix/tests/zone.nix --no-out-link --arg packageDir "$work/package" \
  --arg fixture "$broken" -A golden >"$work/broken.log" 2>&1; then
  fail "golden check passed for a wrong expected zone"
fi
grep -q 'retargeted  music.clan: beta.clan -> alpha.clan' "$work/broken.log" \
  || { cat "$work/broken.log" >&2; fail "failing golden check does not show the diff"; }
pass "golden check fails and prints the diff for a wrong expected zone"

flake() { nix-build nix/tests/flake.nix --no-out-link --arg packageDir "$work/package" "$@"; }
nix-instantiate --eval --strict nix/tests/flake.nix --arg packageDir "$work/package" \
  -A expectations >/dev/null || fail "flake outputs"
flake -A checks >/dev/null 2>"$work/flake.log" || { cat "$work/flake.log" >&2; fail "flake golden checks"; }
zone=$(flake -A dm-dns-zone 2>"$work/flake.log") || { cat "$work/flake.log" >&2; fail ".#dm-dns-zone"; }
for f in zone.conf zone.db manifest.json; do
  cmp -s "$zone/$f" "checks/example/expected/$f" || fail ".#dm-dns-zone $f differs from checks/example"
done
pass "flake outputs: structure, golden checks, .#dm-dns-zone equals checks/example"

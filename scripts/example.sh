#!/usr/bin/env bash
# Builds the zone of the example clan in examples/ and shows the result.
# Needs only cargo (rustup).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "example: cargo is required (https://rustup.rs)" >&2; exit 2; }
cargo build --release --quiet
out=${1:-example-zone}
rm -rf "$out"
target/release/dm-dns zone --exports examples/clan-exports.json --domain clan --out "$out"
for f in zone.conf zone.db manifest.json; do
  printf '\n==> %s/%s <==\n' "$out" "$f"
  cat "$out/$f"
done

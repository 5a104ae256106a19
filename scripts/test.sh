#!/usr/bin/env bash
# Runs every test: formatting, clippy, unit/property/end-to-end tests (real
# unbound and dig), and the Nix tests (real nix-instantiate and nix-build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --release
if [ -x nix/tests/run.sh ]; then nix/tests/run.sh; fi

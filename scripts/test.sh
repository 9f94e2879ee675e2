#!/usr/bin/env bash
# Installs what is missing and runs Confab's whole test suite: unit tests, end-to-end tests over
# real loopback sockets and PeerConnections, the CLI's process tests, and a short fuzzing pass
# over every decoder of network input.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Outside the clone, so repeated runs (and fresh clones) reuse the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/confab/target}"
cargo test --workspace --locked
bash scripts/fuzz.sh smoke

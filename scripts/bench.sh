#!/usr/bin/env bash
# Installs what is missing (plus x264, the encode reference) and runs the benchmarks: the call
# benchmark and the close-notice benchmark against Chromium.
# Results go in docs/benchmarks.md together with this command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v x264 >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq x264 >/dev/null; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/confab/target}"
cargo bench --locked -p confab-cli --bench call
cargo bench --locked -p confab-tests --bench close_notice

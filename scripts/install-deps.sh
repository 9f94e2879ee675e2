#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Confab needs to build, skipping what is already there.
#   build-essential, pkg-config: C toolchain for the -sys crates
#   cmake:  builds the bundled libopus (opusic-sys)
#   nasm:   OpenH264's assembly (about 3x faster encoding than plain C)
#   iproute2: `ip` and `tc`, with which the reconnect test builds its own network namespace
#   chromium: the reference WebRTC peer of the close tests and the close-notice benchmark
set -euo pipefail
packages=(build-essential pkg-config cmake nasm iproute2 chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

#!/usr/bin/env bash
# Installs what Confab needs to build and test on Debian/Ubuntu, skipping what is already there.
#   build-essential, pkg-config: C toolchain for the -sys crates
#   cmake:  builds the bundled libopus (opusic-sys)
#   nasm:   OpenH264's assembly (about 3x faster encoding than plain C)
#   iproute2: `ip` and `tc`, with which the reconnect test builds its own network namespace
#   chromium: the reference WebRTC peer of the close tests and the close-notice benchmark
#   libwebkit2gtk-4.1-dev ... libxdo-dev: the desktop app (Tauri 2 on WebKitGTK)
#   xvfb, webkit2gtk-driver: the desktop app's end-to-end test (an X server, WebKitWebDriver)
#   dbus-daemon, xdg-utils, desktop-file-utils: single instance (decided on the session bus) and
#     confab:// registration (xdg-mime, update-desktop-database), and their end-to-end test
#   nodejs, npm: builds the app's web UI (ui/) and runs its unit tests
#   python3-venv: the venv for aiortc, the independent WebRTC stack of the WHIP/WHEP tests
#   janus: the real SFU of the SFU-adapter tests (run by the tests in their own network namespace)
# Then the npm packages of the UI (ui/node_modules) and of the third-party test clients
# (tests/peers/node_modules: the whip-whep WHIP/WHEP client library the browser tests load, and
# the PeerJS server, npm `peer`, the PeerJS tests start),
# the aiortc venv (~/.cache/confab/venv, pinned by tests/peers/requirements.txt), tauri-driver
# (into ~/.cache/confab/tools) and simple-whip-server: Debian's package, unpacked into
# ~/.cache/confab/simple-whip-server rather than installed, because it depends on Debian's Node.js,
# which conflicts with a Node.js from elsewhere (the tests run it with `node` and tests/peers'
# npm modules).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(build-essential pkg-config cmake nasm iproute2 chromium
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libayatana-appindicator3-dev librsvg2-dev
  libxdo-dev libssl-dev file xvfb webkit2gtk-driver nodejs
  dbus-daemon xdg-utils desktop-file-utils python3-venv janus)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
for folder in ui tests/peers; do
  if [ ! -d "$folder/node_modules" ] || [ "$folder/package-lock.json" -nt "$folder/node_modules" ]; then
    (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
venv="${CONFAB_VENV:-$HOME/.cache/confab/venv}"
if ! cmp -s tests/peers/requirements.txt "$venv/installed-requirements.txt"; then
  echo "installing aiortc into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
  cp tests/peers/requirements.txt "$venv/installed-requirements.txt"
fi
tools="${CONFAB_TOOLS:-$HOME/.cache/confab/tools}"
if [ ! -x "$tools/bin/tauri-driver" ]; then
  echo "installing tauri-driver into $tools"
  cargo install tauri-driver --locked --version '^2' --root "$tools" --quiet
fi
whip_server="${CONFAB_SIMPLE_WHIP_SERVER:-$HOME/.cache/confab/simple-whip-server}"
if [ ! -f "$whip_server/src/server.js" ]; then
  echo "unpacking simple-whip-server into $whip_server"
  download=$(mktemp -d)
  (cd "$download" && { apt-get download -qq simple-whip-server 2>/dev/null ||
    { $sudo apt-get update -qq && apt-get download -qq simple-whip-server; }; })
  dpkg-deb -x "$download"/simple-whip-server_*.deb "$download/root"
  mkdir -p "$whip_server/src"
  cp "$download/root/usr/share/simple-whip-server/src/"{server,whip-janus}.js "$whip_server/src/"
  rm -rf "$download"
fi

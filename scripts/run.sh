#!/usr/bin/env bash
# Installs what is missing, builds the web UI and the desktop app, and starts Confab. Its first
# button, "New meeting on this computer", starts the embedded room server and shows the link
# others on your network open. Arguments are passed to the app (e.g. a confab:// link).
# Without a display (a server over SSH), it starts a meeting with two synthetic participants
# from the command line instead and prints the link.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/confab/target}"
(cd ui && npm run --silent build)
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  cargo build --release --locked -p confab-desktop
  exec "$CARGO_TARGET_DIR/release/confab" "$@"
fi
echo "No display: starting a meeting from the command line instead of the app."
cargo build --release --locked -p confab-cli
cli="$CARGO_TARGET_DIR/release/confab-cli"
links=$(mktemp)
"$cli" serve --listen "${CONFAB_LISTEN:-127.0.0.1:7878}" >"$links" &
server=$!
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -f "$links"' EXIT INT TERM
for _ in $(seq 50); do [ -s "$links" ] && break; sleep 0.1; done
link=$(head -n1 "$links")
[ -n "$link" ] || { echo "the server did not start" >&2; exit 1; }
echo "Meeting on this computer: $link"
"$cli" join "$link" --name "Test Pattern A" --size 640x360 &
"$cli" join "$link" --name "Test Pattern B" --size 640x360 &
echo "Join it:  $cli join '$link' --name You --duration 10 --report -"
wait "$server"

#!/usr/bin/env bash
# Installs what is missing and runs Confab's whole test suite: the web UI's unit tests, unit
# tests, end-to-end tests over real loopback sockets and PeerConnections, the CLI's process
# tests, the desktop app driven through WebDriver under Xvfb, and a short fuzzing pass over
# every decoder of network input. Ends with one line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Outside the clone, so repeated runs (and fresh clones) reuse the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/confab/target}"
# Every clone sits at a new path, so its workspace crates build afresh anyway (the path is part
# of their artifacts' names): drop the copies earlier runs left, about 6 GB each, and keep no
# incremental caches. Dependencies stay built.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
workspace_packages=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json, sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))')
# shellcheck disable=SC2086 # one word per -p and name
cargo clean --quiet $workspace_packages
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The app embeds the built UI, so it is built before anything Rust.
status=0
(cd ui && npm run --silent build && NO_COLOR=1 npx vitest run) 2>&1 | tee "$log" || status=$?
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The soak test compares its own resident memory before and after 150 calls. glibc gives each
# thread that allocates (every call starts codec threads) its own malloc arena and keeps what
# it freed there, which swung the baseline between 22 and 50 MB from run to run; two arenas
# keep that noise well below the 10% the test allows.
export MALLOC_ARENA_MAX=2
# The end-to-end tests record what each adapter did against its real server; the README's
# support table must be exactly that (scripts/support-table.py).
rm -rf tests/support-results
cargo test --workspace --locked 2>&1 | tee -a "$log" || status=$?
if [ "$status" -eq 0 ]; then python3 scripts/support-table.py --check || status=$?; fi
bash scripts/fuzz.sh smoke || status=$?
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
# Vitest's summary line, e.g. "      Tests  1 failed | 11 passed (12)"; no match is no count.
ui_summary=$(grep -E '^ +Tests +[0-9]' "$log" || true)
count() { # word: sums the numbers before it on the summary line
  echo "$ui_summary" | awk -v word="$1" '{for (i = 1; i < NF; i++) if ($(i + 1) == word) s += $i} END {print s + 0}'
}
ui_passed=$(count passed)
ui_failed=$(count failed)
passed=$((passed + ui_passed))
failed=$((failed + ui_failed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"

#!/usr/bin/env bash
# Fuzzes every decoder of network input with cargo-fuzz (libFuzzer).
#   scripts/fuzz.sh smoke        # every target for FUZZ_SECONDS (default 20) — part of the test suite
#   scripts/fuzz.sh TARGET [ARGS] # one target, open-ended, extra libFuzzer arguments passed on
# The machine has only a stable toolchain; RUSTC_BOOTSTRAP lets cargo-fuzz use its -Z flags.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version '^0.13'
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/confab/target}-fuzz"
run() { # target, libFuzzer args...
  local target=$1; shift
  local corpus="$CARGO_TARGET_DIR/corpus/$target"
  mkdir -p "$corpus"
  cargo fuzz run --sanitizer none "$target" "$corpus" "seeds/$target" -- "$@"
}
if [ "${1:-smoke}" = smoke ]; then
  for target in $(cargo fuzz list); do
    log="$CARGO_TARGET_DIR/fuzz-$target.log"
    if ! run "$target" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=1 >"$log" 2>&1; then
      tail -n 60 "$log" >&2
      echo "fuzz target $target failed; the crashing input is under fuzz/artifacts/$target" >&2
      exit 1
    fi
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "$target: ${runs:-?} runs in ${FUZZ_SECONDS:-20} s, no crash"
  done
  echo "fuzz smoke: all targets ran clean"
else
  run "$@"
fi

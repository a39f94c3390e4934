#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) with cargo-fuzz on the nightly toolchain,
# each from its seeds (corpus/TARGET, which grows locally and is ignored by git), and prints
# the executions of each. Exits non-zero as soon as a target finds a crash (kept in
# artifacts/TARGET/). Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
cargo +nightly fuzz build
failed=0
for target in $(cargo +nightly fuzz list); do
  log="$(mktemp)"
  if cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 \
      >"$log" 2>&1; then
    runs="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")"
    rate="$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")"
    printf 'fuzz %-16s ok: %s executions in %s s (%s/s)\n' "$target" "$runs" "$seconds" "$rate"
  else
    echo "fuzz $target FAILED; its output:"
    tail -n 60 "$log"
    failed=1
  fi
  rm -f "$log"
  [ "$failed" = 0 ] || exit 1
done

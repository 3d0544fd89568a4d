#!/usr/bin/env bash
# Run fuzz targets one after another, one process each, at nice 19 (the
# machine has two cores shared with others). Logs go to fuzz/logs/TARGET.log
# (gitignored), every libFuzzer line prefixed with the seconds since the start
# of the run, so coverage over time can be read back (see README.md).
# Coverage instrumentation is left out of engine-like dependencies
# (rustc-wrap.sh) and ASan keeps no allocation stacks (malloc_context_size=0):
# see "Instrumentation" in README.md. To run two targets at once, start two
# run.sh with one target each.
# Usage: fuzz/run.sh SECONDS TARGET...
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="$1"; shift
mkdir -p "$here/logs"
export RUSTC_BOOTSTRAP=1 RUSTC_WRAPPER="$here/rustc-wrap.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}"
# libFuzzer's -timeout is wall time: a fuzzer stopped (SIGSTOP) while a
# benchmark is timed reports the input it was running as a hang. Raise it
# (TIMEOUT=300) when the fuzzer may be paused; a slow input is still written
# to artifacts/ as a slow-unit after 10 s.
timeout="${TIMEOUT:-10}"
for t in "$@"; do
  case "$t" in
    capture) max=65536 ;;
    # Whole configurations (several files joined by NUL) run to 20 KB.
    check_json) max=32768 ;;
    *) max=16384 ;;
  esac
  # A target's dictionary (TARGET.dict, e.g. explain_text's catalogue
  # phrases) when there is one.
  dict=()
  [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
  [ -d "$here/corpus/$t" ] || "$here/seed.sh" "$t"
  (cd "$here/.." && cargo fuzz build -O -a "$t") >"$here/logs/$t.build.log" 2>&1 ||
    { echo "$t: build failed, see logs/$t.build.log"; continue; }
  start=$(date +%s)
  (cd "$here/.." && nice -n 19 cargo fuzz run -O -a "$t" "$here/corpus/$t" -- \
      -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2048 -max_len="$max" \
      -print_final_stats=1 -close_fd_mask=1 "${dict[@]}") 2>&1 |
    while IFS= read -r line; do printf '%6d %s\n' $(( $(date +%s) - start )) "$line"; done \
      >"$here/logs/$t.log"
  rc=${PIPESTATUS[0]}
  echo "$t: exit $rc $(grep -E '#[0-9]+.*(DONE|cov)' "$here/logs/$t.log" | tail -1)"
done

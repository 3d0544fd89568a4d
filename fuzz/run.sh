#!/usr/bin/env bash
# Run fuzz targets one after another, one process each (the machine has two
# cores shared with others). Logs go to fuzz/logs/TARGET.log (gitignored).
# Usage: fuzz/run.sh SECONDS TARGET...
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="$1"; shift
mkdir -p "$here/logs"
for t in "$@"; do
  case "$t" in
    capture) max=65536 ;;
    decode_sessions) max=16384 ;;
    *) max=16384 ;;
  esac
  [ -d "$here/corpus/$t" ] || "$here/seed.sh" "$t"
  (cd "$here/.." && RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a "$t" "$here/corpus/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max" \
      -print_final_stats=1 -close_fd_mask=1) >"$here/logs/$t.log" 2>&1
  echo "$t: exit $? $(grep -E '^#[0-9]+.*(DONE|cov)' "$here/logs/$t.log" | tail -1)"
done

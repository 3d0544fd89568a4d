#!/usr/bin/env bash
# Whole-process benchmark of aibnet on a busy VNET's flow logs (issue 17), with the generator's
# truth checked.
#
#   benches/busy_vnet.sh AIBNET [DATA_DIR] [RUNS] [SLOW_RUNS]
#
# Generates, unless DATA_DIR (default /work/busyvnet-data; keep it outside the repository)
# already holds them, with benches/gen_busy_vnet.py:
#   vnet7h/  7 hours of a 400-VM VNET in VNet flow logs v4, 1.09 GB, one healthy AIB build in
#            the fourth hour (seed 17);
#   adv/     one hour of adversarial NSG v2, 196 MB: every tuple its own flow (2.65 M), 4 000
#            addresses, most flows on 60000/60001/22/5986 (seed 17).
# Then runs each measurement RUNS times (default 3; the Python baseline and `diagnose` on the
# adversarial tree, minutes each today, SLOW_RUNS times, default 1) under /usr/bin/time -v,
# prints the median wall time and its rate, CPU seconds and peak RSS with the load average before
# each run, and checks the answers with benches/busy_vnet_check.py:
#   (i)   diagnose on vnet7h           (ii)  builds on vnet7h
#   (iii) sessions --format ndjson on adv, and benches/flowlog_baseline.py on adv (which prints
#         every session too, unfiltered), both to /dev/null
#   (iv)  diagnose on adv, stopped after ADV_TIMEOUT seconds (default 600: today it is
#         quadratic), and on the blobs of the first 25, 50 and 100 of its 500 NICs (the growth)
#   (v)   diagnose on one hour of vnet7h without a build
# Raw outputs and time logs go to DATA_DIR/results-<time>-<binary>/ (one folder a run).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1")
DATA=${2:-/work/busyvnet-data}
RUNS=${3:-3}
SLOW_RUNS=${4:-1}
OUT=$DATA/results-$(date -u +%Y%m%dT%H%M%SZ)-$(basename "$BIN")
mkdir -p "$OUT"

if [ ! -f "$DATA/vnet7h/truth.json" ]; then
  python3 benches/gen_busy_vnet.py "$DATA/vnet7h" --hours 7 --vms 400 --gb 1.1 --seed 17
fi
if [ ! -f "$DATA/adv/truth.json" ]; then
  python3 benches/gen_busy_vnet.py "$DATA/adv" --adversarial --hours 1 --gb 0.2 --seed 17
fi
VNET=$DATA/vnet7h/insights-logs-flowlogflowevent
ADV=$DATA/adv/insights-logs-networksecuritygroupflowevent
HOUR=$(find "$VNET" -type d -path '*/h=08' | head -1)

bytes() { find "$1" -type f -name 'PT1H.json' -print0 | du -cb --files0-from=- | tail -1 | cut -f1; }

# measure N NAME BYTES OUTFILE CMD...: N runs, then a summary line.
measure() {
  local n=$1 name=$2 size=$3 outfile=$4
  shift 4
  local walls=() line
  for k in $(seq "$n"); do
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    /usr/bin/time -v "$@" > "$outfile" 2> "$OUT/$name.time.$k" || true
    local wall user sys rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$OUT/$name.time.$k")
    user=$(awk -F': ' '/User time/ {print $2}' "$OUT/$name.time.$k")
    sys=$(awk -F': ' '/System time/ {print $2}' "$OUT/$name.time.$k")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$OUT/$name.time.$k")
    line="$name run $k: wall $wall s, user $user s, sys $sys s, peak RSS $((rss / 1024)) MiB, load before $load, after $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$line" | tee -a "$OUT/runs.txt"
    walls+=("$wall")
  done
  python3 - "$name" "$size" "${walls[@]}" <<'PY' | tee -a "$OUT/summary.txt"
import statistics, sys
name, size, walls = sys.argv[1], int(sys.argv[2]), [float(w) for w in sys.argv[3:]]
m = statistics.median(walls)
print(f"{name}: {size / 1e6:.0f} MB, median wall {m:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}) "
      f"= {size / 1e6 / m:.1f} MB/s")
PY
}

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, binary $BIN" | tee -a "$OUT/summary.txt"
VB=$(bytes "$VNET")
AB=$(bytes "$ADV")
HB=$(bytes "$HOUR")
measure "$RUNS" diagnose-vnet7h "$VB" "$OUT/diagnose-vnet7h.json" "$BIN" diagnose --format json --fail-on never "$VNET"
measure "$RUNS" builds-vnet7h "$VB" "$OUT/builds-vnet7h.json" "$BIN" builds --format json --fail-on never "$VNET"
measure "$RUNS" sessions-adv "$AB" /dev/null "$BIN" sessions --format ndjson "$ADV"
measure "$SLOW_RUNS" python-adv "$AB" /dev/null python3 benches/flowlog_baseline.py "$ADV"
for n in 25 50 100; do
  mapfile -t part < <(find "$ADV" -type f -name PT1H.json | sort | head -n "$n")
  PB=$(du -cb "${part[@]}" | tail -1 | cut -f1)
  measure "$SLOW_RUNS" "diagnose-adv-$n" "$PB" "$OUT/diagnose-adv-$n.json" "$BIN" diagnose --format json \
    --fail-on never "${part[@]}"
done
measure "$SLOW_RUNS" diagnose-adv "$AB" "$OUT/diagnose-adv.json" timeout "${ADV_TIMEOUT:-600}" "$BIN" diagnose \
  --format json --fail-on never "$ADV"
measure "$RUNS" diagnose-hour "$HB" "$OUT/diagnose-hour.json" "$BIN" diagnose --format json --fail-on never "$HOUR"

echo "== answers"
python3 benches/busy_vnet_check.py "$DATA/vnet7h/truth.json" --builds "$OUT/builds-vnet7h.json" \
  --diagnose "$OUT/diagnose-vnet7h.json" | tee "$OUT/check-vnet7h.txt" || true
python3 benches/busy_vnet_check.py "$DATA/vnet7h/truth.json" --diagnose "$OUT/diagnose-hour.json" \
  --since 2024-08-19T08:00:00Z --until 2024-08-19T09:00:00Z | tee "$OUT/check-hour.txt" || true

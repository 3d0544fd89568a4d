#!/usr/bin/env bash
# Two builds of aibnet on the same inputs, in the same hyperfine runs
# (alternating), for before/after comparisons of a change that must not
# slow anything:
#
#   benches/compare_bins.sh OLD_BIN NEW_BIN [RUNS]
#
# Inputs: the benchmark captures (benches/make_captures.sh, or
# BENCH_CAPTURES=dir) and a busy VNET's flow logs (benches/gen_busy_vnet.py,
# BENCH_FLOWLOGS=dir). Commands: sessions (NDJSON) and diagnose on both
# captures; sessions --port 5986, diagnose and builds on the flow logs.
# Medians from hyperfine, peak RSS from /usr/bin/time -v (one run each).
# Results: $BENCH_OUT (default benches/results/<date>-compare/).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
runs="${3:-5}"
caps="${BENCH_CAPTURES:-benches/data}"
logs="${BENCH_FLOWLOGS:-}"
out="${BENCH_OUT:-benches/results/$(date -u +%Y-%m-%d)-compare}"
mkdir -p "$out"
echo "host: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/host.txt"
: > "$out/rss.txt"

bench() { # NAME COMMAND-WITH-{BIN}
    local name=$1 cmd=$2
    hyperfine --warmup 1 --runs "$runs" --export-json "$out/$name.json" \
        -n old "${cmd//\{BIN\}/$old}" -n new "${cmd//\{BIN\}/$new}" | grep -E "Time|±|faster|old|new" || true
    for which in old new; do
        local bin=$old
        [ "$which" = new ] && bin=$new
        /usr/bin/time -f "%M" -o "$out/.rss" bash -c "${cmd//\{BIN\}/$bin}" || true
        echo "$name $which peak_rss_kib $(tail -1 "$out/.rss")" | tee -a "$out/rss.txt"
    done
}

for f in mixed small; do
    [ -f "$caps/$f.pcap" ] || continue
    cat "$caps/$f.pcap" > /dev/null
    bench "$f-sessions" "{BIN} sessions --format ndjson $caps/$f.pcap > /dev/null"
    bench "$f-diagnose" "{BIN} diagnose --format json --fail-on never $caps/$f.pcap > /dev/null"
done
if [ -n "$logs" ] && [ -d "$logs" ]; then
    find "$logs" -type f -exec cat {} + > /dev/null
    bench "flowlogs-sessions-port" "{BIN} sessions --format ndjson --port 5986 $logs > /dev/null"
    bench "flowlogs-diagnose" "{BIN} diagnose --format json --fail-on never $logs > /dev/null"
    bench "flowlogs-builds" "{BIN} builds --format json --fail-on never --no-progress $logs > /dev/null"
fi
rm -f "$out/.rss"
echo "results in $out"

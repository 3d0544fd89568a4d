#!/usr/bin/env bash
# Time `aibnet sessions` against tshark and tcpdump on the benchmark captures
# (benches/make_captures.sh), and measure peak memory.
#
#   aibnet   target/release/aibnet sessions --format ndjson F > /dev/null
#   tshark   tshark -q -z conv,tcp -r F > /dev/null
#   tcpdump  tcpdump -r F -w /dev/null
#
# plus aibnet with one thread and with each intra-file scheme
# (AIBNET_INTRA_FILE=sequential|buffered|scan, two threads).
# Medians from hyperfine (Debian package), peak RSS from /usr/bin/time -v.
# Results: benches/results/<date>/{*.json,rss.txt,summary.md} (or $BENCH_OUT).
# Usage: benches/run_capture_bench.sh [RUNS]   (tshark gets fewer runs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
slow_runs=3
for tool in hyperfine tshark tcpdump /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install ${tool##*/})" >&2; exit 1; }
done
data=benches/data
[[ -f $data/mixed.pcap && -f $data/small.pcap ]] || { echo "run benches/make_captures.sh first" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/aibnet
out="${BENCH_OUT:-benches/results/$(date -u +%Y-%m-%d)}"
mkdir -p "$out"
: > "$out/rss.txt"
echo "host: $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/host.txt"

for f in mixed small; do
    cap="$data/$f.pcap"
    # Warm the page cache: every tool reads the file from memory.
    cat "$cap" > /dev/null
    hyperfine --warmup 2 --runs "$runs" --export-json "$out/$f-aibnet.json" \
        -n "aibnet -j2 (scan)" "$bin sessions --format ndjson -j 2 $cap > /dev/null" \
        -n "aibnet -j1" "$bin sessions --format ndjson -j 1 $cap > /dev/null" \
        -n "aibnet -j2 buffered" "AIBNET_INTRA_FILE=buffered $bin sessions --format ndjson -j 2 $cap > /dev/null" \
        -n "aibnet -j2 sequential" "AIBNET_INTRA_FILE=sequential $bin sessions --format ndjson -j 2 $cap > /dev/null" \
        -n "tcpdump" "tcpdump -r $cap -w /dev/null 2>/dev/null"
    hyperfine --warmup 0 --runs "$slow_runs" --export-json "$out/$f-tshark.json" \
        -n "tshark" "tshark -q -z conv,tcp -r $cap > /dev/null"
    for cmd in "$bin sessions --format ndjson -j 2 $cap" "$bin sessions --format ndjson -j 1 $cap" \
               "tshark -q -z conv,tcp -r $cap" "tcpdump -r $cap -w /dev/null"; do
        /usr/bin/time -v -o "$out/time.tmp" sh -c "$cmd > /dev/null 2>&1"
        rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$out/time.tmp")
        echo "$f	$rss KB	$cmd" | tee -a "$out/rss.txt"
    done
    sessions=$($bin sessions --format ndjson -j 2 "$cap" 2>/dev/null | wc -l)
    echo "$f	sessions	$sessions" >> "$out/rss.txt"
done
rm -f "$out/time.tmp"

python3 - "$out" "$data" <<'PY'
import json, os, sys
out, data = sys.argv[1], sys.argv[2]
lines = ["| capture | size | command | median s | GB/s | vs tshark | vs tcpdump |", "|---|---|---|---|---|---|---|"]
for f in ["mixed", "small"]:
    size = os.path.getsize(f"{data}/{f}.pcap")
    res = []
    for part in ["aibnet", "tshark"]:
        res += json.load(open(f"{out}/{f}-{part}.json"))["results"]
    med = {r["command"]: r["median"] for r in res}
    for name, m in med.items():
        lines.append(f"| {f} | {size/1e6:.0f} MB | {name} | {m:.3f} | {size/m/1e9:.2f} | "
                     f"{med['tshark']/m:.1f}x | {med['tcpdump']/m:.2f}x |")
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

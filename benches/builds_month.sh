#!/usr/bin/env bash
# Whole-process benchmark of `aibnet builds` on a month of flow logs.
#
#   benches/builds_month.sh [DATA_DIR] [--keep]
#
# Generates the month with benches/gen_month.py (about 5.5 GB; skipped when
# DATA_DIR already holds one), builds the release binary, then measures:
#   * wall and CPU time with hyperfine (one warm-up, three runs; the tree is
#     in the page cache after generation, so this is the CPU-bound end-to-end
#     rate). The machine is shared: CPU time per byte is the steadier number,
#     wall time depends on what else runs;
#   * peak resident memory with /usr/bin/time -v;
#   * correctness against the generator's truth (benches/builds_check.py).
# Results go to DATA_DIR/../results/ and a summary to stdout. The generated
# tree is deleted at the end unless --keep is given.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${1:-benches/data/month}
KEEP=${2:-}
OUT=$(dirname "$DATA")/results
mkdir -p "$OUT"

if [ ! -f "$DATA/truth.json" ]; then
  python3 benches/gen_month.py "$DATA" --days 30 --gb 5.5 -j 2
fi
cargo build --release --quiet
BIN=target/release/aibnet

read -r FILES BYTES < <(python3 -c '
import os, sys
s = [os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[1]) for f in fs if f == "PT1H.json"]
print(len(s), sum(s))' "$DATA")
echo "tree: $FILES files, $BYTES bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"

CMD="$BIN builds --format json --fail-on never $DATA"
hyperfine --warmup 1 --runs 3 --export-json "$OUT/hyperfine.json" "$CMD > $OUT/builds.json"
/usr/bin/time -v $CMD > "$OUT/builds.json" 2> "$OUT/time.txt"
RSS_KB=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$OUT/time.txt")

python3 - "$BYTES" "$OUT/hyperfine.json" "$RSS_KB" "$FILES" <<'PY'
import json, sys
b, rss, files = int(sys.argv[1]), int(sys.argv[3]), int(sys.argv[4])
r = json.load(open(sys.argv[2]))["results"][0]
wall, cpu = r["mean"], r["user"] + r["system"]
print(f"aibnet builds: {b / 1e9:.2f} GB in {files} files: wall {wall:.2f} s (min {r['min']:.2f} s) "
      f"= {b / 1e6 / wall:.0f} MB/s; CPU {cpu:.2f} s = {b / 1e6 / cpu:.0f} MB per CPU-second; "
      f"peak RSS {rss / 1024:.0f} MiB")
PY
grep -E "Elapsed|Maximum resident|Percent of CPU" "$OUT/time.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 benches/builds_check.py "$DATA/truth.json" "$OUT/builds.json" || true

if [ "$KEEP" != "--keep" ]; then
  rm -rf "$DATA"
  echo "deleted $DATA (pass --keep to keep it)"
fi

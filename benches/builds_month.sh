#!/usr/bin/env bash
# Whole-process benchmark of `aibnet builds` on a month of flow logs.
#
#   benches/builds_month.sh [DATA_DIR] [--keep]
#
# Generates the month with benches/gen_month.py (about 5.5 GB; skipped when
# DATA_DIR already holds one), builds the release binary, then measures:
#   * wall time with hyperfine (one warm-up, three runs; the tree is in the
#     page cache after generation, so this is the CPU-bound end-to-end rate),
#   * peak resident memory with /usr/bin/time -v,
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

BYTES=$(find "$DATA" -name PT1H.json -printf '%s\n' | awk '{s+=$1} END {print s}')
FILES=$(find "$DATA" -name PT1H.json | wc -l)
echo "tree: $FILES files, $BYTES bytes"

CMD="$BIN builds --format json --fail-on never $DATA"
hyperfine --warmup 1 --runs 3 --export-json "$OUT/hyperfine.json" "$CMD > $OUT/builds.json"
/usr/bin/time -v $CMD > "$OUT/builds.json" 2> "$OUT/time.txt"

MEAN=$(python3 -c "import json;print(json.load(open('$OUT/hyperfine.json'))['results'][0]['mean'])")
RSS_KB=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$OUT/time.txt")
python3 - "$BYTES" "$MEAN" "$RSS_KB" "$FILES" <<'EOF'
import sys
b, t, rss, files = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"aibnet builds: {b / 1e9:.2f} GB in {files} files, mean {t:.2f} s -> {b / 1e6 / t:.0f} MB/s; "
      f"peak RSS {rss / 1024:.0f} MiB")
EOF
grep -E "Elapsed|Maximum resident|Percent of CPU" "$OUT/time.txt"
python3 benches/builds_check.py "$DATA/truth.json" "$OUT/builds.json" || true

if [ "$KEEP" != "--keep" ]; then
  rm -rf "$DATA"
  echo "deleted $DATA (pass --keep to keep it)"
fi

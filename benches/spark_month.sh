#!/usr/bin/env bash
# Issue 19: spark/builds.py in local mode against `aibnet builds`, on the
# month of flow logs, in the same session.
#
#   benches/spark_month.sh [DATA_DIR] [VENV]
#
# DATA_DIR: the month (benches/gen_month.py; generated when it holds none).
# VENV: a virtualenv with pyspark, pyarrow, pandas and maturin (default: the
# one .ci/run makes). Builds the release binary and a release wheel into the
# venv, then runs each once, the CLI first (both read the tree from the page
# cache: the CLI's run warms it), and checks that runs.ndjson holds exactly
# the CLI's runs[] and summary.json the rest of its document (summary,
# inputs, skipped). Prints wall and CPU times and the ratio; the job's
# closing line gives the time of each of its steps. SPARK_OPTS: more
# spark-submit options (e.g. --conf spark.sql.files.maxPartitionBytes=512m);
# JOB_OPTS: more options of the job (e.g. --read spark: Spark reads the
# blobs' content, where by default the library reads a local tree in place).
# BUILD=0: use the binary and the wheel already built (runs in a row).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${1:-benches/data/month}
VENV=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/aibnet-ci-venv}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$DATA/truth.json" ]; then
  python3 benches/gen_month.py "$DATA" --days 30 --gb 5.5 -j 2
fi
if [ "${BUILD:-1}" != 0 ]; then
  cargo build --release --quiet
  PYO3_PYTHON="$VENV/bin/python" "$VENV/bin/maturin" build --quiet --release \
    -m python/Cargo.toml -o "$WORK/wheel"
  "$VENV/bin/pip" install -q --force-reinstall --no-deps "$WORK"/wheel/*.whl
fi

# Which extension module the job runs: the Python tests install a dev
# (unoptimised, ~300 MB) wheel into the same venv, and a job timed on it
# runs ten times slower.
"$VENV/bin/python" - <<'PY'
import os, aibnet._aibnet as m
st = os.stat(m.__file__)
print(f"wheel: {m.__file__}, {st.st_size / 1e6:.0f} MB")
PY
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
TIME="%e s wall, %U + %S CPU-s, %M KB peak RSS"
/usr/bin/time -f "cli:   $TIME" -o "$WORK/cli.time" \
  target/release/aibnet builds --format json --fail-on never "$DATA" > "$WORK/cli.json" 2>/dev/null
echo "load between: $(cut -d' ' -f1-3 /proc/loadavg)"
PYSPARK_PYTHON="$VENV/bin/python" /usr/bin/time -f "spark: $TIME" -o "$WORK/spark.time" \
  "$VENV/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false ${SPARK_OPTS:-} \
  spark/builds.py --input "$DATA" --output "$WORK/out" ${JOB_OPTS:-} > "$WORK/spark.log" 2>&1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/cli.time" "$WORK/spark.time"
grep -h 'aibnet-spark:' "$WORK/spark.log"

"$VENV/bin/python" - "$WORK" <<'PY'
import json, re, sys
from pathlib import Path
w = Path(sys.argv[1])
want = json.loads((w / "cli.json").read_text())
got = [json.loads(l) for l in (w / "out/runs.ndjson").read_text().splitlines()]
summary = json.loads((w / "out/summary.json").read_text())
same = got == want["runs"] and summary == {k: v for k, v in want.items() if k != "runs"}
wall = lambda f: float(re.match(r"\w+:\s+([\d.]+) s", (w / f).read_text()).group(1))
cli, spark = wall("cli.time"), wall("spark.time")
print(f"runs: CLI {len(want['runs'])}, Spark {len(got)}, identical: {same}")
print(f"wall: CLI {cli:.1f} s, Spark {spark:.1f} s, ratio {spark / cli:.2f}")
cpu = lambda f: sum(map(float, re.search(r"([\d.]+) \+ ([\d.]+) CPU-s", (w / f).read_text()).groups()))
print(f"CPU: CLI {cpu('cli.time'):.1f} s, Spark {cpu('spark.time'):.1f} s, ratio {cpu('spark.time') / cpu('cli.time'):.2f}")
sys.exit(0 if same else 1)
PY

"""spark/builds.py in local mode against `aibnet builds` on the same tree.

The tree: the flow logs of every lab scenario (captures/*/flowlogs), each
scenario shifted in time so that they follow one another six hours apart at
the same addresses (as tests/builds/lab.rs lays them out), and a day of
generated flow logs (benches/gen_month.py: two VNets, a dozen runs at reused
addresses, application noise, connections open across hourly blobs). The
job runs with the blobs spread over five partitions in a random order; its
runs.ndjson must hold exactly `aibnet builds --format json` runs[].
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))

import pyarrow.parquet as pq  # noqa: E402

from common import REPO, lab_tree, run_json  # noqa: E402

def test_spark_builds_equal_the_cli(tmp_path: Path):
    tree = tmp_path / "tree"
    blobs = lab_tree(tree / "lab")
    subprocess.run(
        [sys.executable, str(REPO / "benches/gen_month.py"), str(tree / "generated"),
         "--days", "1", "--runs", "360", "--apps", "2", "--gb", "0.02", "-j", "1"],
        check=True,
        capture_output=True,
    )
    blobs += sum(1 for _ in (tree / "generated").rglob("*.json"))
    assert blobs >= 150, blobs
    want = run_json("builds", str(tree))
    assert len(want["runs"]) >= 20, len(want["runs"])

    out = tmp_path / "out"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    job = subprocess.run(
        [
            os.environ.get("SPARK_SUBMIT", "spark-submit"),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            str(REPO / "spark" / "builds.py"),
            "--input",
            str(tree),
            "--output",
            str(out),
            "--partitions",
            "5",
            "--shuffle-seed",
            "7",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 0, job.stderr[-4000:]
    got = [json.loads(line) for line in (out / "runs.ndjson").read_text().splitlines()]
    assert got == want["runs"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summary"] == want["summary"]
    sessions = pq.read_table(out / "sessions")
    assert sessions.num_rows == want["summary"]["sessions_kept"]

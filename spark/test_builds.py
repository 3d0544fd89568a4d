"""spark/builds.py in local mode against `aibnet builds` on the same tree.

The tree: the flow logs of every lab scenario (captures/*/flowlogs), each
scenario shifted in time so that they follow one another six hours apart at
the same addresses (as tests/builds/lab.rs lays them out), and a day of
generated flow logs (benches/gen_month.py: two VNets, a dozen runs at reused
addresses, application noise, connections open across hourly blobs). The
job runs with the blobs spread over about 18 partitions, in a random order
within each; its
runs.ndjson must hold exactly `aibnet builds --format json` runs[].
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))

import pyarrow.parquet as pq  # noqa: E402

import pytest  # noqa: E402

from common import REPO, lab_tree, run_json  # noqa: E402


# auto: a local folder is read in place (the library walks it on the driver,
# as the CLI does, and maps each blob on the executors); spark: binaryFile
# lists the blobs and reads their content, as on storage only Spark reaches.
@pytest.mark.parametrize("read", ["auto", "spark"])
def test_spark_builds_equal_the_cli(tmp_path: Path, read: str):
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
    # What the CLI reads and Spark's listing leaves out by its own rule (a
    # name in `_`): the same inputs and the same skipped either way; and,
    # read in place, an empty file (Spark's file scan never hands one
    # over) and what the CLI cannot walk, reported as it reports them.
    (tree / "_manifest.txt").write_text("exported 2024-08-01\n")
    blobs += 1
    if read == "auto":
        (tree / "_SUCCESS").write_bytes(b"")
        (tree / "lab" / "loop").symlink_to("..")
        blobs += 1
    want = run_json("builds", str(tree))
    assert [i["path"] for i in want["inputs"]].count(str(tree / "_manifest.txt")) == 1
    if read == "auto":
        assert want["skipped"][0]["path"] == str(tree / "lab" / "loop"), want["skipped"][0]
        assert str(tree / "_SUCCESS") in [i["path"] for i in want["inputs"]]
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
            # Small file splits: the blobs of the tree (about 25 MB) over
            # about 18 partitions, as Spark packs them (by size, not by
            # path), without a shuffle.
            "--conf",
            "spark.sql.files.maxPartitionBytes=2m",
            "--conf",
            "spark.sql.files.openCostInBytes=64k",
            "--conf",
            "spark.sql.files.minPartitionNum=8",
            str(REPO / "spark" / "builds.py"),
            "--input",
            str(tree),
            "--output",
            str(out),
            "--shuffle-seed",
            "7",
            "--read",
            read,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 0, job.stderr[-4000:]
    # spark-submit sends the Python driver's stderr to its own stdout.
    m = re.search(
        r"aibnet-spark: (\d+) blobs in (\d+) partitions, read (in place|by Spark)",
        job.stdout + job.stderr,
    )
    assert m, job.stdout[-4000:]
    assert m.group(3) == ("in place" if read == "auto" else "by Spark"), m.group(0)
    assert int(m.group(1)) == blobs
    assert int(m.group(2)) >= 5, m.group(0)
    got = [json.loads(line) for line in (out / "runs.ndjson").read_text().splitlines()]
    assert got == want["runs"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary == {k: v for k, v in want.items() if k != "runs"}
    sessions = pq.read_table(out / "sessions")
    assert sessions.num_rows == want["summary"]["sessions_kept"]


def test_in_place_refuses_a_storage_url():
    # Read in place, every blob of a storage URL would be "no such file" on
    # the executors and the job would report no run: it says so instead,
    # before Spark starts.
    job = subprocess.run(
        [sys.executable, str(REPO / "spark" / "builds.py"), "--input",
         "abfss://insights-logs-flowlogflowevent@acct.dfs.core.windows.net/", "--output",
         "out", "--read", "in-place"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 2, job.stderr
    assert "--read in-place reads local files" in job.stderr
    assert "abfss://insights-logs-flowlogflowevent@acct.dfs.core.windows.net/" in job.stderr


def test_local_paths_are_told_from_storage_urls():
    sys.path.insert(0, str(REPO / "spark"))
    import builds

    # The driver writes these itself (Databricks' /Volumes and /dbfs are
    # mounts of its own file system) ...
    for p in ["/data/out", "out", "file:/data/out", "file:///data/out", "/Volumes/c/s/v/aib"]:
        assert builds.is_local(p), p
    # ... and leaves these to Spark (dbfs:/ has no //, and is no folder of
    # the driver's).
    for p in ["dbfs:/aib/out", "abfss://c@a.dfs.core.windows.net/x", "wasbs://c@a.blob.core.windows.net/x"]:
        assert not builds.is_local(p), p
    assert builds.scheme("ABFSS://c@a/x") == "abfss"
    assert builds.blob_name("file:/data/PT1H.json") == "/data/PT1H.json"


def test_a_local_tree_is_walked_ahead_only_where_it_is_read_in_place(tmp_path: Path):
    sys.path.insert(0, str(REPO / "spark"))
    import builds

    tree = str(tmp_path)
    # Read in place for sure: walked while Spark starts.
    assert builds.walk_ahead("in-place", tree, spark_running=True)
    assert builds.walk_ahead("auto", "file:" + tree, spark_running=True)
    # A plain path: in place if the default file system is local, which
    # only Spark says; ahead only where Spark is starting and it is a folder.
    assert builds.walk_ahead("auto", tree, spark_running=False)
    assert not builds.walk_ahead("auto", tree, spark_running=True)
    assert not builds.walk_ahead("auto", str(tmp_path / "none"), spark_running=False)
    # Never for Spark's own reading or a storage URL.
    assert not builds.walk_ahead("spark", tree, spark_running=False)
    assert not builds.walk_ahead("auto", "abfss://c@a.dfs.core.windows.net/x", spark_running=False)


def test_what_is_read_in_place():
    sys.path.insert(0, str(REPO / "spark"))
    import builds

    assert builds.reads_in_place("in-place", "/Volumes/c/s/v/logs", "dbfs:/")
    assert not builds.reads_in_place("spark", "/data/logs", "file:///")
    # auto: what Spark would read as local files.
    assert builds.reads_in_place("auto", "file:/data/logs", "dbfs:/")
    assert builds.reads_in_place("auto", "/data/logs", "file:///")
    assert not builds.reads_in_place("auto", "/data/logs", "dbfs:/")
    assert not builds.reads_in_place("auto", "abfss://c@a.dfs.core.windows.net/x", "file:///")

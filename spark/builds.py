#!/usr/bin/env python3
"""aibnet builds on Apache Spark: every AIB run in a tree of flow logs (and
captures), each diagnosed, with exactly the answers of ``aibnet builds``.

    spark-submit spark/builds.py --input PATH_OR_URL --output DIR \\
        [--since T] [--until T] [--partitions N] [--read auto|spark|in-place]

PATH_OR_URL is a local folder (or mount), or anything Spark's ``binaryFile``
source reads, walked recursively:
``abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX``, ``wasbs://…``. A
local folder is walked by the library on the driver, as the CLI walks it,
and its blobs are read in place by the library on the executors; a storage
URL's blobs are listed and read by Spark (``--read``). Writes ``DIR/runs.ndjson`` (one run per line, the objects of
``aibnet builds --format json`` ``runs[]``), ``DIR/summary.json`` (the rest of
that document) and ``DIR/sessions/`` (Parquet: the AIB-relevant sessions the
runs were found in).

The work is the library's own scan, in its two passes (README, "On Spark"):

1. executors, ``mapInArrow``: every blob → its first-pass partial (a flow
   log's anchors' facts; a capture's reduced sessions), serialised as an
   Arrow IPC stream;
2. driver: the second look from all facts (a few entries a blob);
3. executors: only the blobs a build host's NIC logged, read again with the
   look → their reduced sessions;
4. driver: ``builds`` over the partials (``aibnet.Partials``: decoded once,
   in Rust, for steps 2 and 4), which puts them in path order, coalesces
   the views of one connection and joins flows open across hourly blobs —
   the same function the CLI runs on one machine.

The ``aibnet`` Python package (``pip install ./python``) must be installed
on the driver and the executors.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import sys
import time
from typing import Iterator

import pyarrow as pa

import aibnet

# The partition is the task's (how many the blobs were spread over).
PARTIAL_SCHEMA = "path string, partial binary, part int"


def blob_name(url: str) -> str:
    """The name a blob is reported by: a local file as the path the CLI
    prints for it (``file:/x`` → ``/x``), anything else as its URL."""
    if url.startswith("file://"):
        return url[len("file://") :]
    if url.startswith("file:"):
        return url[len("file:") :]
    return url


# Partials handed back to Spark at a time, read in place.
IN_PLACE_BATCH = 64


def scan_blobs(look: str | None, since: str | None, until: str | None, slices=None):
    """The mapInArrow function of one pass: (path, content) rows → (path,
    partial) rows, one blob at a time. ``slices`` (read in place): a
    broadcast list of lists of local paths, the rows hold slice numbers,
    and each blob of a slice is read where it is (mapped by the library)
    instead of from the content Spark read."""

    def partials(part: int, paths: list[str], out: list[bytes]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [
                pa.array(paths, pa.string()),
                pa.array(out, pa.binary()),
                pa.array([part] * len(paths), pa.int32()),
            ],
            names=["path", "partial", "part"],
        )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        part = TaskContext.get().partitionId()
        for b in batches:
            if slices is not None:
                for k in b.column("slice").to_pylist():
                    paths = slices.value[k]
                    for lo in range(0, len(paths), IN_PLACE_BATCH):
                        some = paths[lo : lo + IN_PLACE_BATCH]
                        yield partials(
                            part, some, [aibnet.scan_file_ipc(p, p, look, since, until) for p in some]
                        )
                continue
            paths = b.column("path").to_pylist()
            contents = b.column("content")
            out = []
            for i, url in enumerate(paths):
                data = contents[i].as_buffer()
                out.append(
                    aibnet.scan_ipc(
                        data.to_pybytes() if data is not None else b"",
                        blob_name(url),
                        look,
                        since,
                        until,
                    )
                )
            yield partials(part, paths, out)

    return run


def spark_type(t: pa.DataType) -> pa.DataType:
    """The type Spark reads from Arrow for one of aibnet's: dictionaries as
    their values, times in microseconds (Spark's TimestampType), unsigned
    integers as the next wider signed ones (Spark has none)."""
    if pa.types.is_dictionary(t):
        return spark_type(t.value_type)
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    wider = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(), pa.uint64(): pa.int64()}
    if t in wider:
        return wider[t]
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, spark_type(f.type), f.nullable) for f in t])
    if pa.types.is_list(t):
        return pa.list_(spark_type(t.value_type))
    return t


def spark_ready(batch: pa.RecordBatch) -> pa.Table:
    """Sessions in the types Spark reads from Arrow (:func:`spark_type`)."""
    cols = [c.cast(spark_type(f.type), safe=False) for f, c in zip(batch.schema, batch.columns)]
    return pa.Table.from_arrays(cols, names=batch.schema.names)


def scheme(path: str) -> str | None:
    """A path's URI scheme (``abfss``, ``dbfs``, ``file``), lower case;
    None for a plain path."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", path)
    return m.group(1).lower() if m else None


def is_local(path: str) -> bool:
    """Whether the driver reads and writes ``path`` as a file of its own
    (a plain path: on Databricks, ``/Volumes/…`` and ``/dbfs/…`` are such
    mounts; ``dbfs:/…`` is Spark's to write)."""
    return scheme(path) in (None, "file")


def reads_in_place(read: str, path: str, default_fs: str) -> bool:
    """Whether the library reads ``path`` in place: asked for, or (auto)
    what Spark would read as local files — a ``file:`` URL, or a plain path
    where the cluster's default file system is the local one (on
    Databricks it is ``dbfs:``, and Spark's)."""
    if read != "auto":
        return read == "in-place"
    return scheme(path) == "file" or (scheme(path) is None and scheme(default_fs) == "file")


def walk_ahead(read: str, path: str, spark_running: bool) -> bool:
    """Whether to walk ``path`` while Spark starts, before Spark says
    whether it is read in place (the month: a walk of 0.8 s beside 3 s of
    start-up). A plain path is read in place only where the cluster's
    default file system is the local one, which only Spark knows: it is
    walked ahead only if it is a local folder and Spark starts in this
    process (spark-submit) — a driver already running, as on Databricks,
    has no start-up to hide, and a mount walked for nothing would hold up
    the job's end. Otherwise it is walked once that is decided."""
    if read == "spark" or not is_local(path):
        return False
    # Sure without Spark: asked for, or a file: URL.
    if reads_in_place(read, path, default_fs="dbfs:/"):
        return True
    return not spark_running and os.path.isdir(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder or storage URL of the flow logs")
    ap.add_argument("--output", required=True, help="folder for runs.ndjson and sessions/")
    ap.add_argument("--since", help="only evidence from this time on (RFC 3339)")
    ap.add_argument("--until", help="only evidence up to this time (RFC 3339)")
    ap.add_argument(
        "--partitions",
        type=int,
        default=0,
        help="read in place: spread the blobs' paths over N tasks (default: "
        "four a core); read by Spark: repartition the blobs into N partitions "
        "(a shuffle of their content; default: none, Spark's file splits, see "
        "spark.sql.files.maxPartitionBytes)",
    )
    ap.add_argument(
        "--read",
        choices=["auto", "spark", "in-place"],
        default="auto",
        help="who finds and reads the blobs: spark (binaryFile lists them and "
        "reads their content: any file system Spark can reach), in-place (the "
        "library walks a local folder or mount on the driver, as the CLI does, "
        "and maps each file where the executor finds it) or auto (in-place "
        "for what Spark would read as local files, else spark)",
    )
    ap.add_argument(
        "--shuffle-seed",
        type=int,
        default=None,
        help="put the blobs in a random order within partitions (tests)",
    )
    args = ap.parse_args(argv)
    if args.read == "in-place" and not is_local(args.input):
        # Each blob would be "no such file" on the executors: 0 runs.
        ap.error(
            f"--read in-place reads local files (a path or file:), not {args.input}: "
            "leave --read at auto, or give --read spark"
        )

    from pyspark import SparkContext
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    # A local tree is walked while Spark starts (the walk releases the GIL).
    walker = concurrent.futures.ThreadPoolExecutor(1)
    walked = (
        walker.submit(aibnet.discover, [blob_name(args.input)])
        if walk_ahead(args.read, args.input, SparkContext._active_spark_context is not None)
        else None
    )
    walker.shutdown(wait=False)

    spark = SparkSession.builder.appName("aibnet-builds").getOrCreate()
    sc = spark.sparkContext
    default_fs = sc._jsc.hadoopConfiguration().get("fs.defaultFS") or "file:///"
    in_place = reads_in_place(args.read, args.input, default_fs)
    # A blob can be 100 MB: hand them to Python a few at a time.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "4")
    # File splits, unless the submitter sets them. Read by Spark, larger
    # than its 128 MB: with each blob counted 4 MB more (openCostInBytes) a
    # 128 MB split holds ~30 hourly blobs, and per-task costs then outweigh
    # the work (the month: 533 tasks, first pass 214 s; 134 tasks, 80 s);
    # Spark still caps a split at the data over the cluster's cores, so a
    # large cluster keeps one task per core at least.
    conf = sc.getConf()
    if not in_place and not conf.contains("spark.sql.files.maxPartitionBytes"):
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(512 << 20))
    # The second pass names its blobs one by one; beyond 32 paths Spark
    # lists them in a job of up to 10 000 tasks (the month: 1 411 blobs,
    # 2 822 tasks, 8.4 s for a few stat calls each). A few tasks per core
    # list them as much in parallel (16 tasks: 0.35 s).
    if not sc.getConf().contains("spark.sql.sources.parallelPartitionDiscovery.parallelism"):
        spark.conf.set(
            "spark.sql.sources.parallelPartitionDiscovery.parallelism",
            str(max(8, 4 * sc.defaultParallelism)),
        )

    def blobs(paths):
        """The rows of one pass and the slices of paths they stand for
        (read in place), or the blobs Spark lists and reads."""
        if in_place:
            # The paths the walk found, a few tasks a core: a task holds no
            # blob's bytes, only names (the month's first pass in 134 tasks
            # 16.5 s, in 8 tasks 14.0 s). Dealt out in turn, so that each
            # task gets its share of every NIC and day (neighbours in path
            # order are blobs of one NIC, of much the same size). The
            # slices travel as a broadcast and the rows are their numbers
            # (a DataFrame of the paths themselves went through a second
            # Python worker a task, or a shuffle).
            tasks = max(1, min(args.partitions or 4 * sc.defaultParallelism, len(paths)))
            slices = [paths[k::tasks] for k in range(tasks)]
            if args.shuffle_seed is not None:
                for k, one in enumerate(slices):
                    random.Random(args.shuffle_seed + k).shuffle(one)
            shared = sc.broadcast(slices)
            return spark.range(0, tasks, 1, tasks).withColumnRenamed("id", "slice"), shared
        else:
            # Spark's own file splits by default: each task reads its blobs
            # where it runs, and no blob's content goes through a shuffle.
            df = (
                spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                # Hidden names as the CLI hides them: `.x` only (Spark's
                # own rule also hides `_x`, e.g. a `_SUCCESS` marker the
                # CLI reads and reports; Spark 4's option, which older
                # versions ignore).
                .option("ignoredPathSegmentRegex", r"^\.")
                .load(paths)
                .select("path", "content")
            )
            if args.partitions:
                df = df.repartition(args.partitions)
        if args.shuffle_seed is not None:
            df = df.sortWithinPartitions(F.rand(args.shuffle_seed))
        return df, None

    # Wall time of each step, for the closing line (README, "On Spark").
    took: dict[str, float] = {}
    clock = [time.monotonic()]

    def lap(step: str) -> None:
        now = time.monotonic()
        took[step] = now - clock[0]
        clock[0] = now

    # 1. First pass on the executors. A local tree was walked by the
    # library, as the CLI walks it: the same inputs, what cannot be walked
    # reported as the CLI reports it, and no listing by Spark (the month:
    # ~2.5 s in one thread of the JVM, before anything else could start).
    unwalked: list[tuple[str, str]] = []
    if in_place:
        found, unwalked = (
            walked.result() if walked is not None else aibnet.discover([blob_name(args.input)])
        )
        first_blobs, slices = blobs(found)
    else:
        first_blobs, slices = blobs(args.input)
    first_rows = first_blobs.mapInArrow(
        scan_blobs(None, args.since, args.until, slices), PARTIAL_SCHEMA
    ).collect()
    # The partials stay as the executors sent them (Arrow IPC bytes) and are
    # decoded once, in Rust, for all the driver's steps.
    url_of = {blob_name(r["path"]): r["path"] for r in first_rows}
    # Counted from the tasks' rows (asking the plan would plan it again).
    partitions = len({r["part"] for r in first_rows})
    parts = aibnet.Partials()
    parts.add_unwalked(unwalked)
    parts.add(r["partial"] for r in first_rows)
    lap("first pass")
    # 2. The second look, on the driver.
    look = parts.second_look()
    again = sorted(url_of[name] for name in parts.rereads(look))
    lap("look")
    # 3. Second pass: only the blobs that need it; their partials take the
    # place of their first-pass ones.
    if again:
        again_blobs, slices = blobs(again)
        parts.add(
            r["partial"]
            for r in again_blobs.mapInArrow(
                scan_blobs(look, args.since, args.until, slices), PARTIAL_SCHEMA
            ).collect()
        )
    lap("second pass")
    # 4. Runs and the sessions they were found in, on the driver. Both
    # release the GIL: side by side on the driver's cores, which the
    # executors leave idle by now; a local output's sessions are written
    # while the runs are still being found.
    out = args.output.rstrip("/")

    def kept_sessions() -> pa.RecordBatch:
        sessions = parts.scan_sessions(look, args.since, args.until)
        if is_local(out):
            # The driver holds the sessions already: one Parquet file
            # written where it is (through Spark, the month's 250 000
            # sessions went to the JVM and back out in 6.5 s), in the
            # types Spark reads.
            import pyarrow.parquet as pq

            d = os.path.join(blob_name(out), "sessions")
            # Replaced whole, as Spark's overwrite mode does.
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            pq.write_table(spark_ready(sessions), os.path.join(d, "part-00000.parquet"))
        return sessions

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = pool.submit(parts.builds, look, args.since, args.until)
        kept = pool.submit(kept_sessions)
        doc, sessions = runs.result(), kept.result()
    lap("builds")

    lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in doc["runs"]]
    summary = {k: v for k, v in doc.items() if k != "runs"}
    if is_local(out):
        d = blob_name(out)
        with open(os.path.join(d, "runs.ndjson"), "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
        with open(os.path.join(d, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    else:
        # Storage: through Spark's file systems (one part file in a folder).
        sc.parallelize(lines, 1).saveAsTextFile(out + "/runs.ndjson")
        sc.parallelize([json.dumps(summary)], 1).saveAsTextFile(out + "/summary.json")
        # Blobs went to Python a few at a time; sessions come back in slices
        # of the usual size (at four rows a slice, 250 000 sessions would be
        # 60 000 tasks).
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        spark.createDataFrame(spark_ready(sessions)).write.mode("overwrite").parquet(
            out + "/sessions"
        )
    lap("write")
    print(
        f"aibnet-spark: {len(first_rows)} blobs in {partitions} partitions, "
        f"read {'in place' if in_place else 'by Spark'} "
        f"({len(again)} read twice), "
        f"{sessions.num_rows} AIB-relevant sessions, {len(lines)} runs; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()),
        file=sys.stderr,
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

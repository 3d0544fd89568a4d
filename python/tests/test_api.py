"""The Python API against the CLI, on every capture and flow log in the
repository: the same sessions, the same merge, Parquet read back with
pyarrow equal to the JSON (types, nulls, timestamps), the same runs."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aibnet
from common import REPO, cli, evidence_dirs, json_sessions, lab_tree, run_json, session_rows

EVIDENCE = ("pcap", "pcapng", "flowlog")


def evidence_files() -> list[tuple[str, str]]:
    """(path, format) of every capture and flow log in the repository, as
    the CLI reads them."""
    out = []
    for root in ("captures", "tests/data"):
        doc = run_json("sessions", str(REPO / root))
        out += [(i["path"], i["format"]) for i in doc["inputs"] if i["format"] in EVIDENCE]
    return out


FILES = evidence_files()


def test_every_capture_and_flow_log_is_compared():
    formats = {f for _, f in FILES}
    assert formats == set(EVIDENCE), formats
    assert len(FILES) > 300, len(FILES)


@pytest.mark.parametrize("path", [p for p, _ in FILES], ids=lambda p: Path(p).name)
def test_sessions_equal_the_cli(path: str):
    want = run_json("sessions", path)
    got = aibnet.sessions(Path(path).read_bytes(), path)
    assert isinstance(got, pa.RecordBatch)
    assert session_rows(got) == json_sessions(want)
    import json

    assert json.loads(got.schema.metadata[b"aibnet.inputs"]) == want["inputs"]


@pytest.mark.parametrize("folder", evidence_dirs(), ids=lambda p: p.name)
def test_merge_equals_the_cli_on_the_folder(folder: Path):
    want = run_json("sessions", str(folder))
    paths = [i["path"] for i in want["inputs"] if i["format"] in EVIDENCE]
    batches = [aibnet.sessions(Path(p).read_bytes(), p) for p in reversed(paths)]
    got = aibnet.merge(batches)
    assert session_rows(got) == json_sessions(want)


@pytest.mark.parametrize("folder", evidence_dirs(), ids=lambda p: p.name)
def test_parquet_read_by_pyarrow_equals_the_json(folder: Path):
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "s.parquet"
        subprocess.run(
            [cli(), "sessions", "--format", "parquet", "-o", str(f), str(folder)], check=False
        )
        table = pq.read_table(f)
    want = run_json("sessions", str(folder))
    s = table.schema
    assert s.field("first_ts").type == pa.timestamp("ns", tz="UTC")
    assert s.field("orig_p").type == pa.uint16()
    assert s.field("resp_ip_bytes").type == pa.uint64()
    for name in ("proto", "state", "decision", "rule", "direction", "nsg"):
        assert pa.types.is_dictionary(s.field(name).type), name
    assert s.field("seen_by").type == pa.list_(pa.string())
    assert not s.field("orig_h").nullable and s.field("decision").nullable
    assert session_rows(table) == json_sessions(want)


def test_builds_of_blobs_equal_the_cli(tmp_path: Path):
    lab_tree(tmp_path)
    want = run_json("builds", str(tmp_path))
    paths = [i["path"] for i in want["inputs"]]
    got = aibnet.builds_of_blobs((p, Path(p).read_bytes()) for p in reversed(paths))
    assert len(want["runs"]) >= 10
    assert {r["verdict"] for r in want["runs"]} == {"healthy", "broken"}
    assert got == want


def ipc(batch: pa.RecordBatch) -> bytes:
    """A partial as an Arrow IPC stream, as Spark's executors send it."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def test_partials_decoded_once_equal_the_functions_and_the_cli(tmp_path: Path):
    lab_tree(tmp_path)
    want = run_json("builds", str(tmp_path))
    blobs = {i["path"]: Path(i["path"]).read_bytes() for i in want["inputs"]}
    first = [aibnet.scan(d, p) for p, d in blobs.items()]
    look = aibnet.second_look(first)
    again_names = [p for p, b in zip(blobs, first) if aibnet.rereads(b, look)]
    again = [aibnet.scan(blobs[p], p, look) for p in again_names]
    assert again_names, "the lab tree has blobs the second look reads again"

    parts = aibnet.Partials()
    # Batches and IPC bytes, in any order.
    parts.add(ipc(b) for b in reversed(first[::2]))
    parts.add(first[1::2])
    assert len(parts) == len(blobs)
    assert parts.second_look() == look
    assert set(parts.rereads(look)) == set(again_names)
    # A second-pass partial replaces its input's first-pass one, and a
    # first-pass partial added later does not replace it back.
    parts.add(ipc(b) for b in again)
    parts.add(first)
    assert len(parts) == len(blobs)
    got = parts.builds(look)
    assert got == aibnet.builds(first + again, look) == want
    assert parts.scan_sessions(look).equals(aibnet.scan_sessions(first + again, look))
    with pytest.raises(ValueError):
        parts.add([b"not an Arrow stream"])


def scanned_both_passes(tmp_path: Path) -> Iterator[Tuple[str, bytes, Optional[str]]]:
    """A dozen flow logs of the lab tree and a capture, each with the look
    of both passes (None, then the second look): (path, bytes, look)."""
    lab_tree(tmp_path)
    paths = [i["path"] for i in run_json("builds", str(tmp_path))["inputs"]][:12]
    paths.append(str(REPO / "captures/proxy-to-buildvm-dropped/proxy.pcap"))
    look = aibnet.second_look([aibnet.scan(Path(p).read_bytes(), p) for p in paths])
    for p in paths:
        d = Path(p).read_bytes()
        for lk in (None, look):
            yield p, d, lk


def test_scan_ipc_is_the_partial_of_scan_as_an_ipc_stream(tmp_path: Path):
    for p, d, lk in scanned_both_passes(tmp_path):
        want = aibnet.scan(d, p, lk)
        got = pa.ipc.open_stream(aibnet.scan_ipc(d, p, lk)).read_next_batch()
        assert got.equals(want) and got.schema.metadata == want.schema.metadata, p


def test_discover_finds_what_the_cli_reads(tmp_path: Path):
    # A tree as a storage account's export can leave it: a marker named in
    # `_` (Spark's listing leaves it out, the CLI reads it), a hidden file
    # (the CLI leaves it out), a symlink loop (the CLI reports it).
    tree = tmp_path / "tree"
    lab_tree(tree / "lab")
    (tree / "_SUCCESS").write_bytes(b"")
    (tree / "lab" / ".notes.json").write_text("{}")
    (tree / "lab" / "loop").symlink_to("..")
    files, unwalked = aibnet.discover([tree])
    want = run_json("builds", str(tree))
    assert files == [i["path"] for i in want["inputs"]]
    assert str(tree / "_SUCCESS") in files and len(files) >= 20
    assert not any(".notes" in f for f in files)
    assert unwalked == [(str(tree / "lab" / "loop"), "directory already visited (symlink loop?)")]
    assert [(s["path"], s["reason"]) for s in want["skipped"]][:1] == unwalked
    # The partials of what was found, with what was not walked: the CLI's
    # whole document.
    parts = aibnet.Partials()
    parts.add_unwalked(unwalked)
    parts.add([aibnet.scan_file_ipc(f, f) for f in files])
    look = parts.second_look()
    parts.add([aibnet.scan_file_ipc(f, f, look) for f in parts.rereads(look)])
    assert parts.builds(look) == want
    with pytest.raises(ValueError, match="local paths only"):
        aibnet.discover(["az://account/container"])


def test_scan_file_ipc_reads_in_place_what_scan_ipc_reads_from_bytes(tmp_path: Path):
    for p, d, lk in scanned_both_passes(tmp_path):
        # Named as Spark's executors name it; read from where it is.
        assert aibnet.scan_file_ipc(Path(p), "blob/" + p, lk) == aibnet.scan_ipc(d, "blob/" + p, lk), p
    # A file that cannot be read is a failed input of the run, named, not
    # an exception that would fail the executor's whole task.
    gone = tmp_path / "gone" / "PT1H.json"
    got = pa.ipc.open_stream(aibnet.scan_file_ipc(str(gone), "gone/PT1H.json")).read_next_batch()
    parts = aibnet.Partials()
    parts.add([aibnet.scan_file_ipc(str(gone), "gone/PT1H.json")])
    doc = parts.builds(parts.second_look())
    assert [s["path"] for s in doc["skipped"]] == ["gone/PT1H.json"], doc["skipped"]
    assert "No such file" in doc["skipped"][0]["reason"], doc["skipped"]
    assert got.num_rows == 0


def test_diagnose_equals_the_cli():
    folder = REPO / "captures/proxy-to-buildvm-dropped"
    want = run_json("diagnose", str(folder))
    paths = [i["path"] for i in want["inputs"] if i["format"] in EVIDENCE]
    blobs = [(p, Path(p).read_bytes()) for p in paths]
    first = [aibnet.scan(d, p) for p, d in blobs]
    look = aibnet.second_look(first)
    again = [aibnet.scan(d, p, look) for (p, d), b in zip(blobs, first) if aibnet.rereads(b, look)]
    got = aibnet.diagnose(first + again, look)
    assert got["verdict"] == want["verdict"] == "broken"
    assert got["hops"] == want["hops"]
    assert got["findings"] == want["findings"]

"""What the Python and Spark tests share: the repository, the CLI, and
record batches of sessions as the JSON contract's objects."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa

REPO = Path(__file__).resolve().parents[2]

FLOW_KEYS = ("decision", "rule", "direction", "flow_state", "nsg", "target", "note")


def cli() -> str:
    """The aibnet binary: $AIBNET_BIN, else the workspace's release or
    debug build."""
    env = os.environ.get("AIBNET_BIN")
    if env:
        return env
    for p in ("target/release/aibnet", "target/debug/aibnet"):
        if (REPO / p).exists():
            return str(REPO / p)
    raise RuntimeError("no aibnet binary: build it (cargo build) or set AIBNET_BIN")


def run_json(*args: str) -> Any:
    """`aibnet ARGS --format json` parsed (exit codes 0 and 1 are answers)."""
    out = subprocess.run(
        [cli(), *args, "--format", "json"], capture_output=True, check=False
    )
    assert out.returncode in (0, 1, 2), out.stderr.decode()
    return json.loads(out.stdout)


def evidence_dirs() -> list[Path]:
    """Every folder of evidence in the repository (as the Rust tests list
    them): each lab scenario, the busy-VNET sets, the traces, the flow-log
    samples and the Zeek traces."""
    dirs: list[Path] = []
    for root in ("captures", "tests/data/busy-vnet"):
        dirs += sorted(p for p in (REPO / root).iterdir() if p.is_dir())
    dirs += [REPO / "tests/data/traces", REPO / "tests/data/flowlogs/samples", REPO / "tests/data/zeek"]
    return dirs


def rfc3339(ns: int, digits: int) -> str:
    """Nanoseconds since the epoch as aibnet writes them."""
    secs, frac = divmod(ns, 1_000_000_000)
    head = (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    if digits == 0:
        return head + "Z"
    return f"{head}.{frac:09d}"[: len(head) + 1 + digits] + "Z"


def _column(c: pa.Array, digits: list[int]) -> list[Any]:
    t = c.type
    if pa.types.is_dictionary(t):
        return _column(c.cast(t.value_type), digits)
    if pa.types.is_timestamp(t):
        assert t.tz == "UTC", t
        unit = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.unit]
        ints = c.cast(pa.int64()).to_pylist()
        return [None if v is None else rfc3339(v * unit, d) for v, d in zip(ints, digits)]
    if pa.types.is_struct(t):
        fields = {
            t.field(i).name: _column(c.field(i), digits)
            for i in range(t.num_fields)
            if t.field(i).name != "ts"
        }
        valid = c.is_valid().to_pylist()
        return [
            {k: v[i] for k, v in fields.items()} if ok else None for i, ok in enumerate(valid)
        ]
    return c.to_pylist()


def session_rows(batch: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
    """Rows of a sessions batch as the JSON contract's objects: times as
    RFC 3339 at the session's precision, the added columns (ip_proto,
    ts_digits, icmp_error.ts) left out, flow-log fields null when absent."""
    def col(i: int) -> pa.Array:
        c = batch.column(i)
        return c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c

    digits = col(batch.schema.get_field_index("ts_digits")).to_pylist()
    cols = {
        f.name: _column(col(i), digits)
        for i, f in enumerate(batch.schema)
        if f.name not in ("ip_proto", "ts_digits", "payload_cut")
    }
    return [{k: v[i] for k, v in cols.items()} for i in range(batch.num_rows)]


def json_sessions(doc: Any) -> list[dict[str, Any]]:
    """The JSON's sessions with the flow-log keys a capture session leaves
    out filled with null, as the columns have them."""
    out = []
    for s in doc["sessions"]:
        s = dict(s)
        for k in FLOW_KEYS:
            s.setdefault(k, None)
        out.append(s)
    return out


SPACING_H = 6


def _shift_time(s: str, secs: int) -> str:
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    t = t + datetime.timedelta(seconds=secs)
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _shift(v, secs: int):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "time" and isinstance(x, str):
                out[k] = _shift_time(x, secs)
            elif k == "flowTuples" and isinstance(x, list):
                tuples = []
                for t in x:
                    ts, rest = t.split(",", 1)
                    n = int(ts)
                    n = n + secs * 1000 if n >= 100_000_000_000 else n + secs
                    tuples.append(f"{n},{rest}")
                out[k] = tuples
            else:
                out[k] = _shift(x, secs)
        return out
    if isinstance(v, list):
        return [_shift(x, secs) for x in v]
    return v


HOUR = re.compile(r"y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})")


def shift_tree(src: Path, dst: Path, secs: int) -> int:
    """Copy the flow-log blobs under src to dst with every time shifted by
    secs (record times, tuple times and the y=/m=/d=/h= folders, by the
    hour the blob's first record falls in)."""
    n = 0
    for f in sorted(src.rglob("*.json")):
        doc = _shift(json.loads(f.read_text()), secs)
        rel = str(f.relative_to(src))
        m = HOUR.search(rel)
        if m:
            y, mo, d, h = map(int, m.groups())
            t = datetime.datetime(y, mo, d, h) + datetime.timedelta(seconds=secs)
            t = t.replace(minute=0, second=0)
            rel = HOUR.sub(t.strftime("y=%Y/m=%m/d=%d/h=%H"), rel)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, separators=(",", ":")))
        n += 1
    return n


def lab_tree(root: Path) -> int:
    """The flow logs of every lab scenario under root, each scenario shifted
    six hours after the one before (as tests/builds/lab.rs lays them out):
    a run per scenario at the same addresses. Returns the blobs written."""
    scenarios = sorted(p for p in (REPO / "captures").iterdir() if (p / "flowlogs").is_dir())
    n = 0
    for i, s in enumerate(scenarios):
        n += shift_tree(s / "flowlogs", root / s.name, i * SPACING_H * 3600)
    return n

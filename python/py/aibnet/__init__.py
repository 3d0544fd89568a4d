"""aibnet from Python: why can't Azure VM Image Builder reach its build VM?

The Rust library itself, not a re-implementation: sessions of a capture or
flow-log blob as a ``pyarrow.RecordBatch`` (handed over through the Arrow C
data interface, without copying), their merge, and ``builds`` / ``diagnose``
returning the same objects as ``aibnet builds --format json`` and
``aibnet diagnose --format json``.

``builds`` and ``diagnose`` work on *partials*, one per input, in the two
passes of the CLI's own scan, so that inputs can be read anywhere (Spark
executors) and only the partials brought together::

    first = [aibnet.scan(data, name) for name, data in blobs]
    look = aibnet.second_look(first)
    again = [aibnet.scan(data, name, look) for (name, data), p in zip(blobs, first)
             if aibnet.rereads(p, look)]
    doc = aibnet.builds(first + again, look)

``builds_of_blobs`` does exactly that for blobs in memory.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence, Tuple

import pyarrow as pa

from . import _aibnet

__all__ = [
    "sessions",
    "merge",
    "scan",
    "second_look",
    "rereads",
    "builds",
    "diagnose",
    "scan_sessions",
    "builds_of_blobs",
]


def sessions(data: bytes, name: str) -> pa.RecordBatch:
    """Every session of one capture (pcap/pcapng, gzip ok) or flow-log blob.

    ``name`` is the input's path as the JSON's ``seen_by`` and ``inputs``
    name it. The columns are the ``sessions`` JSON contract's, typed; the
    schema's metadata holds the inputs (``aibnet.inputs``, JSON) and the
    skipped inputs (``aibnet.skipped``). Same sessions as
    ``aibnet sessions NAME``.
    """
    return _aibnet.sessions(data, name)


def merge(batches: Sequence[pa.RecordBatch]) -> pa.RecordBatch:
    """The sessions of several batches as one: inputs in path order, views
    of one connection coalesced, flows open across hourly blobs joined —
    what ``aibnet sessions`` gives on all their inputs at once."""
    return _aibnet.merge(list(batches))


def scan(
    data: bytes,
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> pa.RecordBatch:
    """One input's partial for ``builds`` / ``diagnose``: the first pass
    without ``look`` (a flow log notes its anchors only), the second with
    the look from :func:`second_look`. ``since`` / ``until``: RFC 3339."""
    return _aibnet.scan(data, name, look, since, until)


def second_look(partials: Sequence[pa.RecordBatch]) -> str:
    """The hosts a build can involve, from the first pass's partials
    (opaque JSON text, to pass to :func:`scan`, :func:`rereads`,
    :func:`builds` and :func:`diagnose`)."""
    return _aibnet.second_look(list(partials))


def rereads(partial: pa.RecordBatch, look: str) -> bool:
    """Whether a first-pass partial's input must be scanned again with
    ``look`` (a flow log that a build host's NIC logged)."""
    return _aibnet.rereads(partial, look)


def builds(
    partials: Sequence[pa.RecordBatch],
    look: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> dict[str, Any]:
    """``aibnet builds --format json`` over every input's partials (both
    passes; a second-pass partial replaces its input's first): a dict with
    ``runs``, ``summary``, ``inputs`` and ``skipped``."""
    return json.loads(_aibnet.builds(list(partials), look, since, until))


def scan_sessions(
    partials: Sequence[pa.RecordBatch],
    look: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> pa.RecordBatch:
    """The sessions ``builds`` and ``diagnose`` read from these partials
    (the AIB-relevant ones), merged across inputs, as one batch."""
    return _aibnet.scan_sessions(list(partials), look, since, until)


def diagnose(partials: Sequence[pa.RecordBatch], look: str) -> dict[str, Any]:
    """``aibnet diagnose --format json`` over every input's partials: a dict
    with ``verdict``, ``topology``, ``hops``, ``findings`` ..."""
    return json.loads(_aibnet.diagnose(list(partials), look))


def builds_of_blobs(
    blobs: Iterable[Tuple[str, bytes]],
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> dict[str, Any]:
    """``builds`` on (name, bytes) pairs held in memory, both passes here."""
    blobs = list(blobs)
    first = [scan(data, name, None, since, until) for name, data in blobs]
    look = second_look(first)
    again = [
        scan(data, name, look, since, until)
        for (name, data), p in zip(blobs, first)
        if rereads(p, look)
    ]
    return builds(first + again, look, since, until)

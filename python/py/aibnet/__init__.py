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
import os
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _aibnet

__all__ = [
    "sessions",
    "merge",
    "scan",
    "scan_ipc",
    "scan_file_ipc",
    "second_look",
    "rereads",
    "builds",
    "diagnose",
    "scan_sessions",
    "builds_of_blobs",
    "Partials",
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


def scan_ipc(
    data: bytes,
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> bytes:
    """:func:`scan`, the partial returned as the bytes of an Arrow IPC stream
    (what a process sends to another; :class:`Partials` takes them as they
    are), written in Rust, its buffers LZ4-compressed (``LZ4_FRAME``, which
    pyarrow reads)."""
    return _aibnet.scan_ipc(data, name, look, since, until)


def scan_file_ipc(
    path: Union[str, os.PathLike[str]],
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> bytes:
    """:func:`scan_ipc` of a local file read where it is (mapped, not
    copied into Python), reported as ``name``. A file that cannot be read
    gives the partial of a failed input (in ``skipped``), as the CLI
    reports it."""
    return _aibnet.scan_file_ipc(path, name, look, since, until)


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


def discover(
    paths: Iterable[Union[str, "os.PathLike[str]"]],
) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The input files under local paths as the CLI finds them: folders
    walked, hidden names (``.x``) left out, in path order; and what could
    not be walked (a folder that cannot be read, a symlink loop), as
    ``(path, reason)`` pairs for :meth:`Partials.add_unwalked`. Storage URLs
    are refused (``ValueError``)."""
    return _aibnet.discover([os.fspath(p) for p in paths])


class Partials:
    """The partials of a run, each decoded once in Rust, for the steps after
    the first pass: the second look, which inputs to scan again, ``builds``
    and the AIB-relevant sessions. The functions above take the partials
    again at every step; on many partials (a Spark driver holds one per
    blob) handing each over from pyarrow cost more than the steps. A
    second-pass partial takes the place of its input's first-pass one,
    whatever the order they are added in::

        parts = aibnet.Partials()
        parts.add(first)                  # record batches or IPC bytes
        look = parts.second_look()
        again = parts.rereads(look)       # names to scan again
        parts.add([aibnet.scan(data[n], n, look) for n in again])
        doc = parts.builds(look)
    """

    def __init__(self) -> None:
        self._p = _aibnet.Partials()

    def add(self, partials: Iterable[Any]) -> None:
        """Add partials: ``pyarrow.RecordBatch`` objects from :func:`scan`, or
        the bytes of Arrow IPC streams holding them (how executors send
        them)."""
        self._p.add(list(partials))

    def add_unwalked(self, unwalked: Iterable[Tuple[str, str]]) -> None:
        """What the walk that found the inputs could not walk, as
        :func:`discover` returns it: reported first among the document's
        ``skipped``, as the CLI reports it."""
        self._p.add_unwalked(list(unwalked))

    def __len__(self) -> int:
        return len(self._p)

    def second_look(self) -> str:
        """The second look of the first pass (JSON), as :func:`second_look`."""
        return self._p.second_look()

    def rereads(self, look: str) -> list[str]:
        """The names of the inputs to scan again with ``look``, in path order
        (those for which :func:`rereads` is true)."""
        return self._p.rereads(look)

    def builds(
        self, look: str, since: Optional[str] = None, until: Optional[str] = None
    ) -> dict[str, Any]:
        """:func:`builds` over these partials."""
        return json.loads(self._p.builds(look, since, until))

    def scan_sessions(
        self, look: str, since: Optional[str] = None, until: Optional[str] = None
    ) -> pa.RecordBatch:
        """:func:`scan_sessions` over these partials."""
        return self._p.scan_sessions(look, since, until)


def builds_of_blobs(
    blobs: Iterable[Tuple[str, bytes]],
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> dict[str, Any]:
    """``builds`` on (name, bytes) pairs held in memory, both passes here."""
    data = dict(blobs)
    parts = Partials()
    parts.add(scan(d, name, None, since, until) for name, d in data.items())
    look = parts.second_look()
    parts.add(scan(data[name], name, look, since, until) for name in parts.rereads(look))
    return parts.builds(look, since, until)

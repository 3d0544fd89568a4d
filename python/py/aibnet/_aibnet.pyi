"""Type stubs of the extension module (see ``aibnet`` for the documentation)."""

from typing import Optional, Sequence

import pyarrow as pa

def sessions(data: bytes, name: str) -> pa.RecordBatch: ...
def merge(batches: Sequence[pa.RecordBatch]) -> pa.RecordBatch: ...
def scan(
    data: bytes,
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> pa.RecordBatch: ...
def second_look(partials: Sequence[pa.RecordBatch]) -> str: ...
def rereads(partial: pa.RecordBatch, look: str) -> bool: ...
def builds(
    partials: Sequence[pa.RecordBatch],
    look: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> str: ...
def diagnose(partials: Sequence[pa.RecordBatch], look: str) -> str: ...
def scan_sessions(
    partials: Sequence[pa.RecordBatch],
    look: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> pa.RecordBatch: ...

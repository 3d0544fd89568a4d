"""Type stubs of the extension module (see ``aibnet`` for the documentation)."""

import os
from typing import Any, Optional, Sequence, Union

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
def scan_ipc(
    data: bytes,
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> bytes: ...
def scan_file_ipc(
    path: Union[str, os.PathLike[str]],
    name: str,
    look: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
) -> bytes: ...
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

class Partials:
    def __init__(self) -> None: ...
    def add(self, partials: Sequence[Any]) -> None: ...
    def __len__(self) -> int: ...
    def second_look(self) -> str: ...
    def rereads(self, look: str) -> list[str]: ...
    def builds(
        self, look: str, since: Optional[str] = None, until: Optional[str] = None
    ) -> str: ...
    def scan_sessions(
        self, look: str, since: Optional[str] = None, until: Optional[str] = None
    ) -> pa.RecordBatch: ...

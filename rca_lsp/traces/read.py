"""Reading a trace's text: from a file, or standard input, bounded, any encoding.

Every front end reads traces here (`rca suspects`, `rca failures add`, `rca bisect --trace`, the
server's trace files), so the limit and the messages are the same everywhere. Undecodable bytes
become U+FFFD rather than an error: a log with one bad byte is still a trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rca_lsp.errors import TraceError

MAX_TRACE_BYTES = 64 * 1024 * 1024


def read_trace(source: str) -> str:
    """The text of the trace file `source`, or of standard input for `-`."""
    if source == "-":
        return _decode(sys.stdin.buffer.read(MAX_TRACE_BYTES + 1))
    return read_trace_file(Path(source), source)


def read_trace_file(path: Path, name: str | None = None) -> str:
    """The text of one trace file; `name` is how the user wrote it, for the message."""
    if not path.is_file():
        raise TraceError(f"trace file {name or path} does not exist or is not a file")
    with open(path, "rb") as fh:
        return _decode(fh.read(MAX_TRACE_BYTES + 1))


def _decode(data: bytes) -> str:
    if len(data) > MAX_TRACE_BYTES:
        raise TraceError(f"trace input is over {MAX_TRACE_BYTES // (1024 * 1024)} MB; pass the failing part")
    return data.decode("utf-8", errors="replace")

"""Reading a trace's text: from a file (or a pipe), or standard input, bounded, any encoding.

Every front end reads traces here (`rca suspects`, `rca failures add`, `rca bisect --trace`, the
server's trace files), so the limit and the messages are the same everywhere. Text is UTF-8 unless a
byte-order mark says UTF-16 or UTF-32; undecodable bytes become U+FFFD rather than an error: a log
with one bad byte is still a trace.
"""

from __future__ import annotations

import codecs
import stat
import sys
from pathlib import Path

from rca_lsp.errors import TraceError

MAX_TRACE_BYTES = 64 * 1024 * 1024
# UTF-32's marks first: UTF-16 LE's is the start of UTF-32 LE's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_trace(source: str) -> str:
    """The text of the trace file `source`, or of standard input for `-`."""
    if source == "-":
        return _decode(sys.stdin.buffer.read(MAX_TRACE_BYTES + 1))
    return read_trace_file(Path(source), source, streams=True)


def read_trace_file(path: Path, name: str | None = None, *, streams: bool = False) -> str:
    """The text of one trace file; `name` is how the user wrote it, for the message. `streams`: a
    pipe or a character device (`<(cmd)`, /dev/stdin) is read too, as the user asked; the server
    leaves it out, as opening a FIFO nobody writes would hang it."""
    name = name or str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise TraceError(f"trace file {name} does not exist") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace file {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise TraceError(f"trace file {name} is a directory")
    if not (stat.S_ISREG(mode) or (streams and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)))):
        raise TraceError(f"trace file {name} is not a {'file or a pipe' if streams else 'regular file'}")
    try:
        with open(path, "rb") as fh:
            return _decode(fh.read(MAX_TRACE_BYTES + 1))
    except OSError as exc:
        raise TraceError(f"cannot read trace file {name}: {exc.strerror or exc}") from None


def _decode(data: bytes) -> str:
    """UTF-8, or what a byte-order mark says: Windows PowerShell 5's `>` writes UTF-16, Notepad a UTF-8 mark."""
    if len(data) > MAX_TRACE_BYTES:
        raise TraceError(f"trace input is over {MAX_TRACE_BYTES // (1024 * 1024)} MB; pass the failing part")
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    return data.decode(encoding, errors="replace")

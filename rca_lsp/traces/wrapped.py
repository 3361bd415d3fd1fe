"""Join the frame lines that a terminal or a pager cut at its width, before the parsers read them.

Copied from an 80-column terminal (tmux, screen, a `script` log, `fold`), a Python frame with a long
absolute path comes in two pieces:

      File "/home/runner/work/calc-service-backend/calc-service-backend/src/calc/r
    eport.py", line 5, in summary

and no parser reads either piece as a frame, so the frame is lost and the traceback ends there.
Lines are joined only where the join is a whole `File "...", line N, in f` frame that the first
piece is not, or completes one cut in its function's name at the width of the text's longest lines
(`in summ` + `ary`), or is the source line under a frame cut at that width, or is one of the lines
that chain two tracebacks (`The above exception was the direct cause of the following exception:`);
no other text changes.
"""

from __future__ import annotations

import re

from rca_lsp.traces.base import exception_line, indent
from rca_lsp.traces.python import FILE_LINE, MARKERS

_MAX_PIECES = 4  # a frame over four lines is not a wrapped frame
_MARK = 'File "'
_MIN_WIDTH = 40
_CARETS = frozenset("^~ ")
_MARKER_STARTS = tuple(marker[:12] for marker in MARKERS)
_NAME_END = re.compile(r"[\w.<>]{1,500}")  # the rest of a function's name: `ary`, `ule>`


def unwrap(text: str) -> str:
    """`text` (line ends already `\\n`) with each Python frame line cut by wrapping made whole again,
    and the source line under it where that was cut too. The width is that of the longest lines."""
    if _MARK not in text:
        return text
    lines = text.split("\n")
    width = max(map(len, lines))
    width = width if width >= _MIN_WIDTH else 0
    out: list[str] = []
    k = 0
    while k < len(lines):
        n = 2 if _cut_marker(lines, k) else _pieces(lines, k, width)
        out.append("".join(lines[k:k + n]))
        k += n
        if _MARK in out[-1] and _source_cut(lines, k, width, indent(out[-1])):
            out.append(lines[k] + lines[k + 1])
            k += 2
    return "\n".join(out)


def _pieces(lines: list[str], k: int, width: int) -> int:
    """How many lines from line k make one frame line: 1 unless line k is the cut start of one.

    A piece that reads as a whole frame goes on only where it fills the width of the text's longest
    lines (where a terminal cuts) and the next line is one word at its first column (`in mea` + `n`);
    one that lacks only its function (`File "x.py", line 1` of `line 123, in f`) is joined only where
    the join names one: a SyntaxError's frame has none."""
    at = lines[k].find(_MARK)
    if at < 0:
        return 1
    joined = lines[k][at:]
    alone = FILE_LINE.fullmatch(joined.rstrip())
    if alone and alone.group("func") is not None and not _cut(lines, k, width):
        return 1
    best = 1
    for n in range(2, min(_MAX_PIECES, len(lines) - k) + 1):
        joined += lines[k + n - 1]
        m = FILE_LINE.fullmatch(joined.rstrip())
        if m and (not alone or m.group("func") is not None):
            best = n
            if not _cut(lines, k + n - 1, width):
                break
        elif len(lines[k + n - 1]) != width:
            break
    return best


def _cut(lines: list[str], k: int, width: int) -> bool:
    """Whether line k, which reads as a whole frame, was cut at `width` inside its function's name."""
    if not width or len(lines[k]) != width or k + 1 >= len(lines):
        return False
    rest = lines[k + 1]
    return _NAME_END.fullmatch(rest) is not None and exception_line(rest, strict=True) is None


def _source_cut(lines: list[str], j: int, width: int, frame_indent: int) -> bool:
    """Whether line j, the source under a frame, was cut at `width`: the next line goes on at its first
    column, and what follows that is what follows a source line (its carets, the next frame, the
    exception), not what follows an exception line."""
    if j + 2 >= len(lines) or not width or len(lines[j]) != width or indent(lines[j]) <= frame_indent:
        return False
    rest, after = lines[j + 1], lines[j + 2].strip()
    if not rest or rest[0].isspace() or _MARK in rest:
        return False
    return bool(after) and (set(after) <= _CARETS or FILE_LINE.fullmatch(after) is not None
                            or exception_line(after, strict=True) is not None)


def _cut_marker(lines: list[str], k: int) -> bool:
    """Whether lines k and k+1 are the two pieces of `The above exception was the direct cause ...`."""
    return k + 1 < len(lines) and lines[k].startswith(_MARKER_STARTS) and (lines[k] + lines[k + 1]).strip() in MARKERS

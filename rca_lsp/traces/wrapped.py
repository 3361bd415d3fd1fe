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

Other lines are cut alike and joined by the same rule (the line fills the width, tabs counted to
the next multiple of eight as a terminal and `fold` count them, and the join reads as a whole line
of its kind that the first piece is not, or completes one with a word): a JVM frame (`\tat
pkg.Class.method(File.java:12)`), a V8 frame (`    at fn (/path/file.js:3:5)`), pytest's location
lines (`src/calc/ops.py:3: in mean`) and its `E   ...` lines, which go on over as many pieces as the
message takes, up to the next line pytest itself prints after them.
"""

from __future__ import annotations

import re

from rca_lsp.traces import java, javascript
from rca_lsp.traces.base import exception_line, indent
from rca_lsp.traces.clean import unquote
from rca_lsp.traces.pytest import LOCATION
from rca_lsp.traces.python import FILE_LINE, MARKERS, rail

_MAX_PIECES = 4  # a frame over four lines is not a wrapped frame
_MARK = 'File "'
_MIN_WIDTH = 40
_CARETS = frozenset("^~ ")
_MARKER_STARTS = tuple(marker[:12] for marker in MARKERS)
_NAME_END = re.compile(r"[\w.<>]{1,500}")  # the rest of a function's name: `ary`, `ule>`
_MAX_MESSAGE_PIECES = 64  # an `E   ` line over this many is not one message cut by wrapping
_TAB = 8
# Lines pytest prints after an `E   ` line: another one, its rules and markers; never a continuation.
_AFTER_E = ("E ", "___", "===", "---", "_ _", "During handling", "The above exception")


def unwrap(text: str) -> str:
    """`text` (line ends already `\\n`) with each frame line cut by wrapping made whole again (and
    the source line under a Python frame, pytest's `E   ` lines). The width is that of the longest lines."""
    if _MARK not in text and "at " not in text and ":" not in text:
        return text
    width = max(map(columns, text.split("\n")))  # before any join makes a line longer
    if _MARK in text:
        text = _unwrap_python(text)
    return _unwrap_others(text, width) if width >= _MIN_WIDTH else text


def _unwrap_python(text: str) -> str:
    lines = text.split("\n")
    width = max(map(len, lines))
    width = width if width >= _MIN_WIDTH else 0
    out: list[str] = []
    k = 0
    while k < len(lines):
        n = 2 if _cut_marker(lines, k) else _pieces(lines, k, width)
        out.append("".join(lines[k:k + n]))
        k += n
        if _MARK in out[-1] and _source_cut(lines, k, width, indent(unquote(out[-1]))):
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
    if j + 2 >= len(lines) or not width or len(lines[j]) != width or indent(unquote(lines[j])) <= frame_indent:
        return False
    rest, after = lines[j + 1], unquote(lines[j + 2]).strip()
    if not rest or rest[0].isspace() or _MARK in rest:
        return False
    return bool(after) and (set(after) <= _CARETS or FILE_LINE.fullmatch(after) is not None
                            or exception_line(after, strict=True) is not None)


def _cut_marker(lines: list[str], k: int) -> bool:
    """Whether lines k and k+1 are the two pieces of `The above exception was the direct cause ...`."""
    return k + 1 < len(lines) and lines[k].startswith(_MARKER_STARTS) and (lines[k] + lines[k + 1]).strip() in MARKERS


def columns(line: str) -> int:
    """How many columns a line takes on a terminal: a tab goes on to the next multiple of eight."""
    return len(line.expandtabs(_TAB)) if "\t" in line else len(line)


def _unwrap_others(text: str, width: int) -> str:
    lines = text.split("\n")
    out: list[str] = []
    k = 0
    while k < len(lines):
        n = _other_pieces(lines, k, width) if columns(lines[k]) == width else 1
        out.append("".join(lines[k:k + n]))
        k += n
    return "\n".join(out)


def _other_pieces(lines: list[str], k: int, width: int) -> int:
    """How many lines from line k (which fills the width) make one JVM or V8 frame, pytest location
    or pytest `E   ` line: 1 unless the next lines go on with it."""
    first = lines[k]
    if first.startswith("E ") or first == "E":
        return _message_pieces(lines, k, width)
    if rail(first) is not None:
        return _railed_pieces(lines, k, width)
    stripped = first.strip()
    kind = _kind(first)
    if kind is None:
        return 1
    alone = _whole(kind, stripped)
    for n in range(2, min(_MAX_PIECES, len(lines) - k) + 1):
        piece = lines[k + n - 1]
        if not piece or piece[0].isspace() or piece == "E" or piece.startswith(_AFTER_E) \
                or _whole(kind, piece.strip()):
            return 1
        if _whole(kind, "".join(lines[k:k + n]).strip()):
            return n if not alone or (n == 2 and _NAME_END.fullmatch(piece)) else 1
        if columns(piece) != width:
            return 1
    return 1


def _kind(line: str) -> str | None:
    """Which kind of line a piece may start: a JVM or V8 frame (`at ...`), or a pytest location
    (`path:12: in f`) cut in its path, which holds no space, or after it."""
    stripped = line.strip()
    if stripped.startswith("at "):
        return "frame"
    if line[:1].isspace() or not stripped:
        return None
    return "location" if " " not in stripped or _whole("location", stripped) else None


def _whole(kind: str, text: str) -> bool:
    if kind == "frame":  # `at f (/a/b.js:2:2` + `9)` is no frame, though V8's reader takes `f (/a/b.js` for a file
        return text.count("(") == text.count(")") and (
            java.parse_frame(text) is not None or javascript.parse_frame(text) is not None)
    m = LOCATION.fullmatch(text)
    if m is None or not m.group("rest") or not any(c in m.group("path") for c in "./\\"):
        return False
    rest = m.group("rest")
    return rest.startswith("in ") or exception_line(rest, strict=True) is not None


def _message_pieces(lines: list[str], k: int, width: int) -> int:
    """How many lines from pytest's `E   ` line k make it: the lines after one that fills the width,
    up to one that does not, where each goes on at its first column and is none that pytest prints
    after an `E` line (another, a rule, a location, a blank line)."""
    n = 1
    while k + n < len(lines) and n < _MAX_MESSAGE_PIECES and columns(lines[k + n - 1]) == width:
        piece = lines[k + n]
        if not piece or piece == "E" or piece.startswith(_AFTER_E) or piece.strip() in MARKERS \
                or (not piece[0].isspace() and LOCATION.fullmatch(piece)) or FILE_LINE.fullmatch(piece):
            break
        n += 1
    return n


def _railed_pieces(lines: list[str], k: int, width: int) -> int:
    """How many lines from line k make an exception line inside an exception group's rails (`  | Error:
    ...`): its pieces go on at the first column, where no line of the group starts."""
    if exception_line(unquote(lines[k]).strip(), strict=True) is None:
        return 1
    n = 1
    while k + n < len(lines) and n < _MAX_MESSAGE_PIECES and columns(lines[k + n - 1]) == width:
        piece = lines[k + n]
        if not piece or piece[0].isspace() or piece[0] in "+|>":
            break
        n += 1
    return n

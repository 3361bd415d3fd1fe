"""Python tracebacks drawn in a box by rich (`rich.traceback`, Typer, structlog's ConsoleRenderer).

    ╭───────────── Traceback (most recent call last) ─────────────╮
    │ /srv/app/src/calc/report.py:5 in summary                    │
    │                                                             │
    │ ❱ 5 │   return {"mean": mean(values), "n": len(values)}     │
    │ /srv/app/very/long/path/that/rich/folds/at/the/box/edge/ops │
    │ .py:3 in mean                                               │
    ╰─────────────────────────────────────────────────────────────╯
    ZeroDivisionError: division by zero

Frames are printed outermost first and a chain cause first, with Python's own words between the
boxes, so the result reads as a Python traceback's does. A path too long for the box is folded
over lines of its own; they are joined back.
"""

from __future__ import annotations

import re

from rca_lsp.traces import python
from rca_lsp.traces.base import MAX_MESSAGE_LINES, Found, exception_line, join_message, numbered
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, Trace

# `/srv/app/x.py:5 in summary`; a file rich could not find is printed `in summary:5`.
_FRAME = re.compile(r"(?P<file>[^\s│╭╰].{0,4096}?):(?P<line>\d{1,9}) in (?P<func>[^\s│]{1,500})"
                    r"|in (?P<func2>[^\s│]{1,500}):(?P<line2>\d{1,9})")
_TOP, _BOTTOM, _SIDE = "╭", "╰", "│"
# Source lines (`❱ 11 │ ...`, `  9 def f():`) and nested boxes (locals) are never part of a heading.
_NOT_HEADING = ("❱", "╭", "╰", "│", *"0123456789")
_HEADER = "Traceback (most recent call last)"
_MAX_BOX_LINES = 100_000


def _opens(line: str) -> bool:
    s = line.strip()
    return s.startswith(_TOP) and _HEADER in s


def _inside(line: str) -> str | None:
    """The text between a box line's sides; None when the line is not inside a box."""
    s = line.strip()
    if len(s) < 2 or s[0] != _SIDE or s[-1] != _SIDE:
        return None
    return s[1:-1].strip()


def _frames(doc: Doc, i: int) -> tuple[list[Frame], int]:
    """The frames of the box opened at line i (outermost first) and the line after its bottom."""
    frames: list[Frame] = []
    pieces: list[str] = []  # a frame's heading folded over lines so far
    j = i + 1
    while j < len(doc.plain) and j - i < _MAX_BOX_LINES:
        s = doc.plain[j].strip()
        if s.startswith(_BOTTOM):
            return frames, j + 1
        text = _inside(doc.plain[j])
        if text is None:
            break
        m = _heading("".join(pieces), text)
        if m:
            func = m.group("func") or m.group("func2")
            frames.append(Frame(index=0, raw=m.group(0), file=m.group("file"),
                                line=int(m.group("line") or m.group("line2")), function=func, qualname=func))
        pieces = pieces + [text] if not m and text and len(pieces) < 4 and not text.startswith(_NOT_HEADING) else []
        j += 1
    return frames, j


def _heading(before: str, text: str) -> re.Match | None:
    """A frame's heading ending on this line: rich folds a long one mid-word or at a space, which it drops."""
    if not before:
        return _FRAME.fullmatch(text)
    return _FRAME.fullmatch(before + text) or _FRAME.fullmatch(before + " " + text)


def _exception(doc: Doc, j: int) -> tuple[str, str, int]:
    """The `Type: message` printed under a box at line j (after blank lines), and the line after it."""
    while j < len(doc.plain) and not doc.plain[j].strip():
        j += 1
    exc = exception_line(doc.plain[j]) if j < len(doc.plain) else None
    if exc is None:
        return "", "", j
    more: list[str] = []
    k = j + 1
    while k < len(doc.plain) and len(more) < MAX_MESSAGE_LINES and doc.plain[k].strip() \
            and doc.plain[k].strip() not in python.MARKERS and not _opens(doc.plain[k]) \
            and not doc.new_record(k, j):
        more.append(doc.plain[k].strip())
        k += 1
    return exc[0], join_message(exc[1], more), k


def _next_box(doc: Doc, j: int) -> int | None:
    """The line of the box chained after line j (`The above exception was ...`), if there is one."""
    k = j
    while k < len(doc.plain) and k - j < 4 and not doc.plain[k].strip():
        k += 1
    if k >= len(doc.plain) or doc.plain[k].strip() not in python.MARKERS:
        return None
    k += 1
    while k < len(doc.plain) and k - j < 8 and not doc.plain[k].strip():
        k += 1
    return k if k < len(doc.plain) and _opens(doc.plain[k]) else None


def _read(doc: Doc, i: int) -> tuple[Trace, int]:
    """The boxed traceback at line i with the boxes chained to it; the last line it took."""
    blocks: list[Trace] = []
    box: int | None = i
    end = i
    while box is not None:
        frames, j = _frames(doc, box)
        exception, message, end = _exception(doc, j)
        blocks.append(Trace("python", exception, message, numbered(frames[::-1]), truncated=not exception))
        box = _next_box(doc, end)
    causes = tuple(reversed(blocks[:-1]))
    last = blocks[-1]
    return Trace(last.format, last.exception, last.message, last.frames, causes=causes,
                 truncated=last.truncated), end - 1


def find(doc: Doc) -> list[Found]:
    """Every boxed traceback in the document."""
    out: list[Found] = []
    i = 0
    while i < len(doc.plain):
        if "Traceback" in doc.plain[i] and _opens(doc.plain[i]):
            trace, end = _read(doc, i)
            out.append(Found(i, end, (trace,)))
            i = max(end, i) + 1
        else:
            i += 1
    return out

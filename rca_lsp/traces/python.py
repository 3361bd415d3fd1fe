"""Python tracebacks: chained exceptions, SyntaxError blocks and exception groups.

Python prints the outermost frame first and the exception last, and prints a chain
cause first; both are turned around here so that `frames[0]` is where the error was
raised and `causes[0]` is the direct cause (then its cause, and so on). An exception
group's sub-exceptions come first in its `causes`, each a trace with its own frames; a
group nested in another (raised, or never raised and printed without a traceback) keeps
its own, told apart by the column of the `|` and `+` rails Python prints each level at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from rca_lsp.traces.base import (
    MAX_MESSAGE_LINES,
    Found,
    exception_line,
    indent,
    join_message,
    numbered,
    opens_trace,
)
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

HEADER = re.compile(r"[ \t]{0,40}(?:\+ ?)?(?P<group>Exception Group )?Traceback \(most recent call last\):")
FILE_LINE = re.compile(
    r"[ \t]{0,40}File \"(?P<file>[^\"]{1,4096})\", line (?P<line>\d{1,9})(?:, in (?P<func>.{1,2048}))?"
)
MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# unittest: `FAIL: test_b (tests.test_a.TestC.test_b) (i=1)`; before 3.11 the id ends at the class.
UNITTEST_HEADER = re.compile(
    r"(?:FAIL|ERROR|UNEXPECTED SUCCESS): (?P<name>\w{1,500}) \((?P<container>[\w.]{1,1000})\)(?P<sub> .{1,2000})?"
)
_SYNTAX = ("SyntaxError", "IndentationError", "TabError")
_SEPARATOR_CHARS = frozenset("+-0123456789. ")
_MAX_SOURCE_LINES = 20
_MAX_GROUP_DEPTH = 8
_RAIL = re.compile(r"(?:[ \t]|>(?= |$)){0,80}")


@dataclass
class _Block:
    """One printed traceback: frames in print order (outermost first) and its exception."""

    frames: list[Frame] = field(default_factory=list)
    exception: str = ""
    message: str = ""
    truncated: bool = False
    group: bool = False
    subs: list[Trace] = field(default_factory=list)

    def trace(self, causes: tuple[Trace, ...] = ()) -> Trace:
        return Trace(
            format="python",
            exception=self.exception,
            message=self.message,
            frames=numbered(self.frames[::-1]),
            causes=tuple(self.subs) + causes,
            truncated=self.truncated,
        )


def is_separator(stripped: str) -> bool:
    """Exception-group rails such as `+-+---------------- 1 ----------------`."""
    return stripped.startswith("+-") and set(stripped) <= _SEPARATOR_CHARS


def _is_caret(stripped: str) -> bool:
    return bool(stripped) and set(stripped) <= {"^", "~"}


def _is_annotation(stripped: str) -> bool:
    """loguru's values under a frame's source (`│    └ []`), as its `diagnose` prints them."""
    return stripped.startswith(("│", "└"))


def _frame(m: re.Match, raw: str) -> Frame:
    func = m.group("func")
    short = func
    if func and not func.startswith("<") and "." in func:
        short = func.rsplit(".", 1)[-1]
    return Frame(index=0, raw=raw.strip(), file=m.group("file"), line=int(m.group("line")),
                 function=short, qualname=func)


def _is_syntax_start(lines: tuple[str, ...], i: int) -> bool:
    """A bare `File "x.py", line 3` followed within a few lines by a SyntaxError."""
    for k in range(i + 1, min(i + 6, len(lines))):
        exc = exception_line(lines[k])
        if exc and exc[0].rsplit(".", 1)[-1] in _SYNTAX:
            return True
    return False


def is_start(lines: tuple[str, ...], i: int) -> bool:
    """Whether line i opens a traceback (its header, or a frame when the header was cut off)."""
    line = lines[i]
    if "Traceback" in line and HEADER.fullmatch(line):
        return True
    if 'File "' not in line:
        return False
    m = FILE_LINE.fullmatch(line)
    return m is not None and (m.group("func") is not None or _is_syntax_start(lines, i))


def _flat_exception(lines: tuple[str, ...], k: int) -> bool:
    """With indentation lost, whether line k is the exception rather than source code."""
    if not exception_line(lines[k]):
        return False
    nxt = lines[k + 1].strip() if k + 1 < len(lines) else ""
    return not (FILE_LINE.fullmatch(nxt) or _is_caret(nxt))


def _skip_source(lines: tuple[str, ...], j: int) -> int:
    """Skip the source and caret lines printed under the frame at line j."""
    base = indent(lines[j])
    k = j + 1
    seen = 0
    while k < len(lines) and seen < _MAX_SOURCE_LINES:
        line = lines[k]
        s = line.strip()
        if not s or FILE_LINE.fullmatch(line) or HEADER.fullmatch(line):
            break
        if _is_caret(s) or _is_annotation(s):
            k += 1
            continue
        if base > 0 and indent(line) > base:
            seen += 1
        elif base == 0 and seen == 0 and not _flat_exception(lines, k):
            seen += 1
        else:
            break
        k += 1
    return k


def _stops_message(doc: Doc, k: int, since: int) -> bool:
    line = doc.plain[k]
    s = line.strip()
    if not s or s in MARKERS or is_separator(s) or s.startswith("```") or doc.new_record(k, since):
        return True
    return opens_trace(s) or HEADER.fullmatch(line) is not None or FILE_LINE.fullmatch(line) is not None


def _read_exception(doc: Doc, j: int, block: _Block) -> int:
    exc = exception_line(doc.plain[j])
    assert exc is not None
    block.exception, first = exc
    more: list[str] = []
    k = j + 1
    while k < len(doc.plain) and len(more) < MAX_MESSAGE_LINES and not _stops_message(doc, k, j):
        more.append(doc.plain[k].strip())
        k += 1
    block.message = join_message(first, more)
    return k


def _read_block(doc: Doc, i: int) -> tuple[_Block, int]:
    """Read one traceback starting at line i; returns it and the first line after it."""
    lines = doc.plain
    header = HEADER.fullmatch(lines[i])
    block = _Block(group=bool(header and header.group("group")))
    j = i + 1 if header else i
    if not header:
        first = FILE_LINE.fullmatch(lines[i])
        if not first:
            return block, _read_exception(doc, i, block)  # an exception printed without traceback
        block.truncated = first.group("func") is not None  # a frame without its header: cut off
    while j < len(lines):
        line = lines[j]
        m = FILE_LINE.fullmatch(line)
        if m:
            block.frames.append(_frame(m, line))
            j = _skip_source(lines, j)
            continue
        s = line.strip()
        if s.startswith("[Previous line repeated"):
            j += 1
            continue
        if not s and j + 1 < len(lines) and (FILE_LINE.fullmatch(lines[j + 1])
                                             or (block.frames and exception_line(lines[j + 1], strict=True))):
            j += 1  # loguru parts frames, and the last from the exception, with a blank line
            continue
        if s and exception_line(s):
            return block, _read_exception(doc, j, block)
        break
    block.truncated = True
    return block, j


def _skip_blank(lines: tuple[str, ...], j: int, limit: int = 3) -> int:
    k = j
    while k < len(lines) and k - j < limit and not lines[k].strip():
        k += 1
    return k


def _opens_block(lines: tuple[str, ...], k: int) -> bool:
    return k < len(lines) and (is_start(lines, k) or exception_line(lines[k], strict=True) is not None)


def rail(line: str) -> int | None:
    """The column of the `+` or `|` that starts a line printed inside an exception group (after any
    `> ` quoting); None when it has none."""
    m = _RAIL.match(line)
    return m.end() if m and line[m.end():m.end() + 1] in ("+", "|") and m.end() < len(line) else None


def _own_separator(text: str, stripped: str, column: int | None) -> bool:
    """Whether a separator belongs to the group whose header's rail is at `column`: Python prints
    a group's first `+-+---- 1 ----` at its own rail and the next ones, and its closing rule, one
    level (two columns) in. A nested group's rules sit further in, an enclosing group's further out."""
    at = rail(text)
    if column is None or at is None:
        return True
    return at == (column if stripped.startswith("+-+") else column + 2)


def _read_group(doc: Doc, j: int, block: _Block, depth: int, column: int | None = None) -> int:
    """Read the `+---- n ----` separated sub-exceptions of an exception group whose header's rail is
    at `column`: a separator of an enclosing group ends it, so that each sub-exception of a nested
    group stays with its own group."""
    lines = doc.plain
    after_separator = False
    while j < len(lines):
        s = lines[j].strip()
        if is_separator(s):
            if not _own_separator(doc.text[j], s, column):
                break
            after_separator = True
            j += 1
        elif not s and j + 1 < len(lines) and is_separator(lines[j + 1].strip()):
            j += 1
        elif s and after_separator and _opens_block(lines, j):
            trace, j = read_chain(doc, j, depth + 1)
            block.subs.append(trace)
            after_separator = False
        else:
            break
    return j


def _group_follows(doc: Doc, j: int, column: int | None) -> bool:
    """Whether line j opens the sub-exceptions of a group printed without a traceback (one never
    raised, inside another): its first `+-+` rule at the rail of the group's exception line."""
    if column is None or j >= len(doc.plain) or not doc.plain[j].strip().startswith("+-+"):
        return False
    return is_separator(doc.plain[j].strip()) and rail(doc.text[j]) == column


def read_chain(doc: Doc, i: int, depth: int = 0) -> tuple[Trace, int]:
    """Read a traceback and everything chained to it; returns the trace and the next line."""
    lines = doc.plain
    blocks: list[_Block] = []
    j = i
    while True:
        column = rail(doc.text[j])
        block, j = _read_block(doc, j)
        if (block.group or _group_follows(doc, j, column)) and depth < _MAX_GROUP_DEPTH:
            j = _read_group(doc, j, block, depth, column)
        blocks.append(block)
        k = _skip_blank(lines, j)
        if k < len(lines) and lines[k].strip() in MARKERS:
            nxt = _skip_blank(lines, k + 1)
            if _opens_block(lines, nxt):
                j = nxt
                continue
        break
    causes = tuple(b.trace() for b in reversed(blocks[:-1]))
    return blocks[-1].trace(causes), j


def _unittest_test(lines: tuple[str, ...], i: int) -> tuple[int, TestId] | None:
    """The `FAIL: test_x (pkg.mod.Class.test_x)` header and `----` rule unittest prints above a traceback."""
    if i < 2 or not lines[i - 1].startswith("-" * 20) or set(lines[i - 1].strip()) != {"-"}:
        return None
    m = UNITTEST_HEADER.fullmatch(lines[i - 2].strip())
    if not m:
        return None
    name, container = m.group("name"), m.group("container")
    if container.endswith("." + name):  # Python 3.11+ prints the full id
        container = container[: -len(name) - 1]
    return i - 2, TestId(container=container, name=name, params=m.group("sub") or "")


def find(doc: Doc) -> list[Found]:
    """Every Python traceback (with its chain) in the document."""
    lines = doc.plain
    out: list[Found] = []
    i = 0
    while i < len(lines):
        if is_start(lines, i):
            trace, j = read_chain(doc, i)
            start = i
            if unit := _unittest_test(lines, i):
                start, test = unit
                trace = replace(trace, test=test)
            out.append(Found(start, j - 1, (trace,)))
            i = max(j, i + 1)
        else:
            i += 1
    return out

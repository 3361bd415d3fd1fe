"""The standard library's doctest report, and the pytest `[doctest]` sections that wrap the same report.

`python -m doctest [-v] x.py` (and `doctest.testmod()`) prints each failure as

    **********************************************************************
    File "/src/app/doc.py", line 11, in doc.add
    Failed example:
        add(1, 2)
    Expected:
        4
    Got:
        3

or, when the example raised, `Exception raised:` and the indented traceback. The header looks
like a Python frame cut from its traceback; read as one, the failure would lose its test and
its exception, and the traceback under it would become a second failure. Each block is read as
one trace instead, like pytest's `[doctest] app.doc.add` section: the exception named after
doctest's own (`DocTestFailure`, `UnexpectedException`, the raised exception as its cause), the
docstring's owner as the test and the failing example's line as the frame.

unittest running doctests (a `load_tests` that adds `doctest.DocTestSuite`) prints the same report
as the message of an AssertionError, under the case's `FAIL:` header and traceback:

    FAIL: add (app.doc)
    Doctest: app.doc.add
    ----------------------------------------------------------------------
    Traceback (most recent call last):
      File "/usr/lib/python3.11/doctest.py", line 2241, in runTest
        raise self.failureException(self.format_failure(new.getvalue()))
    AssertionError: Failed doctest test for app.doc.add
      File "/src/app/doc.py", line 4, in add

    ----------------------------------------------------------------------
    File "/src/app/doc.py", line 7, in app.doc.add
    Failed example:
    ...

The first block claims the lines from the header on (`wrapper_start`): one trace per failing
example, as `python -m doctest` gives, not the runner's AssertionError and a cut frame besides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rca_lsp.traces import python
from rca_lsp.traces.base import Found
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

HEADER = re.compile(r'File "(?P<file>[^"]{1,4096})", line (?P<line>\d{1,9}|\?), in (?P<name>\S{1,2048})')
FAILED = "Failed example:"
RAISED = "Exception raised:"
_DIVIDER = "*" * 70
_LABELS = ("Expected:", "Expected nothing", "Got:", "Got nothing", RAISED)
_MAX_BLOCK_LINES = 5000
_WRAPPED = re.compile(r"AssertionError: Failed doctest test for \S{1,2048}")
_MAX_WRAPPER_LINES = 40  # from unittest's traceback header to its AssertionError line


def _is_label(line: str) -> bool:
    """`Expected:`, `Got nothing`, `Differences (ndiff with -expected +actual):` and the like."""
    return line in _LABELS or (line.startswith("Differences (") and line.endswith(":"))


def block_end(lines: Sequence[str], j: int) -> int:
    """The line after the labels and indented text that start at line j (blank lines inside kept)."""
    end = j
    for k in range(j, min(len(lines), j + _MAX_BLOCK_LINES)):
        line = lines[k]
        if not line.strip():
            continue
        if not (line.startswith((" ", "\t")) or _is_label(line.rstrip())):
            break
        end = k + 1
    return end


def outcome(lines: Sequence[str], lo: int, hi: int) -> str:
    """The `Expected:` ... `Got:` text of a failure in lines lo..hi-1, as printed; "" if none."""
    first = next((k for k in range(lo, hi) if _is_label(lines[k].rstrip())), None)
    if first is None:
        return ""
    return "\n".join(line.rstrip() for line in lines[first:block_end(lines, first)]).strip("\n")


def raised(doc: Doc, lo: int, hi: int) -> Trace | None:
    """The first Python traceback in lines lo..hi-1: what an example raised."""
    for k in range(lo, hi):
        if python.HEADER.fullmatch(doc.plain[k]):
            trace, _ = python.read_chain(doc.slice(k, hi), 0)
            return trace
    return None


def failure(frame: Frame, test: TestId | None, unexpected: Trace | None, expected: str) -> Trace:
    """One doctest failure, named as doctest names it: UnexpectedException (the raised exception as
    its cause, and as its message) or DocTestFailure (the expected and actual output as message)."""
    if unexpected is None:
        return Trace("python", "DocTestFailure", expected, (frame,), test=test)
    message = f"{unexpected.exception}: {unexpected.message}" if unexpected.message else unexpected.exception
    return Trace("python", "UnexpectedException", message, (frame,), test=test, causes=(unexpected,))


def example_frame(raw: str, file: str | None, line: int | None, name: str) -> Frame:
    """The failing example's line, in the function (class, module) whose docstring holds it; a text
    file's examples (`in docs.txt`, named after the file) are in no function."""
    in_text = file is not None and file.replace("\\", "/").rsplit("/", 1)[-1] == name
    function = None if in_text else name.rsplit(".", 1)[-1]
    return Frame(index=0, raw=raw.strip(), file=file, line=line, function=function, qualname=name)


def _rule(line: str) -> bool:
    return len(line) >= 20 and set(line.strip()) == {"-"}


def wrapper_start(lines: Sequence[str], k: int) -> int | None:
    """Where unittest's report of a failing doctest case starts when the block at line k is its first
    failure: the case's `FAIL:` header, else its traceback's; None when the block stands alone."""
    j = k - 1 if k > 0 and _rule(lines[k - 1]) else k
    j -= 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 1 or not lines[j].strip().startswith('File "') or not _WRAPPED.fullmatch(lines[j - 1].strip()):
        return None
    header = next((t for t in range(j - 2, max(-1, j - 2 - _MAX_WRAPPER_LINES), -1)
                   if python.HEADER.fullmatch(lines[t])), None)
    if header is None:
        return None
    return next((u for u in range(header - 1, max(-1, header - 4), -1)
                 if python.UNITTEST_HEADER.fullmatch(lines[u].strip())), header)


def _read(doc: Doc, k: int, m: re.Match) -> Found:
    """The failure whose header is line k (its `Failed example:` line follows)."""
    lines = doc.plain
    end = block_end(lines, k + 2)
    file, name = m.group("file"), m.group("name")
    line = int(m.group("line")) if m.group("line").isdigit() else None
    exc = next((j for j in range(k + 2, end) if lines[j] == RAISED), None)
    unexpected = raised(doc, exc + 1, end) if exc is not None else None
    test = TestId(container=file, name=name, path=file)
    trace = failure(example_frame(lines[k], file, line, name), test, unexpected, outcome(lines, k + 2, end))
    start = wrapper_start(lines, k)
    if start is None:
        start = k - 1 if k > 0 and lines[k - 1].strip() == _DIVIDER else k
    return Found(start, end - 1, (trace,))


def find(doc: Doc) -> list[Found]:
    """Every failure in a doctest report."""
    lines = doc.plain
    out: list[Found] = []
    k = 0
    while k + 1 < len(lines):
        m = HEADER.fullmatch(lines[k]) if lines[k].startswith("File ") and lines[k + 1] == FAILED else None
        if m is None:
            k += 1
            continue
        found = _read(doc, k, m)
        out.append(found)
        k = max(found.end + 1, k + 2)
    return out

"""pytest-timeout's thread dump: the test that ran out of time, read from its main thread's stack.

With `--timeout-method=thread` (pytest-timeout's only method where there is no SIGALRM, and a
common choice in CI), a test over its time is not failed but killed: the plugin prints a rule, what
the test had captured, the stack of every other thread, a rule again, and ends the process:

    tests/test_a.py::test_x +++++++++++++++++++++ Timeout ++++++++++++++++++++++
    ~~~~~~~~~~~~~~~~~ Stack of poller (140068002981568) ~~~~~~~~~~~~~~~~~~~
      File ".../threading.py", line 1002, in _bootstrap
    ~~~~~~~~~~~~~~~~ Stack of MainThread (140068044016512) ~~~~~~~~~~~~~~~~~
      File "<frozen runpy>", line 198, in _run_module_as_main
      ...
      File "/repo/src/calc/ops.py", line 7, in mean
        time.sleep(0.05)
    +++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++

No exception is printed, and there is no summary: read as Python, each stack was a traceback cut
short. The main thread runs the test, so its stack is the failure's frames, innermost first, and the
failure says what the signal method says of the same test (`Failed: Timeout (>1.0s) from
pytest-timeout.`), with the seconds when the session's header gives them. The test is the node id
before the first rule (`pytest -v`), or else the frame in the file named there (`tests/test_a.py .`).
"""

from __future__ import annotations

import re

from rca_lsp.traces.base import Found, numbered, split_params
from rca_lsp.traces.clean import Doc
from rca_lsp.traces.python import FILE_LINE
from rca_lsp.types import Frame, TestId, Trace

_TITLE = " Timeout "
_STACK = re.compile(r"~{3,200} Stack of (?P<name>.{1,500}) \(\d{1,30}\) ~{3,200}")
_HEADER = re.compile(r"timeout: (?P<seconds>\d{1,9}(?:\.\d{1,9})?)s")
_MAIN = "MainThread"
_MAX_HEADER_LINES = 200
_MAX_DUMP_LINES = 100_000


def find(doc: Doc) -> list[Found]:
    """Every pytest-timeout thread dump in the document, one failure each."""
    out: list[Found] = []
    i = 0
    while i < len(doc.plain):
        opened = _rule(doc.plain[i])
        if opened is None:
            i += 1
            continue
        end, stacks = _stacks(doc, i + 1)
        frames = stacks.get(_MAIN) or next((f for f in stacks.values() if f), [])
        if frames or stacks:
            seconds = _seconds(doc, i)
            message = f"Timeout (>{seconds}s) from pytest-timeout." if seconds else "Timeout from pytest-timeout."
            trace = Trace("pytest", "Failed", message, numbered(frames[::-1]),
                          test=_test(opened.strip(), frames))
            out.append(Found(i, end, (trace,)))
        i = max(end, i) + 1
    return out


def _rule(line: str) -> str | None:
    """What comes before a `+++++ Timeout +++++` rule on its line (pytest's progress); None when the
    line ends in no such rule."""
    at = line.find(_TITLE + "+")
    if at < 0:
        return None
    right, left = line[at + len(_TITLE):].rstrip(), line[:at]
    before = left.rstrip("+")
    return before if len(left) - len(before) >= 3 and len(right) >= 3 and not right.strip("+") else None


def _stacks(doc: Doc, j: int) -> tuple[int, dict[str, list[Frame]]]:
    """The stacks of the dump from line j (outermost frame first, by thread name) and its closing
    rule's line (the last line read, where the output was cut before one)."""
    stacks: dict[str, list[Frame]] = {}
    current: list[Frame] | None = None
    start = j
    while j < len(doc.plain) and j - start < _MAX_DUMP_LINES:
        line = doc.plain[j].rstrip()
        if _rule(line) is not None:
            return j, stacks
        m = _STACK.fullmatch(line.strip())
        if m:
            current = stacks.setdefault(m.group("name"), [])
        elif current is not None and (f := FILE_LINE.fullmatch(line)):
            func = f.group("func")
            current.append(Frame(index=0, raw=line.strip(), file=f.group("file"), line=int(f.group("line")),
                                 function=func.rsplit(".", 1)[-1] if func else None, qualname=func))
        j += 1
    return j - 1, stacks


def _seconds(doc: Doc, i: int) -> str:
    """The timeout the session's header gives (`timeout: 1.0s`) above line i; "" when none does."""
    for k in range(i - 1, max(-1, i - _MAX_HEADER_LINES), -1):
        m = _HEADER.fullmatch(doc.plain[k].strip())
        if m:
            return m.group("seconds")
    return ""


def _test(before: str, frames: list[Frame]) -> TestId | None:
    """The test that timed out: `tests/test_a.py::TestC::test_x[1]` (pytest -v), or the innermost
    frame in the file that `tests/test_a.py .` (progress dots) names."""
    words = before.split()
    if not words:
        return None
    node = words[0]
    if "::" in node:
        path, *classes, name = node.split("::")
        func, params = split_params(name)
        if not path or not func:
            return None
        return TestId(container="::".join([path, *classes]), name=func, path=path, params=params)
    own = [f for f in frames if f.file and f.function and (f.file == node or f.file.endswith("/" + node))]
    return TestId(container=node, name=own[-1].function, path=node) if own and own[-1].function else None

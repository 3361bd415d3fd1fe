"""GitHub Actions' error annotations, read as one-frame failures.

Linters and test reporters in a GitHub Actions job print a workflow command for each error, which
GitHub turns into an annotation on the file and line:

    ::error file=pkg/mod.py,line=10,col=5,endLine=12,title=Ruff (EM101)::pkg/mod.py:10:5: EM101 ...
    tests/test_a.py .::error file=tests/test_a.py,line=9::test_x%0A%0AZeroDivisionError: division by zero

(the second from pytest-github-actions-annotate-failures, on stderr, so after pytest's progress dots).
Properties come in any order; per GitHub's workflow-commands documentation a property's value
escapes `%`, CR, LF, `:` and `,` (`%25`, `%0D`, `%0A`, `%3A`, `%2C`) and the message `%`, CR and LF.
The failure is the file and line; its exception the first `Type: message` line of the message, else
the title, else `error`; a message that starts with a test's name (`test_x`, `TestC.test_x[1]`) and a
blank line, as the pytest plugin writes it, names the test. `::warning` and `::notice` are not
failures, and an `::error` naming no file (GitHub's own `Process completed with exit code 1.`) has
nothing to point at. Where another reading of the same output has a frame at the same place (the
plugin's annotation beside pytest's own report of the test), the annotation is dropped as a repeat.
"""

from __future__ import annotations

import re

from rca_lsp.traces.base import Found, exception_line, join_message, looks_like_exception, split_params
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

FORMAT = "github"
_COMMAND = "::error"
# What may come before the command on its line: nothing, or pytest's progress (`tests/test_a.py .F`).
_BEFORE_ENDS = frozenset(" \t.FEsxXR")
_ESCAPE = re.compile(r"%(25|0[AaDd]|3[Aa]|2[Cc])")
_UNESCAPE = {"25": "%", "0A": "\n", "0D": "\r", "3A": ":", "2C": ","}
_TEST_NAME = re.compile(r"(?:[A-Za-z_]\w{0,200}\.){0,20}test\w{0,500}(?:[\[ (].{0,2000})?", re.IGNORECASE)
_MAX_PROPERTIES = 32


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _UNESCAPE[m.group(1).upper()], text)


def find(doc: Doc) -> list[Found]:
    """Every `::error` annotation that names a file, one failure each."""
    out: list[Found] = []
    for i, line in enumerate(doc.text):
        if _COMMAND not in line:
            continue
        trace = read(line)
        if trace is not None:
            out.append(Found(i, i, (trace,)))
    return out


def read(line: str) -> Trace | None:
    """The failure of one line holding an `::error` command; None when it holds none or names no file."""
    at = line.find(_COMMAND)
    if at < 0 or (at > 0 and line[at - 1] not in _BEFORE_ENDS):
        return None
    rest = line[at + len(_COMMAND):]
    if not rest.startswith((" ", "::")):
        return None
    props, sep, message = rest.partition("::")
    if not sep:
        return None
    fields = _properties(props)
    file = fields.get("file", "").strip()
    if not file:
        return None
    number = _number(fields.get("line")) or _number(fields.get("endLine"))
    text = _unescape(message).replace("\r\n", "\n").replace("\r", "\n").strip()
    frame = Frame(index=0, raw=line[at:].strip(), file=file, line=number)
    exception, said = _exception(text, fields.get("title", "").strip())
    return Trace(FORMAT, exception, said, (frame,), test=_test(text, file))


def _properties(props: str) -> dict[str, str]:
    """`file=a.py,line=3,title=T` -> {file: a.py, line: 3, title: T}, values unescaped."""
    out: dict[str, str] = {}
    for part in props.strip().split(",")[:_MAX_PROPERTIES]:
        key, eq, value = part.partition("=")
        if eq and key.strip():
            out.setdefault(key.strip(), _unescape(value))
    return out


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 and int(value) > 0 else None


def _exception(text: str, title: str) -> tuple[str, str]:
    """The exception of a message: its first `Type: message` line (a dotted type need not end in
    `Error`) with the lines after it, else the title (or `error`) with the whole message."""
    lines = text.split("\n")
    for k, line in enumerate(lines):
        exc = exception_line(line)
        if exc is not None and (looks_like_exception(exc[0]) or ("." in exc[0] and ":" in line)):
            return exc[0], join_message(exc[1], [more.strip() for more in lines[k + 1:]])
    return title or "error", text


def _test(text: str, file: str) -> TestId | None:
    """The test a pytest plugin's message names on its first line, before a blank one."""
    head, _, rest = text.partition("\n")
    head = head.strip()
    if not rest.startswith("\n") or not _TEST_NAME.fullmatch(head):
        return None
    base, space, tail = head.partition(" ")
    node, params = split_params(base)
    *classes, name = node.split(".")
    return TestId(container="::".join([file, *classes]), name=name, path=file, params=params + space + tail)


def drop_repeats(traces: list[Trace]) -> list[Trace]:
    """The traces less each annotation that another trace already tells: a frame at its file and line."""
    places = {(f.file, f.line) for t in traces if t.format != FORMAT for f in t.all_frames() if f.file and f.line}
    if not places:
        return traces
    return [t for t in traces if t.format != FORMAT or not any(_same(t.frames[0], p) for p in places)]


def _same(frame: Frame, place: tuple[str | None, int | None]) -> bool:
    file, line = place
    if frame.line != line or not file or not frame.file:
        return False
    a, b = file.replace("\\", "/"), frame.file.replace("\\", "/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)

r"""Traces inside the fields of one-line log records, each record claiming its line.

A structured logger writes a whole traceback into one field of one line, escaped:

    {"level": "error", "exc_info": "Traceback (most recent call last):\n  File ..."}     JSON
    level=error exception="Traceback (most recent call last):\n  File \"/app/x.py\" ..."  logfmt
    level='error' exception='Traceback (most recent call last):\n  File "/app/x.py" ...'  key=value (repr)

or, with structlog's `dict_tracebacks`, as data (see structured). Each multi-line string is parsed as
text on its own, by the parser the caller hands in (the engine's, without the cap).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable, Iterator

from rca_lsp.traces import structured
from rca_lsp.traces.base import Found
from rca_lsp.types import Trace

_MAX_LINE = 4 * 1024 * 1024
_MAX_STRINGS = 1000
_MAX_DEPTH = 8
# A logfmt or key=value field's quoted value: `="` or `='`, then up to its closing quote (backslash
# escapes inside). Each value is scanned once, and the scan stops at one that is never closed: linear.
_VALUE = re.compile(r"=([\"'])")
_REST = {q: re.compile(r"(?:[^%s\\]|\\.)*%s" % (q, q)) for q in "\"'"}


def find(text: str, inner: Callable[[str], list[Trace]]) -> list[Found]:
    """Traces in the fields of the log lines of `text` (line ends `\\n`), read by `inner`."""
    out: list[Found] = []
    if "\\n" not in text and '"exc_type"' not in text:
        return out
    for i, line in enumerate(text.split("\n")):
        s = line.rstrip()
        if ("\\n" not in s and '"exc_type"' not in s) or len(s) > _MAX_LINE:
            continue
        payloads = _json(s)
        traces: list[Trace] = []
        for n, payload in enumerate(_quoted(s) if payloads is None else payloads):
            if n >= _MAX_STRINGS:
                break
            traces.extend(_read(payload, inner))
        if traces:
            out.append(Found(i, i, tuple(traces)))
    return out


def _json(line: str) -> Iterator[str | list] | None:
    """The payloads of a line that ends in a JSON object; None when it does not."""
    start = line.find("{")
    if start < 0 or not line.endswith("}"):
        return None
    try:
        return _strings(json.loads(line[start:]))
    except ValueError:
        return None


def _strings(value: object, depth: int = 0) -> Iterator[str | list]:
    """The multi-line strings of a decoded JSON value, and its lists of stacks (structured), in order
    (bounded depth)."""
    if isinstance(value, str):
        if "\n" in value:
            yield value
    elif structured.is_stacks(value):
        yield value
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, list):
        for v in value:
            yield from _strings(v, depth + 1)


def _quoted(line: str) -> Iterator[str]:
    """The quoted values with escaped line ends of a logfmt or key=value line, unescaped as Python
    reads a string literal (which also reads logfmt's and Go's `\\"`, `\\t`, `\\u00e9`)."""
    k = 0
    while m := _VALUE.search(line, k):
        rest = _REST[m.group(1)].match(line, m.end())
        if rest is None:
            return
        k = rest.end()
        if "\\n" in rest.group():
            try:
                with warnings.catch_warnings():  # `\d` in a value: an invalid escape Python warns of
                    warnings.simplefilter("ignore")
                    value = ast.literal_eval(line[m.start(1):k])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(value, str):
                yield value


def _read(payload: str | list, inner: Callable[[str], list[Trace]]) -> list[Trace]:
    if isinstance(payload, str):
        return inner(payload)
    trace = structured.stacks_trace(payload)
    return [trace] if trace else []

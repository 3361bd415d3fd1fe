"""Tracebacks that a log record carries as data rather than text.

structlog's `dict_tracebacks` (its advice for JSON logs) writes an exception as a list of stacks,
the raised exception first, then its cause or context, then theirs:

    "exception": [{"exc_type": "ValueError", "exc_value": "bad config", "is_cause": false,
                   "frames": [{"filename": "/app/x.py", "lineno": 8, "name": "f", "locals": {...}}],
                   "is_group": false, "exceptions": [[...stacks of each sub-exception...]]}, ...]

Frames are listed outermost first, as Python prints them; they are turned around here so that
`frames[0]` is where the error was raised, as in every other format.
"""

from __future__ import annotations

from typing import TypeGuard

from rca_lsp.traces.base import numbered
from rca_lsp.types import Frame, Trace

_MAX_DEPTH = 8  # exception groups within groups
_MAX_CHAIN = 32  # exceptions chained by cause or context
_MAX_FRAMES = 10_000


def is_stacks(value: object) -> TypeGuard[list]:
    """Whether a decoded JSON value reads as structlog's list of stacks."""
    return (isinstance(value, list) and bool(value) and isinstance(value[0], dict)
            and isinstance(value[0].get("exc_type"), str) and isinstance(value[0].get("frames"), list))


def stacks_trace(stacks: list, depth: int = 0) -> Trace | None:
    """The trace of a list of stacks (see is_stacks); None when it holds no exception."""
    traces = [t for t in (_stack(s, depth) for s in stacks[:_MAX_CHAIN]) if t is not None]
    if not traces:
        return None
    first = traces[0]
    return Trace(first.format, first.exception, first.message, first.frames,
                 causes=first.causes + tuple(traces[1:]))


def _stack(stack: object, depth: int) -> Trace | None:
    if not isinstance(stack, dict) or not isinstance(stack.get("exc_type"), str):
        return None
    listed = stack.get("frames")
    frames = [f for f in map(_frame, listed[:_MAX_FRAMES]) if f] if isinstance(listed, list) else []
    groups = stack.get("exceptions")
    subs: list[Trace] = []
    if depth < _MAX_DEPTH and isinstance(groups, list):
        subs = [t for t in (stacks_trace(s, depth + 1) for s in groups if is_stacks(s)) if t]
    value = stack.get("exc_value")
    return Trace(format="python", exception=stack["exc_type"], message=value if isinstance(value, str) else "",
                 frames=numbered(frames[::-1]), causes=tuple(subs))


def _frame(frame: object) -> Frame | None:
    if not isinstance(frame, dict):
        return None
    file, line, name = frame.get("filename"), frame.get("lineno"), frame.get("name")
    if not isinstance(file, str) or not file:
        return None
    line = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None
    name = name if isinstance(name, str) and name else None
    raw = f'File "{file}", line {line}, in {name}'
    short = name.rsplit(".", 1)[-1] if name and not name.startswith("<") else name
    return Frame(index=0, raw=raw, file=file, line=line, function=short, qualname=name)

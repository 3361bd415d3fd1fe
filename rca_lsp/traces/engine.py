"""Run every format parser over the cleaned text and keep one reading per line.

Parsers are independent and may read the same lines differently (a pytest section
holds a Python traceback; JUnit XML holds Java frames). Each claim is a line span; the
earliest claim wins, then the widest, then the format listed first below. A parser
that fails on odd input loses only its own results: `parse` must never raise anything
but TraceError, and one broken reading should not hide the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from rca_lsp.traces import (
    boxed, doctests, fields, github, go, java, javascript, junit, native, nodetap, pytest, python, rust, timeout,
)
from rca_lsp.traces.base import Found
from rca_lsp.traces.clean import Doc, make_doc, normalise
from rca_lsp.traces.wrapped import unwrap
from rca_lsp.types import Trace

logger = logging.getLogger(__name__)

# At most this many frames (causes included) come back from one parse; the trace
# where the cap bites is marked truncated and the traces after it are dropped.
MAX_FRAMES = 100_000
CAP_NOTE = f" [truncated: more than {MAX_FRAMES} frames]"

_PARSERS: tuple[tuple[str, Callable[[Doc], list[Found]]], ...] = (
    ("pytest", pytest.find),
    ("pytest-timeout", timeout.find),
    ("doctest", doctests.find),
    ("python", python.find),
    ("rich", boxed.find),
    ("java", java.find),
    ("go", go.find),
    ("rust", rust.find),
    ("javascript", javascript.find),
    ("node-tap", nodetap.find),
    ("cpp", native.find),
    ("github", github.find),
)


def _choose(found: list[tuple[Found, int]]) -> list[Found]:
    """Earliest claim first, then the widest, then the higher-priority format; no overlaps."""
    found.sort(key=lambda fp: (fp[0].start, -(fp[0].end - fp[0].start), fp[1]))
    chosen: list[Found] = []
    last_end = -1
    for f, _ in found:
        if f.start > last_end and f.traces:
            chosen.append(f)
            last_end = f.end
    return chosen


def _cap_one(trace: Trace, budget: int) -> tuple[Trace, int, bool]:
    """Trim a trace (and its causes) to `budget` frames; says whether anything was cut."""
    cut = len(trace.frames) > budget
    frames = trace.frames[:budget]
    budget -= len(frames)
    causes: list[Trace] = []
    for cause in trace.causes:
        if budget <= 0 and (cause.frames or cause.causes):
            cut = True
            break
        cause, budget, cause_cut = _cap_one(cause, budget)
        causes.append(cause)
        cut = cut or cause_cut
    if cut:
        trace = replace(trace, frames=frames, causes=tuple(causes), truncated=True,
                        message=trace.message + CAP_NOTE)
    return trace, budget, cut


def cap(traces: list[Trace]) -> list[Trace]:
    """Apply MAX_FRAMES across all traces of one parse."""
    out: list[Trace] = []
    budget = MAX_FRAMES
    for trace in traces:
        trace, budget, cut = _cap_one(trace, budget)
        out.append(trace)
        if cut:
            logger.warning("trace capped at %d frames", MAX_FRAMES)
            break
    return out


def parse_doc(doc: Doc, raw: str | None = None, notes: list[str] | None = None,
              text: str | None = None) -> list[Trace]:
    """All traces in a cleaned document; `raw` (the normalised text) enables JUnit XML, `text` (the
    normalised text) traces in JSON log lines."""
    found: list[tuple[Found, int]] = []
    if text is not None:
        try:
            found.extend((f, 0) for f in fields.find(text, parse_text_inner))
        except Exception:
            logger.exception("reading log records' fields failed; their readings are dropped")
    for priority, (name, finder) in enumerate(_PARSERS, start=1):
        try:
            found.extend((f, priority) for f in finder(doc))
        except Exception:  # a parser bug must not turn into a crash for the user
            logger.exception("the %s trace parser failed; its readings are dropped", name)
    if raw is not None and "<testcase" in raw:
        try:
            result = junit.find(raw, parse_text_inner)
            found.extend((f, 0) for f in result.found)
            if notes is not None and result.note:
                notes.append(result.note)
        except Exception:
            logger.exception("the junit trace parser failed; its readings are dropped")
    return github.drop_repeats([t for f in _choose(found) for t in f.traces])


def parse_text_inner(text: str) -> list[Trace]:
    """Parse text nested in another format (a JUnit <failure> body): no XML, no cap."""
    return parse_doc(make_doc(text))


def parse_text(text: str, notes: list[str] | None = None) -> list[Trace]:
    """Clean, parse and cap; returns [] when nothing was recognised."""
    clean = unwrap(normalise(text))
    doc = make_doc(clean)
    raw = clean if "<testcase" in text else None
    return cap(parse_doc(doc, raw, notes, clean))

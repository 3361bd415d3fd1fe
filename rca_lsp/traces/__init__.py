"""Read failures out of stack traces and test output, and map their frames to repository files.

    parse(text)            -> list[Trace]   every failure found; TraceError when there is none
    resolve(traces, files) -> list[Trace]   frames (and the failing test) tied to tracked paths

Formats: Python tracebacks (rich's boxed ones too), pytest output (pytest-timeout's thread dumps
too), doctest reports, Java/Kotlin stack traces (Defects4J, Maven, Gradle), JavaScript/Node (Jest,
Mocha), Go panics and `go test`, Rust panics and `cargo test`, C/C++ backtraces (gdb, sanitizers,
valgrind), JUnit XML and GitHub Actions' `::error file=...` annotations, also inside the fields of
JSON, logfmt and key=value log records (see fields), and cut at a terminal's width (see wrapped). In every
format `frames[0]` is the innermost frame (where the error was raised) and `causes[0]`
the direct cause. At most MAX_FRAMES frames come back from one parse.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rca_lsp.errors import TraceError
from rca_lsp.traces.engine import MAX_FRAMES, parse_text
from rca_lsp.traces.resolve import resolve_all
from rca_lsp.types import Trace

__all__ = ["MAX_FRAMES", "NO_TRACE", "parse", "resolve"]

logger = logging.getLogger(__name__)

NO_TRACE = (
    "no stack trace found: expected a Python traceback, pytest output, a Java/Kotlin stack trace, "
    "a JavaScript/Node stack, a Go panic, a Rust panic, a C/C++ backtrace or JUnit XML"
)


def parse(text: str) -> list[Trace]:
    """Every failure in `text`, in the order they appear.

    Raises TraceError (and nothing else) when the text holds no trace in a known format.
    """
    if not isinstance(text, str):
        raise TraceError(f"expected text, got {type(text).__name__}")
    notes: list[str] = []
    try:
        traces = parse_text(text, notes)
    except Exception as exc:  # each parser already fences its own bugs; this is the last fence
        logger.exception("reading the trace failed")
        raise TraceError(NO_TRACE, hint="internal error while reading the text") from exc
    if not traces:
        raise TraceError(NO_TRACE, hint="; ".join(notes) or None)
    logger.debug("parsed %d trace(s)", len(traces))
    return traces


def resolve(traces: list[Trace], files: Sequence[str], foreign: Sequence[str] = (), folder: str = "") -> list[Trace]:
    """Set `path` on frames and tests that name a tracked file, and `external` on the rest.

    Pure: `files` are the repository's tracked paths (POSIX, relative); nothing is read
    from disk. Library and runtime frames (JDK, site-packages, node_modules, Go runtime,
    Rust std, libc) and frames naming no tracked file come back with `external=True`.
    `foreign`: files of other repositories inside this one (a git submodule's, with its folder):
    a frame that names one more closely than any tracked file is external too. `folder`: where
    rca runs, relative to the repository's root; a relative path is read from there first.
    """
    return resolve_all(traces, files, foreign, folder)

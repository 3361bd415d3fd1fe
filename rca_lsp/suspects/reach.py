"""What a failure points at in the code: the frames' functions, and what the failing test reaches.

Both feed retrieval's *code* feature (a commit that changed one of these functions is a suspect);
`scripts/bench_reach.py` measures how often they include a function the culprit changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rca_lsp.suspects.code_view import CodeView
from rca_lsp.suspects.history import at_head
from rca_lsp.suspects.targets import Target, TargetFinder
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Frame, Symbol, Trace

FRAME_DECAY = 0.5  # each further in-repo frame counts 1 / (1 + 0.5 k)

Worktree = dict[str, list[tuple[int, int, int, int]]]  # path -> uncommitted hunks (old/new start, len)


@dataclass(frozen=True)
class PointedFrame:
    """An in-repository, non-test frame whose line is committed, with its weight by depth."""

    frame: Frame
    weight: float
    head_line: int  # the frame's line as HEAD numbers it
    symbol: Symbol | None  # the innermost symbol around that line


def frame_head_line(frame: Frame, worktree: Worktree) -> int | None:
    """The frame's work-tree line as a HEAD line; None when the line itself is uncommitted."""
    line = frame.line or 0
    return next(iter(at_head({line}, worktree.get(frame.path or ""))), None)


def pointed_frames(view: CodeView, traces: list[Trace], worktree: Worktree) -> list[PointedFrame]:
    """Each distinct in-repository, non-test frame line, innermost first, weighted by its depth."""
    out: list[PointedFrame] = []
    seen: set[tuple[str, int]] = set()
    rank = 0
    for trace in _failing_first(traces):
        for frame in trace.all_frames():
            if frame.external or not frame.path or not frame.line or is_test_frame(frame, trace):
                continue
            if (frame.path, frame.line) in seen:
                continue
            seen.add((frame.path, frame.line))
            weight = 1.0 / (1.0 + FRAME_DECAY * rank)
            rank += 1
            head_line = frame_head_line(frame, worktree)
            if head_line is not None:
                out.append(PointedFrame(frame, weight, head_line, view.symbol_at(frame.path, head_line)))
    return out


def is_test_frame(frame: Frame, trace: Trace) -> bool:
    """A frame of test code: in a test file, or (Rust, whose unit tests live in the code's own files)
    in a `tests` module or the failing test's own function; not evidence about the code under test."""
    if is_test_path(frame.path or ""):
        return True
    if trace.format != "rust":
        return False
    parts = (frame.qualname or "").split("::")
    return "tests" in parts[:-1] or (trace.test is not None and frame.function == trace.test.name)


def _failing_first(traces: list[Trace]) -> list[Trace]:
    """The traces in order, but a native stack that did not fail (another thread of gdb's `thread
    apply all bt`: no signal, no exception of its own) after those that did, whose frames are the
    failure's, wherever gdb printed the crashing thread."""
    return sorted(traces, key=lambda t: t.format == "cpp" and t.exception == "crash" and not t.message)


def frame_targets(pointed: list[PointedFrame]) -> list[Target]:
    """The functions the frames are in (a frame at class level names no function)."""
    return [Target(p.frame.path or "", p.symbol, p.weight, f"frame {p.frame.index + 1} of the trace", 0)
            for p in pointed if p.symbol is not None and p.symbol.kind != "class"]


def test_targets(view: CodeView, traces: list[Trace]) -> list[Target]:
    """What each trace's failing test reaches through the call graph."""
    finder = TargetFinder(view)
    return [t for trace in traces for t in finder.from_test(trace).values()]


def failure_targets(view: CodeView, traces: list[Trace],
                    worktree: Worktree | None = None) -> tuple[list[Target], list[Target]]:
    """(the frames' functions, what the failing tests reach)."""
    return frame_targets(pointed_frames(view, traces, worktree or {})), test_targets(view, traces)

"""The latest suspects of one repository, indexed by the source lines the trace's frames name.

Code lenses, diagnostics, hovers and document links all read this; a new `rca.suspects` run
replaces it. Paths are repository-relative (POSIX) and lines 1-based, as in the core types.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rca_lsp.kinds import OWNERSHIP, EvidenceKind
from rca_lsp.suspects import Result
from rca_lsp.types import Frame, Suspect


@dataclass(frozen=True)
class Marker:
    """One frame line of a source file, with the suspect to show there and all that touched it."""

    path: str
    line: int
    frames: tuple[Frame, ...]
    suspect: Suspect | None  # the best suspect with evidence here; else the overall #1
    touching: tuple[Suspect, ...]  # suspects with evidence on this line or frame, best first
    direct: bool  # whether `suspect` has evidence on this line or frame (not only the overall #1)
    edited: bool = False  # uncommitted changes touch this line: the failure may come from them


@dataclass(frozen=True)
class TraceLine:
    """Where a resolved frame sits in the trace document: 0-based line, columns of its link."""

    line: int
    start: int
    end: int
    frame: Frame


@dataclass
class Findings:
    root: str
    result: Result
    text: str
    trace_uri: str | None = None
    trace_offset: int = 0  # the line of the trace document where `text` starts
    created: float = field(default_factory=time.time)
    markers: dict[str, dict[int, Marker]] = field(default_factory=dict)
    client_root: str = ""  # `root` as the client names it (through a symlink, say): what is sent is on it
    edited: frozenset[tuple[str, int]] = frozenset()  # frame lines (path, line) uncommitted changes touch
    head: str | None = None  # the commit HEAD was at when ranked (None: unknown)
    moved_to: str | None = None  # where HEAD has moved since: what is shown is stale (`heads`)

    def __post_init__(self) -> None:
        self.client_root = self.client_root or self.root
        if not self.markers:
            self.markers = build_markers(self.result, self.edited)

    def markers_in(self, path: str) -> list[Marker]:
        return sorted(self.markers.get(path, {}).values(), key=lambda m: m.line)

    def frames(self) -> list[Frame]:
        return [f for t in self.result.traces for f in t.all_frames()]


def _strength(s: Suspect, frame: Frame) -> tuple[int, float]:
    """(2: evidence on this frame or line, 1: on its file, 0: none; the weight of its frame-line
    evidence here, so the commit that last changed the line itself comes before its neighbours)."""
    best, line_weight = 0, 0.0
    for e in s.evidence:
        if e.path != frame.path or e.kind in OWNERSHIP:  # who owns the file says nothing of this line
            continue
        if e.frame == frame.index + 1 or e.line == frame.line:
            best = 2
            if e.kind == EvidenceKind.FRAME_LINE and e.line == frame.line:
                line_weight = max(line_weight, e.weight)
        best = max(best, 1)
    return best, line_weight


def build_markers(result: Result, edited: frozenset[tuple[str, int]] = frozenset()) -> dict[str, dict[int, Marker]]:
    grouped: dict[tuple[str, int], list[Frame]] = {}
    for trace in result.traces:
        for frame in trace.all_frames():
            if frame.path and frame.line and not frame.external:
                grouped.setdefault((frame.path, frame.line), []).append(frame)
    out: dict[str, dict[int, Marker]] = {}
    top = result.suspects[0] if result.suspects else None
    for (path, line), frames in grouped.items():
        scored = []
        for s in result.suspects:
            strength, weight = max(_strength(s, f) for f in frames)
            if strength:
                scored.append((-strength, -weight, s.rank, s))
        scored.sort(key=lambda item: item[:3])
        touching = tuple(item[3] for item in scored)
        direct = bool(scored) and scored[0][0] == -2
        suspect = touching[0] if direct else top
        out.setdefault(path, {})[line] = Marker(path, line, tuple(frames), suspect, touching, direct,
                                                (path, line) in edited)
    return out


_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lsp_lines(text: str, keepends: bool = False) -> list[str]:
    """`text`'s lines as LSP counts them: only \\n, \\r\\n and \\r end a line. `str.splitlines` also
    breaks at form feeds, \\u2028 and other separators a log may hold, which puts every later line
    off by one in the editor."""
    lines = _LSP_LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def locate_frames(text: str, frames: list[Frame], offset: int = 0,
                  measure: Callable[[str], int] = len) -> list[TraceLine]:
    """Where each resolved frame is printed in `text`: frames are found by their raw line, in order.

    The link covers `file:line` when the line prints it, else the whole frame text. Columns are
    `measure` of the text before them: the client's units (UTF-16 by default), where an emoji
    counts twice.
    """
    lines = lsp_lines(text)
    wanted = [f for f in frames if f.path and f.line and f.raw]
    out: list[TraceLine] = []
    used: set[int] = set()
    cursor = 0
    for frame in wanted:
        for number in [*range(cursor, len(lines)), *range(cursor)]:  # frames usually come in order
            content = lines[number]
            if number in used:
                continue
            col = content.find(frame.raw)
            if col < 0:
                continue
            used.add(number)
            start, end = col, col + len(frame.raw)
            if frame.file:
                m = re.search(re.escape(frame.file) + r"[:\"', line]+" + str(frame.line), frame.raw)
                if m:
                    start, end = col + m.start(), col + m.end()
            out.append(TraceLine(number + offset, measure(content[:start]), measure(content[:end]), frame))
            cursor = number + 1
            break
    return out

"""The points retrieval gives from the code the trace points at: a frame's file and lines (frame),
the functions the frames and the failing test reach (code), and who last changed those functions'
lines at HEAD (blamed, blamed_newest). Each feature adds points and evidence to a `Board`."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from rca_lsp.index import queries
from rca_lsp.kinds import EvidenceKind, Feature
from rca_lsp.suspects.code_view import CodeView, stem
from rca_lsp.suspects.history import History
from rca_lsp.suspects.reach import PointedFrame
from rca_lsp.suspects.targets import Target
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Evidence

NEAR_LINES = 3
NEAR_DECAY = 1.0  # a line d away from the frame line counts 1 / (1 + d)
NEWEST_DECAY = 0.5  # blamed_newest: a function's newest owner counts 1, the next 0.5, ...


class Board:
    """Points and evidence per commit, per feature."""

    def __init__(self) -> None:
        self.points: dict[Feature, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.evidence: dict[int, list[Evidence]] = defaultdict(list)

    def add(self, feature: Feature, commit_id: int, value: float, evidence: Evidence | None, mode: str = "sum") -> None:
        table = self.points[feature]
        table[commit_id] = max(table[commit_id], value) if mode == "max" else table[commit_id] + value
        if evidence is not None:
            self.evidence[commit_id].append(evidence)


def frame_features(board: Board, history: History, pointed: list[PointedFrame]) -> None:
    for p in pointed:
        frame, weight, head_line, path = p.frame, p.weight, p.head_line, p.frame.path or ""
        for commit_id in history.file_commits(path):
            board.add(Feature.FILE, commit_id, weight, Evidence(
                EvidenceKind.FRAME_FILE, weight, f"changed {path}, the file of frame {frame.index + 1} of the trace",
                path, None, None, frame.index + 1), mode="max")
        name = p.symbol.qualname if p.symbol else frame.function or Path(path).name
        for delta in range(0, NEAR_LINES + 1):
            for line in {head_line - delta, head_line + delta}:
                hit = history.blame(path, line) if line > 0 else None
                if hit is None:
                    continue
                value = weight / (1.0 + NEAR_DECAY * delta)
                where = "at" if delta == 0 else f"{delta} line{'s' if delta > 1 else ''} from"
                board.add(Feature.FRAME, hit.commit_id, value, Evidence(
                    EvidenceKind.FRAME_LINE, value,
                    f"changed {name}, frame {frame.index + 1} of the trace, {where} line {frame.line}",
                    path, frame.line, name, frame.index + 1), mode="max")


def relation(target: Target) -> str:
    if target.hops == 0:
        return f"the function of {target.why}"
    if target.hops == 1:
        return f"which {target.why} calls"
    return f"which {target.why} reaches in {target.hops} calls"


def code_features(board: Board, history: History, view: CodeView, targets: list[Target]) -> None:
    """code: the commits that changed a target's function in its file, or in a file of its name that
    HEAD no longer has (a name it had before a move); not in another file of its name at HEAD
    (`services/worker/app/main.py` is not the history of `services/api/app/main.py`)."""
    best: dict[tuple[str, str], Target] = {}
    for t in targets:
        key = (t.path, t.symbol.qualname)
        if key not in best or best[key].weight < t.weight:
            best[key] = t
    for (target_path, qualname), target in best.items():
        others = set(view.paths_with_stem(stem(target_path))) - {target_path}
        rows = sorted((history.position[c], c, n, p) for c, n, p in queries.symbol_changes(history.index, qualname)
                      if c in history.position and stem(p) == stem(target_path) and p not in others)
        for _, commit_id, lines, path in rows:
            weight = 0.3 if is_test_path(path) else 1.0
            value = target.weight * weight * math.log1p(lines)
            board.add(Feature.CODE, commit_id, value, Evidence(
                EvidenceKind.CALLEE if target.hops else EvidenceKind.FRAME_FUNCTION, value,
                f"changed {qualname} ({lines} line{'s' if lines != 1 else ''}), {relation(target)}",
                path, None, qualname))


def blamed_features(board: Board, history: History, targets: list[Target]) -> None:
    """blamed: for each function a target names (not a test's, not a class), the commits that last
    changed its lines at HEAD, each by log(1 + lines) times the target's weight; blamed_newest: the
    same owners, newest first, the target's weight times NEWEST_DECAY ** rank (the largest kept)."""
    spans: dict[str, dict[tuple[int, int], Target]] = defaultdict(dict)
    for t in targets:
        if t.symbol.kind == "class" or is_test_path(t.path) or t.symbol.end_line < t.symbol.start_line:
            continue
        key = (t.symbol.start_line, t.symbol.end_line)
        if key not in spans[t.path] or spans[t.path][key].weight < t.weight:
            spans[t.path][key] = t
    for path in sorted(spans):
        lines = {n for start, end in spans[path] for n in range(start, end + 1)}
        hits = history.blame_lines(path, lines)
        for (start, end), target in sorted(spans[path].items()):
            owned: dict[int, list[int]] = defaultdict(list)  # commit -> its lines here, in order
            for n in range(start, end + 1):
                if n in hits:
                    owned[hits[n].commit_id].append(n)
            newest_first = sorted((history.position[c], c) for c in owned if c in history.position)
            for rank, (_, commit_id) in enumerate(newest_first):
                board.add(Feature.BLAMED_NEWEST, commit_id, target.weight * NEWEST_DECAY ** rank, None, mode="max")
                mine = owned[commit_id]
                count, first = len(mine), mine[0]
                value = target.weight * math.log1p(count)
                board.add(Feature.BLAMED, commit_id, value, Evidence(
                    EvidenceKind.BLAMED_LINES, value,
                    f"{count} line{'s' if count != 1 else ''} it last changed {'are' if count != 1 else 'is'} still in"
                    f" {target.symbol.qualname} at HEAD, {relation(target)}", path, first, target.symbol.qualname))

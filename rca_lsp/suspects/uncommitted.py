"""Whether the failure may come from the work tree's uncommitted changes rather than from a commit.

Ranking reads only commits: an uncommitted edit is no evidence about any of them, and in a
half-fixed work tree it would leak the fix (`code_view`). But the most common failure of all is
the one the developer's own edit just caused, and then every commit ranked is innocent. So where
uncommitted changes to code (not tests) touch what the failure points at, a frame's line (or the
frame's file, uncommitted as a whole) or a function a frame is in or the failing test reaches, the
ranking says so at the top: a warning, not a suspect (suspects are commits).
"""

from __future__ import annotations

from collections.abc import Collection

from rca_lsp.suspects.codefacts import relation
from rca_lsp.suspects.targets import Target
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Frame, Trace

Hunks = dict[str, list[tuple[int, int, int, int]]]  # path -> (old_start, old_len, new_start, new_len)
MAX_NAMED = 3
WARNING_START = "uncommitted changes in the work tree touch "


def uncommitted_warning(traces: list[Trace], targets: list[Target], live: Collection[str], untracked: Collection[str],
                        changes: Hunks) -> str | None:
    """The warning, or None. `live`: the work tree's modified and untracked files; `changes`: the
    uncommitted hunks of the modified code files among the failure's frames and targets."""
    touched: list[tuple[int, str]] = []  # (how direct, what), most direct first
    for frame in touched_frames(traces, live, untracked, changes):
        where = f"frame {frame.index + 1} of the trace ({frame.path}:{frame.line})"
        touched.append((0, f"{frame.path}, not committed, which holds {where}" if frame.path in untracked
                        else f"the line of {where}"))
    for target in sorted(targets, key=lambda t: (t.hops, -t.weight)):
        hunks = changes.get(target.path)
        if not hunks or is_test_path(target.path) or target.symbol.kind == "class":
            continue
        start, end = target.symbol.start_line, target.symbol.end_line
        if any(old <= end and start <= old + max(size, 1) - 1 for old, size, _, _ in hunks):
            touched.append((1 + target.hops, f"{target.symbol.qualname} ({target.path}), {relation(target)}"))
    if not touched:
        return None
    named = list(dict.fromkeys(what for _, what in sorted(touched, key=lambda t: t[0])))
    more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
    return (f"{WARNING_START}{'; '.join(named[:MAX_NAMED])}{more}: the failure may come "
            "from them, not from a commit (stash them and run the test again to tell)")


def touched_frames(traces: list[Trace], live: Collection[str], untracked: Collection[str], changes: Hunks) -> list[Frame]:
    """The frames of code (not tests) whose line the uncommitted changes touch, or whose file was
    never committed: where the warning points, and where the editor marks the line as edited."""
    out = []
    for trace in traces:
        for frame in trace.all_frames():
            path = frame.path or ""
            if frame.external or not path or path not in live or is_test_path(path):
                continue
            if path in untracked or (frame.line and any(new <= frame.line < new + max(size, 1)
                                                        for _, _, new, size in changes.get(path, []))):
                out.append(frame)
    return out


def changed_code_paths(traces: list[Trace], targets: list[Target], modified: Collection[str]) -> list[str]:
    """The modified code files among the failure's frames and targets: whose hunks to read."""
    paths = {f.path for t in traces for f in t.all_frames() if f.path and not f.external}
    paths |= {t.path for t in targets}
    return sorted(p for p in paths if p in modified and not is_test_path(p))


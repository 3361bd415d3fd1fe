"""Frames of files renamed or deleted since the trace was printed (a CI run of an older commit, a bug
report against a release): the trace names a path the checkout no longer has. A renamed file's
commits are those of the file it became, which `History` follows back through the rename; a deleted
file's are its own, up to the commit that deleted it."""

from __future__ import annotations

from collections.abc import Collection

from rca_lsp.index import queries
from rca_lsp.suspects.history import History
from rca_lsp.traces.resolve import resolve_moved
from rca_lsp.types import Trace


def moves(history: History, tracked: Collection[str]) -> dict[str, str]:
    """Each path renamed away or deleted in the ranked history, and not tracked again, -> where its
    renames lead: a tracked path, or a path deleted since (itself, for a file deleted as it was)."""
    rows = sorted((history.position[c], old, new) for c, old, new in queries.renames(history.index)
                  if c in history.position)
    step = {old: new or old for _pos, old, new in reversed(rows)}  # oldest first: a path's newest change wins
    here = set(tracked)
    ends = {old: _end(step, old, here) for old in step.keys() - here}
    return {old: end for old, end in ends.items() if end is not None}


def _end(step: dict[str, str], old: str, here: set[str]) -> str | None:
    """The tracked path the renames from `old` lead to, or the path they lead to that was deleted
    (`step` takes it to itself); None where they leave the ranked history."""
    path, seen = old, set()
    while path not in here and path not in seen:
        seen.add(path)
        if step.get(path) == path:
            return path
        if path not in step:
            return None
        path = step[path]
    return path if path in here else None


def followed(traces: list[Trace], history: History, tracked: Collection[str]) -> list[Trace]:
    """`traces` whose frames in a file renamed since name the file it is now, and those in a file
    deleted since name it still."""
    return resolve_moved(traces, moves(history, tracked), sorted(tracked))

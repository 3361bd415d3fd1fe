"""Frames in a git submodule: another repository's files, whose history this index does not hold.

A submodule's folder is one entry here, a gitlink: the superproject records only which of the
submodule's commits it uses (its pointer). A trace whose frames are in the submodule's files finds
nothing here, and a frame under the folder must not be taken for the superproject's own file of
the same name (`src/util.py` in both): the files checked out in each submodule are resolved as
`foreign` (`traces.resolve`), so such a frame names no file here. `rca suspects` says once per
submodule that frames are in it and how to rank its commits: in it, from the commit the pointer
last moved from.

The superproject's commits that moved the pointer are not credited with those frames. Such a
commit changes one line, the pointer; whether the submodule commits it brought in touched the
failing lines is a question of the submodule's history, which this index has not read, so a credit
would be the same for the bump that brought the defect as for one that brought only documentation,
and would read as evidence where there is none. They stay candidates ranked like any other commit
(words, recency); the hint names the newest one and the range it brought in, which `rca suspects
--since` ranks in the submodule, with its own evidence.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rca_lsp.index import queries

if TYPE_CHECKING:
    from rca_lsp.suspects.history import History
    from rca_lsp.types import Frame, Trace
    from rca_lsp.vcs.base import Backend


@dataclass(frozen=True)
class Submodules:
    """The submodules the trace's frames are in, in the order their first frames come."""

    folders: tuple[str, ...] = ()

    def hints(self, history: History) -> list[str]:
        return [_hint(folder, history) for folder in self.folders]


def checked_out(repo: Backend, tracked: Collection[str]) -> dict[str, list[str]]:
    """Each git submodule's folder -> the files checked out in it (with the folder); {} without a
    `.gitmodules` (a repository with no submodule pays no git process) or on another VCS."""
    from rca_lsp.vcs.git import GitRepo

    if ".gitmodules" not in tracked or not isinstance(repo, GitRepo):
        return {}
    return repo.submodules()


def resolved(repo: Backend, traces: list[Trace], tracked: list[str], live: Collection[str], folder: str = ""
             ) -> tuple[list[Trace], Submodules]:
    """`traces` resolved against the tracked and `live` files (no frame to a submodule's file), and
    the submodules their frames are in. `folder`: where rca runs (`traces.resolve`)."""
    from rca_lsp.traces import resolve
    from rca_lsp.traces.resolve import resolve_foreign

    files = sorted(set(tracked) | set(live))
    plain = resolve(traces, files, folder=folder)
    inside = checked_out(repo, tracked)
    foreign = [path for paths in inside.values() for path in paths]
    if inside:
        foreign += printed_under(inside, traces, plain, repo.root)
    if not foreign:
        return plain, Submodules()
    ours, hits = resolve_foreign(traces, files, foreign, folder)
    folders = (next(f for f in inside if path.startswith(f + "/")) for path in hits)
    return ours, Submodules(tuple(dict.fromkeys(folders)))


def _printed(frame: Frame) -> str:
    return (frame.file or "").replace("\\", "/")


def printed_under(folders: Collection[str], traces: list[Trace], plain: list[Trace], root: str) -> list[str]:
    """The files the frames print under a submodule's folder, as paths here: for a submodule not
    checked out (a clone without `--recurse-submodules`, a trace from CI), which lists no files,
    or a frame in a file it does not track. A printed path is under a folder when it begins with a
    root of the trace and the folder: the work tree's, "" (paths printed relative to it), and
    each a frame resolved to the superproject's file shows (`/ci/top/` of `/ci/top/run.py`).
    Only these roots: a folder spelt as the submodule's above the root (`/srv/libs/sub/top/`) is
    not the submodule. `plain`: `traces` resolved with no submodule."""
    prefixes = {"", root.rstrip("/") + "/"}
    for path, text in ((f.path, _printed(f)) for t in plain for f in t.all_frames() if f.path and not f.external):
        if path and text.endswith("/" + path):
            prefixes.add(text[:len(text) - len(path)])
    found = []
    for frame in (f for t in traces for f in t.all_frames()):
        text = _printed(frame).removeprefix("./")
        found += [text[len(p):] for p in prefixes for folder in folders if text.startswith(f"{p}{folder}/")]
    return found


def _hint(folder: str, history: History) -> str:
    text = (f"frames of the trace are in the submodule {folder}, whose commits are not ranked here: rank them in "
            f"it (`rca suspects --repo {folder} --trace TRACE`)")
    moves = sorted((history.position[c], c, old or "") for c, old, _new in queries.versions_of(history.index, folder)
                   if c in history.position)
    _, commit_id, old = moves[0] if moves else (0, 0, "")
    if old:  # the newest change moved the pointer (the first one adds the submodule: none to rank from)
        text += (f"; its pointer last moved in {history.commit(commit_id).hash[:10]}, from {old[:10]}: "
                 f"`--since {old[:10]}` there ranks the commits that move brought in")
    return text

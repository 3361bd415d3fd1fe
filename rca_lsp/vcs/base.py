"""The protocol every VCS backend implements: the only way the rest of rca reaches history.

The index, the suspects, the language server, the hooks, the ranker and bisection know history
only through `Backend`, so Mercurial and Sapling are new classes, not new code paths; no module
outside `rca_lsp.vcs` starts a git, hg or sl process (tests/test_vcs_seam.py reads the source to
keep it so). Revisions a user typed are resolved with `resolve` first; every other method takes
the full hashes it hands out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rca_lsp.types import Commit, FileChange


@dataclass(frozen=True)
class LoggedCommit:
    commit: Commit
    changes: tuple[FileChange, ...]
    # (path, blob) of versions the object store lacks (a partial clone, a damaged store): those
    # files are listed in `changes` without hunks, and the commit is indexed again once they arrive
    missing: tuple[tuple[str, str], ...] = ()


class BlobReader(Protocol):
    """File versions by the ids `log` and `head_blobs` hand out; one long-lived reader per worker."""

    def get(self, blob: str) -> bytes | None: ...  # None: the store lacks it

    def read(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]: ...  # closes itself

    def close(self) -> None: ...


class Worktree(Protocol):
    """A second checkout sharing the repository's history (a detached git worktree, an hg share),
    where bisection runs the test without touching the user's work tree. Hooks are off in it."""

    def create(self, path: Path, rev: str) -> None: ...  # `path` must not exist yet

    def switch(self, rev: str) -> None: ...  # forced: local changes and untracked files go, ignored ones stay

    def remove(self) -> None: ...  # unregister it from the repository; the caller removes the folder


class Backend(Protocol):
    kind: str  # "git", "hg" or "sl"
    root: str  # work tree root
    meta_dir: str  # where rca keeps its state: .git (common dir), .hg or .sl
    checkout_dir: str  # where the index lives: a linked git worktree's own .git/worktrees/<name>, else meta_dir

    # -- revisions -------------------------------------------------------------------------
    def head(self) -> str | None: ...  # None in an empty repository

    def resolve(self, rev: str) -> str: ...  # a user's revision, validated, to a full hash

    def reachable(self, since: str | None = None) -> list[str]: ...  # ancestors of head, newest first

    def is_shallow(self) -> bool: ...

    def shallow_boundary(self) -> set[str]: ...  # commits whose parents a shallow clone lacks

    # -- the commit graph --------------------------------------------------------------------
    def range_parents(self, bad: str, goods: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]: ...
    # ancestors of `bad` that are ancestors of no good one, newest first (topological), with parents

    def first_parents(self, rev: str) -> list[str]: ...  # rev, its first parent, ... down to the root

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...  # a commit is its own ancestor

    def outgoing(self, pushes: Iterable[tuple[str, str]] = ()) -> set[str]: ...
    # commits a push sends: git, from pre-push's (local, remote) hash pairs; hg/sl, draft ancestors of '.'

    # -- commit contents -----------------------------------------------------------------------
    def log(self, hashes: Iterable[str]) -> Iterator[LoggedCommit]: ...

    def show_commit(self, sha: str) -> str: ...  # header, message, stat and patch, for people to read

    def commit_diff(self, sha: str, context: int = 3) -> bytes: ...  # git-style patch against the first parent

    def read_blobs(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]: ...

    def blob_reader(self) -> BlobReader: ...

    def present_blobs(self, blobs: set[str]) -> set[str]: ...  # those the store holds, none fetched

    # -- work tree -----------------------------------------------------------------------------
    def tracked_files(self) -> list[str]: ...

    def worktree_changes(self, paths: Iterable[str] | None = None) -> dict[str, list[tuple[int, int, int, int]]]: ...

    def head_blobs(self) -> dict[str, str]: ...

    def modified_files(self) -> list[str]: ...

    def untracked_files(self) -> list[str]: ...

    def worktree(self) -> Worktree: ...

    # -- settings and hooks ----------------------------------------------------------------------
    def config(self, key: str) -> str | None: ...  # git `section.name`; hg/sl `section.name` of hgrc

    def hooks_dir(self) -> str | None: ...  # git's hooks folder; None where hooks live in the config (hg, sl)

    def close(self) -> None: ...  # stops any long-lived process; the backend starts one again if used

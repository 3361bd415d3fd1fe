"""The small protocol every VCS backend implements.

The index and the suspects know history only through this, so Mercurial and Sapling are
new classes, not new code paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from rca_lsp.types import Commit, FileChange


@dataclass(frozen=True)
class LoggedCommit:
    commit: Commit
    changes: tuple[FileChange, ...]
    # (path, blob) of versions the object store lacks (a partial clone, a damaged store): those
    # files are listed in `changes` without hunks, and the commit is indexed again once they arrive
    missing: tuple[tuple[str, str], ...] = ()


class Backend(Protocol):
    kind: str
    root: str  # work tree root
    meta_dir: str  # where rca keeps its state: .git (common dir) or .hg

    def head(self) -> str | None: ...

    def resolve(self, rev: str) -> str: ...

    def reachable(self, since: str | None = None) -> list[str]: ...

    def log(self, hashes: Iterable[str]) -> Iterator[LoggedCommit]: ...

    def read_blobs(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]: ...

    def tracked_files(self) -> list[str]: ...

    def worktree_changes(self, paths: Iterable[str] | None = None) -> dict[str, list[tuple[int, int, int, int]]]: ...

    def head_blobs(self) -> dict[str, str]: ...

    # Used by retrieval, the blob cache and the hooks; both backends have them.
    def blob_reader(self): ...  # an object with get(blob) -> bytes | None and close()

    def modified_files(self) -> list[str]: ...

    def untracked_files(self) -> list[str]: ...

    def config(self, key: str) -> str | None: ...  # git `section.name`; hg/sl `section.name` of hgrc

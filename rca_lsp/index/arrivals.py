"""File versions that arrive after the commits needing them were indexed: a partial clone.

A commit whose diff needed a version the object store lacked (`git clone --filter=blob:none`) is
indexed without those hunks and noted in `missing_objects`. The versions arrive later with no new
commit and no move of HEAD: `git checkout` of an old revision, `git show`, `git log -p`,
`git backfill` or `git fetch --refetch` fetch them from the promisor remote. `ingest.update` reads
such commits again, but only ran when HEAD moved, so `rca suspects` kept ranking without them.

What git writes when objects arrive is a new pack (`objects/pack/*.pack`) or a loose object (in
`objects/<2 hex>/`, whose folder's time then changes): the stamp of the object store is the names of
its packs and the times of its loose folders, one directory listing, a fraction of a millisecond.
An index with noted missing versions whose stamp differs from the one recorded at its last update is
stale (`service.index_state`); the update then asks git which of the versions are here. A stamp
that changed for another reason (`git gc`, `git repack`) costs that one check and nothing more.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rca_lsp.index.store import Index
    from rca_lsp.vcs.base import Backend

STATE_KEY = "objects"  # the stamp of the object store the last update saw


def stamp(repo: Backend) -> str:
    """The object store's packs and loose folders as a short digest; "" where there is none to read
    (a Mercurial repository, a store rca cannot list)."""
    if repo.kind != "git":
        return ""
    objects = Path(repo.meta_dir) / "objects"
    digest = hashlib.sha1(usedforsecurity=False)
    try:
        with os.scandir(objects) as entries:
            loose = sorted(f"{e.name} {e.stat().st_mtime_ns}" for e in entries if len(e.name) == 2 and e.is_dir())
        packs = sorted(name for name in os.listdir(objects / "pack") if name.endswith(".pack"))
    except OSError:
        return ""
    digest.update("\n".join(loose + packs).encode())
    return digest.hexdigest()


def lacks_versions(index: Index) -> bool:
    """Whether some indexed commit has a diff without hunks (a version the store lacked); False for
    an index read as it is from before such diffs were noted (no table of them)."""
    try:
        return index.conn.execute("SELECT 1 FROM missing_objects LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def pending(repo: Backend, index: Index) -> bool:
    """Whether versions an indexed diff lacked may have arrived since the last update: some are
    noted missing and the object store changed."""
    if not lacks_versions(index):
        return False
    now = stamp(repo)
    return bool(now) and now != index.get_state(STATE_KEY)


def lacking(index: Index, hashes: Collection[str] | None = None) -> int:
    """How many indexed commits (of `hashes`, where given) have a diff without hunks."""
    if not lacks_versions(index):
        return 0
    if hashes is None:  # the whole history: counted on the table's index alone
        return index.conn.execute("SELECT count(DISTINCT commit_id) FROM missing_objects").fetchone()[0]
    rows = index.conn.execute("SELECT DISTINCT c.hash FROM missing_objects m JOIN commits c ON c.id = m.commit_id")
    return len({h for (h,) in rows}.intersection(hashes))


def note(count: int, candidates: int) -> str:
    """What `rca suspects` says of candidates indexed without some hunks, and how to fill them in."""
    return (f"{count} of the {candidates} candidate commits were indexed without some of their diffs: this "
            "partial clone lacks those versions of their files, so their changes count for less; `git backfill` "
            "(git 2.49 or later) or `git log -p >/dev/null` fetches them, and the next `rca suspects` or "
            "`rca index` reads them")

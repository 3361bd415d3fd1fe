"""Incremental ingest: new commits reachable from HEAD go into the index, in atomic batches.

Only commits not yet indexed are read, oldest first, from one `git log -p` stream. Each batch of
commits is written in one transaction with all of its files, hunks, changed symbols and text, so a
killed run leaves whole commits or none, and the next run carries on. Commits no longer reachable
from HEAD (rebase, amend, force-pull) are removed, so the index converges to a fresh build.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rca_lsp.errors import RepositoryError
from rca_lsp.index import arrivals, queries
from rca_lsp.index.queries import stored_path
from rca_lsp.index.store import Index, writer_lock
from rca_lsp.index.symbols import SymbolCache, blobs_needed, changed_symbols
from rca_lsp.text import searchable
from rca_lsp.vcs.base import LoggedCommit

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

BATCH = 250
MAX_DIFF_TEXT = 6000  # characters of diff text per commit in the full-text index
REWRITE_TRIES = 3  # reads of a history rewritten while it is read (`update`)

Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    head: str | None
    reachable: int
    added: int
    removed: int
    seconds: float
    shallow: bool = False
    code_files: int = 0
    missing_diffs: int = 0  # files indexed without hunks: the object store lacks a version


def _chunks(items: Iterator[LoggedCommit], size: int) -> Iterator[list[LoggedCommit]]:
    while True:
        chunk = list(itertools.islice(items, size))
        if not chunk:
            return
        yield chunk


def _prune(index: Index, stale: Iterable[int]) -> int:
    ids = list(stale)
    if not ids:
        return 0
    with index.write() as conn:
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for table in ("changed_symbols", "hunks", "files", "missing_objects"):
                conn.execute(f"DELETE FROM {table} WHERE commit_id IN ({marks})", part)
            conn.execute(f"DELETE FROM commit_text WHERE rowid IN ({marks})", part)
            conn.execute(f"DELETE FROM commits WHERE id IN ({marks})", part)
    return len(ids)


def _stored(path: str | None) -> str | bytes | None:
    return None if path is None else stored_path(path)


def _write_commit(conn, item: LoggedCommit, cache: SymbolCache, boundary: bool) -> None:
    c = item.commit
    changes = () if boundary else item.changes
    added = sum(h.new_len for f in changes for h in f.hunks)
    removed = sum(h.old_len for f in changes for h in f.hunks)
    cur = conn.execute(
        "INSERT INTO commits(hash, parents, author, email, author_date, commit_date, message, files, added, removed)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (c.hash, " ".join(c.parents), c.author, c.email, c.author_date, c.commit_date, c.message,
         len(changes), added, removed))
    commit_id = cur.lastrowid
    symbol_words: list[str] = []
    diff_text: list[str] = []
    for change in changes:
        f_added = sum(h.new_len for h in change.hunks)
        f_removed = sum(h.old_len for h in change.hunks)
        fcur = conn.execute(
            "INSERT INTO files(commit_id, status, old_path, new_path, path, binary, old_blob, new_blob, added, removed)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (commit_id, change.status, _stored(change.old_path), _stored(change.new_path), stored_path(change.path),
             int(change.binary), change.old_blob, change.new_blob, f_added, f_removed))
        file_id = fcur.lastrowid
        conn.executemany(
            "INSERT INTO hunks(file_id, commit_id, old_start, old_len, new_start, new_len, layout)"
            " VALUES (?,?,?,?,?,?,?)",
            [(file_id, commit_id, h.old_start, h.old_len, h.new_start, h.new_len, int(h.layout))
             for h in change.hunks])
        touched = changed_symbols(change, cache)
        conn.executemany(
            "INSERT INTO changed_symbols(commit_id, file_id, name, qualname, kind, lines) VALUES (?,?,?,?,?,?)",
            [(commit_id, file_id, s.name, s.qualname, s.kind, n) for s, n in touched])
        symbol_words.extend(s.qualname for s, _ in touched)
        if sum(map(len, diff_text)) < MAX_DIFF_TEXT:
            diff_text.extend(h.added + " " + h.removed for h in change.hunks)
    conn.executemany("INSERT INTO missing_objects(commit_id, path, blob) VALUES (?,?,?)",
                     [(commit_id, stored_path(path), blob) for path, blob in (() if boundary else item.missing)])
    conn.execute("INSERT INTO commit_text(rowid, message, symbols, diff) VALUES (?,?,?,?)",
                 (commit_id, searchable(c.message), searchable(" ".join(symbol_words)),
                  searchable(" ".join(diff_text)[:MAX_DIFF_TEXT])))


SAY_MISSING = 3  # missing objects named one by one; the rest only counted


class _MissingNotes:
    """Files indexed without their diff because a version is not in the object store: the first
    few named, then one summary, so a partial clone (most of history) does not flood the terminal."""

    def __init__(self) -> None:
        self.files = 0
        self.commits = 0

    def note(self, item: LoggedCommit) -> None:
        if not item.missing:
            return
        self.commits += 1
        for path, blob in item.missing:
            self.files += 1
            if self.files <= SAY_MISSING:
                log.warning("%s: %s indexed without its diff: object %s is missing",
                            item.commit.hash[:12], path, blob)

    def summary(self) -> None:
        if self.files > SAY_MISSING:
            log.warning("%d file diff(s) in %d commit(s) indexed without hunks: their objects are not in "
                        "this clone (no blob was fetched)", self.files, self.commits)


def _arrived(repo: Backend, index: Index) -> set[str]:
    """Commits indexed without some diffs whose missing versions are in the store now (fetched,
    restored): they are indexed again, so the index converges to a build from a full clone."""
    rows = index.conn.execute("SELECT c.hash, m.blob FROM missing_objects m JOIN commits c ON c.id = m.commit_id"
                              ).fetchall()
    if not rows:
        return set()
    here = repo.present_blobs({blob for _, blob in rows})
    found = {commit for commit, blob in rows if blob in here}
    if found:
        log.info("%d commit(s) indexed again: objects their diffs lacked are here now", len(found))
    return found


def _workers(new_commits: int) -> int:
    """Parallel parsing pays off only for big runs; hooks and small updates stay in-process."""
    if new_commits < 500:
        return 0
    return min(os.cpu_count() or 1, 4)


def _built_for(index: Index, head: str, objects: str = "") -> None:
    """Record the HEAD the index is built for, and the object store it saw (`arrivals.stamp`) while
    some diffs lack versions: an index with none keeps no stamp, as a build from a full clone."""
    lacking = bool(objects) and arrivals.lacks_versions(index)
    with index.write() as conn:
        index.set_state(conn, "head", head)
        index.set_state(conn, "indexed_at", str(int(time.time())))
        if lacking:
            index.set_state(conn, arrivals.STATE_KEY, objects)
        else:
            conn.execute("DELETE FROM state WHERE key = ?", (arrivals.STATE_KEY,))


def update(repo: Backend, index: Index, progress: Progress | None = None, code: bool = True) -> IngestReport:
    """Bring the index up to HEAD. Idempotent; safe to interrupt at any point. A HEAD with no
    commit (an orphan branch, hg's null revision) leaves the index as it is, for the way back.
    History rewritten while it is read (`hg strip`, a rebase then `git gc --prune=now`: commits
    to be read are gone) is read again from the new HEAD, the whole commits written kept."""
    started = time.perf_counter()
    with writer_lock(repo.checkout_dir):
        tries = 1
        while True:
            head = repo.head()
            if head is None:
                _built_for(index, "")
                return IngestReport(None, 0, 0, 0, time.perf_counter() - started)
            try:
                return _update_to(repo, index, head, started, progress, code)
            except RepositoryError:
                now = repo.head()
                if tries >= REWRITE_TRIES or now == head:
                    raise
                log.warning("history changed while it was indexed (HEAD moved from %s to %s); indexing again",
                            head[:12], (now or "no commit")[:12])
                tries += 1


def _update_to(repo: Backend, index: Index, head: str, started: float, progress: Progress | None,
               code: bool) -> IngestReport:
    reachable = repo.reachable()
    known = queries.commit_ids(index)
    reach_set = set(reachable)
    boundary = repo.shallow_boundary()
    # A commit indexed as a shallow boundary has no changes of its own; once the clone is
    # deepened (`git fetch --deepen/--unshallow`) it has, so it is indexed again.
    redo = {h for h in (index.get_state("shallow") or "").split() if h not in boundary}
    objects = arrivals.stamp(repo)  # before the look: a version arriving after it changes the stamp
    redo |= _arrived(repo, index)
    redo |= set((index.get_state("redo") or "").split())  # a migration's: commits to read again
    _prune(index, (cid for h, cid in known.items() if h not in reach_set or h in redo))
    removed = sum(1 for h in known if h not in reach_set)
    known = {h: cid for h, cid in known.items() if h in reach_set and h not in redo}
    if boundary or redo:
        with index.write() as conn:
            if boundary:
                index.set_state(conn, "shallow", " ".join(sorted(boundary)))
            else:
                conn.execute("DELETE FROM state WHERE key = 'shallow'")
            conn.execute("DELETE FROM state WHERE key = 'redo'")  # pruned: they are new commits now
    new = [h for h in reversed(reachable) if h not in known]
    if boundary:
        log.warning("shallow clone: history before %d boundary commit(s) is missing; "
                    "their own changes are not indexed", len(boundary))
    done, missing = _ingest(repo, index, new, boundary, progress)
    code_files = 0
    if code:
        from rca_lsp.index.headcode import refresh_head_code

        code_files = refresh_head_code(repo, index)
    _built_for(index, head, objects)
    return IngestReport(head, len(reachable), done, removed, time.perf_counter() - started,
                        bool(boundary), code_files, missing)


def _ingest(repo: Backend, index: Index, new: list[str], boundary: set[str], progress: Progress | None
            ) -> tuple[int, int]:
    """`new` read and written in atomic batches: (commits written, file diffs missing)."""
    cache = SymbolCache(repo, workers=_workers(len(new)))
    done, missing = 0, _MissingNotes()
    try:
        for chunk in _chunks(iter(repo.log(new)), BATCH):
            cache.prefetch([p for item in chunk if item.commit.hash not in boundary
                            for change in item.changes for p in blobs_needed(change)])
            with index.write() as conn:
                for item in chunk:
                    _write_commit(conn, item, cache, item.commit.hash in boundary)
            for item in chunk:
                if item.commit.hash not in boundary:
                    missing.note(item)
            done += len(chunk)
            if progress:
                progress(done, len(new))
    finally:
        cache.close()
    missing.summary()
    return done, missing.files

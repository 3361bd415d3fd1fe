"""History from an object store that lacks some blobs: a partial clone, or a damaged store.

`git log -p` needs both versions of every file a commit changes. One missing blob stopped it
("fatal: unable to read <sha>") and with it the whole index; in a partial clone
(`git clone --filter=blob:none`) git instead fetches each missing blob from the promisor remote,
one round trip per blob, which is every blob of history. Here nothing is fetched: the commits'
file lists come from `git log --raw --no-renames` (trees only), the blobs present are listed
without fetching, commits that have all theirs go through the usual stream, and for the others
only the files whose versions are present are diffed. A file with a missing version keeps its
path and status but no hunks, and is named in `LoggedCommit.missing` so the indexer can say so.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rca_lsp.errors import RepositoryError
from rca_lsp.types import FileChange
from rca_lsp.vcs.base import LoggedCommit
from rca_lsp.vcs.diffparse import decode_path, log_records, strip_prefix
from rca_lsp.vcs.git import is_null
from rca_lsp.vcs.gitlog import MissingObject

if TYPE_CHECKING:
    from rca_lsp.vcs.git import GitRepo

log = logging.getLogger(__name__)

_GITLINK = b"160000"


def is_partial_clone(repo: GitRepo) -> bool:
    """A repository with a promisor remote: git would fetch any object it lacks, one at a time."""
    proc = repo._run(["config", "--get-regexp", r"^(extensions[.]partialclone|remote[.].+[.]promisor)$"], check=False)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lower() not in ("", "false", "no", "off", "0"):
            return True
    return False


class Presence:
    """Which blobs the object store holds, asked without fetching any.

    `cat-file --batch-check` would fetch a missing blob in a partial clone (git before 2.44 has no
    way to forbid it), so there the blobs are read once from `--batch-all-objects`, which only
    lists; a blob:none clone holds few (those of the checkout).
    """

    def __init__(self, repo: GitRepo, partial: bool) -> None:
        self._repo = repo
        self.partial = partial
        self._all: set[str] | None = None

    def present(self, blobs: set[str]) -> set[str]:
        if not blobs:
            return set()
        if self.partial:
            if self._all is None:
                self._all = self._list_all()
            return blobs & self._all
        out = self._repo._run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                              stdin="".join(b + "\n" for b in sorted(blobs)).encode()).stdout
        return {line.split()[0] for line in out.decode("ascii", "replace").splitlines()
                if line.endswith(" blob")}

    def _list_all(self) -> set[str]:
        out = self._repo._run(["cat-file", "--batch-all-objects", "--unordered",
                               "--batch-check=%(objecttype) %(objectname)"]).stdout
        return {line[5:] for line in out.decode("ascii", "replace").splitlines() if line.startswith("blob ")}


def _raw_entry(line: bytes, gitlinks: set[str]) -> FileChange | None:

    meta, _, path_raw = line.rstrip(b"\n").partition(b"\t")
    fields = meta[1:].split(b" ")
    if len(fields) < 5:
        return None
    old_mode, new_mode, old, new, status = fields[:5]
    path = strip_prefix(path_raw, b"", decode_path)
    old_blob, new_blob = old.decode("ascii"), new.decode("ascii")
    for mode, blob in ((old_mode, old_blob), (new_mode, new_blob)):
        if mode == _GITLINK:
            gitlinks.add(blob)
    kind = status[:1].decode("ascii")
    return FileChange(kind, None if kind == "A" else path, None if kind == "D" else path, False, (),
                      None if is_null(old_blob) else old_blob, None if is_null(new_blob) else new_blob)


def _parse_raw(stream, gitlinks: set[str]) -> Iterator[LoggedCommit]:
    from rca_lsp.types import Commit

    commit = None
    changes: list = []
    for line in log_records(stream, sealed=True):
        if isinstance(line, Commit):
            if commit is not None:
                yield LoggedCommit(commit, tuple(changes))
            commit, changes = line, []
        elif commit is not None and line.startswith(b":"):
            entry = _raw_entry(line, gitlinks)
            if entry is not None:
                changes.append(entry)
    if commit is not None:
        yield LoggedCommit(commit, tuple(changes))


def log_around_missing(repo: GitRepo, hashes: Sequence[str], presence: Presence, cause: str | None = None
                       ) -> Iterator[LoggedCommit]:
    """`hashes` in order, each commit diffed as far as its blobs are present. `cause` is git's
    error that sent us here: when nothing is missing after all, it is raised as it was."""
    gitlinks: set[str] = set()  # submodule commits: never in this store, never read
    raw = _raw(repo, hashes, gitlinks, presence.partial)
    wanted = {b for item in raw for b in _blobs_of(item)} - gitlinks
    present = presence.present(wanted) | gitlinks
    if cause is not None and wanted <= present:
        raise RepositoryError(f"git log failed: {cause[:500]}")
    run: list[str] = []
    for item in raw:
        if _blobs_of(item) <= present:
            run.append(item.commit.hash)
            continue
        yield from _diffed(repo, run)
        run = []
        yield _partial(repo, item, present)
    yield from _diffed(repo, run)


def _raw(repo: GitRepo, hashes: Sequence[str], gitlinks: set[str], partial: bool) -> list[LoggedCommit]:
    """The commits with their file lists, from trees only. A partial clone that lacks trees too
    (--filter=tree:0) has those fetched, one round trip each: there is no history without them.
    Any other store that lacks a tree or a commit (damaged, or pruned by `git gc` since the commits
    were listed) has nothing to fetch them from."""
    def parse(stream):
        return _parse_raw(stream, gitlinks)

    try:
        return list(repo.log_stream(list(hashes), parse, "--raw", "--no-renames"))
    except MissingObject as exc:
        if not partial:
            raise RepositoryError(f"git log failed: {str(exc).strip().splitlines()[-1][:500]}") from exc
        log.warning("this partial clone lacks trees: fetching those of %d commit(s), one by one (slow; "
                    "a --filter=blob:none clone has them all)", len(hashes))
    try:
        return list(repo.log_stream(list(hashes), parse, "--raw", "--no-renames", fetch=True))
    except MissingObject as exc:
        raise RepositoryError(f"git log failed: {str(exc).strip().splitlines()[-1][:500]}",
                              hint="the promisor remote must be reachable to fetch missing trees") from exc


def _blobs(change: FileChange) -> set[str]:
    return {b for b in (change.old_blob, change.new_blob) if b}


def _blobs_of(item: LoggedCommit) -> set[str]:
    return {b for c in item.changes for b in _blobs(c)}


def _diffed(repo: GitRepo, hashes: list[str], *pathspec: str) -> Iterator[LoggedCommit]:
    if not hashes:
        return
    try:
        yield from repo.log_stream(hashes, None, *(("--", *pathspec) if pathspec else ()))
    except MissingObject as exc:  # present by the listing, yet unreadable: a damaged store
        raise RepositoryError(f"git log failed: {str(exc)[:500]}") from exc


def _partial(repo: GitRepo, item: LoggedCommit, present: set[str]) -> LoggedCommit:
    """One commit: the files whose versions are all present diffed (by path), the others bare."""
    whole = [c for c in item.changes if _blobs(c) <= present]
    gone = [c for c in item.changes if not _blobs(c) <= present]
    if any("?" in p for c in whole for p in (c.old_path, c.new_path) if p):
        # a name that was not UTF-8 reached us with '?' for each bad byte: no exact pathspec
        # for it, and a looser one could reach a missing blob; those files go without hunks too
        whole, gone = [], list(item.changes)
    changes: list[FileChange] = []
    if whole:
        paths = sorted({p for c in whole for p in (c.old_path, c.new_path) if p})
        for diffed in _diffed(repo, [item.commit.hash], *(":(top,literal)" + p for p in paths)):
            changes.extend(diffed.changes)
    changes.extend(gone)
    missing = tuple((c.path, b) for c in gone for b in sorted(_blobs(c) - present))
    return dataclasses.replace(item, changes=tuple(changes), missing=missing)

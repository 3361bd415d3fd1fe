"""Hunks mapped to the functions and classes they touch, on both sides of a change.

Each changed line is attributed to the innermost symbol around it: a method when the line is in a
method, else the class (a field, an import inside the class). Removed lines are read against the
old version of the file and added lines against the new one, so a deleted method and a new one
both count. Symbols are parsed once per blob and cached, because the new version of a file in
one commit is the old version in the next commit that changes it.
"""

from __future__ import annotations

import bisect
import logging
import os
import signal
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rca_lsp.errors import IndexingStopped
from rca_lsp.types import FileChange, Symbol

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend, BlobReader

log = logging.getLogger(__name__)

MAX_BLOB_BYTES = 2_000_000
CACHE_BLOBS = 3000

Base = tuple[str, tuple[tuple[int, int, int, int], ...]]  # a blob and the hunks from it to a later version
BlobItem = tuple[str, str, str, "Base | None"]  # a version to parse: blob, language, the file's path, its base


@dataclass(frozen=True)
class SymbolTable:
    """Symbols of one file version, arranged for range look-ups."""

    leaves: tuple[Symbol, ...]  # symbols that contain no other symbol, sorted by start line
    leaf_starts: tuple[int, ...]
    containers: tuple[Symbol, ...]  # the others, innermost (smallest) first

    @classmethod
    def build(cls, symbols: list[Symbol]) -> "SymbolTable":
        ordered = sorted(symbols, key=lambda s: (s.start_line, -s.end_line))
        leaves, containers = [], []
        for i, sym in enumerate(ordered):
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            if nxt is not None and nxt.start_line <= sym.end_line and nxt.end_line <= sym.end_line:
                containers.append(sym)
            else:
                leaves.append(sym)
        containers.sort(key=lambda s: s.end_line - s.start_line)
        return cls(tuple(leaves), tuple(s.start_line for s in leaves), tuple(containers))

    def attribute(self, start: int, end: int) -> dict[Symbol, int]:
        """Changed lines start..end (inclusive) per innermost symbol."""
        out: dict[Symbol, int] = {}
        covered = 0
        i = max(bisect.bisect_right(self.leaf_starts, end) - 1, 0)
        while i >= 0 and self.leaves:
            leaf = self.leaves[i]
            if leaf.end_line < start:
                break
            lo, hi = max(start, leaf.start_line), min(end, leaf.end_line)
            if lo <= hi:
                out[leaf] = out.get(leaf, 0) + hi - lo + 1
                covered += hi - lo + 1
            i -= 1
        rest = end - start + 1 - covered
        if rest > 0:
            for box in self.containers:
                if box.start_line <= end and box.end_line >= start:
                    out[box] = out.get(box, 0) + rest
                    break
        return out


_EMPTY = SymbolTable((), (), ())


_worker_reader = None
_parent_pid: int | None = None  # the indexer's pid, set before the pool forks


def _die_with_parent() -> None:
    """A worker ends when the indexer does, even on SIGKILL, instead of printing BrokenPipe tracebacks."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL (Linux; elsewhere a no-op)
    except (OSError, AttributeError):
        pass
    if _parent_pid is not None and os.getppid() != _parent_pid:  # it died before prctl took effect
        os._exit(0)


def _worker_init(cwd: str) -> None:
    global _worker_reader

    from rca_lsp.vcs import open_repo

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the indexer's to handle, once
    for sig in (signal.SIGTERM, signal.SIGHUP):  # the pool's terminate() must kill, whatever the parent set
        signal.signal(sig, signal.SIG_DFL)
    _die_with_parent()
    _worker_reader = open_repo(cwd).blob_reader()  # git or hg, whichever the repository is


def _start_pool(workers: int, root: str):
    """Forked parsers (the indexer's modules are already imported), each with its own reader."""
    import multiprocessing

    global _parent_pid
    _parent_pid = os.getpid()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(root,))


def _dead_worker(pool: ProcessPoolExecutor) -> tuple[int | None, int | None]:
    """Which worker died and its exit code, as far as the pool knew (its process table is private). The
    pool is shut down first: until its manager thread has joined the workers, an exit code read
    here may race with that thread's own wait and come back empty. Then any worker still alive is
    ended here: when the manager thread itself died (CPython 3.11's `terminate_broken` can raise on
    a future cancelled meanwhile), the workers it should have ended wait for work forever, and the
    interpreter's exit would wait for them (CI saw `rca index` hang so, once)."""
    workers = dict(getattr(pool, "_processes", None) or {})
    pool.shutdown(wait=True, cancel_futures=True)
    for proc in workers.values():
        if proc.is_alive():
            proc.terminate()
    for proc in workers.values():
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    for pid, proc in workers.items():
        code = proc.exitcode
        if code is not None and code not in (0, -signal.SIGTERM):  # SIGTERM: the pool ending the rest
            return pid, code
    return None, None


class _Latest:
    """The version of each of a few files parsed last, with its tree: the file's next version is
    parsed from it (`rca_lsp.code.parse.parse`'s `previous`), which reads again only what changed,
    told by the change's hunks where they were made from that version."""

    # The versions kept, by their sources' bytes: a tree takes about 16 times its source (0.6 MB for
    # a 36 KB Java file), so 1 MB of sources hold about 16 MB. The pool gets a file's versions of a
    # batch together, so those parse from one another whatever the bound; it matters across batches
    # and in-process. 4 MB built commons-lang's history as fast (0.76x the time before, as 1 MB) with
    # each parser worker at 107 MiB instead of 56 (BENCHMARKS.md).
    BYTES = 1_000_000

    def __init__(self) -> None:
        self._versions: OrderedDict[tuple[str, str], tuple[str, bytes, object]] = OrderedDict()
        self._bytes = 0

    def symbols(self, blob: str, path: str, language: str, data: bytes, base: Base | None = None) -> list[Symbol]:
        from rca_lsp.code.symbols import symbols_and_tree

        previous = self._versions.pop((path, language), None)  # consumed: the parse edits its tree
        if previous is not None:
            self._bytes -= len(previous[1])
        hunks = base[1] if base is not None and previous is not None and previous[0] == base[0] else None
        found, tree = symbols_and_tree(data, language, previous[1:] if previous is not None else None, hunks)
        if tree is not None:
            self._versions[(path, language)] = (blob, data, tree)
            self._bytes += len(data)
            while self._bytes > self.BYTES:
                self._bytes -= len(self._versions.popitem(last=False)[1][1])
        return found


_worker_latest = _Latest()


def _parse_blob(item: BlobItem) -> tuple[str, list[Symbol]]:
    blob, language, path, base = item
    data = _worker_reader.get(blob) if _worker_reader is not None else None
    if data is None or len(data) > MAX_BLOB_BYTES:
        return blob, []
    return blob, _worker_latest.symbols(blob, path, language, data, base)


def _parse_blobs(items: list[BlobItem]) -> list[tuple[str, list[Symbol]]]:
    return [_parse_blob(item) for item in items]


CHUNK = 8  # blobs per task sent to a parser worker


class SymbolCache:
    """Symbol tables per blob, parsed on demand or ahead of time by a pool of worker processes.

    Parsing every version of every changed file is most of an index build, so a batch's blobs
    are parsed in parallel (`prefetch`); each worker reads blobs through its own `git cat-file`.
    """

    def __init__(self, repo: Backend, workers: int = 0) -> None:
        self._repo = repo
        self._reader: BlobReader | None = None
        self._tables: OrderedDict[str, SymbolTable] = OrderedDict()
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._latest = _Latest()

    def _remember(self, blob: str, table: SymbolTable) -> None:
        self._tables[blob] = table
        if len(self._tables) > CACHE_BLOBS:
            self._tables.popitem(last=False)

    def prefetch(self, items: list[BlobItem]) -> None:
        """Parse `items` ahead, in the pool, each file's versions in the order given and in one task
        where they fit (a version parses from the one before it, `_Latest`)."""
        todo: list[BlobItem] = []
        seen: set[str] = set()
        for item in items:  # each blob once, where it first comes
            if item[0] and item[0] not in self._tables and item[0] not in seen:
                seen.add(item[0])
                todo.append(item)
        if self._workers < 2 or len(todo) < 32:
            return
        todo.sort(key=lambda item: item[2])  # stable: a file's versions together, in their order
        if self._pool is None:
            self._pool = _start_pool(self._workers, self._repo.root)
        pool = self._pool
        try:
            # Futures of chunks, read in order, never cancelled from here: `pool.map` cancels the
            # rest when one fails, racing the manager thread that is failing them (see _dead_worker).
            futures = [pool.submit(_parse_blobs, todo[i:i + CHUNK]) for i in range(0, len(todo), CHUNK)]
            for future in futures:
                for blob, syms in future.result():
                    self._remember(blob, SymbolTable.build(syms))
        except BrokenProcessPool as exc:
            # multiprocessing.Pool replaced a killed worker and waited forever for its task,
            # holding the writer lock; this pool notices the death at once.
            from rca_lsp.vcs.gitlog import stopped

            pid, code = _dead_worker(pool)
            hint = "the whole commits indexed so far are kept; run `rca index` again to carry on"
            if code is None:
                raise IndexingStopped("a parser worker died", hint=hint) from exc
            raise stopped(f"a parser worker (pid {pid})", code, hint) from exc

    def table(self, blob: str | None, language: str, path: str | None = None, base: Base | None = None
              ) -> SymbolTable:
        """The symbols of `blob`; where `path` is given, parsed from the last version of that file
        parsed here, if one was (`base`: the version the change was made from, and its hunks)."""
        if not blob:
            return _EMPTY
        hit = self._tables.get(blob)
        if hit is not None:
            self._tables.move_to_end(blob)
            return hit
        reader = self._reader
        if reader is None:
            reader = self._reader = self._repo.blob_reader()
        data = reader.get(blob)
        table = _EMPTY
        if data is not None and len(data) <= MAX_BLOB_BYTES:
            from rca_lsp.code.symbols import symbols as parse_symbols

            table = SymbolTable.build(self._latest.symbols(blob, path, language, data, base) if path is not None
                                      else parse_symbols(data, language))
        self._remember(blob, table)
        return table

    def close(self) -> None:
        # The pool first: its forked workers hold copies of the reader's pipe to `git cat-file`,
        # which would not see end-of-input (and exit) while they live.
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def blobs_needed(change: FileChange) -> list[BlobItem]:
    """(blob, language, path, base) of each version `changed_symbols` will read for this change."""
    return [item for item in _versions(change) if item is not None]


def _versions(change: FileChange) -> tuple[BlobItem | None, BlobItem | None]:
    """The old and the new version `changed_symbols` reads (a side only where a hunk has lines on it;
    none for binary files and languages without a parser). The new one carries its base: the version
    the change was made from and its hunks, which tell its parse what changed (`_Latest`)."""
    from rca_lsp.code.languages import language_for_path

    language = language_for_path(change.path) if change.hunks and not change.binary else None
    if language is None:
        return None, None
    old = new = None
    if change.old_blob and any(h.old_len for h in change.hunks):
        old = (change.old_blob, language, change.old_path or change.path, None)
    if change.new_blob and any(h.new_len for h in change.hunks):
        base = (change.old_blob, tuple((h.old_start, h.old_len, h.new_start, h.new_len) for h in change.hunks)
                ) if change.old_blob else None
        new = (change.new_blob, language, change.path, base)
    return old, new


def changed_symbols(change: FileChange, cache: SymbolCache) -> list[tuple[Symbol, int]]:
    """(symbol, changed lines) for every symbol the change's hunks touch; [] for unknown languages."""
    old_version, new_version = _versions(change)
    if old_version is None and new_version is None:
        return []
    counts: dict[tuple[str, str], tuple[Symbol, int]] = {}

    def add(found: dict[Symbol, int]) -> None:
        for sym, n in found.items():
            key = (sym.qualname, sym.kind)
            prev = counts.get(key)
            counts[key] = (prev[0] if prev else sym, (prev[1] if prev else 0) + n)

    old = cache.table(*old_version) if old_version is not None else _EMPTY
    new = cache.table(*new_version) if new_version is not None else _EMPTY
    for h in change.hunks:
        if h.layout:
            continue
        if h.old_len:
            add(old.attribute(h.old_start, h.old_start + h.old_len - 1))
        if h.new_len:
            add(new.attribute(h.new_start, h.new_start + h.new_len - 1))
    return list(counts.values())

"""Opening the index: where it lives, WAL, one writer at a time, and recovery from corruption.

The index is a cache of the repository. It lives in the VCS's own folder (`.git/rca/index.db`),
never in the work tree; a linked git worktree's in its own (`.git/worktrees/<name>/rca/index.db`,
`Backend.checkout_dir`), begun as a copy of the main checkout's, or of another worktree's where the
main checkout has none (a bare repository's worktrees: `paths.seed_dir`). A file that is not a readable
SQLite database of ours is moved aside (`index.db.corrupt-<time>`) with one log line and rebuilt;
nothing else is ever deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from rca_lsp.errors import IndexError_
from rca_lsp.index.paths import INDEX_NAME, WRITE_LOCK, index_dir, seed_dir
from rca_lsp.index.schema import migrations
from rca_lsp.index.sqlite import Database

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
LOCK_QUIET_S = 1.0  # a wait for the writer lock longer than this is said, with the holder's pid
_SQLITE_HEADER = b"SQLite format 3\x00"


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _needs_setup(path: Path) -> bool:
    """True for a missing index or one with migrations still to apply (read-only look)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        conn = _connect(path, readonly=True)
        try:
            return bool(migrations.pending(Database(conn)))
        finally:
            conn.close()
    except sqlite3.Error:
        return True


def _looks_corrupt(path: Path, thorough: bool = True) -> str | None:
    """A reason the file is not a usable index, or None: header and schema, plus quick_check
    when `thorough`."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except FileNotFoundError:
        return None
    if path.stat().st_size == 0:
        return None
    if header != _SQLITE_HEADER:
        return "not an SQLite database"
    try:
        conn = _connect(path, readonly=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            ok = conn.execute("PRAGMA quick_check(1)").fetchone() if thorough else ("ok",)
        finally:
            conn.close()
    except sqlite3.OperationalError:
        # busy, locked, cannot open (read-only folder), I/O: a state of the file system or of
        # another process, not damage; moving a good index aside here would lose it for nothing
        return None
    except sqlite3.DatabaseError as exc:  # SQLITE_CORRUPT, SQLITE_NOTADB
        return str(exc)
    if ok and ok[0] != "ok":
        return f"integrity check failed: {ok[0]}"
    return None


def _write_hint(exc: BaseException) -> str:
    text = str(exc).lower()
    if "full" in text or "too large" in text:
        return "free some disk space (or raise the file size limit) and run `rca index` again"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "make the index folder writable and run `rca index` again"
    if "i/o" in text:
        return "the disk may be full or failing, or the file size limit (ulimit -f) reached"
    if "locked" in text:
        return "another process holds the index; try again"
    return "check the disk has room and the repository is writable"


def _move_aside(path: Path, reason: str) -> None:
    dest = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            try:
                src.rename(Path(str(dest) + suffix))
            except OSError as exc:
                raise IndexError_(f"the index {path} is unreadable ({reason}) and cannot be moved aside: "
                                  f"{exc.strerror}", hint=f"delete {path.parent} and run `rca index`") from exc
    log.warning("rca index at %s was unreadable (%s); moved aside to %s and rebuilding", path, reason, dest.name)


def _seed(path: Path, source: Path) -> None:
    """A new index (a linked worktree's) begins as a copy of `source` (the main checkout's) less
    the HEAD it was built for: the commits are the same, so the first update reads only those
    between the two HEADs, not the whole history. SQLite's backup copies it whole while others
    write it; a copy that fails or is damaged is dropped, and the index is built from nothing."""
    if source == path or not source.exists():
        return
    part = path.with_name(f"{path.name}.seed-{os.getpid()}")
    try:
        with contextlib.closing(_connect(source, readonly=True)) as src, \
                contextlib.closing(sqlite3.connect(str(part), isolation_level=None)) as dst:
            src.backup(dst)
            dst.execute("DELETE FROM state WHERE key = 'head'")  # not built for this HEAD yet
            dst.execute("PRAGMA journal_mode=WAL")
        reason = _looks_corrupt(part)
        if reason:
            raise sqlite3.DatabaseError(reason)
        os.replace(part, path)
        log.info("the index of %s starts as a copy of %s", path.parent, source)
    except (sqlite3.Error, OSError) as exc:
        log.info("the index %s is not copied (%s); building it from the start", source, exc)
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{part}{suffix}")


class Index:
    """A connection to one repository's index, as a sqlite-utils Database plus the raw connection."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = Database(conn)

    @classmethod
    def open(cls, meta_dir: str, readonly: bool = False, thorough: bool = False, seed: str | None = None
             ) -> "Index":
        """Open (creating or migrating) the index. `thorough` adds SQLite's quick_check to the
        corruption check: worth it before indexing, too slow (0.5 s on 190 MB) for every query.
        `seed`: the common VCS folder, whose index (or a linked worktree's there: `seed_dir`) a new
        one starts as a copy of (`_seed`)."""
        folder = index_dir(meta_dir)
        path = folder / INDEX_NAME
        if readonly:
            if not path.exists():
                raise IndexError_(f"no rca index in {folder}", hint="run `rca index` first")
            return cls(path, _connect(path, readonly=True))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.close(os.open(folder / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644))  # writable at all?
        except OSError as exc:
            raise IndexError_(f"cannot write the index folder {folder}: {exc.strerror}",
                              hint="make it writable (or free some disk space) and run `rca index` again") from exc
        if _looks_corrupt(path, thorough) or _needs_setup(path):
            # Moving aside, creating and migrating are not safe against a second opener: one at a time.
            with writer_lock(meta_dir):
                reason = _looks_corrupt(path, thorough)
                if reason:
                    _move_aside(path, reason)
                source = seed_dir(seed, meta_dir) if seed is not None and not path.exists() else None
                if source is not None:
                    _seed(path, index_dir(source) / INDEX_NAME)
                return cls._connect_writer(path, setup=True)
        return cls._connect_writer(path, setup=False)

    @classmethod
    def _connect_writer(cls, path: Path, setup: bool) -> "Index":
        try:
            conn = _connect(path)
            if setup:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            index = cls(path, conn)
            if setup:
                migrations.apply(index.db)
        except sqlite3.OperationalError as exc:
            raise IndexError_(f"cannot write the index {path}: {exc}", hint=_write_hint(exc)) from exc
        return index

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: the writer takes the lock up front, so no upgrade deadlock.

        A failed write (disk full, read-only file, file too large, I/O error) rolls the whole
        transaction back and becomes an IndexError_ naming the index and the cause.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:  # SQLite may already have rolled back (SQLITE_FULL)
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise IndexError_(f"cannot write the index {self.path}: {exc}", hint=_write_hint(exc)) from exc

    def get_state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, value))


@contextlib.contextmanager
def writer_lock(meta_dir: str, wait: bool = True) -> Iterator[None]:
    """One indexer at a time per repository; readers never take this.

    The holder writes its pid into the lock file, so a process that waits says for whom after
    a second instead of blocking silently. The kernel drops the lock when its holder dies.
    """
    folder = index_dir(meta_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexError_(f"cannot write the index folder {folder}: {exc.strerror}",
                          hint="make it writable (or free some disk space) and run `rca index` again") from exc
    try:
        if not _try_lock(fd):
            if not wait:
                raise IndexError_(f"another rca (pid {_holder(fd)}) is indexing this repository")
            _wait_for_lock(fd)
        with contextlib.suppress(OSError):  # only for the message of those who wait
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "?"
    return text if text.isdigit() else "?"


def _wait_for_lock(fd: int) -> None:
    """Poll rather than block, so the wait is said once, a second in (the common wait, a hook
    finishing its few commits, stays silent)."""
    said = False
    deadline = time.monotonic() + LOCK_QUIET_S
    while not _try_lock(fd):
        if not said and time.monotonic() >= deadline:
            log.warning("waiting for another rca (pid %s) to finish indexing", _holder(fd))
            said = True
        time.sleep(0.05)

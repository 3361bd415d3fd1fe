"""Opening the index: where it lives, WAL, one writer at a time, and recovery from corruption.

The index is a cache of the repository. It lives in the VCS's own folder (`.git/rca/index.db`),
never in the work tree. A file that is not a readable SQLite database of ours is moved aside
(`index.db.corrupt-<time>`) with one log line and rebuilt; nothing else is ever deleted.
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

from sqlite_utils import Database

from rca_lsp.errors import IndexError_
from rca_lsp.index.schema import migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_SQLITE_HEADER = b"SQLite format 3\x00"


def index_dir(meta_dir: str) -> Path:
    return Path(meta_dir) / "rca"


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _looks_corrupt(path: Path) -> str | None:
    """A reason the file is not a usable index, or None. Cheap: header and schema only."""
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
            ok = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if ok and ok[0] != "ok":
        return f"integrity check failed: {ok[0]}"
    return None


def _move_aside(path: Path, reason: str) -> None:
    dest = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            src.rename(Path(str(dest) + suffix))
    log.warning("rca index at %s was unreadable (%s); moved aside to %s and rebuilding", path, reason, dest.name)


class Index:
    """A connection to one repository's index, as a sqlite-utils Database plus the raw connection."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = Database(conn)

    @classmethod
    def open(cls, meta_dir: str, readonly: bool = False) -> "Index":
        folder = index_dir(meta_dir)
        path = folder / "index.db"
        if readonly:
            if not path.exists():
                raise IndexError_(f"no rca index in {folder}", hint="run `rca index` first")
            return cls(path, _connect(path, readonly=True))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexError_(f"cannot create the index folder {folder}: {exc.strerror}") from exc
        reason = _looks_corrupt(path)
        if reason:
            _move_aside(path, reason)
        try:
            conn = _connect(path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            index = cls(path, conn)
            migrations.apply(index.db)
        except sqlite3.OperationalError as exc:
            raise IndexError_(f"cannot write the index {path}: {exc}",
                              hint="check the disk has room and the repository is writable") from exc
        return index

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: the writer takes the lock up front, so no upgrade deadlock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def get_state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, value))


@contextlib.contextmanager
def writer_lock(meta_dir: str, wait: bool = True) -> Iterator[None]:
    """One indexer at a time per repository; readers never take this."""
    folder = index_dir(meta_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "write.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise IndexError_("another rca index is running for this repository") from exc
            raise
        yield
    finally:
        os.close(fd)

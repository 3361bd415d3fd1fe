"""One `rca model build` at a time per model folder.

A build writes `.<name>.building` beside the model and renames it into place (export.build); it
took any `.<name>.building` it found for an interrupted build's and removed it. So a second build
started while the first ran (another terminal, the editor's task) deleted the first one's work
under it, and each then failed or replaced the other's model. Now a build holds an OS lock
(`flock`) on `.<name>.lock` beside the model for its whole run, and a second one is refused at once
with the first one named (its pid, when it started, what it builds). The kernel drops the lock when
the process ends, however it ends (SIGKILL included): a killed build leaves at most the small file,
which the next build takes over, never a lock that blocks. Standard library only (POSIX).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rca_lsp.errors import ModelError
from rca_lsp.locks import try_lock

TRIES = 5  # attempts, TRY_GAP apart, before a held lock is said: `held_by` takes it for an instant
TRY_GAP = 0.1


def lock_path(directory: Path) -> Path:
    """The lock file of the model at `directory`, beside it (the folder itself is replaced by a build)."""
    return directory.with_name(f".{directory.name}.lock")


def _holder(path: Path) -> str:
    """The build holding `path`, as its record says: "pid N, started HH:MM:SS, building X"."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["started"]))
        return f"pid {int(doc['pid'])}, started {started}, building {doc['what']}"
    except (OSError, ValueError, KeyError, TypeError):  # taken an instant ago, its record not written yet
        return "its record not written yet"


def held_by(directory: Path) -> str | None:
    """The running build of `directory` (as `_holder` says it), or None when no build holds its lock."""
    path = lock_path(directory)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _holder(path)
    finally:
        os.close(fd)
    return None


def _take(path: Path) -> int | None:
    """A descriptor holding the lock of `path`, or None while another process holds it. A file that
    its last holder removed between our open and our lock is not the lock any more: opened again."""
    while True:
        fd = try_lock(path)
        if fd is None:
            return None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def hold(directory: Path, what: str) -> Iterator[None]:
    """Hold the build lock of `directory` while the block runs; a ModelError naming the build that
    holds it otherwise. `what`: what this build makes, for a second build's message."""
    path = lock_path(directory)
    try:
        for _ in range(TRIES):
            fd = _take(path)
            if fd is not None:
                break
            time.sleep(TRY_GAP)
        else:
            raise ModelError(f"another `rca model build` is building {directory} ({_holder(path)}); "
                             "this one stopped without touching it",
                             hint="wait for it to finish, then run `rca model build` again if you still need to")
    except OSError as exc:
        raise ModelError(f"cannot take the build lock {path}: {exc.strerror or exc}",
                         hint="point RCA_MODEL_DIR at a directory you can write") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": time.time(), "what": what}).encode())
        yield
    finally:
        try:
            path.unlink()  # while still held: a build waiting on the old file opens the path again (`_take`)
        except OSError:
            pass
        os.close(fd)

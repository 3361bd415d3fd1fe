"""A lock that dies with its holder: `fcntl.flock` on a file, taken without waiting.

The hooks' indexer queue and write lock, and `rca model build`'s lock, are such locks: the kernel
drops one when its process exits, SIGKILL included, so a killed holder never blocks the next.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """A descriptor holding the lock of `path` (the file made if need be), or None while another
    process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd

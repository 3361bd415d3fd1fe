"""Where rca keeps its files: `<vcs-dir>/rca/`, beside the VCS's own data, never in the work tree.

The index, its locks, the hooks' log, failures and labels all live in that one folder; every module
names it through these functions. A linked git worktree has a HEAD of its own, so its index and the
index's locks live in its own VCS folder (`.git/worktrees/<name>/rca/`, `Backend.checkout_dir`);
failures, labels and the hooks' log stay in the common one. A new index starts as a copy of another
checkout's of the same history (`seed_dir`). Cheap to import (no SQLite, no
sqlite-utils): the hooks' fast path reads it.
"""

from __future__ import annotations

from pathlib import Path

INDEX_NAME = "index.db"
WRITE_LOCK = "write.lock"


def index_dir(meta_dir: str) -> Path:
    """rca's folder inside the VCS's folder (`.git/rca`, `.hg/rca`)."""
    return Path(meta_dir) / "rca"


def index_path(meta_dir: str) -> Path:
    return index_dir(meta_dir) / INDEX_NAME


def index_exists(meta_dir: str) -> bool:
    """An index file is there (complete or not: `Index.open` and `head_state` say which)."""
    return index_path(meta_dir).exists()


def _touched(path: Path) -> int:
    """When an index was last written: its file's or its write-ahead log's time, the later."""
    times = [p.stat().st_mtime_ns for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    return max(times, default=0)


def seed_dir(meta_dir: str, checkout_dir: str) -> str | None:
    """The VCS folder of the index a new one of `checkout_dir` starts as a copy of: the main
    checkout's (`meta_dir`, the common one); where it has none, the linked worktree's
    (`meta_dir/worktrees/<name>`) written last. A bare repository has no checkout of its own, so
    every worktree of it (`git clone --bare`, `git worktree add`) is a linked one, and the main
    checkout's index that each would start from is never built. None: no other index."""
    own = index_path(checkout_dir).resolve()
    if index_exists(meta_dir) and index_path(meta_dir).resolve() != own:
        return meta_dir
    try:
        others = [d for d in (Path(meta_dir) / "worktrees").iterdir() if (d / "rca" / INDEX_NAME).is_file()]
    except OSError:  # no linked worktree (or a folder rca cannot list): nothing to copy
        return None
    others = [d for d in others if index_path(str(d)).resolve() != own]
    return str(max(others, key=lambda d: _touched(index_path(str(d))))) if others else None

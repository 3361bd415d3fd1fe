"""Where rca keeps its files: `<vcs-dir>/rca/`, beside the VCS's own data, never in the work tree.

The index, its locks, the hooks' log, failures and labels all live in that one folder; every module
names it through these functions. A linked git worktree has a HEAD of its own, so its index and the
index's locks live in its own VCS folder (`.git/worktrees/<name>/rca/`, `Backend.checkout_dir`);
failures, labels and the hooks' log stay in the common one. Cheap to import (no SQLite, no
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

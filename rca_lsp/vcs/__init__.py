"""VCS backends behind one protocol; `open_repo` picks the right one for a path."""

from __future__ import annotations

import os

from rca_lsp.errors import RepositoryError


def open_repo(path: str | os.PathLike[str] = "."):
    from rca_lsp.vcs.git import GitRepo

    try:
        return GitRepo(path)
    except RepositoryError:
        raise

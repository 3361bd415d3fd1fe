"""Where a bisection runs the test: a temporary checkout that shares the repository's history.

The backend's `worktree()` (a detached git worktree, an hg share: see `rca_lsp.vcs.checkout`) is
made in a new temporary folder outside the work tree, so the user's work tree, HEAD (working
parent), staged changes and untracked files are never touched. The work tree's uncommitted test
files (`overlay`) are laid in after each switch. Everything is removed on exit, error or interrupt.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from rca_lsp.bisect import deps
from rca_lsp.bisect.imports import Generated
from rca_lsp.bisect.overlay import Overlay
from rca_lsp.errors import RepositoryError
from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

# Variables git and hg set for hooks; the test must see the temporary checkout, not the caller's.
_HOOK_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_QUARANTINE_PATH",
                   "GIT_NAMESPACE", "GIT_EDITOR", "GIT_REFLOG_ACTION")


def test_environment(cwd: str) -> dict[str, str]:
    """The caller's environment for the test command, minus VCS hook variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in _HOOK_VARIABLES and not k.startswith("HG_")}
    env["PWD"] = cwd
    return env


class Checkout:
    """A temporary checkout of one repository; `goto(rev)` makes it that revision."""

    def __init__(self, repo: Backend, overlay: Overlay | None = None) -> None:
        self.repo = repo
        self.root = Path(repo.root).resolve()
        self.overlay = overlay or Overlay()
        self.generated = Generated()  # untracked files the code needs, from the work tree (`imports`)
        self._parent: Path | None = None
        self.path: Path | None = None
        self._tree = repo.worktree()
        self._deps: deps.Dependencies | None = None  # the work tree's node_modules, read at the first checkout
        self.notes: list[str] = []

    def __enter__(self) -> Checkout:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def goto(self, rev: str) -> Path:
        if self.path is None:
            self._parent = Path(tempfile.mkdtemp(prefix="rca-bisect-")).resolve()
            if self._parent.is_relative_to(self.root):
                self.remove()
                raise RepositoryError("the temporary folder is inside the work tree",
                                      hint="set TMPDIR to a folder outside the repository")
            self.path = self._parent / (self.root.name or "checkout")
            self._tree.create(self.path, rev)
        else:
            self.overlay.lift(self.path)
            self.generated.lift()
            self._tree.switch(rev)
        self.overlay.lay(self.path)
        self.generated.lay(self.path)
        self._lay_dependencies(self.path)
        return self.path

    def _lay_dependencies(self, path: Path) -> None:
        """Link the work tree's installed dependencies into the checkout where it lacks them (`deps`)."""
        if self._deps is None:
            self._deps = deps.find(self.root, self.repo.tracked_files())
        laid = self._deps.lay(path) if self._deps.folders else []
        if laid and not self.notes:
            self.notes.append(f"the checkout has no {laid[0]} (git ignores it): each revision runs with links to "
                              f"the work tree's installed dependencies ({', '.join(laid)}), its own code")
            log.info("%s", self.notes[-1])

    def complete(self, files: dict[str, bytes]) -> None:
        """From now on lay `files` (relative path -> content) into each revision that lacks them, this one too."""
        self.generated.lift()
        self.generated.files = dict(files)
        if self.path is not None:
            self.generated.lay(self.path)

    def localise(self, text: str) -> str:
        """Test output with the checkout's paths spelt as the user's work tree's."""
        if self.path is None:
            return text
        for spelling in {str(self.path), os.path.realpath(self.path)}:
            text = text.replace(spelling + os.sep, str(self.root) + os.sep)
        return text

    def remove(self) -> None:
        try:
            if self.path is not None:
                self._tree.remove()
        finally:
            if self._parent is not None:
                shutil.rmtree(self._parent, ignore_errors=True)
            self._parent = self.path = None


def open_checkout(repo: Backend, overlay: Overlay | None = None) -> Checkout:
    return Checkout(repo, overlay)

"""The work tree's uncommitted versions of the files a test command names, laid into each checkout.

The common case of a bisection: a developer writes a failing test for a bug, then bisects before
committing it. The test runs in a clean checkout of each revision, where that test does not exist
(or is the committed, older version), so every run would be a usage error. So the files that the
command names (`command.TestCommand.paths`: a file, or every file under a named folder) and that
are untracked, added or modified in the user's work tree are read once, at the start, and written
into the checkout after each switch; they are removed again before the next switch, so the
checkout's own clean-up never meets them. They are written only inside the checkout: a path
whose folder resolves elsewhere (a symlink committed at some revision) is left out at that
revision, and a symlink in the file's place is replaced, never followed.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

UNTRACKED, MODIFIED = "untracked", "modified"


@dataclass(frozen=True)
class WorktreeFile:
    path: str  # relative to the repository's root, with /
    state: str  # untracked | modified (or added, or staged: anything that differs from HEAD)
    data: bytes
    mode: int  # permission bits: a test script may be executable


@dataclass(frozen=True)
class Overlay:
    files: tuple[WorktreeFile, ...] = ()

    def lay(self, checkout: Path) -> None:
        for f in self.files:
            try:
                _write_inside(checkout, f)
            except OSError as exc:  # the revision has a file where the folder should be, or the like
                log.info("could not lay %s into the checkout: %s", f.path, exc)

    def lift(self, checkout: Path) -> None:
        """Remove what `lay` wrote (the checkout's own version, if any, comes back with the next switch)."""
        for f in self.files:
            target = checkout / f.path
            try:
                if _inside(checkout, target.parent) and stat.S_ISREG(os.lstat(target).st_mode):
                    target.unlink()
            except OSError:
                pass


def from_worktree(repo: Backend, paths: tuple[str, ...]) -> Overlay:
    """The uncommitted files of the work tree that `paths` (root-relative) name, and the test files
    under the folders they name. Not the other files of such a folder: those are the code under test
    (`pytest tests src`), whose edits laid into every revision would make each one the same code and
    the search find a wrong culprit."""
    from rca_lsp.testpaths import is_test_path

    if not paths:
        return Overlay()
    states = {p: MODIFIED for p in repo.modified_files()}
    states.update({p: UNTRACKED for p in repo.untracked_files()})
    root = Path(repo.root)
    files = []
    for path in sorted(states):
        if path not in paths and not (is_test_path(path) and any(path.startswith(p.rstrip("/") + "/")
                                                                 for p in paths)):
            continue
        full = root / path
        try:
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                continue  # removed in the work tree, or a symlink: nothing to lay in
            files.append(WorktreeFile(path, states[path], full.read_bytes(), stat.S_IMODE(info.st_mode)))
        except OSError as exc:
            log.info("cannot read %s from the work tree: %s", path, exc)
    return Overlay(tuple(files))


def _write_inside(checkout: Path, f: WorktreeFile) -> None:
    folder = checkout
    for part in Path(f.path).parts[:-1]:  # made one by one: mkdir(parents=True) follows symlinks
        folder = folder / part
        if os.path.islink(folder):
            raise OSError(f"{part} is a symlink at this revision")
        if not folder.exists():
            folder.mkdir()
    target = folder / Path(f.path).name
    if os.path.islink(target):
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), f.mode)
        out.write(f.data)


def _inside(checkout: Path, folder: Path) -> bool:
    return Path(os.path.realpath(folder)).is_relative_to(os.path.realpath(checkout))

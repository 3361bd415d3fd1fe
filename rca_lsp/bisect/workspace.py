"""Where a bisection runs the test: a temporary checkout that shares the repository's history.

git gets a detached `git worktree` and hg a `hg share`, both in a new temporary folder outside the
work tree, so the user's work tree, HEAD (working parent), staged changes and untracked files are
never touched. Switching revisions forces the checkout and removes untracked files but keeps
ignored ones (build outputs, virtual environments), as `git checkout -f && git clean -fd` does.
The work tree's uncommitted test files (`overlay`) are laid in after each switch.
VCS hooks are switched off for these commands: a post-checkout hook (rca's own among them) has no
business running for a throw-away checkout. Everything is removed on exit, error or interrupt.

This module also answers the history questions bisection asks: the range's commit graph, the first
parents below a commit, and whether one commit is an ancestor of another.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from rca_lsp.bisect.overlay import Overlay
from rca_lsp.errors import RepositoryError
from rca_lsp.vcs.git import _clean_env, _decode

log = logging.getLogger(__name__)

NULL = "0" * 40
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

    def __init__(self, repo, overlay: Overlay | None = None) -> None:
        self.repo = repo
        self.root = Path(repo.root).resolve()
        self.overlay = overlay or Overlay()
        self._parent: Path | None = None
        self.path: Path | None = None

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
            self._create(rev)
        else:
            self.overlay.lift(self.path)
            self._switch(rev)
        self.overlay.lay(self.path)
        return self.path

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
                self._unregister()
        finally:
            if self._parent is not None:
                shutil.rmtree(self._parent, ignore_errors=True)
            self._parent = self.path = None

    def _create(self, rev: str) -> None:
        raise NotImplementedError

    def _switch(self, rev: str) -> None:
        raise NotImplementedError

    def _unregister(self) -> None:
        raise NotImplementedError


class GitCheckout(Checkout):
    _NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false")

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(["git", *self._NO_HOOKS, *args], cwd=cwd or self.root, env=_clean_env(),
                              stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if proc.returncode != 0:
            raise RepositoryError(f"git {args[0]} failed: {_decode(proc.stderr).strip()[:500]}")
        return _decode(proc.stdout)

    def _create(self, rev: str) -> None:
        self._git("worktree", "add", "--quiet", "--detach", str(self.path), rev)
        self._admin = Path(self._git("rev-parse", "--absolute-git-dir", cwd=self.path).strip())

    def _switch(self, rev: str) -> None:
        self._git("checkout", "--quiet", "--detach", "--force", rev, cwd=self.path)
        self._git("clean", "-fdq", cwd=self.path)

    def _unregister(self) -> None:
        """`git worktree remove`, and if that fails, only this worktree's own admin folder goes
        (`git worktree prune` would also prune other people's stale worktrees)."""
        try:
            self._git("worktree", "remove", "--force", "--force", str(self.path))
        except RepositoryError as exc:
            log.debug("git worktree remove: %s", exc)
        admin = getattr(self, "_admin", None)
        if admin is not None and admin.parent.name == "worktrees" and admin.exists():
            shutil.rmtree(admin, ignore_errors=True)


class HgCheckout(Checkout):
    def __init__(self, repo, overlay: Overlay | None = None) -> None:
        super().__init__(repo, overlay)
        from rca_lsp.vcs.hg import binary

        self._hg_binary = binary(repo.kind)
        self._no_hooks: list[str] = []

    def _hg(self, *args: str, cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> str:
        env = {**_clean_env(), "HGPLAIN": "1"}
        proc = subprocess.run([self._hg_binary, *self._no_hooks, *args], cwd=cwd or self.root, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if proc.returncode not in ok:
            raise RepositoryError(f"hg {args[0]} failed: {_decode(proc.stderr).strip()[:500]}")
        return _decode(proc.stdout)

    def _create(self, rev: str) -> None:
        self._hg("--config", "extensions.share=", "share", "--quiet", "--noupdate", str(self.root), str(self.path))
        names = {line.split("=", 1)[0] for line in self._hg("config", "hooks", cwd=self.path, ok=(0, 1)).splitlines()}
        self._no_hooks = [arg for name in sorted(n for n in names if n.startswith("hooks."))
                          for arg in ("--config", f"{name}=")]
        self._switch(rev)

    def _switch(self, rev: str) -> None:
        self._hg("update", "--clean", "--quiet", "--rev", rev, cwd=self.path)
        self._hg("--config", "extensions.purge=", "purge", cwd=self.path)

    def _unregister(self) -> None:
        pass  # a share is only its folder: the history it points at is not its own


def open_checkout(repo, overlay: Overlay | None = None) -> Checkout:
    return GitCheckout(repo, overlay) if repo.kind == "git" else HgCheckout(repo, overlay)


# -- history questions -----------------------------------------------------------------------

def range_parents(repo, bad: str, goods: tuple[str, ...]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """The commits that are ancestors of `bad` but of no good one (newest first), with their parents."""
    if repo.kind == "git":
        text = repo.git_text("rev-list", "--topo-order", "--parents", bad, "--not", *goods)
    else:
        spec = f"reverse(only({bad}, {' + '.join(goods)}))" if goods else f"reverse(::{bad})"
        text = _decode(repo.run("log", "-r", spec, "-T", "{node} {p1node} {p2node}\n"))
    order, parents = [], {}
    for line in text.splitlines():
        node, *rest = line.split()
        order.append(node)
        parents[node] = tuple(p for p in rest if p != NULL)
    return order, parents


def first_parents(repo, rev: str) -> list[str]:
    """`rev`, its first parent, that one's first parent, ... down to the root."""
    if repo.kind == "git":
        return repo.git_text("rev-list", "--first-parent", rev).split()
    return _decode(repo.run("log", "-r", f"reverse(_firstancestors({rev}))", "-T", "{node}\n")).split()


def is_ancestor(repo, ancestor: str, descendant: str) -> bool:
    if repo.kind == "git":
        return repo._run(["merge-base", "--is-ancestor", ancestor, descendant], check=False).returncode == 0
    out = _decode(repo.run("log", "-r", f"{ancestor} and ::{descendant}", "-T", "{node}\n"))
    return bool(out.strip())

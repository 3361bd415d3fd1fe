"""Second checkouts that share a repository's history: where `rca bisect` runs the test.

git gets a detached `git worktree`, hg and sl a `share`, so the user's work tree, HEAD (working
parent), staged changes and untracked files are never touched. Switching forces the checkout and
removes untracked files but keeps ignored ones (build outputs, virtual environments), as
`git checkout -f && git clean -fd` does. VCS hooks are off for these commands: a post-checkout hook
(rca's own among them) has no business running for a throw-away checkout. The folder that holds
the checkout is the caller's to make and remove (`rca_lsp.bisect.workspace`).

Each command is its own process, not the backend's: the checkout is another work tree.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from rca_lsp.errors import RepositoryError
from rca_lsp.vcs.diffparse import decode
from rca_lsp.vcs.git import clean_env
from rca_lsp.vcs.revisions import check_revision

log = logging.getLogger(__name__)


def _run(name: str, argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    """`argv`'s output; RepositoryError naming `name` (the subcommand) when it fails."""
    proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode not in ok:
        raise RepositoryError(f"{Path(argv[0]).name} {name} failed: {decode(proc.stderr).strip()[:500]}")
    return decode(proc.stdout)


class GitWorktree:
    """A detached `git worktree` of the repository at `root`."""

    _NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false")

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.path: Path | None = None
        self._admin: Path | None = None

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        return _run(args[0], ["git", *self._NO_HOOKS, *args], cwd or self.root, clean_env())

    def create(self, path: Path, rev: str) -> None:
        self.path = path
        self._git("worktree", "add", "--quiet", "--detach", str(path), check_revision(rev))
        self._admin = Path(self._git("rev-parse", "--absolute-git-dir", cwd=path).strip())

    def switch(self, rev: str) -> None:
        assert self.path is not None, "create the worktree first"
        self._git("checkout", "--quiet", "--detach", "--force", check_revision(rev), cwd=self.path)
        self._git("clean", "-fdq", cwd=self.path)

    def remove(self) -> None:
        """`git worktree remove`, and if that fails, only this worktree's own admin folder goes
        (`git worktree prune` would also prune other people's stale worktrees)."""
        if self.path is None:
            return
        try:
            self._git("worktree", "remove", "--force", "--force", str(self.path))
        except RepositoryError as exc:
            log.debug("git worktree remove: %s", exc)
        admin = self._admin
        if admin is not None and admin.parent.name == "worktrees" and admin.exists():
            shutil.rmtree(admin, ignore_errors=True)
        self.path = self._admin = None


def _plain_env() -> dict[str, str]:
    """HGPLAIN, and no HGPLAINEXCEPT: a user's `HGPLAINEXCEPT=alias` let `update = update --check`
    abort every `update --clean` here ("cannot specify both --clean and --check")."""
    env = {k: v for k, v in clean_env().items() if k != "HGPLAINEXCEPT"}
    return {**env, "HGPLAIN": "1"}


class HgShare:
    """An `hg share` (or `sl share`) of the repository at `root`, run by `binary`."""

    def __init__(self, root: str, binary: str) -> None:
        self.root = Path(root)
        self.binary = binary
        self.path: Path | None = None
        self._no_hooks: list[str] = []

    def _hg(self, *args: str, cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> str:
        name = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        return _run(name, [self.binary, *self._no_hooks, *args], cwd or self.root, _plain_env(), ok)

    def create(self, path: Path, rev: str) -> None:
        self._hg("--config", "extensions.share=", "share", "--quiet", "--noupdate", str(self.root), str(path))
        self.path = path
        names = {line.split("=", 1)[0] for line in self._hg("config", "hooks", cwd=path, ok=(0, 1)).splitlines()}
        self._no_hooks = [arg for name in sorted(n for n in names if n.startswith("hooks."))
                          for arg in ("--config", f"{name}=")]
        self.switch(rev)

    def switch(self, rev: str) -> None:
        assert self.path is not None, "create the share first"
        self._hg("update", "--clean", "--quiet", "--rev", check_revision(rev), cwd=self.path)
        self._hg("--config", "extensions.purge=", "purge", cwd=self.path)

    def remove(self) -> None:
        """Nothing to unregister: a share is only its folder, the history it points at is not its own."""
        self.path = None

"""VCS backends behind one protocol; `open_repo` picks the right one for a path.

The nearest enclosing checkout wins: `.git` is git, `.hg` is Mercurial, `.sl` is Sapling (and a
`.hg` checkout is read with Sapling's `sl` when `RCA_VCS=sl`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the backends load when a repository is opened, not on import
    from rca_lsp.vcs.base import Backend


def open_repo(path: str | os.PathLike[str] = ".") -> Backend:
    from rca_lsp.vcs.git import GitRepo
    from rca_lsp.vcs.hg import find_root

    found = find_root(path) if os.path.exists(path) else None
    if found is not None and found[1] in ("hg", "sl"):
        from rca_lsp.vcs.hg import HgRepo

        return HgRepo(found[0], kind=found[1], warm=True)
    return GitRepo(path)  # also the one clear error for a path that is no repository at all


NO_COMMITS = "the repository has no commits yet"


def no_head(repo: Backend) -> tuple[str, str | None]:
    """What `repo.head()` being None means, and what to do about it: an empty repository (git's
    "no commits yet"), git's orphan branch (`git switch --orphan`) in a repository whose history is
    on other branches, or, in hg and sl, a working directory updated to the null revision
    (`hg update null`, a clone made with `-U`) while history is there: nothing is checked out."""
    from rca_lsp.vcs.git import GitRepo
    from rca_lsp.vcs.hg import HgRepo, binary

    if isinstance(repo, HgRepo) and repo.has_changesets():
        return ("the working directory is at the null revision (no revision checked out)",
                f"update to a revision first: `{binary(repo.kind)} update` (the branch's newest) or "
                f"`{binary(repo.kind)} update REV`")
    if isinstance(repo, GitRepo) and repo.git_text("rev-list", "-n", "1", "--all").strip():
        branch = repo.git_text("symbolic-ref", "--short", "-q", "HEAD").strip() or "HEAD"
        return (f"the branch {branch} has no commits yet (an orphan branch; the history is on other branches)",
                "commit on it, or switch to a branch with history: `git switch BRANCH`")
    return NO_COMMITS, None


def unfollowed_replacements(repo: Backend) -> str | None:
    """A warning where the history rca ranks is not the one `git log` shows: git's replace refs
    (`git replace`, a graft) are not followed (`vcs.git.clean_env`), so a commit a replacement
    hides is ranked, and one it puts in is not."""
    from rca_lsp.vcs.git import GitRepo

    if not isinstance(repo, GitRepo) or os.environ.get("GIT_NO_REPLACE_OBJECTS"):
        return None
    refs = repo.git_text("for-each-ref", "--format=%(refname)", "refs/replace/").split()
    if not refs or (repo.config("core.useReplaceRefs") or "true").lower() in ("false", "no", "off", "0"):
        return None  # none, or git log does not follow them either
    return (f"history is ranked as committed: this repository's {len(refs)} `git replace` ref(s) are not "
            "followed (`git log --no-replace-objects` shows the history ranked)")

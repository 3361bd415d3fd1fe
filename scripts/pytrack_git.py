"""Git for the Python-track benchmark (scripts/pytrack_cases.py): replaying a window's commits.

Every replay keeps each commit's author, committer, dates and message, so a rebuilt window has
the same hashes every time. Hooks and signing are off; the caller's GIT_DIR and friends are not
inherited. Standard library only.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true")
    for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(k, None)
    env.update(extra or {})
    return env


MISSING_OBJECT = re.compile(r"unable to read|bad object|missing (?:blob|tree|commit|object)|corrupt|"
                            r"not a valid object|did not send all necessary objects")


def missing_object(stderr: str) -> bool:
    """Whether git's error lines say an object the history should hold cannot be read. The line
    `error: could not apply <sha>... <subject>` is left out: it quotes the commit's subject, and a
    python-slugify commit titled "Possible corrupt 1.2.2 build" that conflicted read as a broken mirror."""
    return any(MISSING_OBJECT.search(line) for line in stderr.splitlines()
               if line.startswith(("error:", "fatal:")) and not line.startswith("error: could not apply"))


class GitFailed(RuntimeError):
    """A git command that exited non-zero (a mirror missing an object, a bad revision): the
    message names the command, its exit status and git's own words."""


def run_git(args: list[str], cwd: Path | None = None, git_dir: Path | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    if git_dir is not None:
        cmd.append(f"--git-dir={git_dir}")
    proc = subprocess.run(cmd + args, check=False, cwd=cwd, capture_output=True, text=True, errors="replace",
                          env=git_env(env))
    if check and proc.returncode != 0:
        raise GitFailed(f"git {' '.join(args[:4])}: exit {proc.returncode}: {proc.stderr.strip()[:400]}")
    return proc


def out(args: list[str], cwd: Path | None = None, git_dir: Path | None = None) -> str:
    return run_git(args, cwd=cwd, git_dir=git_dir).stdout


def committer_env(repo: Path, rev: str) -> dict[str, str]:
    """The commit's own committer, so a replay gives the same hashes every time."""
    name, email, date = out(["log", "-1", "--format=%cn%x00%ce%x00%cI", rev], cwd=repo).rstrip("\n").split("\0")
    return {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date}


def window_commits(git_dir: Path, base: str, end: str) -> list[str]:
    """The non-merge commits of base..end, parents first: the linearised window."""
    return out(["rev-list", "--reverse", "--topo-order", "--no-merges", f"{base}..{end}"], git_dir=git_dir).split()


# Windows of projects that merge release branches back (click, jinja) conflict in their changelogs
# when linearised. The training-data builder sets this: a conflict only in files other than Python
# code is resolved, deterministically, with the picked commit's version. The Python-track benchmark
# leaves it off, so its cases rebuild identically.
RESOLVE_NON_CODE = False


def _take_theirs_outside_code(repo: Path, commit: str) -> bool:
    """Resolve a conflicted cherry-pick of `commit` whose conflicts are all outside .py files."""
    conflicted = out(["diff", "--name-only", "--diff-filter=U"], cwd=repo).split()
    if not conflicted or any(p.endswith(".py") for p in conflicted):
        return False
    for path in conflicted:
        if run_git(["checkout", "--theirs", "--", path], cwd=repo, check=False).returncode != 0:
            run_git(["rm", "-q", "--", path], cwd=repo, check=False)  # deleted on their side
        else:
            run_git(["add", "--", path], cwd=repo)
    return not out(["diff", "--name-only", "--diff-filter=U"], cwd=repo).split()


def replay(repo: Path, commits: list[str]) -> list[str] | None:
    """Cherry-pick `commits` in order onto HEAD of the work tree `repo`, each with its own
    committer and date; the new hashes, or None (state restored) at the first pick that fails.
    A pick that fails because the history lacks an object raises GitFailed."""
    start = out(["rev-parse", "HEAD"], cwd=repo).strip()
    made = []
    for c in commits:
        proc = run_git(["cherry-pick", "--allow-empty", "--keep-redundant-commits", c], cwd=repo,
                       check=False, env=committer_env(repo, c))
        if proc.returncode != 0 and missing_object(proc.stderr):
            # git could not read an object the history should hold: the mirror is broken, not
            # the window, so nothing is recorded for it (a work tree that refuses the pick, as a
            # dateutil window's did, is the window's own: it drops the window as a conflict does).
            run_git(["cherry-pick", "--abort"], cwd=repo, check=False)
            run_git(["reset", "-q", "--hard", start], cwd=repo)
            raise GitFailed(f"git cherry-pick {c[:12]}: exit {proc.returncode}: {proc.stderr.strip()[:400]}")
        if proc.returncode != 0 and RESOLVE_NON_CODE and _take_theirs_outside_code(repo, c):
            proc = run_git(["-c", "core.editor=true", "cherry-pick", "--continue"], cwd=repo, check=False,
                           env=committer_env(repo, c))
        if proc.returncode != 0:
            run_git(["cherry-pick", "--abort"], cwd=repo, check=False)
            run_git(["reset", "-q", "--hard", start], cwd=repo)
            return None
        made.append(out(["rev-parse", "HEAD"], cwd=repo).strip())
    return made


def checkout(repo: Path, rev: str) -> None:
    """`rev` detached in the work tree `repo`, with nothing else in it."""
    run_git(["checkout", "-q", "--detach", "-f", rev], cwd=repo)
    run_git(["clean", "-qfdx"], cwd=repo)


def linearise(repo: Path, base: str, commits: list[str]) -> list[str] | None:
    """Check out `base` (detached) in `repo` and replay `commits` onto it."""
    checkout(repo, base)
    return replay(repo, commits)


def non_merges_reached(mirror: Path, head: str, fp: list[str]) -> list[int]:
    """For each first-parent commit fp[i] (oldest first), how many non-merge commits it reaches
    that fp[0] does not: `rev-list --count --no-merges fp[b]..fp[e]` is then the difference of two
    entries, from one `rev-list --parents` instead of a git run per count. (What fp[i] reaches is
    what fp[i-1] reaches and what fp[i] brings: itself and the branches it merges; the steps are
    disjoint, so their counts add up.)"""
    parents = {}
    for line in out(["rev-list", "--parents", head], git_dir=mirror).splitlines():
        commit, *its = line.split()
        parents[commit] = its
    seen: set[str] = set()

    def bring(start: str) -> int:
        new, stack = 0, [start]
        while stack:
            commit = stack.pop()
            if commit in seen:
                continue
            seen.add(commit)
            its = parents.get(commit, [])
            new += len(its) <= 1
            stack.extend(its)
        return new

    counts = [0]
    if fp:
        bring(fp[0])
    for commit in fp[1:]:
        counts.append(counts[-1] + bring(commit))
    return counts

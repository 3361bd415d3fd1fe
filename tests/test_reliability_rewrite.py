"""Rewritten history: amend, reset, rebase, force-pull. Dropped commits are never suggested again
(`rca suspects --format json --top 0` lists every candidate) and the index converges to a fresh
build, row for row by commit hash.
"""

from __future__ import annotations

import json
import shutil

from _reliability import load

rc = load("reliability_common")

TRACE = """Traceback (most recent call last):
  File "/srv/app/pkg/calc.py", line 2, in parse
    return int(s) + 1
ValueError: invalid literal for int() with base 10: 'x'
"""


def _calc(i: int) -> dict[str, str]:
    return {"pkg/calc.py": f"def parse(s):\n    return int(s) + {i}\n\n\ndef twice(s):\n    return parse(s) * 2\n"}


def _listed(repo) -> set[str]:
    proc = rc.rca("suspects", "--trace", "crash.txt", "--format", "json", "--top", "0", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    return {s["commit"] for s in json.loads(proc.stdout)["suspects"]}


def _reachable(repo) -> set[str]:
    return set(repo.git("rev-list", "HEAD").split())


def _assert_converged(repo) -> None:
    db = repo.root / ".git" / "rca" / "index.db"
    assert rc.rca("index", "-q", cwd=repo.root).returncode == 0
    incremental = rc.snapshot(db)
    assert {r[0] for r in incremental["commits"]} == _reachable(repo)
    shutil.rmtree(db.parent)
    assert rc.rca("index", "-q", cwd=repo.root).returncode == 0
    assert rc.diff_snapshots(incremental, rc.snapshot(db)) == []


def test_amend_reset_rebase_and_force_pull(git_repo, make_git_repo, tmp_path):
    repo = git_repo
    for i in range(6):
        repo.commit(f"Change {i}", _calc(i))
    repo.write("crash.txt", TRACE)
    listed = _listed(repo)
    assert listed and listed <= _reachable(repo)
    dropped: set[str] = set()

    # amend
    before = _reachable(repo)
    repo.write("pkg/calc.py", _calc(99)["pkg/calc.py"])
    repo.git("add", "pkg/calc.py")
    repo.git("commit", "-q", "--amend", "-m", "Change 5, amended")
    dropped |= before - _reachable(repo)
    listed = _listed(repo)
    assert listed and not listed & dropped and listed <= _reachable(repo)
    _assert_converged(repo)

    # reset two back and grow a different tip
    before = _reachable(repo)
    repo.git("reset", "-q", "--hard", "HEAD~2")
    repo.commit("Other path", _calc(42))
    dropped |= before - _reachable(repo)
    listed = _listed(repo)
    assert not listed & dropped and listed <= _reachable(repo)
    _assert_converged(repo)

    # rebase a topic branch onto a main that moved
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("Topic 1", {"pkg/topic.py": "def t():\n    return 1\n"})
    repo.commit("Topic 2", {"pkg/topic.py": "def t():\n    return 2\n"})
    _listed(repo)  # indexes the topic commits
    repo.git("checkout", "-q", "main")
    repo.commit("Main moves", {"pkg/other.py": "def o():\n    return 0\n"})
    repo.git("checkout", "-q", "topic")
    before = _reachable(repo)
    repo.git("rebase", "-q", "main")
    dropped |= before - _reachable(repo)
    assert len(before - _reachable(repo)) == 2 and base in _reachable(repo)
    listed = _listed(repo)
    assert not listed & dropped and listed <= _reachable(repo)
    _assert_converged(repo)

    # force-pull: the upstream was rewritten and we reset to it
    upstream = make_git_repo("upstream")
    upstream.git("fetch", "-q", str(repo.root), "topic:refs/heads/mirror")
    upstream.git("reset", "-q", "--hard", "mirror")
    upstream.git("reset", "-q", "--hard", "HEAD~3")
    upstream.commit("Upstream rewrite", _calc(7))
    before = _reachable(repo)
    repo.git("fetch", "-q", str(upstream.root), "+main:refs/remotes/up/main")
    repo.git("reset", "-q", "--hard", "refs/remotes/up/main")
    dropped |= before - _reachable(repo)
    listed = _listed(repo)
    assert not listed & dropped and listed <= _reachable(repo)
    _assert_converged(repo)
    assert len(dropped) >= 6


def test_suspects_without_update_never_lists_unreachable_commits(git_repo):
    for i in range(5):
        git_repo.commit(f"Change {i}", _calc(i))
    git_repo.write("crash.txt", TRACE)
    assert rc.rca("index", "-q", cwd=git_repo.root).returncode == 0
    before = set(git_repo.git("rev-list", "HEAD").split())
    git_repo.git("reset", "-q", "--hard", "HEAD~2")
    git_repo.commit("New tip", _calc(100))
    proc = rc.rca("suspects", "--trace", "crash.txt", "--format", "json", "--top", "0", "--no-update",
                  cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    listed = {s["commit"] for s in json.loads(proc.stdout)["suspects"]}
    gone = before - set(git_repo.git("rev-list", "HEAD").split())
    assert len(gone) == 2 and not listed & gone

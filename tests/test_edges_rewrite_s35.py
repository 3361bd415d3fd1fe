"""History rewritten under rca, with real git and Mercurial and rca's hooks installed: what a
rebasing pull brought (a force-pushed upstream too) is checked whatever the background indexers did
meanwhile, and a local rebase is no arrival; a deepened shallow clone, an orphan branch or hg's null
revision, a strip or a pruning gc in the middle of an index run, and `git replace` each leave an
index and a ranking that follow the history, or say why not.

Run with PYTHONPATH at this checkout: the hooks and `python -m rca_lsp` import rca from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests._hg import needs_hg
from tests.test_cli import CALC_BROKEN, TEST, TRACE
from tests.test_hooks import CALC_PATH, rca, remote, wait_indexed  # noqa: F401 - remote is a fixture
from tests.test_hooks_shim import wait_for_log

# The user's own post-rewrite hook, slow: it returns once the indexer that the rebase's own
# post-checkout started has indexed HEAD of then (what the pull brought), as a slow hook or a long
# rebase lets it, and as an editor's or a second terminal's `rca` may at any time.
SLOW_HOOK = """#!/bin/sh
i=0
until grep -q "post-checkout: indexed" .git/rca/hooks.log 2>/dev/null || [ $i -ge 600 ]; do
    sleep 0.05; i=$((i + 1))
done
"""


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**clean, **(env or {})},
                          timeout=120)


def _hook(repo: Path, name: str, text: str) -> None:
    path = repo / ".git" / "hooks" / name
    path.write_text(text)
    path.chmod(0o755)


def _open_failure(clone) -> None:
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0


def test_rebasing_pull_reports_the_culprit_an_earlier_indexer_already_indexed(remote):
    """`git pull --rebase` checks out the upstream tip first (post-checkout: an indexer starts), then
    replays the local commits, then runs post-rewrite, which ranked "what arrived" as what the index
    lacked when it looked. Once that indexer had got there first, nothing had arrived: the pull said
    nothing, and the culprit it brought went unreported."""
    up, clone = remote
    _open_failure(clone)
    _hook(clone.root, "post-rewrite", SLOW_HOOK)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0  # chains the slow hook
    mine = clone.commit("Local docs", {"docs/local.md": "mine\n"})
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.git("push", "-q", "origin", "main")
    pull = _git(clone.root, "pull", "-q", "--rebase")
    assert pull.returncode == 0, pull.stderr
    assert "post-checkout: indexed" in (clone.root / ".git" / "rca" / "hooks.log").read_text()  # it did get there
    assert "1 suspect(s) among the 1 commit(s) that just arrived" in pull.stderr, pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr
    rebased = _git(clone.root, "rev-parse", "HEAD").stdout.strip()
    assert rebased != mine and rebased[:10] not in pull.stderr  # the user's own commit did not arrive
    wait_indexed(clone.root / ".git", rebased)


def test_pull_rebase_over_a_force_pushed_upstream_ranks_the_new_history_only(remote):
    """Upstream dropped a commit this clone had pulled and force-pushed a culprit in its place: the
    rebasing pull reports the culprit, and no dropped commit is ever ranked again."""
    up, clone = remote
    dropped = up.commit("Tweak docs", {"README.md": "calc, tweaked\n"}, author="Bob")
    up.git("push", "-q", "origin", "main")
    assert _git(clone.root, "pull", "-q").returncode == 0
    _open_failure(clone)
    _hook(clone.root, "post-rewrite", SLOW_HOOK)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    clone.commit("Local docs", {"docs/local.md": "mine\n"})
    up.git("reset", "-q", "--hard", "HEAD~1")
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.git("push", "-q", "--force", "origin", "main")
    pull = _git(clone.root, "pull", "-q", "--rebase")
    assert pull.returncode == 0, pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr and dropped[:10] not in pull.stderr, pull.stderr
    assert "1 suspect(s) among the 1 commit(s) that just arrived" in pull.stderr, pull.stderr
    ranked = rca("suspects", "--trace", "-", "--format", "json", "--top", "0", cwd=clone.root, input=TRACE)
    listed = [s["commit"] for s in json.loads(ranked.stdout)["suspects"]]
    assert culprit in listed[:2] and dropped not in listed  # #2 after "Add Calc", as in test_hooks


@pytest.mark.parametrize("indexer_first", [True, False])
def test_interactive_rebase_of_local_commits_reports_nothing_arrived(remote, indexer_first):
    """A reworded local commit is a new hash but no arrival: `git rebase -i` says nothing, whether
    or not the indexer its post-checkout started got there first (without that hook it cannot)."""
    _, clone = remote
    _open_failure(clone)
    if indexer_first:
        _hook(clone.root, "post-rewrite", SLOW_HOOK)
        assert rca("hooks", "install", cwd=clone.root).returncode == 0
    else:
        (clone.root / ".git" / "hooks" / "post-checkout").unlink()
    clone.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    clone.commit("Docs", {"README.md": "calc, more\n"})
    env = {"GIT_SEQUENCE_EDITOR": "sed -i '1s/^pick/reword/'", "GIT_EDITOR": "sed -i '1s/$/ (reworded)/'"}
    rebase = _git(clone.root, "rebase", "-q", "-i", "HEAD~2", env=env)
    assert rebase.returncode == 0, rebase.stderr
    assert "rca:" not in rebase.stderr, rebase.stderr
    assert _git(clone.root, "log", "-1", "--format=%s", "HEAD~1").stdout.strip() == "Simplify parse (reworded)"
    wait_indexed(clone.root / ".git", _git(clone.root, "rev-parse", "HEAD").stdout.strip())


PY_TRACE = """Traceback (most recent call last):
  File "/srv/app/pkg/calc.py", line 2, in parse
    return int(s.strip(), 16)
ValueError: invalid literal for int() with base 16: 'x'
"""


def _suspects(root: Path) -> dict:
    (root / "crash.txt").write_text(PY_TRACE)
    proc = rca("suspects", "--trace", "crash.txt", "--format", "json", "--top", "0", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_suspects_after_unshallow_brings_the_index_up_to_the_deepened_history(git_repo, tmp_path):
    """`git fetch --unshallow` keeps HEAD but gives the boundary commit its parents and history:
    `rca suspects` took an index built for HEAD as current, ranked the boundary commit as if it
    changed nothing, left the culprit out and said `run rca index`."""
    git_repo.commit("Add calc", {"pkg/calc.py": "def parse(s):\n    return int(s)\n"})
    culprit = git_repo.commit("Parse hex", {"pkg/calc.py": "def parse(s):\n    return int(s.strip(), 16)\n"})
    for i in range(4):
        git_repo.commit(f"Docs {i}", {f"docs/n{i}.md": f"{i}\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{git_repo.root}", str(clone)], check=True)
    assert culprit not in {s["commit"] for s in _suspects(clone)["suspects"]}  # not in the clone yet
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    doc = _suspects(clone)
    assert doc["candidates"] == 6 and not doc["warnings"], doc["warnings"]
    assert doc["suspects"][0]["commit"] == culprit


def _indexed(meta: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{meta / 'rca' / 'index.db'}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT count(*) FROM commits").fetchone()[0]


def test_an_orphan_branch_leaves_the_index_for_the_branch_switched_back_to(git_repo):
    """`git switch --orphan` (a gh-pages branch, say) leaves HEAD with no commit: the hook's indexer
    (and `rca index`, which said "nothing to index") dropped every commit of the index, and switching
    back to main indexed the whole history again. Both said "the repository has no commits yet"."""
    for i in range(5):
        git_repo.commit(f"Change {i}", {"pkg/calc.py": f"def parse(s):\n    return int(s) + {i}\n"})
    assert rca("index", "-q", cwd=git_repo.root).returncode == 0
    assert rca("hooks", "install", cwd=git_repo.root).returncode == 0
    git_repo.git("switch", "-q", "--orphan", "pages")
    log = git_repo.root / ".git" / "rca" / "hooks.log"
    wait_for_log(log, "post-checkout: ")
    assert "post-checkout: indexed 0 new commit(s), removed 0" in log.read_text()
    proc = rca("index", cwd=git_repo.root)
    assert proc.returncode == 0 and "nothing to index" in proc.stderr, proc.stderr
    assert _indexed(git_repo.root / ".git") == 5
    ranked = rca("suspects", "--trace", "-", cwd=git_repo.root, input=PY_TRACE)
    assert ranked.returncode == 3 and "no commits yet" in ranked.stderr, ranked.stderr
    for said in (proc.stderr, ranked.stderr):  # not "the repository has no commits yet": it has 5
        assert "the branch pages has no commits yet (an orphan branch" in said and "git switch" in said, said
    assert rca("hooks", "uninstall", cwd=git_repo.root).returncode == 0
    git_repo.git("switch", "-q", "main")
    again = rca("index", cwd=git_repo.root)
    assert "indexed 0 new commit(s), removed 0; 5 reachable" in again.stderr, again.stderr


@needs_hg
def test_hg_update_to_null_leaves_the_index(tmp_path):
    """`hg update null` empties the working directory: the index is kept for the way back."""
    from tests._hg import HgRepoBuilder

    repo = HgRepoBuilder(tmp_path / "hg")
    for i in range(4):
        repo.commit(f"Change {i}", {"pkg/calc.py": f"def parse(s):\n    return int(s) + {i}\n"})
    assert rca("index", "-q", cwd=repo.root).returncode == 0
    repo.hg("update", "-q", "null")
    proc = rca("index", cwd=repo.root)
    assert proc.returncode == 0 and "nothing to index" in proc.stderr, proc.stderr
    assert _indexed(repo.root / ".hg") == 4
    repo.hg("update", "-q", "tip")
    again = rca("index", cwd=repo.root)
    assert "indexed 0 new commit(s), removed 0; 4 reachable" in again.stderr, again.stderr


def _index_rewriting_at_first_batch(backend, rewrite) -> tuple:
    """`update` with `rewrite` run (real hg or git) once the first batch of commits is written."""
    from rca_lsp.index.ingest import update
    from rca_lsp.index.store import Index

    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        if not calls:
            rewrite()
        calls.append(done)

    with Index.open(backend.checkout_dir) as index:
        report = update(backend, index, progress=progress)
        hashes = {r[0] for r in index.conn.execute("SELECT hash FROM commits")}
    return report, hashes


@needs_hg
def test_hg_strip_while_indexing_is_read_again_from_the_new_head(tmp_path, caplog):
    """`hg strip` of commits an index run was about to read: the run failed with exit 3, `hg log
    failed: abort: unknown revision`, as if the repository were at fault (and the hooks' background
    indexer showed that at the next pull). It reads the history again from the new working parent."""
    pytest.importorskip("hglib")
    from tests._hg import HgRepoBuilder
    from rca_lsp.vcs.hg import HgRepo

    builder = HgRepoBuilder(tmp_path / "hg")
    builder.hg("debugbuilddag", "--new-file", "+900")
    builder.hg("update", "-q", "tip")
    backend = HgRepo(builder.root)
    try:
        strip = ["--config", "extensions.strip=", "strip", "-q", "-r", "800"]
        report, hashes = _index_rewriting_at_first_batch(backend, lambda: builder.hg(*strip))
        assert report.head == builder.hg("log", "-r", ".", "-T", "{node}") and report.reachable == 800
        assert hashes == set(backend.reachable())
    finally:
        backend.close()
    assert "history changed while it was indexed" in caplog.text


def test_git_history_pruned_while_indexing_is_read_again_from_the_new_head(git_repo, caplog):
    """A reset to an older commit and `git gc --prune=now` while `rca index` reads: the commits
    still to be read were gone, and the run failed with exit 3 after a warning that "this partial
    clone lacks trees" (it was no partial clone) and a hint to reach its promisor remote."""
    from rca_lsp.vcs.git import GitRepo, LOG_CHUNK

    git_repo.commit("Root", {"pkg/calc.py": "def parse(s):\n    return int(s)\n"})
    git_repo.fast_commits((f"Change {i}", {f"pkg/m{i % 7}.py": f"def f():\n    return {i}\n"})
                          for i in range(LOG_CHUNK + 100))

    def rewrite() -> None:
        git_repo.git("reset", "-q", "--hard", "HEAD~150")
        git_repo.git("reflog", "expire", "--expire=now", "--all")
        git_repo.git("gc", "-q", "--prune=now")

    backend = GitRepo(git_repo.root)
    report, hashes = _index_rewriting_at_first_batch(backend, rewrite)
    assert report.head == git_repo.git("rev-parse", "HEAD").strip() and report.reachable == LOG_CHUNK - 49
    assert hashes == set(backend.reachable())
    assert "history changed while it was indexed" in caplog.text and "partial clone" not in caplog.text


def test_a_commit_git_replace_hides_is_ranked_with_a_warning_that_says_why(git_repo):
    """rca reads history as committed, not through `git replace` refs (so indexed changes never go
    stale: test_git_backend); `git log` shows the replaced history. A commit that log no longer
    shows was ranked without a word; now a warning says the replace refs are not followed."""
    git_repo.commit("Add calc", {"pkg/calc.py": "def parse(s):\n    return int(s)\n"})
    culprit = git_repo.commit("Parse hex", {"pkg/calc.py": "def parse(s):\n    return int(s.strip(), 16)\n"})
    docs = git_repo.commit("Docs", {"docs/a.md": "a\n"})
    plain = _suspects(git_repo.root)
    assert not plain["warnings"] and plain["suspects"][0]["commit"] == culprit
    git_repo.git("replace", "--graft", docs, f"{culprit}~1")  # `git log` now skips "Parse hex"
    assert culprit not in git_repo.git("log", "--format=%H").split()
    doc = _suspects(git_repo.root)
    assert doc["suspects"][0]["commit"] == culprit  # as committed, on purpose
    assert any("`git replace` ref(s)" in w and "not followed" in w for w in doc["warnings"]), doc["warnings"]
    git_repo.git("config", "core.useReplaceRefs", "false")  # git log reads as committed too: nothing to say
    assert not _suspects(git_repo.root)["warnings"]

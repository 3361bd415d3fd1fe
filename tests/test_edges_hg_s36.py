"""Mercurial under rca's hooks, with real `hg` and the real CLI: what a pull brought is what
Mercurial's changegroups say it brought, not what the index lacked (a commit made here and never
indexed, commits pulled while rca was uninstalled, a `pull --rebase`'s own rewritten commit); a pull
without `-u` is checked by the update that reaches it; older installs keep working; the hooks never
break a pull. The command server and `hg share` start plain whatever the user's HGPLAINEXCEPT says.

Run with PYTHONPATH at this checkout: the hooks and `python -m rca_lsp` import rca from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rca_lsp.hook_install import hg_block
from tests._hg import HgRepoBuilder, hg_env, needs_hg
from tests.test_cli import CALC_BROKEN, TEST, TRACE
from tests.test_hooks import CALC_PATH, hg_remote, rca, wait_indexed  # noqa: F401 - hg_remote is a fixture

pytestmark = needs_hg
pytest.importorskip("hglib")

ARRIVED = "1 suspect(s) among the 2 commit(s) that just arrived"


def _open_failure(clone: HgRepoBuilder) -> None:
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0


def _upstream_culprit(up: HgRepoBuilder) -> str:
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    return culprit


def _hg(clone: HgRepoBuilder, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["hg", *args], cwd=clone.root, capture_output=True, text=True, env=hg_env(), timeout=120)


def _head(clone: HgRepoBuilder) -> str:
    return clone.hg("log", "-r", ".", "-T", "{node}").strip()


def test_pull_rebase_over_a_local_commit_never_indexed_reports_the_two_that_arrived(hg_remote):
    """A commit made here (no hook indexes a commit) and a `pull --rebase` of two: post-pull took
    what the index lacked, the rebased local commit too, and said "the 3 commit(s) that just
    arrived"; the strip that re-adds it is a changegroup too, and is not counted either."""
    up, clone = hg_remote
    _open_failure(clone)
    mine = clone.commit("Local docs", {"docs/local.md": "mine\n"})
    culprit = _upstream_culprit(up)
    pull = _hg(clone, "pull", "--rebase", "--config", "extensions.rebase=")
    assert pull.returncode == 0, pull.stderr
    assert ARRIVED in pull.stderr and "3 commit(s)" not in pull.stderr, pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr
    rebased = _head(clone)
    assert rebased != mine and rebased[:10] not in pull.stderr
    assert not (clone.root / ".hg" / "rca" / "hg-arrived").exists()  # taken, nothing left waiting
    wait_indexed(clone.root / ".hg", rebased)


def test_commits_pulled_while_rca_was_uninstalled_are_not_reported_by_the_next_pull(hg_remote):
    """rca's hooks away for a while (a commit pulled and updated to meanwhile), then back: the next
    pull of two reported three as just arrived."""
    up, clone = hg_remote
    _open_failure(clone)
    assert rca("hooks", "uninstall", cwd=clone.root).returncode == 0
    up.commit("Notes", {"NOTES.md": "notes\n"}, author="Bob")
    assert _hg(clone, "pull", "-u", "-q").returncode == 0
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    culprit = _upstream_culprit(up)
    pull = _hg(clone, "pull", "-u", "-q")
    assert pull.returncode == 0 and ARRIVED in pull.stderr, pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr
    again = _hg(clone, "pull", "-u", "-q")  # nothing new: nothing arrived, nothing said
    assert again.returncode == 0 and "rca:" not in again.stderr, again.stderr
    wait_indexed(clone.root / ".hg", _head(clone))


def test_a_pull_without_update_is_checked_by_the_update_that_reaches_it(hg_remote):
    """`hg pull` then `hg update`: post-pull reported nothing (the working directory had not
    moved) and post-update checked nothing, so the culprit the pull brought was never reported."""
    up, clone = hg_remote
    _open_failure(clone)
    culprit = _upstream_culprit(up)
    pull = _hg(clone, "pull", "-q")
    assert pull.returncode == 0, pull.stderr
    assert "2 pulled commit(s) not checked against open failures yet" in pull.stderr, pull.stderr
    assert "suspect(s)" not in pull.stderr
    update = _hg(clone, "update", "-q")
    assert update.returncode == 0, update.stderr
    assert "1 suspect(s) among the 2 pulled commit(s) this update brought in" in update.stderr, update.stderr
    assert f"{culprit[:10]}  Carol" in update.stderr
    again = _hg(clone, "update", "-q", "-r", ".~1")
    assert again.returncode == 0 and "suspect" not in again.stderr, again.stderr  # reported once
    wait_indexed(clone.root / ".hg", _head(clone))


def test_a_pull_with_no_failure_open_leaves_nothing_for_a_later_pull_to_report(hg_remote):
    """What a pull brought while no failure was open (or with rca's hooks off) is not what a later
    pull brought, once a failure is open."""
    up, clone = hg_remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    _upstream_culprit(up)
    assert _hg(clone, "pull", "-q").returncode == 0  # no -u: nothing reaches them yet
    assert not (clone.root / ".hg" / "rca" / "hg-arrived").exists()
    with open(clone.root / ".hg" / "hgrc", "a") as fh:
        fh.write("[rca]\nhooks = false\n")
    up.commit("More docs", {"README.md": "calc, more\n"}, author="Bob")
    assert _hg(clone, "pull", "-q").returncode == 0
    assert not (clone.root / ".hg" / "rca" / "hg-arrived").exists()
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0
    (clone.root / ".hg" / "hgrc").write_text((clone.root / ".hg" / "hgrc").read_text().replace("hooks = false", ""))
    pull = _hg(clone, "pull", "-u", "-q")
    assert pull.returncode == 0 and "suspect" not in pull.stderr and "arrived" not in pull.stderr, pull.stderr


def test_an_older_install_without_the_changegroup_entry_checks_as_before_and_install_updates_it(hg_remote):
    up, clone = hg_remote
    hgrc = clone.root / ".hg" / "hgrc"
    original = hgrc.read_bytes()
    _open_failure(clone)
    text = hgrc.read_text()
    assert "\nchangegroup.rca-lsp = " in text and text.count(".rca-lsp = ") == 4
    hgrc.write_text("".join(line for line in text.splitlines(keepends=True) if not line.startswith("changegroup.")))
    status = rca("hooks", "status", cwd=clone.root).stdout
    assert "older entries: `rca hooks install` updates them" in status, status
    culprit = _upstream_culprit(up)
    pull = _hg(clone, "pull", "-u", "-q")  # the index's difference, as before: the right answer here
    assert pull.returncode == 0 and ARRIVED in pull.stderr and f"{culprit[:10]}  Carol" in pull.stderr, pull.stderr
    assert "rca hooks updated" in rca("hooks", "install", cwd=clone.root).stdout
    assert hgrc.read_text() == text and "older entries" not in rca("hooks", "status", cwd=clone.root).stdout
    assert "rca hooks updated" in rca("hooks", "install", cwd=clone.root).stdout and hgrc.read_text() == text
    assert clone.hg("config", "hooks.changegroup.rca-lsp").strip().endswith("hg changegroup")
    assert rca("hooks", "uninstall", cwd=clone.root).returncode == 0
    assert hgrc.read_bytes() == original
    assert clone.hg("config", "hooks", check=False).strip() == ""


def test_the_changegroup_hook_never_breaks_a_pull_and_is_quick(hg_remote):
    """A record that cannot be written (its path a folder) is a line in the hooks' log, not a pull
    that fails or a message on each pull; the hook starts no hg."""
    up, clone = hg_remote
    _open_failure(clone)
    (clone.root / ".hg" / "rca" / "hg-arrived").mkdir()
    _upstream_culprit(up)
    pull = _hg(clone, "pull", "-u", "-q")
    assert pull.returncode == 0, pull.stderr
    assert "changegroup" not in pull.stderr and "Traceback" not in pull.stderr, pull.stderr
    log = (clone.root / ".hg" / "rca" / "hooks.log").read_text()
    assert "changegroup: error: IsADirectoryError" in log, log
    (clone.root / ".hg" / "rca" / "hg-arrived").rmdir()
    env = {**hg_env(), "HG_SOURCE": "pull", "HG_NODE": _head(clone), "HG_NODE_LAST": _head(clone)}
    code = hg_block(sys.executable).splitlines()[1].split(" = ", 1)[1]
    started = time.perf_counter()
    run = subprocess.run(code, shell=True, cwd=clone.root, env=env, capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - started
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert (clone.root / ".hg" / "rca" / "hg-arrived").read_text() == f"{_head(clone)} {_head(clone)}\n"
    assert took < 2.0, took  # a Python start and one line written (about 0.1 s here)


# -- the environment hg runs in ------------------------------------------------------------------

@pytest.fixture
def plain_repo(tmp_path, monkeypatch) -> HgRepoBuilder:
    for name in ("HGPLAIN", "HGPLAINEXCEPT", "HGRCPATH", "HGENCODING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HGRCPATH", "")
    return HgRepoBuilder(tmp_path / "repo")


def _server_environ(repo) -> dict[str, str]:
    pid = repo._server().server.pid  # the command server process hglib started
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode("utf-8", "replace").split("\0") if "=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment from /proc")
def test_the_command_server_starts_plain_in_utf_8_whatever_the_users_hgplainexcept(plain_repo, tmp_path, monkeypatch):
    """hglib.open's HGPLAIN and HGENCODING, and no HGPLAINEXCEPT: with `alias,revsetalias,templatealias`
    there, `reverse` redefined reversed nothing and `node` printed X for every changeset. The user's
    variable is this process's again once the server has started."""
    from rca_lsp.vcs.hg import HgRepo

    shas = [plain_repo.commit(f"Change {i} \u00e9t\u00e9", {"pkg/m.py": f"def f():\n    return {i}\n"}) for i in range(3)]
    rc = tmp_path / "user.rc"
    rc.write_text('[alias]\nlog = log -l 1\n[revsetalias]\nreverse(x) = x\n[templatealias]\nnode = "X"\n')
    monkeypatch.setenv("HGRCPATH", str(rc))
    monkeypatch.setenv("HGPLAINEXCEPT", "alias,revsetalias,templatealias,i18n")
    monkeypatch.setenv("HGENCODING", "ascii")
    repo = HgRepo(plain_repo.root)
    try:
        assert repo.reachable() == shas[::-1]
        logged = [item.commit for item in repo.log(repo.reachable())]
        assert [c.hash for c in logged] == shas[::-1] and logged[0].message == "Change 2 \u00e9t\u00e9"
        env = _server_environ(repo)
        assert env.get("HGPLAIN") == "1" and env.get("HGENCODING") == "UTF-8"
        assert env.get("HGPLAINEXCEPT", "") == ""  # none (rca before it: empty, the same to hg)
        assert env.get("HGRCPATH") == str(rc)  # the user's config is read, only plain
        assert os.environ["HGPLAINEXCEPT"] == "alias,revsetalias,templatealias,i18n"
    finally:
        repo.close()


def test_a_share_for_bisect_is_made_and_switched_whatever_the_users_aliases(plain_repo, tmp_path, monkeypatch):
    """`hg share` and `hg update --clean` ran with HGPLAIN but the user's HGPLAINEXCEPT: with
    `alias` there, `update = update --check` aborted every switch ("cannot specify both --clean and
    --check"), so `rca bisect` could not check out a revision."""
    from rca_lsp.vcs.hg import HgRepo

    first = plain_repo.commit("Add", {"pkg/m.py": "def f():\n    return 1\n"})
    plain_repo.commit("Change", {"pkg/m.py": "def f():\n    return 2\n"})
    rc = tmp_path / "user.rc"
    rc.write_text("[alias]\nupdate = update --check\n")
    monkeypatch.setenv("HGRCPATH", str(rc))
    monkeypatch.setenv("HGPLAINEXCEPT", "alias")
    repo = HgRepo(plain_repo.root)
    try:
        share = repo.worktree()
        share.create(tmp_path / "share", first)
        assert (tmp_path / "share" / "pkg" / "m.py").read_text() == "def f():\n    return 1\n"
        share.switch("tip")
        assert (tmp_path / "share" / "pkg" / "m.py").read_text() == "def f():\n    return 2\n"
        share.remove()
    finally:
        repo.close()


# -- the shipped fusion's evaluation and retrieval's sum -------------------------------------------

def test_the_evaluated_sum_is_retrievals_own_score_ties_to_the_newer_commit():
    """`ShippedRegression.scores` outside the fusion's regime is `retrieve.score`'s weighted sum (it
    kept a copy of it); both regimes were checked identical before and after on the demo
    repository's candidates (/work/s36/hg/scores_check.py)."""
    from rca_lsp.kinds import SCORED
    from rca_lsp.labels.evaluate import ShippedRegression
    from rca_lsp.suspects.learned import load_regression_fusion
    from rca_lsp.suspects.retrieve import Weights, score

    rows = [{"frame": 1.0, "code": 0.5, "recency": 0.9, "position": 0.0, "log_candidates": 1.6},
            {"frame": 1.0, "code": 0.5, "recency": 0.9, "position": 0.25},  # a tie: the newer first
            {"words": 0.7, "owner": 1.0, "position": 0.5},
            {"coupling": 0.3, "file": 1.0, "since_test": 0.0, "position": 0.75}]
    scores = ShippedRegression(load_regression_fusion()).scores(rows)
    table = {i: {f: row[f] for f in SCORED if f in row} for i, row in enumerate(rows)}
    summed = score(table, {i: i for i in table}, Weights())
    assert scores == [dict((c, v) for v, c in summed)[i] for i in range(len(rows))]
    assert [c for _, c in summed] == [0, 1, 2, 3] and scores[0] == scores[1] > scores[2] > scores[3]

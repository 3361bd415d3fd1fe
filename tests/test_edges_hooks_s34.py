"""Hooks in real setups, fired by real git commands: a read-only `.git/rca` under the shim's own path
(no failure open, no Python in the foreground), and rca's shims beside the hooks the real `pre-commit`
package writes when it finds a hook already there (its "migration mode": the hook moved to
`<hook>.legacy` and run from its own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from rca_lsp.hook_install import shim_text
from tests.test_cli import CALC, CALC_BROKEN
from tests.test_edges_hooks_s33 import _mount_read_only
from tests.test_hook_edges import _armed, _push_culprit
from tests.test_hooks import CALC_PATH, git, rca, remote  # noqa: F401 - remote is a fixture
from tests.test_hooks_shim import PY_TRACE


def _read_only(folder):
    """`folder` made read-only (a bind mount for root, whom modes do not stop); returns the undo."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        os.chmod(folder, 0o555)
        return lambda: os.chmod(folder, mode)
    if not _mount_read_only(folder):
        pytest.skip("a read-only folder for root needs a bind mount (mount allowed)")

    def unmount() -> None:  # a detached indexer may hold a file there for a moment
        for _ in range(50):
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
    return unmount


def test_a_read_only_rca_folder_keeps_pull_and_merge_quiet(remote):
    """The shim sent the detached indexer's stderr to `.git/rca/hooks.log` whenever `.git/rca` was a
    folder: read-only, sh printed "cannot create .git/rca/hooks.log: Read-only file system" on every
    pull and merge (and started no indexer at all)."""
    up, clone = remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0  # .git/rca exists; no failure open
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    undo = _read_only(clone.root / ".git" / "rca")
    try:
        pull = git("pull", "-q", cwd=clone.root, check=False)
        up.commit("Again", {"y.txt": "y\n"})
        up.git("push", "-q", "origin", "main")
        git("fetch", "-q", cwd=clone.root)
        merge = git("merge", "-q", "origin/main", cwd=clone.root, check=False)
    finally:
        undo()
    assert pull.returncode == 0 and pull.stderr == "", pull.stderr
    assert merge.returncode == 0 and merge.stderr == "", merge.stderr
    assert (clone.root / "y.txt").exists()


# -- pre-commit's migration mode ----------------------------------------------------------------

@pytest.fixture
def pre_commit(tmp_path, monkeypatch):
    """The real `pre-commit` (its store in tmp): a function that runs `pre-commit install -t HOOK` in a clone."""
    pytest.importorskip("pre_commit")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))

    def install(clone, hook: str) -> str:
        (clone.root / ".pre-commit-config.yaml").write_text("repos: []\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        out = subprocess.run([sys.executable, "-m", "pre_commit", "install", "-t", hook], cwd=clone.root, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout
    return install


def _pull(clone) -> tuple[str, int]:
    """`git pull` with every Python noting its imports on stderr: what the pull said (those notes
    left out), and how many times rca's hook code ran in the foreground (the detached indexers
    write nothing there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    pull = subprocess.run(["git", "pull", "-q"], cwd=clone.root, capture_output=True, text=True, timeout=120,
                          env={**env, **PY_TRACE})
    lines = pull.stderr.splitlines(keepends=True)
    said = "".join(line for line in lines if not line.startswith("import time:"))
    assert pull.returncode == 0 and "Traceback" not in said, said
    return said, sum(1 for line in lines if re.search(r"\|\s+rca_lsp\.hooks$", line))


def _pull_reports(up, clone) -> tuple[str, int]:
    """A culprit arrives with a failure open: the hooks run rca in the foreground, which reports it."""
    _push_culprit(up)
    return _pull(clone)


def _indexers_done(clone, total: int) -> None:
    """Wait until `total` detached indexers have ended (each writes one line): one still running from
    a pull could index the next pull's commits before its hook looks, which then saw none arrive."""
    log = clone.root / ".git" / "rca" / "hooks.log"
    deadline = time.perf_counter() + 120
    while len(re.findall(r"post-merge: (indexed|an indexer is already queued)", log.read_text())) < total:
        assert time.perf_counter() < deadline, log.read_text()
        time.sleep(0.05)


def _break_again(up) -> None:
    """Two more commits arrive, the second breaking the failing line again."""
    up.commit("Restore parse", {CALC_PATH: CALC}, author="Bob")
    up.commit("Simplify parse again", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.git("push", "-q", "origin", "main")


def test_install_after_pre_commit_moved_the_shim_to_legacy_updates_it_there(remote, pre_commit):
    """`rca hooks install` (an upgrade, say) after `pre-commit install` moved rca's shim to
    post-merge.legacy put a second shim over pre-commit's hook, kept as post-merge.rca-chained: rca ran
    twice on each pull, and pre-commit, started again by the legacy shim, said "bug: pre-commit's
    script is installed in migration mode"."""
    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    _armed(clone)
    assert "migration mode" in pre_commit(clone, "post-merge")
    out = rca("hooks", "install", cwd=clone.root)
    said, runs = _pull_reports(up, clone)
    assert runs == 1 and "bug:" not in said, said
    assert said.count("suspect(s) among the 2 commit(s) that just arrived") == 1, said
    assert out.returncode == 0 and "post-merge: updated as post-merge.legacy, which pre-commit's post-merge " \
                                   "runs\n" in out.stdout, out.stdout
    assert "File generated by pre-commit" in (hooks / "post-merge").read_text()
    assert (hooks / "post-merge.legacy").read_text() == shim_text("post-merge")
    assert not (hooks / "post-merge.rca-chained").exists()


def test_install_mends_the_second_shim_an_earlier_install_put_over_pre_commits_hook(remote, pre_commit):
    """Hooks left as rca's install made them before: a shim at post-merge, pre-commit's hook kept as
    post-merge.rca-chained, and the shim pre-commit moved at post-merge.legacy. Installing again
    takes the second shim away and gives pre-commit its hook back."""
    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    _armed(clone)
    pre_commit(clone, "post-merge")
    os.rename(hooks / "post-merge", hooks / "post-merge.rca-chained")  # what that install did
    (hooks / "post-merge").write_text(shim_text("post-merge"))
    os.chmod(hooks / "post-merge", 0o755)
    before, runs = _pull_reports(up, clone)
    assert runs == 2 and "bug: pre-commit's script is installed in migration mode" in before, before
    _indexers_done(clone, 2)

    out = rca("hooks", "install", cwd=clone.root)
    assert out.returncode == 0 and "post-merge: updated as post-merge.legacy, which pre-commit's post-merge runs; " \
                                   "the second shim, installed over pre-commit's hook, removed (rca ran twice)\n" \
                                   in out.stdout, out.stdout
    assert "File generated by pre-commit" in (hooks / "post-merge").read_text()
    assert not (hooks / "post-merge.rca-chained").exists()
    _break_again(up)
    said, runs = _pull(clone)
    assert runs == 1, said
    assert said.count("suspect(s) among the 2 commit(s) that just arrived") == 1 and "bug:" not in said, said


def test_pre_commit_over_a_shim_chaining_pre_commits_hook_is_mended_by_install(remote, pre_commit):
    """pre-commit first, then rca (pre-commit's hook kept as post-merge.rca-chained), then pre-commit
    again (rca's shim moved to post-merge.legacy): the legacy shim ran the kept copy of pre-commit's
    hook, which said "bug: ... migration mode" on every pull; `rca hooks install` refused to mend it
    ("post-merge.rca-chained already exists beside a hook that is not rca's"). It drops that copy."""
    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    pre_commit(clone, "post-merge")
    _armed(clone)
    assert "migration mode" in pre_commit(clone, "post-merge")
    before, runs = _pull_reports(up, clone)
    assert runs == 1 and "bug: pre-commit's script is installed in migration mode" in before, before
    _indexers_done(clone, 1)

    out = rca("hooks", "install", cwd=clone.root)
    assert out.returncode == 0 and "post-merge: updated as post-merge.legacy, which pre-commit's post-merge runs; " \
                                   "post-merge.rca-chained, a copy of pre-commit's post-merge that ran itself " \
                                   "again, removed\n" in out.stdout, out.stdout + out.stderr
    assert not (hooks / "post-merge.rca-chained").exists()
    _break_again(up)
    said, runs = _pull(clone)
    assert runs == 1, said
    assert said.count("suspect(s) among the 2 commit(s) that just arrived") == 1 and "bug:" not in said, said

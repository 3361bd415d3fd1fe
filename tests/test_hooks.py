"""Hooks fired by real `git pull` / `git push` against a local bare repository, and by real
`hg pull` / `hg push` against a local Mercurial repository; failures recorded and checked."""

from __future__ import annotations

import os
import shlex
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rca_lsp.hook_install import hg_block
from rca_lsp.hooks import HOOK_CODE
from tests.conftest import GitRepoBuilder
from tests.test_cli import CALC, CALC_BROKEN, TEST, TRACE

CALC_PATH = "src/main/java/org/example/Calc.java"



def rca(*args: str, cwd, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=120)


def git(*args: str, cwd, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {args}: {proc.stderr}")
    return proc


def indexed(meta: Path) -> set[str]:
    path = meta / "rca" / "index.db"
    if not path.exists():
        return set()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT hash FROM commits")}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def wait_indexed(meta: Path, sha: str, seconds: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if sha in indexed(meta):
            return time.perf_counter() - start
        time.sleep(0.05)
    log = (meta / "rca" / "hooks.log")
    raise AssertionError(f"{sha} not indexed in {seconds} s; log: {log.read_text() if log.exists() else '-'}")


@pytest.fixture
def remote(tmp_path):
    """An upstream work repository, a bare origin, and a clone of it: (upstream, clone)."""
    up = GitRepoBuilder(tmp_path / "up")
    up.commit("Add Calc", {CALC_PATH: CALC}, author="Alice")
    up.commit("Add README", {"README.md": "calc\n"}, author="Bob")
    git("clone", "-q", "--bare", str(up.root), str(tmp_path / "origin.git"), cwd=tmp_path)
    up.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    git("clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "clone"), cwd=tmp_path)
    clone = GitRepoBuilder.__new__(GitRepoBuilder)
    clone.root, clone.clock = tmp_path / "clone", 1_700_000_000
    for key, value in (("user.name", "Dana"), ("user.email", "dana@example.com"), ("pull.rebase", "false")):
        clone.git("config", key, value)
    return up, clone


def test_install_chains_user_hooks_and_uninstall_restores_them_exactly(remote):
    _, clone = remote
    hooks = clone.root / ".git" / "hooks"
    user = b"#!/bin/sh\necho \"user post-merge $1\" >> \"$(git rev-parse --git-dir)/user-hook.txt\"\n"
    (hooks / "post-merge").write_bytes(user)
    os.chmod(hooks / "post-merge", 0o750)
    (hooks / "pre-push").symlink_to("/bin/true")
    first = rca("hooks", "install", cwd=clone.root)
    assert first.returncode == 0, first.stderr
    assert "post-merge: installed (chains to post-merge.rca-chained)" in first.stdout
    assert (hooks / "post-merge.rca-chained").read_bytes() == user
    assert os.path.islink(hooks / "pre-push.rca-chained")
    again = rca("hooks", "install", cwd=clone.root)  # idempotent: never chains to itself
    assert "post-merge: updated" in again.stdout and not (hooks / "post-merge.rca-chained.rca-chained").exists()
    status = rca("hooks", "status", cwd=clone.root).stdout
    assert "post-merge     installed, chains to post-merge.rca-chained" in status
    out = rca("hooks", "uninstall", cwd=clone.root)
    assert out.returncode == 0 and "the original hook restored" in out.stdout
    assert (hooks / "post-merge").read_bytes() == user
    assert stat.S_IMODE((hooks / "post-merge").stat().st_mode) == 0o750
    assert os.readlink(hooks / "pre-push") == "/bin/true"
    assert not (hooks / "post-rewrite").exists() and not list(hooks.glob("*.rca-chained"))


def test_pull_indexes_in_the_background_and_runs_the_user_hook_first(remote):
    up, clone = remote
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    hooks = clone.root / ".git" / "hooks"
    (hooks / "post-merge").write_text("#!/bin/sh\necho \"user post-merge $1\" > user-hook.txt\n")
    os.chmod(hooks / "post-merge", 0o755)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    for i in range(20):
        up.commit(f"Change {i}", {f"docs/n{i}.md": f"{i}\n"})
    up.git("push", "-q", "origin", "main")
    pull = git("pull", "-q", cwd=clone.root)
    assert pull.stderr == ""  # nothing printed when no failure is open
    assert (clone.root / "user-hook.txt").read_text() == "user post-merge 0\n"
    head = clone.git("rev-parse", "HEAD").strip()
    wait_indexed(clone.root / ".git", head)  # in the background; its speed is measured by scripts/bench_hooks.py
    log = clone.root / ".git" / "rca" / "hooks.log"
    deadline = time.perf_counter() + 120  # the line is written just after the last transaction
    while not (log.exists() and "post-merge: indexed 20 new commit(s)" in log.read_text()):
        assert time.perf_counter() < deadline, log.read_text() if log.exists() else "no log"
        time.sleep(0.05)


def test_pull_reports_the_arriving_suspects_of_an_open_failure(remote):
    up, clone = remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    added = rca("failures", "add", cwd=clone.root, input=TRACE)
    assert added.returncode == 0 and added.stdout.startswith("#1  CalcTest.testTwice: java.lang.NumberFormatException")
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    up.git("push", "-q", "origin", "main")
    pull = git("pull", "-q", cwd=clone.root)
    assert "failure #1 (CalcTest.testTwice: java.lang.NumberFormatException" in pull.stderr, pull.stderr
    assert "1 suspect(s) among the 2 commit(s) that just arrived" in pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr and "changed Calc.parse" in pull.stderr
    listed = rca("failures", "list", cwd=clone.root).stdout
    assert listed.startswith("#1    open")
    assert rca("failures", "resolve", "1", cwd=clone.root).stdout.startswith("#1  resolved")
    assert rca("failures", "list", cwd=clone.root).stdout == ""
    assert rca("failures", "resolve", "9", cwd=clone.root).returncode == 2


def test_pre_push_warns_then_blocks_when_the_repository_asks(remote, tmp_path):
    _, clone = remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", "--trace", "-", cwd=clone.root, input=TRACE).returncode == 0
    culprit = clone.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    push = git("push", "-q", "origin", "main", cwd=clone.root)
    assert f"{culprit[:10]}  Carol" in push.stderr and "pushing anyway" in push.stderr, push.stderr
    assert git("rev-parse", "main", cwd=tmp_path / "origin.git").stdout.strip() == culprit
    clone.git("config", "rca.blockPush", "true")
    again = clone.commit("Parse again", {CALC_PATH: CALC_BROKEN.replace("(s)", "(s )")}, author="Carol")
    blocked = git("push", "-q", "origin", "main", cwd=clone.root, check=False)
    assert blocked.returncode != 0 and "push blocked by rca.blockPush" in blocked.stderr, blocked.stderr
    assert git("rev-parse", "main", cwd=tmp_path / "origin.git").stdout.strip() == culprit != again
    clone.git("config", "rca.hooks", "false")  # the off switch lets it go without uninstalling
    assert git("push", "-q", "origin", "main", cwd=clone.root).returncode == 0


def test_core_hooks_path_outside_is_used_inside_is_refused(remote, tmp_path):
    _, clone = remote
    shared = tmp_path / "shared-hooks"
    shared.mkdir()
    (shared / "post-checkout").write_text("#!/bin/sh\ntouch \"$PWD/shared-hook-ran\"\n")
    os.chmod(shared / "post-checkout", 0o755)
    clone.git("config", "core.hooksPath", str(shared))
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert (shared / "post-checkout.rca-chained").exists() and (shared / "pre-push").exists()
    clone.git("checkout", "-q", "-b", "other")
    clone.git("checkout", "-q", "main")
    assert (clone.root / "shared-hook-ran").exists()
    assert rca("hooks", "uninstall", cwd=clone.root).returncode == 0
    assert sorted(p.name for p in shared.iterdir()) == ["post-checkout"]
    clone.git("config", "core.hooksPath", ".githooks")
    inside = rca("hooks", "install", cwd=clone.root)
    assert inside.returncode == 2 and "inside the work tree" in inside.stderr
    assert not (clone.root / ".githooks").exists()
    forced = rca("hooks", "install", "--force", cwd=clone.root)  # the folder made for the shims ...
    assert forced.returncode == 0 and (clone.root / ".githooks" / "pre-push").exists()
    removed = rca("hooks", "uninstall", cwd=clone.root)  # ... goes with them: no empty folder left behind
    assert removed.returncode == 0 and not (clone.root / ".githooks").exists(), removed.stdout
    assert ".githooks" not in clone.git("status", "--porcelain", "--untracked-files=all")
    (clone.root / ".githooks").mkdir()  # one the user made stays, even empty
    assert rca("hooks", "install", "--force", cwd=clone.root).returncode == 0
    assert rca("hooks", "uninstall", cwd=clone.root).returncode == 0
    assert (clone.root / ".githooks").is_dir() and not any((clone.root / ".githooks").iterdir())


def test_a_broken_install_never_fails_the_pull(remote):
    """The Python baked into the shims is gone: the user's hook still runs, the pull succeeds."""
    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    (hooks / "post-merge").write_text("#!/bin/sh\necho ran > user-hook.txt\n")
    os.chmod(hooks / "post-merge", 0o755)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    shim = hooks / "post-merge"
    shim.write_text(shim.read_text().replace(f"INSTALL_PYTHON={sys.executable}", "INSTALL_PYTHON=/nonexistent/python"))
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    assert git("pull", "-q", cwd=clone.root).returncode == 0
    assert (clone.root / "user-hook.txt").read_text() == "ran\n"
    assert "its Python /nonexistent/python is missing" in rca("hooks", "status", cwd=clone.root).stdout


def test_hook_errors_are_one_line_and_logged_and_git_env_is_ignored(remote, tmp_path):
    _, clone = remote
    other = GitRepoBuilder(tmp_path / "other")
    other.commit("Elsewhere", {"o.txt": "o\n"})
    env = {**os.environ, "GIT_DIR": str(other.root / ".git"), "GIT_INDEX_FILE": str(other.root / ".git" / "index"),
           "GIT_WORK_TREE": str(other.root)}
    (clone.root / ".git" / "rca").mkdir()
    proc = subprocess.run([sys.executable, "-m", "rca_lsp.hooks", "run", "post-merge",
                           str(clone.root / ".git" / "hooks"), "0"], cwd=clone.root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    head = clone.git("rev-parse", "HEAD").strip()
    wait_indexed(clone.root / ".git", head)  # the clone was indexed, not the repository of GIT_DIR
    assert not (other.root / ".git" / "rca").exists()
    (clone.root / ".git" / "rca" / "failures.db").write_bytes(b"not a database")
    (clone.root / ".git" / "rca" / "hooks.last-error").write_text("background index failed: boom\n")
    bad = subprocess.run([sys.executable, "-m", "rca_lsp.hooks", "run", "pre-push", str(clone.root / ".git" / "hooks"),
                          "origin", "x"], cwd=clone.root, input="garbage line\n", capture_output=True, text=True)
    assert bad.returncode == 0
    assert bad.stderr.count("\n") == 1 and "background index failed: boom (see" in bad.stderr


def test_concurrent_indexers_queue_and_leave_a_consistent_index(remote):
    up, clone = remote

    def burst(plain: bool) -> None:
        for i in range(15):
            up.commit(f"Change {i}", {f"src/m{i}.py": f"def f{i}():\n    return {len(indexed(meta))}\n"})
        up.git("push", "-q", "origin", "main")
        clone.git("pull", "-q")
        procs = [subprocess.Popen([sys.executable, "-m", "rca_lsp.hooks", "index", str(clone.root), "test"],
                                  cwd=clone.root) for _ in range(4)]
        cli = rca("index", "-q", cwd=clone.root) if plain else None
        codes = [p.wait(60) for p in procs]
        log = (meta / "rca" / "hooks.log").read_text()
        assert codes == [0, 0, 0, 0] and (cli is None or cli.returncode == 0), log
        assert "failed" not in log and clone.git("rev-parse", "HEAD").strip() in indexed(meta)

    meta = clone.root / ".git"
    burst(plain=False)  # a fresh index: created once, under the writer lock
    burst(plain=True)  # and beside a plain `rca index`
    assert len(indexed(meta)) == 32


# -- Mercurial ------------------------------------------------------------------------------------

hg_only = pytest.mark.skipif(__import__("shutil").which("hg") is None, reason="needs Mercurial")


@pytest.fixture
def hg_remote(tmp_path):
    pytest.importorskip("hglib")
    from tests._hg import HgRepoBuilder

    up = HgRepoBuilder(tmp_path / "up")
    up.commit("Add Calc", {CALC_PATH: CALC}, author="Alice")
    up.commit("Add README", {"README.md": "calc\n"}, author="Bob")
    up.hg("clone", "-q", str(up.root), str(tmp_path / "clone"), cwd=tmp_path)
    clone = HgRepoBuilder(tmp_path / "clone", init=False)
    return up, clone


@hg_only
def test_hg_install_and_uninstall_leave_hgrc_byte_identical(hg_remote):
    _, clone = hg_remote
    hgrc = clone.root / ".hg" / "hgrc"
    original = hgrc.read_bytes().rstrip(b"\n") + b"\n[ui]\nusername = Dana <dana@example.com>"  # no final newline
    hgrc.write_bytes(original)
    os.chmod(hgrc, 0o600)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    text = hgrc.read_text()
    assert "post-pull.rca-lsp = " in text and hg_block(sys.executable).splitlines()[-1] in text
    assert "rca hooks updated" in rca("hooks", "install", cwd=clone.root).stdout
    assert "older entries" not in rca("hooks", "status", cwd=clone.root).stdout
    current = hgrc.read_text()
    hgrc.write_text(current.replace(f"-c {shlex.quote(HOOK_CODE)}", "-m rca_lsp.hooks"))  # as rca wrote them before
    assert "(older entries: `rca hooks install` updates them)" in rca("hooks", "status", cwd=clone.root).stdout
    assert "rca hooks updated" in rca("hooks", "install", cwd=clone.root).stdout and hgrc.read_text() == current
    assert clone.hg("config", "hooks.post-pull.rca-lsp").strip().endswith("hg post-pull")
    assert rca("hooks", "uninstall", cwd=clone.root).returncode == 0
    assert hgrc.read_bytes() == original and stat.S_IMODE(hgrc.stat().st_mode) == 0o600
    hgrc.unlink()
    rca("hooks", "install", cwd=clone.root)
    rca("hooks", "uninstall", cwd=clone.root)
    assert not hgrc.exists()


@hg_only
def test_hg_pull_indexes_in_the_background_and_reports_suspects(hg_remote, tmp_path):
    up, clone = hg_remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    pull = clone.hg("pull", "-u", "-q", check=False)
    assert "1 suspect(s) among the 2 commit(s) that just arrived" in pull, pull
    assert f"{culprit[:10]}  Carol" in pull
    head = clone.hg("log", "-r", ".", "-T", "{node}").strip()
    wait_indexed(clone.root / ".hg", head)


@hg_only
def test_hg_push_warns_then_blocks(hg_remote):
    up, clone = hg_remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0
    culprit = clone.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    push = clone.hg("push", "-q", check=False)
    assert f"{culprit[:10]}  Carol" in push and "pushing anyway" in push, push
    assert up.hg("log", "-r", "tip", "-T", "{node}") == culprit
    with open(clone.root / ".hg" / "hgrc", "a") as fh:
        fh.write("[rca]\nblock-push = true\n")
    again = clone.commit("Parse again", {CALC_PATH: CALC_BROKEN.replace("(s)", "(s )")}, author="Carol")
    blocked = subprocess.run(["hg", "push", "-q"], cwd=clone.root, capture_output=True, text=True,
                             env=__import__("tests._hg", fromlist=["hg_env"]).hg_env())
    assert blocked.returncode != 0 and "push blocked" in blocked.stderr
    assert up.hg("log", "-r", "tip", "-T", "{node}") == culprit != again

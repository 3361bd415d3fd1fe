"""The git shims' fast path, fired by real `git pull` / `git push`: with nothing to report no Python
runs while git waits, the index still catches up in the background, the user's hook keeps its
arguments, input and exit status, and the open-failures marker the shims read stays right."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.test_cli import CALC_BROKEN, TEST, TRACE
from tests.test_hooks import CALC_PATH, remote, rca, wait_indexed  # noqa: F401 - remote is a fixture

ROOT = Path(__file__).resolve().parent.parent
# Every Python that starts with this set writes `import time:` lines to its stderr, which git hands on
# from a hook to the command's stderr: it shows whether a Python ran in the foreground of a hook.
PY_TRACE = {"PYTHONPROFILEIMPORTTIME": "1"}
RECORDER = """#!/bin/sh
# the user's own hook: writes down what it was given, and fails when asked to
printf '%s\\n' "$*" > "{out}.args"
cat > "{out}.stdin"
[ -e "{out}.refuse" ] && exit 3
exit 0
"""


def traced_git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**env, **PY_TRACE},
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {args}: {proc.stderr}")
    return proc


def user_hook(hooks: Path, name: str, out: Path) -> None:
    (hooks / name).write_text(RECORDER.format(out=out))
    os.chmod(hooks / name, 0o755)


def wait_for_log(log: Path, text: str, seconds: float = 120) -> None:
    deadline = time.perf_counter() + seconds  # the line is written just after the last transaction
    while not (log.exists() and text in log.read_text()):
        assert time.perf_counter() < deadline, log.read_text() if log.exists() else "no log"
        time.sleep(0.05)


# rca's dependencies that a repository's root may hold too (sqlite-utils imports dateutil, which
# imports six), and a standard module that rca imports late
SHADOWS = ("six", "dateutil", "click", "sqlite_utils", "tqdm", "random")


def test_a_repository_whose_modules_are_named_like_rcas_own_is_indexed(remote):
    """The six library's repository has a top-level six.py. Run in its root, `python -m` put the
    root first on sys.path, so rca imported the repository's six in place of its own, and a six
    broken mid-change broke `rca index`: so would the hooks, which run there. `python -m rca_lsp`,
    the shims' foreground and detached Python and the indexer they start import rca's modules from
    where it is installed, whatever the root holds."""
    up, clone = remote
    up.commit("Modules named like rca's", {f"{name}.py": f'raise ImportError("the repository\'s {name}")\n'
                                           for name in SHADOWS})
    up.git("push", "-q", "origin", "main")
    clone.git("pull", "-q")
    index = rca("index", "-q", cwd=clone.root)  # python -m rca_lsp, in the root
    assert index.returncode == 0 and "the repository's" not in index.stderr, index.stderr
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    up.commit("Change", {"docs/n.md": "n\n"})
    up.git("push", "-q", "origin", "main")
    pull = traced_git("pull", "-q", cwd=clone.root)
    assert pull.stderr == ""
    wait_indexed(clone.root / ".git", clone.git("rev-parse", "HEAD").strip())  # the detached indexer
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0  # the shim now hands off to Python
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.git("push", "-q", "origin", "main")
    pull = subprocess.run(["git", "pull", "-q"], cwd=clone.root, capture_output=True, text=True, timeout=120)
    assert pull.returncode == 0 and "the repository's" not in pull.stderr and "ImportError" not in pull.stderr, pull.stderr
    assert "1 suspect(s) among the 1 commit(s) that just arrived" in pull.stderr, pull.stderr  # it ran and reported
    assert f"{culprit[:10]}  Carol" in pull.stderr
    log = clone.root / ".git" / "rca" / "hooks.log"
    assert "the repository's" not in (log.read_text() if log.exists() else "")
    wait_indexed(clone.root / ".git", clone.git("rev-parse", "HEAD").strip())


def test_pull_with_nothing_to_report_runs_no_python_in_the_foreground(remote, tmp_path):
    up, clone = remote
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    user_hook(clone.root / ".git" / "hooks", "post-merge", tmp_path / "merge")
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    for i in range(20):
        up.commit(f"Change {i}", {f"docs/n{i}.md": f"{i}\n"})
    up.git("push", "-q", "origin", "main")
    pull = traced_git("pull", "-q", cwd=clone.root)
    assert pull.stderr == ""  # with the Python-first shim: hundreds of `import time:` lines
    assert (tmp_path / "merge.args").read_text() == "0\n"
    wait_indexed(clone.root / ".git", clone.git("rev-parse", "HEAD").strip())
    wait_for_log(clone.root / ".git" / "rca" / "hooks.log", "post-merge: indexed 20 new commit(s)")


def test_rebasing_pull_gives_the_user_hook_its_input_and_indexes_in_the_background(remote, tmp_path):
    up, clone = remote
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    user_hook(clone.root / ".git" / "hooks", "post-rewrite", tmp_path / "rewrite")
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    mine = clone.commit("Local note", {"local.txt": "mine\n"})
    up.commit("Upstream note", {"docs/up.md": "up\n"})
    up.git("push", "-q", "origin", "main")
    pull = traced_git("pull", "-q", "--rebase", cwd=clone.root)
    assert "import time:" not in pull.stderr, pull.stderr[:2000]
    head = clone.git("rev-parse", "HEAD").strip()
    assert (tmp_path / "rewrite.args").read_text() == "rebase\n"
    assert (tmp_path / "rewrite.stdin").read_text().split() == [mine, head]  # old and new hash, as git gave
    wait_indexed(clone.root / ".git", head)


def test_pre_push_with_no_open_failure_is_the_user_hook_alone(remote, tmp_path):
    _, clone = remote
    user_hook(clone.root / ".git" / "hooks", "pre-push", tmp_path / "push")
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    before = clone.git("rev-parse", "HEAD").strip()
    sent = clone.commit("Mine", {"mine.txt": "1\n"})
    push = traced_git("push", "-q", "origin", "main", cwd=clone.root)
    assert push.stderr == "", push.stderr[:2000]
    origin = str(tmp_path / "origin.git")
    assert (tmp_path / "push.args").read_text() == f"origin {origin}\n"
    assert (tmp_path / "push.stdin").read_text() == f"refs/heads/main {sent} refs/heads/main {before}\n"
    (tmp_path / "push.refuse").touch()  # the user's hook says no: its status is the hook's
    refused = clone.commit("Refused", {"mine.txt": "2\n"})
    blocked = traced_git("push", "-q", "origin", "main", cwd=clone.root, check=False)
    assert blocked.returncode != 0 and "import time:" not in blocked.stderr, blocked.stderr[:2000]
    assert clone.git("--git-dir", origin, "rev-parse", "main").strip() == sent != refused


def test_open_failures_marker_follows_the_database_and_is_repaired(remote):
    up, clone = remote
    meta = clone.root / ".git"
    marker = meta / "rca" / "open-failures"
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    for _ in range(2):
        assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0
    assert marker.exists()
    assert rca("failures", "resolve", "1", cwd=clone.root).returncode == 0 and marker.exists()
    assert rca("failures", "resolve", "2", cwd=clone.root).returncode == 0 and not marker.exists()

    marker.touch()  # present though nothing is open: the shim asks Python, which finds nothing
    up.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    up.git("push", "-q", "origin", "main")
    assert traced_git("pull", "-q", cwd=clone.root).returncode == 0
    assert not marker.exists()
    wait_indexed(meta, clone.git("rev-parse", "HEAD").strip())

    assert rca("failures", "add", cwd=clone.root, input=TRACE).returncode == 0
    marker.unlink()  # as failures recorded before the shims read the marker: reinstalling restores it
    assert rca("hooks", "install", cwd=clone.root).returncode == 0 and marker.exists()
    marker.unlink()  # and so does the background indexer, after a pull that could not report
    up.commit("More docs", {"README.md": "calc, a small calculator\n"}, author="Bob")
    up.git("push", "-q", "origin", "main")
    assert clone.git("pull", "-q") == ""
    wait_for_log(meta / "rca" / "hooks.log", "open-failures was missing (restored)")
    assert marker.exists()
    wait_indexed(meta, clone.git("rev-parse", "HEAD").strip())
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.git("push", "-q", "origin", "main")
    pull = subprocess.run(["git", "pull", "-q"], cwd=clone.root, capture_output=True, text=True, timeout=120)
    assert "1 suspect(s) among the 1 commit(s) that just arrived" in pull.stderr, pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr


def test_shim_example_is_the_installed_template_and_older_shims_are_updated(remote):
    from rca_lsp.hook_install import MARKER, SHIM_TAG, shim_text

    example = (ROOT / "hooks" / "git-shim.sh").read_text()
    assert example == shim_text("post-merge", "/path/to/venv/bin/python")
    _, clone = remote
    hooks = clone.root / ".git" / "hooks"
    (hooks / "post-merge").write_text(f"#!/bin/sh\n# rca-lsp hook shim v1: an older rca's\nexec {sys.executable} -V\n")
    os.chmod(hooks / "post-merge", 0o755)
    (hooks / "post-merge").write_text(shim_text("post-merge").replace(MARKER, SHIM_TAG + "2"))  # v2: `-m`
    assert "an older shim: `rca hooks install` updates it" in rca("hooks", "status", cwd=clone.root).stdout
    out = rca("hooks", "install", cwd=clone.root).stdout
    assert "post-merge: updated\n" in out and not (hooks / "post-merge.rca-chained").exists()
    assert (hooks / "post-merge").read_text() == shim_text("post-merge")


def test_an_indexer_that_cannot_start_is_logged_and_the_pull_goes_on(remote, tmp_path):
    """The Python is there but cannot start (here: PYTHONHOME points nowhere): nothing waits on it."""
    up, clone = remote
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    user_hook(clone.root / ".git" / "hooks", "post-merge", tmp_path / "merge")
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    pull = subprocess.run(["git", "pull", "-q"], cwd=clone.root, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONHOME": str(tmp_path / "nowhere")})
    assert pull.returncode == 0 and pull.stderr == "", pull.stderr
    assert (tmp_path / "merge.args").read_text() == "0\n"
    wait_for_log(clone.root / ".git" / "rca" / "hooks.log", "Fatal Python error")

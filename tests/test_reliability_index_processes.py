"""A process of `rca index` dies (SIGKILL, as the out-of-memory killer does): the run stops.

Issue #12, item 2. SIGKILL to one forked parser worker left the indexer at 0% CPU forever,
holding the writer lock, so every later `rca index` and `rca suspects` blocked silently; a killed
`git log` ended with exit 0 and "indexed 1438 new commit(s)" of 2,416. Here real processes of a
real `python -m rca_lsp index` are found through /proc and SIGKILLed. Each time the run must stop
with exit 4 and one line, leave no process behind and only whole commits in the index, and the
next run must finish with an index equal, row for row, to an uninterrupted build.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _reliability import load

COMMITS = 600  # above the 500 new commits from which the indexer forks its parser pool
RCA = [sys.executable, "-m", "rca_lsp"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A generated repository and the snapshot of its uninterrupted index."""
    common = load("reliability_common")
    repo = load("make_synthetic_repo").make(COMMITS, tmp_path_factory.mktemp("procs") / "repo", seed=12)
    subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], check=True, timeout=600)
    db = repo / ".git" / "rca" / "index.db"
    snap, counts = common.snapshot(db), common.per_commit_counts(db)
    shutil.rmtree(repo / ".git" / "rca")
    return repo, snap, counts


_common = load("reliability_common")
_children, _is_git, _argv = _common.children, _common.is_git, _common.cmdline
_find_worker, _find_git_log, _indexed = _common.find_worker, _common.find_git_log, _common.indexed_commits


def _find_git_log_midway(rca: int, db: Path) -> int | None:
    """`git log` once a first batch of commits is in the index: a stream cut in the middle."""
    return _find_git_log(rca) if _indexed(db) else None


_find_worker_reader = _common.find_worker_reader


def _kill_during_index(repo: Path, find, sig: int = signal.SIGKILL
                       ) -> tuple[subprocess.CompletedProcess[str] | None, int | None]:
    """Start `rca index`, send `sig` to the process `find` picks as soon as it exists; (the run, the
    victim), or (None, None) when the run ended before the process showed up."""
    proc = subprocess.Popen([*RCA, "index", "--repo", str(repo)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    victim = None
    while victim is None and proc.poll() is None:
        victim = find(proc.pid)
        if victim is None:
            time.sleep(0.005)
    if victim is not None:
        try:
            os.kill(victim, sig)
        except ProcessLookupError:
            victim = None
    try:
        out, err = proc.communicate(timeout=240)  # the hang this guards against lasted forever
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"rca index hung after its process {victim} was killed")
    if victim is None:
        return None, None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), victim


@pytest.mark.parametrize("what, find, words", [
    ("parser worker", _find_worker, "a parser worker (pid {pid}) was killed by SIGKILL"),
    ("git log", _find_git_log, "git log (pid {pid}) was killed by SIGKILL after"),
    ("git log midway", _find_git_log_midway, "git log (pid {pid}) was killed by SIGKILL after"),
    ("a worker's git cat-file", _find_worker_reader, "git cat-file (pid {pid}) was killed by SIGKILL"),
])
def test_a_killed_process_stops_the_run_and_the_next_run_converges(reference, tmp_path, what, find, words):
    if (os.cpu_count() or 1) < 2 and what != "git log":
        pytest.skip("the parser pool needs two CPUs")
    common = load("reliability_common")
    source, snap, counts = reference
    repo = tmp_path / "repo"
    shutil.copytree(source, repo, symlinks=True)
    db = repo / ".git" / "rca" / "index.db"
    look = (lambda pid: find(pid, db)) if find is _find_git_log_midway else find
    for _ in range(5):  # a run can end before the process is seen (it is short-lived): again
        run, victim = _kill_during_index(repo, look)
        if run is not None:
            break
        shutil.rmtree(repo / ".git" / "rca")
    assert run is not None, f"no {what} to kill in 5 runs"
    assert run.returncode == 4, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and words.format(pid=victim) in lines[0], run.stderr
    assert "new commit(s)" not in run.stderr  # never a success line
    assert common.wait_no_processes(repo) == []
    assert common.check_consistent(db, counts) == []  # whole commits only
    if what == "git log midway":
        from rca_lsp.index.ingest import BATCH

        kept = _indexed(db)
        assert 0 < kept < COMMITS and kept % BATCH == 0  # the whole batches before the cut, not the cut one
    again = subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr  # the lock was released; it carries on
    assert common.diff_snapshots(common.snapshot(db), snap) == []


def test_a_child_stopped_by_ctrl_c_ends_the_run_as_interrupted(reference, tmp_path):
    """Ctrl-C signals the whole foreground group; where this process's own KeyboardInterrupt was
    swallowed (tree-sitter compiling a query's regular expression turns it into a query error),
    its children's deaths by SIGINT are what is left of it: the run ends as interrupted (130,
    "aborted"), not as an indexing failure (4), and the next run carries on. (The parser workers
    and their readers ignore SIGINT: the indexer handles it, once.)"""
    common = load("reliability_common")
    source, snap, counts = reference
    repo = tmp_path / "repo"
    shutil.copytree(source, repo, symlinks=True)
    db = repo / ".git" / "rca" / "index.db"
    for _ in range(5):
        run, victim = _kill_during_index(repo, _find_git_log, signal.SIGINT)
        if run is not None:
            break
        shutil.rmtree(repo / ".git" / "rca")
    assert run is not None, "no git log to interrupt in 5 runs"
    assert run.returncode == 130, (run.returncode, run.stderr[-2000:])
    assert run.stderr.strip().splitlines()[-1] == "rca: aborted", run.stderr
    assert common.wait_no_processes(repo) == []
    assert common.check_consistent(db, counts) == []
    again = subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert common.diff_snapshots(common.snapshot(db), snap) == []


def test_a_process_waiting_for_the_writer_lock_says_for_whom(reference, tmp_path):
    source, _, _ = reference
    repo = tmp_path / "repo"
    shutil.copytree(source, repo, symlinks=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom rca_lsp.index.store import writer_lock\n"
        f"with writer_lock({str(repo / '.git')!r}):\n    print('locked', flush=True)\n    sys.stdin.read()\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    waiter = subprocess.Popen([*RCA, "index", "-q", "--repo", str(repo)], stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.append(waiter.stderr.readline()), daemon=True)
    reader.start()
    reader.join(timeout=120)  # without the message, readline would wait for the holder forever
    holder.stdin.close()  # release the lock, whatever was said
    holder.wait(timeout=60)
    rest = waiter.communicate(timeout=600)[1]
    assert said and said[0].strip() == f"rca: waiting for another rca (pid {holder.pid}) to finish indexing", said
    assert waiter.returncode == 0, rest


def _written(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/io") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("wchar:"))
    except (OSError, StopIteration, ValueError):
        return 0


def _kill_serving_hg_server(repo: Path) -> tuple[subprocess.CompletedProcess[str] | None, int | None]:
    """Run `rca index` and SIGKILL its command server once it has answered more than its hello
    (a server killed while starting is another case: started again, or said as such)."""
    def serving(rca: int) -> int | None:
        return next((pid for pid in _children(rca)
                     if b"--cmdserver" in _argv(pid) and _written(pid) > 4096), None)
    return _kill_during_index(repo, serving)


@pytest.mark.skipif(shutil.which("hg") is None, reason="needs Mercurial")
def test_a_killed_hg_command_server_stops_the_run_and_the_next_run_converges(tmp_path):
    common = load("reliability_common")
    source = load("make_synthetic_repo").make(80, tmp_path / "git", seed=13)
    repo = tmp_path / "hg"
    env = {**os.environ, "HGRCPATH": ""}
    subprocess.run(["hg", "--config", "extensions.convert=", "convert", "-q", str(source), str(repo)],
                   check=True, capture_output=True, env=env)
    subprocess.run(["hg", "update", "-q", "-R", str(repo), "tip"], check=True, env=env)
    db = repo / ".hg" / "rca" / "index.db"
    subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], check=True, timeout=600)
    snap, counts = common.snapshot(db), common.per_commit_counts(db)
    shutil.rmtree(repo / ".hg" / "rca")

    for _ in range(5):
        run, victim = _kill_serving_hg_server(repo)
        if run is not None:
            break
        shutil.rmtree(repo / ".hg" / "rca")
    assert run is not None, "no serving hg command server to kill in 5 runs"

    assert run.returncode == 4, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"command server (pid {victim}) was killed by SIGKILL during" in lines[0], run.stderr
    assert common.wait_no_processes(repo) == []
    if db.exists():
        assert common.check_consistent(db, counts) == []
    again = subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert common.diff_snapshots(common.snapshot(db), snap) == []


def test_a_parser_pool_that_broke_leaves_no_worker_alive(tmp_path):
    """In the indexer's own process: a parser worker SIGKILLed while a batch is parsed stops the
    batch with IndexingStopped, and then no worker of the pool is left alive. Once in CI the pool's
    manager thread died while failing the batch (CPython's `terminate_broken` raced `pool.map`
    cancelling the rest), the other workers stayed, waiting for work, and `rca index` hung at
    exit waiting for them. Several kill moments, each a fresh pool."""
    import multiprocessing

    from rca_lsp.errors import IndexingStopped
    from rca_lsp.index.symbols import SymbolCache
    from rca_lsp.vcs import open_repo

    repo_path = load("make_synthetic_repo").make(600, tmp_path / "repo", seed=5)
    listing = subprocess.run(["git", "rev-list", "--objects", "--all"], cwd=repo_path, capture_output=True,
                             text=True, check=True).stdout.split("\n")
    items = list(dict.fromkeys((line.split()[0], "python", line.split()[1], None) for line in listing
                               if len(line.split()) == 2 and line.endswith(".py")))
    assert len(items) >= 500  # a batch long enough for the kill to land inside it
    for delay in (0.0, 0.002, 0.01, 0.03):
        cache = SymbolCache(open_repo(repo_path), workers=2)
        killed: list[int] = []

        def kill_one(delay=delay) -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pool = cache._pool
                procs = list((getattr(pool, "_processes", None) or {}).values()) if pool else []
                if procs:
                    time.sleep(delay)
                    os.kill(procs[0].pid, signal.SIGKILL)
                    killed.append(procs[0].pid)
                    return
                time.sleep(0.001)

        killer = threading.Thread(target=kill_one)
        killer.start()
        with pytest.raises(IndexingStopped, match="parser worker"):
            cache.prefetch(items)
        killer.join()
        cache.close()
        assert killed and multiprocessing.active_children() == []

"""The test runs of scripts/dataset_build.py (scripts/pytrack_pytest.py): the CPU-time limit, the
end of a run that waits forever, reading node ids, running existing ids at once, and the whole
suite for a mutation its module's tests miss, on real pytest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _reliability import load
from conftest import GitRepoBuilder

mu = load("pytrack_mutations")
py = load("pytrack_pytest")
pc = load("pytrack_cases")


def test_a_looping_test_times_out_on_cpu_time(tmp_path: Path):
    (tmp_path / "test_loop.py").write_text("def test_loop():\n    while True:\n        pass\n\n\n"
                                           "def test_ok():\n    assert True\n")
    spec = pc.RepoSpec("loop", "x/loop", "0" * 40, ("loop",), "2020-01-01")
    run = py.run_pytest(Path(sys.executable), tmp_path, spec, ["test_loop.py::test_loop"], timeout=8)
    assert run.timed_out and run.rc == -1
    ok = py.run_pytest(Path(sys.executable), tmp_path, spec, ["test_loop.py::test_ok"], timeout=30)
    assert not ok.timed_out and ok.rc == 0


def test_a_test_that_waits_forever_is_ended_once_idle_and_a_busy_one_is_not(tmp_path: Path, monkeypatch):
    """A mutant can block rather than loop (a dnspython mutant sat in `poll`, a graphql-core one
    hung its run): no CPU limit ends it, only the wall clock at 10 times that limit (20 minutes for
    a wide run). A run whose processes, a child it started included, use no CPU for IDLE_LIMIT
    is ended then, the child with it; one busy for longer than that is left to finish."""
    monkeypatch.setattr(py, "IDLE_LIMIT", 4.0)
    monkeypatch.setattr(py, "POLL", 0.5)
    (tmp_path / "test_wait.py").write_text(
        "import subprocess, sys, threading, time\n\n\n"
        "def test_blocks():\n    threading.Event().wait()\n\n\n"
        "def test_child_blocks():\n"
        "    open('child.pid', 'w').write(str(subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)']).pid))\n"
        "    threading.Event().wait()\n\n\n"
        "def test_busy():\n    end = time.process_time() + 8\n    while time.process_time() < end:\n        pass\n")
    spec = pc.RepoSpec("wait", "x/wait", "0" * 40, ("wait",), "2020-01-01")
    python = Path(sys.executable)
    start = time.monotonic()
    run = py.run_pytest(python, tmp_path, spec, ["test_wait.py::test_blocks"], timeout=60)
    assert run.timed_out and run.rc == -1
    assert time.monotonic() - start < 60 * py.WALL_FACTOR / 4  # ended as idle, not by the wall clock (600 s)
    run = py.run_pytest(python, tmp_path, spec, ["test_wait.py::test_child_blocks"], timeout=60)
    assert run.timed_out
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(50):  # killed with its group; gone once its parent (init) reaps it
        if not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1][:3]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the blocked run's child {child} still runs")
    busy = py.run_pytest(python, tmp_path, spec, ["test_wait.py::test_busy"], timeout=60)
    assert not busy.timed_out and busy.rc == 0, busy.output[-500:]


def test_an_orphans_cpu_counts_for_its_run() -> None:
    """A run is judged idle by its process group's CPU: a busy process whose parent exited (init
    adopted it, so it is no longer the run's descendant) still counts, and is killed with the group."""
    busy = "import time\nend = time.process_time() + 30\nwhile time.process_time() < end: pass\n"
    proc = subprocess.Popen(["sh", "-c", f"{sys.executable} -c '{busy}' &"], start_new_session=True)
    proc.wait()  # sh is gone: the busy python is an orphan in the run's group
    try:
        start = py._group_cpu(proc.pid)
        assert start is not None
        deadline = time.monotonic() + 30
        while py._group_cpu(proc.pid) - start < 0.3:  # counted, however loaded the machine
            assert time.monotonic() < deadline, "the orphan's CPU is not counted for its group"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_collected_reads_node_ids_whatever_verbosity_the_repository_configures(git_repo):
    """pytrack_pytest.collected: a repository whose own config adds -v (marshmallow's setup.cfg,
    `addopts = -v --tb=short`) still gives node ids, not the <Module>/<Function> tree, which gave
    none and rejected every marshmallow candidate as "ground truth fails at base"."""
    git_repo.commit("suite", {
        "setup.cfg": "[tool:pytest]\naddopts = -v --tb=short\n",
        "tests/test_m.py": "import pytest\n\n\n@pytest.mark.parametrize('u', ['http://[2001::1]:8329'])\n"
                           "def test_url(u):\n    pass\n\n\nclass TestK:\n    def test_k(self):\n        pass\n",
        "tests/test_broken.py": "import no_such_module_here\n\n\ndef test_b():\n    pass\n"})
    spec = pc.RepoSpec("toy", "toy/toy", "HEAD", ("lib",), "2000-01-01")
    ids = ["tests/test_m.py::test_url[http://[2001::1]:8329]", "tests/test_m.py::TestK::test_k"]
    assert py.collected(Path(sys.executable), git_repo.root, spec, [*ids, "tests/test_broken.py::test_b"]) == set(ids)


def test_run_existing_runs_once_where_every_id_exists_and_else_collects_as_before(git_repo):
    """pytrack_pytest.run_existing (the builder's ground-truth runs): the same ids and the same
    failures as collecting first and running what was found, in one pytest run where every id
    exists (its -rA report lists passes), and by collecting first where one is missing, one is
    skipped, or a parametrised id holds brackets and spaces."""
    git_repo.commit("suite", {
        "tests/test_m.py": "import pytest\n\n\n@pytest.mark.parametrize('u', ['a b', 'http://[::1]:80'])\n"
                           "def test_url(u):\n    assert ' ' not in u\n\n\ndef test_ok():\n    pass\n\n\n"
                           "@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n"})
    spec = pc.RepoSpec("toy", "toy/toy", "HEAD", ("lib",), "2000-01-01")
    python, root = Path(sys.executable), git_repo.root
    url_a, url_b = "tests/test_m.py::test_url[a b]", "tests/test_m.py::test_url[http://[::1]:80]"
    ok, skipped, missing = "tests/test_m.py::test_ok", "tests/test_m.py::test_skipped", "tests/test_m.py::test_gone"

    def before(ids: list[str]) -> tuple[list[str], list[str]]:  # what _ground_truth did until now
        found = [t for t in ids if t in py.collected(python, root, spec, ids)]
        return found, py.run_pytest(python, root, spec, found, ["-q", "-rfE", "--tb=no"]).failed

    for ids, once in (([url_a, url_b, ok], True), ([ok, missing, url_a], False), ([skipped, ok], False)):
        found, run = py.run_existing(python, root, spec, ids)
        assert run is not None and (found, run.failed) == before(ids)
        assert ("PASSED " + ok in run.output) == once  # -rA: the single run; -rfE: collected first
    assert py.run_existing(python, root, spec, [url_a, ok])[1].failed == [url_a]
    assert py.run_existing(python, root, spec, [missing]) == ([], None)


def _spread_suite(repo: GitRepoBuilder) -> tuple[str, object, set[str]]:
    """A single-module library whose test named after it does not test `clamp`, a test file with
    another name that does, and a test module that fails to collect: (end, spec, tests passing)."""
    end = repo.commit("lib", {
        "lib.py": "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return min(x, hi)\n\n\n"
                  "def name():\n    return 'lib'\n",
        "tests/test_lib.py": "from lib import name\n\n\ndef test_name():\n    assert name() == 'lib'\n",
        "tests/test_bounds.py": "from lib import clamp\n\n\ndef test_low():\n    assert clamp(-5, 0, 9) == 0\n",
        "tests/test_old.py": "from collections import Mapping\n\n\ndef test_old():\n    pass\n"})
    spec = pc.RepoSpec("toy", "toy/toy", end, ("lib.py",), "2000-01-01")
    passed, _ = py.passing_tests(Path(sys.executable), repo.root, spec)
    return end, spec, passed


def test_a_mutation_its_modules_tests_miss_is_tried_on_the_whole_suite_for_training_data(git_repo):
    """With WIDER_FAILING (the training-data builder's), a mutation that lib.py's own test file
    does not catch is tried on the whole suite, and a test module that fails to collect does not
    hide the others; the benchmark's rule (off) rejects it as before."""
    end, spec, passed = _spread_suite(git_repo)
    assert passed == {"tests/test_lib.py::test_name", "tests/test_bounds.py::test_low"}
    src = git_repo.root.joinpath("lib.py").read_text()
    m = next(m for m in mu.mutations_of_line(src, 2, mu.ALL_OPERATORS) if m.operator == "cmp_flip")
    cand = pc.Candidate(1, "lib.py", 2, "lib.py", 2, m)
    python = Path(sys.executable)
    assert py.relevant_tests(git_repo.root, spec, "lib.py") == ["tests/test_lib.py"]
    try:
        pc.WIDER_FAILING = False
        try:
            pc._failing_at_end(spec, git_repo.root, end, passed, cand, python)
            raise AssertionError("the benchmark's rule should reject it")
        except pc.Rejected as why:
            assert str(why) == "no test fails"
        pc.WIDER_FAILING = True
        assert pc._failing_at_end(spec, git_repo.root, end, passed, cand, python) == ["tests/test_bounds.py::test_low"]
    finally:
        pc.WIDER_FAILING = False


def test_a_whole_suite_run_survives_a_module_that_fails_to_collect(git_repo):
    """A module no test file is named after runs the whole suite: one uncollectable test module
    (loguru's tests/test_type_hinting.py, jmespath's nose-based compliance tests) stopped that run
    before any test, so every such candidate was "no test fails"."""
    end, spec, passed = _spread_suite(git_repo)
    git_repo.git("mv", "lib.py", "bounds_util.py")
    for f in ("tests/test_lib.py", "tests/test_bounds.py"):
        git_repo.write(f, git_repo.root.joinpath(f).read_text().replace("from lib ", "from bounds_util "))
    end = git_repo.commit("rename")
    spec = pc.RepoSpec("toy", "toy/toy", end, ("bounds_util.py",), "2000-01-01")
    passed, failed = py.passing_tests(Path(sys.executable), git_repo.root, spec)
    assert len(passed) == 2 and failed == 1
    src = git_repo.root.joinpath("bounds_util.py").read_text()
    m = next(m for m in mu.mutations_of_line(src, 2, mu.ALL_OPERATORS) if m.operator == "cmp_flip")
    cand = pc.Candidate(1, "bounds_util.py", 2, "bounds_util.py", 2, m)
    assert py.relevant_tests(git_repo.root, spec, "bounds_util.py") == []  # the whole suite
    try:
        pc.WIDER_FAILING = True
        assert pc._failing_at_end(spec, git_repo.root, end, passed, cand, Path(sys.executable)) == [
            "tests/test_bounds.py::test_low"]
    finally:
        pc.WIDER_FAILING = False

"""pytest for the Python-track benchmark (scripts/pytrack_cases.py): runs, their failures, test files.

Runs are isolated from the caller (no PYTHONPATH, no cache provider, fixed hash seed) and time
out on CPU time, since a mutation may loop forever, or when they sit idle, since a mutation may
also wait forever (on a lock, a socket, a child that never answers). Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytrack_git import out

if TYPE_CHECKING:
    from pytrack_cases import RepoSpec

TEST_TIMEOUT = 30.0  # CPU seconds: a mutation may loop forever (the suites take under 20 s)
SUITE_TIMEOUT = 120.0  # CPU seconds for a whole suite (some take over 30 s)
WALL_FACTOR = 10  # the wall-clock limit, a multiple of the CPU limit: a loaded machine is slow, not looping
IDLE_LIMIT = 120.0  # wall seconds in which a run's processes used no CPU (under IDLE_CPU): it waits forever
IDLE_CPU = 0.5
POLL = 2.0


def _cpu_limit(seconds: float) -> None:
    """In the child: a CPU-time limit, so that whether a run "times out" does not depend on how
    busy the machine is (a wall-clock limit rejected every candidate on a loaded machine)."""
    resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds) + 5))


def _group_cpu(group: int) -> float | None:
    """CPU seconds used so far by the live processes of process group `group` (a run starts its own
    session, so its group holds every process it started, orphans reparented to init included; a
    process that ended counts in its parent's total once reaped). None without Linux's /proc."""
    if not os.path.isdir("/proc"):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # after the name, counted from 0 at the state: pgrp 2, utime 11, stime 12, cutime 13, cstime 14
        if int(fields[2]) == group:
            total += sum(int(x) for x in fields[11:15]) / ticks
    return total


def _wait(proc: subprocess.Popen, wall: float) -> tuple[str | None, str | None]:
    """The run's output, or (None, None) once it passed `wall` seconds or sat idle for IDLE_LIMIT
    (its whole process group is then killed). Idle: its processes used under IDLE_CPU seconds of
    CPU in that time; such a run waits on something that will not come (a mutant that blocks in
    `poll` or on a lock spent 20 minutes of wall clock before the limit above ended it)."""
    start = last_busy = time.monotonic()
    used = 0.0
    while True:
        try:
            return proc.communicate(timeout=POLL)
        except subprocess.TimeoutExpired:
            pass
        now, cpu = time.monotonic(), _group_cpu(proc.pid)
        if cpu is None or cpu - used >= IDLE_CPU:
            used, last_busy = cpu or 0.0, now
        used = min(used, cpu or 0.0)  # a child that ended and is not yet counted in its parent's total
        if now - start > wall or now - last_busy > IDLE_LIMIT:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, None


SUMMARY_RE = re.compile(r"^(FAILED|ERROR) (\S+?(?:\[.*?\])?)(?: - .*)?$")


@dataclass
class TestRun:
    rc: int
    output: str
    failed: list[str]  # node ids, in the order of the short summary
    timed_out: bool = False


def run_pytest(python: Path, repo: Path, spec: RepoSpec, targets: list[str], extra: list[str] | None = None,
               timeout: float = TEST_TIMEOUT, env_extra: dict[str, str] | None = None) -> TestRun:
    cmd = [str(python), "-m", "pytest", "-p", "no:cacheprovider", *spec.pytest_args, *(extra or []), *targets]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", **(env_extra or {}))
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", env=env, start_new_session=True, preexec_fn=lambda: _cpu_limit(timeout))
    stdout, stderr = _wait(proc, timeout * WALL_FACTOR)
    if stdout is None or proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return TestRun(-1, "", [], timed_out=True)
    text = stdout + (stderr or "")
    failed = []
    for raw in text.splitlines():
        m = SUMMARY_RE.match(raw)
        if m and m.group(2) not in failed:
            failed.append(m.group(2))
    return TestRun(proc.returncode, text, failed)


def passing_tests(python: Path, repo: Path, spec: RepoSpec) -> tuple[set[str], int]:
    """Node ids that pass in `repo` (the whole suite, -rA), and how many failed."""
    run = run_pytest(python, repo, spec, [], ["-q", "-rA", "--tb=no", "--continue-on-collection-errors"],
                     timeout=600)
    passed = {m.group(1) for m in re.finditer(r"^PASSED (\S+?(?:\[.*?\])?)(?: - .*)?$", run.output, re.MULTILINE)}
    return passed, len(run.failed)


Coverage = dict[tuple[str, int], frozenset[str]]  # (path, line) -> node ids of the tests that run it


def covering_tests(python: Path, repo: Path, spec: RepoSpec) -> Coverage | None:
    """Which tests run each line of `repo`'s checkout: one whole-suite run under coverage.py with a
    context per test (pytest-cov's `--cov-context=test`, in the venv of `python`), read back with
    `coverage json --show-contexts`. Lines run only at import (no test's context) are left out.
    The repository's own coverage settings are replaced by an empty file (a plugin it configures
    may be missing). None where the run or the report fails."""
    with tempfile.TemporaryDirectory(prefix="rca-cov-") as tmp:
        rc, data, report = Path(tmp) / "coveragerc", Path(tmp) / "data", Path(tmp) / "cov.json"
        rc.write_text("[run]\n")
        run = run_pytest(python, repo, spec, [], ["-q", "--tb=no", "--continue-on-collection-errors", "--cov=.",
                                                  f"--cov-config={rc}", "--cov-context=test", "--cov-report="],
                         timeout=600, env_extra={"COVERAGE_FILE": str(data)})
        if run.timed_out or not data.exists():
            return None
        made = subprocess.run([str(python), "-m", "coverage", "json", "--show-contexts", f"--rcfile={rc}",
                               f"--data-file={data}", "-o", str(report)], cwd=repo, capture_output=True, text=True,
                              check=False)
        if made.returncode != 0 or not report.exists():
            return None
        files = json.loads(report.read_text(encoding="utf-8")).get("files", {})
    root = str(repo.resolve()) + os.sep
    result: Coverage = {}
    for name, info in files.items():
        path = name[len(root):] if name.startswith(root) else name
        for line, contexts in info.get("contexts", {}).items():
            tests = frozenset(c.rsplit("|", 1)[0] for c in contexts if c)
            if tests:
                result[(path.replace(os.sep, "/"), int(line))] = tests
    return result


def test_files(repo: Path, spec: RepoSpec) -> list[str]:
    files = out(["ls-files", "*.py"], cwd=repo).split()
    return [f for f in files if re.match(r"(test_.*|.*_test)\.py$", f.rsplit("/", 1)[-1])]


def relevant_tests(repo: Path, spec: RepoSpec, path: str) -> list[str]:
    """Test files named after the mutated module (test_<module>*.py); [] for the whole suite."""
    stem = path.rsplit("/", 1)[-1][:-3]
    if stem == "__init__":
        stem = path.rsplit("/", 2)[-2]
    return [f for f in test_files(repo, spec) if stem in f.rsplit("/", 1)[-1]]


OUTCOME_RE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+?(?:\[.*?\])?)(?: - .*)?$")


def run_existing(python: Path, repo: Path, spec: RepoSpec, nodeids: list[str]) -> tuple[list[str], TestRun | None]:
    """The node ids of `nodeids` that exist in `repo`, and one run of them (None when none exists).

    One pytest run of them all first: where it runs every one of them (each is reported passed,
    failed, errored, xfailed or xpassed), every one exists, and that run is the answer. Only
    otherwise (an id pytest does not find stops the whole run; a test skipped here; a timeout) are
    their files collected first and the ids found run, as `collected` always did: the same ids, the
    same run, with one pytest start instead of two where nothing moved (collecting took about
    as long as running, half of a training-data builder's time)."""
    if not nodeids:
        return [], None
    first = run_pytest(python, repo, spec, nodeids, ["-q", "-rA", "--tb=no"])
    if not first.timed_out and first.rc in (0, 1):
        ran = {m.group(2) for m in map(OUTCOME_RE.match, first.output.splitlines()) if m}
        if set(nodeids) <= ran:
            return list(nodeids), first
    found = [t for t in nodeids if t in collected(python, repo, spec, nodeids)]
    return found, (run_pytest(python, repo, spec, found, ["-q", "-rfE", "--tb=no"]) if found else None)


def collected(python: Path, repo: Path, spec: RepoSpec, nodeids: list[str]) -> set[str]:
    """The node ids that exist in `repo`, among those of the test files of `nodeids`."""
    files = sorted({n.split("::", 1)[0] for n in nodeids if (repo / n.split("::", 1)[0]).is_file()})
    if not files:
        return set()
    # --verbosity=-1, not -q: -q only lowers the verbosity that a repository's own addopts set, and
    # a configured -v (marshmallow's setup.cfg) with -q prints the <Module>/<Function> tree, no ids
    r = run_pytest(python, repo, spec, files, ["--collect-only", "--continue-on-collection-errors", "--verbosity=-1"])
    return {line.strip() for line in r.output.splitlines() if "::" in line and not line.startswith(" ")}

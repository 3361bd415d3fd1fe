"""Runs the test command at one revision and reads its exit code as `git bisect run` does.

0 is good, 125 means the revision cannot be tested (skip), 1..127 is bad, and anything else (128
and up, a death by signal) aborts the bisection, as git's documentation says: such codes mean the
test itself broke (a crash of the shell, Ctrl-C, a kill). A run past the time limit aborts too:
a hang is not evidence either way. The command runs in the shell, in its own session so that a
timeout or an interrupt can stop everything it started.

A run that could not test anything is a skip, never bad, with its reason kept: 126 and 127 (the
shell could not execute or find the command), pytest's 2 to 5 when the command is pytest
(interrupted, often by an import error while collecting; internal error; usage error, such as a
test file or test that does not exist; no tests collected), `python -m unittest`'s 5 (no test ran,
Python 3.12 and later), a package manager's missing script (`npm test` where package.json has
none yet), and a path the command names (or a package manager's package.json) that
does not exist at the revision (then the command is not run at all). Counting these as bad once
confirmed an innocent commit: the one before which the test could not even be found.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time

from rca_lsp.bisect.command import TestCommand
from rca_lsp.bisect.coverage import LineRecorder
from rca_lsp.bisect.imports import ImportWatch, generated_files, import_roots
from rca_lsp.bisect.interrupts import held
from rca_lsp.bisect.search import BAD, GOOD, SKIP
from rca_lsp.bisect.workspace import Checkout, test_environment
from rca_lsp.errors import BisectError
from rca_lsp.types import BisectRun

log = logging.getLogger(__name__)

SKIP_CODE = 125
MAX_OUTPUT_CHARS = 4 << 20  # the failure text kept from a run: its end, where tracebacks are


_MISSING_SCRIPT = re.compile(r"Missing script: |Command \"[^\"]{1,200}\" not found|error: Script not found")  # npm, yarn, bun
_UNITTEST_NO_TESTS = 5  # python -m unittest since 3.12, when it found no test to run
_CANNOT_RUN = {126: "the command is not executable", 127: "command not found"}
_PYTEST_CANNOT_TEST = {
    2: "interrupted: an error while collecting the tests, such as an import error",
    3: "internal error",
    4: "usage error: file or test not found, or a bad option",
    5: "no tests collected",
}


def verdict(code: int, pytest: bool = False, unittest: bool = False) -> tuple[str | None, str]:
    """good, bad or skip for an exit code, and why when it is a skip; None for a code that aborts."""
    if code == 0:
        return GOOD, ""
    if code == SKIP_CODE:
        return SKIP, "exit 125 (the command marks this revision as untestable)"
    if code in _CANNOT_RUN:
        return SKIP, f"exit {code} ({_CANNOT_RUN[code]})"
    if unittest and code == _UNITTEST_NO_TESTS:
        return SKIP, f"unittest exit {code} (no tests ran)"
    if pytest and code in _PYTEST_CANNOT_TEST:
        return SKIP, f"pytest exit {code} ({_PYTEST_CANNOT_TEST[code]})"
    if 1 <= code <= 127:
        return BAD, ""
    return None, ""


class Tester:
    """The test command at revisions of one checkout; keeps every run, in order. A run that loaded the
    repository's code from the user's work tree is run again with the checkout's first (`imports`)."""

    def __init__(self, checkout: Checkout, command: TestCommand, timeout: float | None = None) -> None:
        if not command.text.strip():
            raise BisectError("the test command is empty", hint='pass --test "pytest tests/test_x.py -x"')
        self.checkout = checkout
        self.command = command
        self.timeout = timeout
        self.runs: list[BisectRun] = []
        self.watch = ImportWatch(str(checkout.root))
        self.roots: tuple[str, ...] | None = None  # the checkout's folders put first, once a run needed them
        self.notes: list[str] = []
        self._tracked: frozenset[str] | None = None  # the work tree's tracked files, read once if needed

    def __enter__(self) -> Tester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.watch.close()

    def run(self, commit: str, recorder: LineRecorder | None = None) -> tuple[BisectRun, str]:
        """The run's record and its output (stdout and stderr together); with a `recorder`, the
        lines the run executed are recorded too."""
        where = self.checkout.goto(commit)
        missing = next((p for p in self.command.paths + self.command.requires if not os.path.lexists(where / p)), None)
        if missing is not None:
            return self._record(BisectRun(commit, SKIP, None, 0.0, f"{missing} does not exist at this revision")), ""
        run, output, (leaked, untracked) = self._attempt(commit, str(where), recorder)
        if leaked and self.roots is None:
            self._use_checkout(leaked, untracked)
            run, output, (leaked, _) = self._attempt(commit, str(where), recorder)
        if leaked:
            raise BisectError(
                f"the test command runs the work tree's code, not the checkout's: at {commit[:12]} it loaded "
                f"{leaked[0]}{f' and {len(leaked) - 1} more file(s)' if len(leaked) > 1 else ''} from "
                f"{self.checkout.root}, so every revision would test the same code",
                hint="make the command import the current folder's code (an editable install, pip install -e ., "
                     "points at the work tree): put the package's folder first on PYTHONPATH in the command, "
                     "`PYTHONPATH=src:$PYTHONPATH pytest ...`")
        if run.exit_code is not None and verdict(run.exit_code, self.command.pytest, self.command.unittest)[0] is None:
            raise BisectError(
                f"the test command exited with {run.exit_code} at {commit[:12]}: codes of 128 and above (and deaths "
                f"by signal) abort a bisection, as with git bisect run",
                hint="exit 125 for a revision that cannot be tested, 1 to 127 for a bad one")
        return self._record(run), output

    def _attempt(self, commit: str, cwd: str,
                 recorder: LineRecorder | None) -> tuple[BisectRun, str, tuple[list[str], list[str]]]:
        """One run of the command, and the files it loaded from the work tree: tracked, untracked."""
        started = time.perf_counter()
        roots = tuple(os.path.join(cwd, r) if r != "." else cwd for r in self.roots or ())
        env = self.watch.env(test_environment(cwd), cwd, roots)
        code, output = _execute(self.command.text, cwd, self.timeout, commit, recorder.env(env, cwd) if recorder else env)
        seconds = time.perf_counter() - started
        result, reason = verdict(code, self.command.pytest, self.command.unittest)
        if result == BAD and self.command.requires and _MISSING_SCRIPT.search(output[-4000:]):
            result, reason = SKIP, "the package manager found no such script at this revision"
        loaded = self.watch.take()
        if loaded and self._tracked is None:
            self._tracked = frozenset(self.checkout.repo.tracked_files())
        tracked = self._tracked or frozenset()
        split = ([p for p in loaded if p in tracked], [p for p in loaded if p not in tracked])
        return BisectRun(commit, result or BAD, code, round(seconds, 3), reason), output, split

    def _use_checkout(self, leaked: list[str], untracked: list[str]) -> None:
        """Put the folders of the packages `leaked` came from first, in the checkout, and lay into it the
        untracked files the run loaded beside them (a generated `_version.py`)."""
        worktree = str(self.checkout.root)
        self.roots = import_roots(worktree, leaked)
        generated = generated_files(worktree, untracked, leaked)
        self.checkout.complete(generated)
        folders = ", ".join(self.roots)
        self.notes.append(
            f"the test command loaded the repository's code from the work tree ({leaked[0]}; an editable install?): "
            f"each run puts the checkout's {folders} first on PYTHONPATH"
            + (f" and has the work tree's {', '.join(sorted(generated))}" if generated else ""))
        log.info("%s", self.notes[-1])

    def _record(self, run: BisectRun) -> BisectRun:
        self.runs.append(run)
        log.info("run %d: %s %s (exit %s, %.1f s) %s", len(self.runs), run.commit[:12], run.result, run.exit_code,
                 run.seconds, run.reason)
        return run


def _execute(command: str, cwd: str, timeout: float | None, commit: str, env: dict[str, str]) -> tuple[int, str]:
    proc = None
    try:
        with held():  # an interrupt between the process's start and `proc` would orphan the test
            proc = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if proc is not None:  # always: only communicate() times out
            _stop(proc)
        raise BisectError(f"the test command ran past the {timeout:g} s time limit at {commit[:12]}",
                          hint="raise --timeout, or make the test exit 125 where it cannot run") from None
    except BaseException:
        if proc is not None:
            _stop(proc)
        raise
    _stop_group(proc.pid)  # whatever the test left running in the background would hold the checkout
    text = out.decode("utf-8", errors="replace")
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return code, text[-MAX_OUTPUT_CHARS:]


def _stop(proc: subprocess.Popen) -> None:
    _stop_group(proc.pid)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _stop_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

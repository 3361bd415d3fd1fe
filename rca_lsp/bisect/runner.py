"""Runs the test command at one revision and reads its exit code as `git bisect run` does.

0 is good, 125 means the revision cannot be tested (skip), 1..127 is bad, and anything else (128
and up, a death by signal) aborts the bisection, as git's documentation says: such codes mean the
test itself broke (a crash of the shell, Ctrl-C, a kill). A run past the time limit aborts too:
a hang is not evidence either way. The command runs in the shell, in its own session so that a
timeout or an interrupt can stop everything it started.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

from rca_lsp.bisect.coverage import LineRecorder
from rca_lsp.bisect.interrupts import held
from rca_lsp.bisect.search import BAD, GOOD, SKIP
from rca_lsp.bisect.workspace import Checkout, test_environment
from rca_lsp.errors import BisectError
from rca_lsp.types import BisectRun

log = logging.getLogger(__name__)

SKIP_CODE = 125
MAX_OUTPUT_CHARS = 4 << 20  # the failure text kept from a run: its end, where tracebacks are


def verdict(code: int) -> str | None:
    """good, bad or skip for an exit code; None for one that aborts the bisection."""
    if code == 0:
        return GOOD
    if code == SKIP_CODE:
        return SKIP
    if 1 <= code <= 127:
        return BAD
    return None


class Tester:
    """The test command at revisions of one checkout; keeps every run, in order."""

    def __init__(self, checkout: Checkout, command: str, timeout: float | None = None) -> None:
        if not command.strip():
            raise BisectError("the test command is empty", hint='pass --test "pytest tests/test_x.py -x"')
        self.checkout = checkout
        self.command = command
        self.timeout = timeout
        self.runs: list[BisectRun] = []

    def run(self, commit: str, recorder: LineRecorder | None = None) -> tuple[BisectRun, str]:
        """The run's record and its output (stdout and stderr together); with a `recorder`, the
        lines the run executed are recorded too."""
        cwd = str(self.checkout.goto(commit))
        started = time.perf_counter()
        env = test_environment(cwd)
        code, output = _execute(self.command, cwd, self.timeout, commit, recorder.env(env, cwd) if recorder else env)
        seconds = time.perf_counter() - started
        result = verdict(code)
        if result is None:
            raise BisectError(
                f"the test command exited with {code} at {commit[:12]}: codes of 128 and above (and deaths "
                f"by signal) abort a bisection, as with git bisect run",
                hint="exit 125 for a revision that cannot be tested, 1 to 127 for a bad one")
        record = BisectRun(commit, result, code, round(seconds, 3))
        self.runs.append(record)
        log.info("run %d: %s %s (exit %d, %.1f s)", len(self.runs), commit[:12], result, code, seconds)
        return record, output


def _execute(command: str, cwd: str, timeout: float | None, commit: str, env: dict[str, str]) -> tuple[int, str]:
    proc = None
    try:
        with held():  # an interrupt between the process's start and `proc` would orphan the test
            proc = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
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

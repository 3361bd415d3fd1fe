"""Failure output as it is pasted from CI logs and terminals (second round), each made by really running
the tool that prints it on a small repository whose one commit broke the mean of its measurements
(in Python, Java and JavaScript alike), then ranked with `rca suspects`:

- Lines cut at a terminal's width (80 columns, or `fold`) were joined again only for Python frames:
  a JVM frame (`\\tat pkg.Class.method(File.java:7)`) or a V8 frame (`    at fn (/path/file.js:2:29)`)
  cut in two was lost, and the trace ended there (nothing at all was found in the Java one); pytest's
  `E   ...` lines lost their message's tail, and a location (`src/.../statistics.py:7: in mean`) cut in
  two lost its frame.
- pytest-timeout's thread dump (`--timeout-method=thread`: `+++ Timeout +++`, then a `~~~ Stack of
  <thread> (id) ~~~` section per thread) read as tracebacks cut short, one per thread, with no
  exception and no test; it now reads as the test's failure: the main thread's stack, `Failed:
  Timeout (>1.0s) from pytest-timeout.` as the signal method says it, and the test.
- A GitHub Actions annotation (`::error file=pkg/mod.py,line=10,col=5::Message`, from ruff's
  `--output-format=github` or pytest-github-actions-annotate-failures) gave nothing; it is now a
  one-frame failure, its properties in any order and unescaped (`title=`, `endLine=`, `%0A`, `%2C`).
- Fly.io's `fly logs` prefix (`<time> app[<machine>] ams [info]`) before each line: nothing was found.
- A Python 3.11 exception group nested in another: a separator of the outer group (`+---- 2 ----`,
  two columns further out) was read as one of the inner group's, so the outer group's later
  sub-exceptions were filed under the inner group; and a group never raised (printed without a
  traceback) inside another had its sub-exceptions flattened into the outer group. Each leaf now
  stays, with its frames, under its own group, whose own frames stay on it, by the column of the rails.

Tools not installed here (pytest-timeout, pytest-github-actions-annotate-failures, ruff, a JDK, Node)
are run where they are; their output captured byte for byte (Python 3.11.7, pytest 9.2, pytest-timeout
2.4.0, pytest-github-actions-annotate-failures 0.4.2, ruff 0.17.6, OpenJDK 17, Node 20.20) checks the
fixes everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve
from rca_lsp.traces.github import read
from tests.test_edges_logs_s35 import suspects, where  # the same helpers, one definition

ROOT = Path(__file__).resolve().parents[1]

PKG = "src/calc_service_backend/reporting"
STATS = f"{PKG}/aggregations/statistics.py"
STATS_OK = '''\
import time


def compute_arithmetic_mean(values):
    total = sum(values)
    return total / len(values) if values else 0


def drain_measurements(queue):
    drained = []
    while queue:
        drained.append(queue.pop(0))
    return drained
'''
STATS_BAD = '''\
import time


def compute_arithmetic_mean(values):
    total = sum(values)
    if not values:
        raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
    return total / len(values)


def drain_measurements(queue):
    drained = []
    while queue or not drained:
        if queue:
            drained.append(queue.pop(0))
        else:
            time.sleep(0.05)
    return drained
'''
SUMMARY = f"{PKG}/summary.py"
SUMMARY_PY = '''\
from calc_service_backend.reporting.aggregations.statistics import compute_arithmetic_mean


def summarize_measurements(values):
    return {"mean": compute_arithmetic_mean(values), "n": len(values)}
'''
CHECKS = f"{PKG}/checks.py"
CHECKS_PY = '''\
from calc_service_backend.reporting.summary import summarize_measurements


def check_feed(batches):
    errors = []
    for values in batches:
        try:
            summarize_measurements(values)
        except ValueError as exc:
            errors.append(exc)
    if errors:
        raise ExceptionGroup("batch checks failed", errors)


def check_feeds(feeds, known):
    errors = []
    for name, batches in feeds.items():
        try:
            if name not in known:
                raise KeyError(name)
            check_feed(batches)
        except (KeyError, ExceptionGroup) as exc:
            errors.append(exc)
    if errors:
        raise ExceptionGroup("feed checks failed", errors)


def main():
    check_feeds({"north": [[], [3], []], "south": [[1]]}, known={"north"})
'''
TEST_SUMMARY = '''\
from calc_service_backend.reporting.summary import summarize_measurements


def test_summarize_measurements():
    assert summarize_measurements([2, 4]) == {"mean": 3, "n": 2}


def test_summarize_empty():
    assert summarize_measurements([]) == {"mean": 0, "n": 0}
'''
TEST_DRAIN = '''\
import threading
import time

from calc_service_backend.reporting.aggregations.statistics import drain_measurements


def _poll(stop):
    while not stop.is_set():
        time.sleep(0.01)


def test_drain_empty():
    stop = threading.Event()
    threading.Thread(target=_poll, args=(stop,), name="feed-poller", daemon=True).start()
    assert drain_measurements([]) == []
'''
JAVA = "src/main/java/com/example/calcservice/reporting/StatisticsCalculator.java"
JAVA_SRC = '''\
package com.example.calcservice.reporting;

public class StatisticsCalculator {
    public static int computeArithmeticMean(int[] values) {
        int total = 0;
        for (int v : values) total += v;
        return {body};
    }

    public static java.util.Map<String, Integer> summarizeMeasurements(int[] values) {
        return java.util.Map.of("mean", computeArithmeticMean(values), "n", values.length);
    }

    public static void main(String[] args) {
        System.out.println(summarizeMeasurements(new int[0]));
    }
}
'''
JS = "src/reporting/statistics.js"
JS_SRC = '''\
function computeArithmeticMean(values) {
  if (!values.length) {guard};
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function summarizeMeasurements(values) {
  return { mean: computeArithmeticMean(values), n: values.length };
}

module.exports = { computeArithmeticMean, summarizeMeasurements };
'''
JS_MAIN = "src/reporting/main.js"
JS_MAIN_SRC = 'const { summarizeMeasurements } = require("./statistics");\nconsole.log(summarizeMeasurements([]));\n'
FILES = ["pytest.ini", "src/calc_service_backend/__init__.py", f"{PKG}/__init__.py", f"{PKG}/aggregations/__init__.py",
         STATS, SUMMARY, CHECKS, "tests/test_summary.py", "tests/test_drain.py", JAVA, JS, JS_MAIN, "README.md",
         "docs/steps.md", f"{PKG}/fmt.py"]
RAISE = (STATS, 7, "compute_arithmetic_mean")
CALLER = (SUMMARY, 5, "summarize_measurements")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, str]:
    """The repository (at a long path, as a CI runner's is) and the commit that broke the mean in all
    three languages (Python's now raises, and its drain waits for ever on an empty queue)."""
    root = tmp_path_factory.mktemp("s36logs") / "home/runner/work/calc-service-backend/calc-service-backend"
    repo = GitRepoBuilder(root)
    repo.write(".gitignore", "out/\n")
    repo.commit("Add the mean", {
        "pytest.ini": "[pytest]\n", "src/calc_service_backend/__init__.py": "", f"{PKG}/__init__.py": "",
        f"{PKG}/aggregations/__init__.py": "", STATS: STATS_OK, "README.md": "calc\n",
        JAVA: JAVA_SRC.replace("{body}", "values.length == 0 ? 0 : total / values.length"),
        JS: JS_SRC.replace("{guard}", "return 0"), JS_MAIN: JS_MAIN_SRC})
    repo.commit("Add the summary", {SUMMARY: SUMMARY_PY, CHECKS: CHECKS_PY})
    repo.commit("Test the summary", {"tests/test_summary.py": TEST_SUMMARY, "tests/test_drain.py": TEST_DRAIN})
    repo.fast_commits([(f"Document step {k}", {"docs/steps.md": f"{k} steps\n"}) for k in range(12)])
    culprit = repo.commit("Validate measurements before averaging them", {
        STATS: STATS_BAD, JAVA: JAVA_SRC.replace("{body}", "total / values.length"),
        JS: JS_SRC.replace("{guard}", 'throw new RangeError("cannot average an empty list of measurements")')})
    repo.commit("Add fmt", {f"{PKG}/fmt.py": 'def fmt(x):\n    return f"{x:.2f}"\n', "README.md": "calc: stats\n"})
    return root, culprit


def run(root: Path, *args: str, status: int = 1, env: dict | None = None) -> str:
    """What `python args...` prints in `root` (exiting with `status`), with `src` and this environment's
    packages importable."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "GITHUB_ACTIONS")}
    clean["PYTHONPATH"] = os.pathsep.join([str(root / "src")] + [p for p in sys.path if "-packages" in p])
    clean.update(COLUMNS="80", PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    proc = subprocess.run([sys.executable, *args], cwd=root, env=clean, capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here: the captured output below checks the fix")


def tool(name: str) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"no {name} here: the captured output below checks the fix")


def fold(text: str, width: int) -> str:
    if shutil.which("fold") is None:
        pytest.skip("no fold here")
    return subprocess.run(["fold", "-w", str(width)], input=text, capture_output=True, text=True, check=True).stdout


def view(text: str) -> list[tuple]:
    return [(t.exception, t.message, t.test and t.test.name, where(t), [(c.exception, where(c)) for c in t.causes])
            for t in resolve(parse(text), FILES)]


def assert_culprit_first(project: tuple[Path, str], text: str, path: str = STATS, line: int = 7) -> None:
    root, culprit = project
    doc = suspects(root, text)
    top = doc["suspects"][0]
    assert top["commit"] == culprit, [s["summary"] for s in doc["suspects"]]
    assert (path, line) in {(e.get("path"), e.get("line")) for e in top["evidence"] if e["kind"] == "frame-line"}


def assert_ranked_alike(project: tuple[Path, str], text: str, whole: str | None, path: str, line: int) -> None:
    """`text` ranks the commits as `whole` (the same output, not cut) does, the culprit in the first two
    with the frame on its line: where the ranker puts the commit that wrote most of the frames first,
    that is its choice, not the reading's."""
    root, culprit = project
    doc = suspects(root, text)
    if whole is not None:
        ranked = [(s["commit"], s["score"]) for s in doc["suspects"]]
        assert ranked == [(s["commit"], s["score"]) for s in suspects(root, whole)["suspects"]]
    [mine] = [s for s in doc["suspects"][:2] if s["commit"] == culprit]
    assert (path, line) in {(e.get("path"), e.get("line")) for e in mine["evidence"] if e["kind"] == "frame-line"}


# `java -cp out com.example.calcservice.reporting.StatisticsCalculator` (OpenJDK 17.0.19) in the project.
JAVA_OUT = """\
Exception in thread "main" java.lang.ArithmeticException: / by zero
\tat com.example.calcservice.reporting.StatisticsCalculator.computeArithmeticMean(StatisticsCalculator.java:7)
\tat com.example.calcservice.reporting.StatisticsCalculator.summarizeMeasurements(StatisticsCalculator.java:11)
\tat com.example.calcservice.reporting.StatisticsCalculator.main(StatisticsCalculator.java:15)
"""


# `node src/reporting/main.js` (Node 20.20.2) in the project.
NODE_OUT = """\
/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/reporting/statistics.js:2
  if (!values.length) throw new RangeError("cannot average an empty list of measurements");
                      ^

RangeError: cannot average an empty list of measurements
    at computeArithmeticMean (/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/reporting/statistics.js:2:29)
    at summarizeMeasurements (/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/reporting/statistics.js:7:18)
    at Object.<anonymous> (/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/reporting/main.js:2:13)
    at Module._compile (node:internal/modules/cjs/loader:1521:14)
    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)
    at Module.load (node:internal/modules/cjs/loader:1266:32)
    at Module._load (node:internal/modules/cjs/loader:1091:12)
    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)
    at node:internal/main/run_main_module:28:49

Node.js v20.20.2
"""


# `pytest --timeout=1 --timeout-method=thread tests/test_drain.py` (pytest 9.2, pytest-timeout 2.4.0) in the project.
TIMEOUT_OUT = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: /work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend
configfile: pytest.ini
plugins: github-actions-annotate-failures-0.4.2, timeout-2.4.0
timeout: 1.0s
timeout method: thread
timeout func_only: False
collected 1 item

tests/test_drain.py +++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
~~~~~~~~~~~~~~~~~~~~ Stack of feed-poller (140508239914688) ~~~~~~~~~~~~~~~~~~~~
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/threading.py", line 1002, in _bootstrap
    self._bootstrap_inner()
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/threading.py", line 1045, in _bootstrap_inner
    self.run()
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/threading.py", line 982, in run
    self._target(*self._args, **self._kwargs)
  File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/tests/test_drain.py", line 9, in _poll
    time.sleep(0.01)
~~~~~~~~~~~~~~~~~~~~ Stack of MainThread (140508281953152) ~~~~~~~~~~~~~~~~~~~~~
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pytest/__main__.py", line 9, in <module>
    raise SystemExit(_console_main())
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/config/__init__.py", line 286, in _console_main
    code = _main(prog=_get_prog_name(sys.argv))
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/config/__init__.py", line 262, in _main
    ret: ExitCode | int = config.hook.pytest_cmdline_main(config=config)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/main.py", line 380, in pytest_cmdline_main
    return wrap_session(config, _main)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/main.py", line 333, in wrap_session
    session.exitstatus = doit(config, session) or 0
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/main.py", line 387, in _main
    config.hook.pytest_runtestloop(session=session)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/main.py", line 411, in pytest_runtestloop
    item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 118, in pytest_runtest_protocol
    runtestprotocol(item, nextitem=nextitem)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 139, in runtestprotocol
    reports.append(call_and_report(item, "call", log))
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 249, in call_and_report
    call = CallInfo.from_call(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 361, in from_call
    result: TResult | None = func()
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 250, in <lambda>
    lambda: runtest_hook(item=item, **kwds),
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/runner.py", line 184, in pytest_runtest_call
    item.runtest()
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/python.py", line 1798, in runtest
    self.ihook.pytest_pyfunc_call(pyfuncitem=self)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
  File "/work/s36/logs/venv/lib/python3.11/site-packages/_pytest/python.py", line 187, in pytest_pyfunc_call
    result = testfunction(**testargs)
  File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/tests/test_drain.py", line 15, in test_drain_empty
    assert drain_measurements([]) == []
  File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py", line 17, in drain_measurements
    time.sleep(0.05)
+++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
"""


# `ruff check --select EM101 --output-format=github src` (ruff 0.17.6) in the project.
RUFF_OUT = """\
::error title=ruff (EM101),file=/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py,line=7,col=26,endLine=7,endColumn=105::src/calc_service_backend/reporting/aggregations/statistics.py:7:26: EM101 Exception must not use a string literal, assign to variable first%0A  help: Assign to variable; remove string literal
::error title=ruff (EM101),file=/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py,line=12,col=30,endLine=12,endColumn=51::src/calc_service_backend/reporting/checks.py:12:30: EM101 Exception must not use a string literal, assign to variable first%0A  help: Assign to variable; remove string literal
::error title=ruff (EM101),file=/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py,line=25,col=30,endLine=25,endColumn=50::src/calc_service_backend/reporting/checks.py:25:30: EM101 Exception must not use a string literal, assign to variable first%0A  help: Assign to variable; remove string literal
"""


# `pytest` with GITHUB_ACTIONS=true (pytest 9.2, pytest-github-actions-annotate-failures 0.4.2) in the project.
GHA_OUT = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: /work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend
configfile: pytest.ini
plugins: github-actions-annotate-failures-0.4.2
collected 2 items

tests/test_summary.py .::error file=tests/test_summary.py,line=9::test_summarize_empty%0A%0AValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one
F                                                 [100%]

=================================== FAILURES ===================================
_____________________________ test_summarize_empty _____________________________

    def test_summarize_empty():
>       assert summarize_measurements([]) == {"mean": 0, "n": 0}
               ^^^^^^^^^^^^^^^^^^^^^^^^^^

tests/test_summary.py:9: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
src/calc_service_backend/reporting/summary.py:5: in summarize_measurements
    return {"mean": compute_arithmetic_mean(values), "n": len(values)}
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

values = []

    def compute_arithmetic_mean(values):
        total = sum(values)
        if not values:
>           raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
E           ValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one

src/calc_service_backend/reporting/aggregations/statistics.py:7: ValueError
=========================== short test summary info ============================
FAILED tests/test_summary.py::test_summarize_empty - ValueError: cannot compu...
========================= 1 failed, 1 passed in 0.03s ==========================
"""


# `python -c 'from calc_service_backend.reporting.checks import main; main()'` (Python 3.11.7) in the project.
GROUP_OUT = """\
  + Exception Group Traceback (most recent call last):
  |   File "<string>", line 1, in <module>
  |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 29, in main
  |     check_feeds({"north": [[], [3], []], "south": [[1]]}, known={"north"})
  |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 25, in check_feeds
  |     raise ExceptionGroup("feed checks failed", errors)
  | ExceptionGroup: feed checks failed (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Exception Group Traceback (most recent call last):
    |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 21, in check_feeds
    |     check_feed(batches)
    |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 12, in check_feed
    |     raise ExceptionGroup("batch checks failed", errors)
    | ExceptionGroup: batch checks failed (2 sub-exceptions)
    +-+---------------- 1 ----------------
      | Traceback (most recent call last):
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 8, in check_feed
      |     summarize_measurements(values)
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/summary.py", line 5, in summarize_measurements
      |     return {"mean": compute_arithmetic_mean(values), "n": len(values)}
      |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py", line 7, in compute_arithmetic_mean
      |     raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
      | ValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one
      +---------------- 2 ----------------
      | Traceback (most recent call last):
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 8, in check_feed
      |     summarize_measurements(values)
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/summary.py", line 5, in summarize_measurements
      |     return {"mean": compute_arithmetic_mean(values), "n": len(values)}
      |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py", line 7, in compute_arithmetic_mean
      |     raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
      | ValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one
      +------------------------------------
    +---------------- 2 ----------------
    | Traceback (most recent call last):
    |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/checks.py", line 20, in check_feeds
    |     raise KeyError(name)
    | KeyError: 'south'
    +------------------------------------
"""


def emulate_fold(text: str, width: int) -> str:
    """What `fold -w width` prints for ASCII text: a line is cut where its next character would pass the
    width, a tab taking the columns up to the next multiple of eight."""
    out = []
    for line in text.split("\n"):
        piece, col = "", 0
        for ch in line:
            step = 8 - col % 8 if ch == "\t" else 1
            if col + step > width:
                out.append(piece)
                piece, col = "", 0
                step = 8 if ch == "\t" else 1
            piece += ch
            col += step
        out.append(piece)
    return "\n".join(out)


def tree(trace) -> tuple:
    """A trace with every cause and sub-exception, as frames resolved to the repository."""
    return trace.exception, trace.message, where(trace), tuple(tree(c) for c in trace.causes)


# --- 1. lines cut at a terminal's width ---------------------------------------------------------------

@pytest.mark.parametrize("tb", ["long", "short"])
def test_wrapped_pytest_e_lines_and_locations(project, tb):
    """`E   ValueError: <a message longer than the width>` lost its tail, and with --tb=short the location
    `src/.../statistics.py:7: in compute_arithmetic_mean` its function's name (`compute_arit`)."""
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", f"--tb={tb}", "tests/test_summary.py")
    folded = fold(out, 80)
    assert folded == emulate_fold(out, 80)
    assert "\nE   " in out and len(folded.splitlines()) > len(out.splitlines())
    [trace] = resolve(parse(folded), FILES)
    assert trace.message == "cannot compute the arithmetic mean of an empty list of measurements; pass one"
    assert where(trace)[:2] == [RAISE, CALLER]
    assert view(folded) == view(out)
    assert_culprit_first(project, folded)


def _check_java(text: str) -> None:
    [trace] = parse(text)
    # a message cut at the width keeps its line break: it cannot be told from a message of two lines
    assert (trace.exception, " ".join(trace.message.split())) == ("java.lang.ArithmeticException", "/ by zero")
    assert [(f.file, f.line, f.function) for f in trace.frames] == [
        ("StatisticsCalculator.java", 7, "computeArithmeticMean"),
        ("StatisticsCalculator.java", 11, "summarizeMeasurements"), ("StatisticsCalculator.java", 15, "main")]


@pytest.mark.parametrize("width", [60, 80, 100])
def test_wrapped_java_frames(project, width):
    """Each `\\tat ...(StatisticsCalculator.java:7)` cut in two: nothing at all was found."""
    tool("javac")
    root = project[0]
    subprocess.run(["javac", "-d", str(root / "out"), str(root / JAVA)], check=True, capture_output=True, timeout=120)
    proc = subprocess.run(["java", "-cp", str(root / "out"), "com.example.calcservice.reporting.StatisticsCalculator"],
                          capture_output=True, text=True, timeout=120)
    folded = fold(proc.stderr, width)
    assert len(folded.splitlines()) > len(proc.stderr.splitlines())
    _check_java(proc.stderr)
    _check_java(folded)
    assert_ranked_alike(project, folded, proc.stderr, JAVA, 7)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_captured_wrapped_java_frames(width):
    folded = emulate_fold(JAVA_OUT, width)
    assert len(folded.splitlines()) > len(JAVA_OUT.splitlines())
    _check_java(folded)


def _check_node(text: str) -> None:
    [trace] = resolve(parse(text), FILES)
    message = " ".join(trace.message.split())
    assert (trace.exception, message) == ("RangeError", "cannot average an empty list of measurements")
    assert where(trace) == [(JS, 2, "computeArithmeticMean"), (JS, 7, "summarizeMeasurements"),
                            (JS_MAIN, 2, "<anonymous>")]
    assert len(trace.frames) == 9


@pytest.mark.parametrize("width", [60, 80, 100])
def test_wrapped_node_frames(project, width):
    """`    at computeArithmeticMean (/home/runner/.../statistics.js:2:29)` cut in two: the frames with
    the repository's paths ran into the message and were lost."""
    tool("node")
    proc = subprocess.run(["node", JS_MAIN], cwd=project[0], capture_output=True, text=True, timeout=120)
    folded = fold(proc.stderr, width)
    assert len(folded.splitlines()) > len(proc.stderr.splitlines())
    _check_node(proc.stderr)
    _check_node(folded)
    assert_culprit_first(project, folded, JS, 2)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_captured_wrapped_node_frames(width):
    _check_node(emulate_fold(NODE_OUT, width))


def test_wrapped_exception_group_keeps_its_rails(project):
    """Inside an exception group, the source line under a frame and the exception line cut at the width
    go on at the first column, without the group's rail: the leaves lost their exception and split off."""
    for text in (run(project[0], "-c", "from calc_service_backend.reporting.checks import main; main()"), GROUP_OUT):
        folded = emulate_fold(text, 80)
        assert [tree(t) for t in resolve(parse(folded), FILES)] == [tree(t) for t in resolve(parse(text), FILES)]


def test_wrapping_joins_only_cut_lines():
    """A line that happens to fill the width, followed by what its format prints after it, stays."""
    java_frame = "\tat com.example.calcservice.reporting.StatisticsCalculator.main(StatisticsCalculator.java:15)"
    width = len(java_frame.expandtabs())
    text = f'Exception in thread "main" java.lang.IllegalStateException: x\n{java_frame}\nCaused by: ' \
           f'java.lang.ArithmeticException: / by zero\n\tat a.B.c(B.java:1)\n{"x" * width}\n'
    [trace] = parse(text)
    assert [f.line for f in trace.frames] == [15] and trace.causes[0].frames[0].line == 1
    e_line = "E   ValueError: " + "v" * 64
    pytest_text = f"{e_line}\n\nsrc/calc/ops.py:3: ValueError\n{'_' * len(e_line)}\n"
    [trace] = parse(pytest_text)
    assert (trace.message, trace.frames[0].line) == ("v" * 64, 3)
    node = "    at computeArithmeticMean (/srv/app/src/reporting/statistics.js:2:29)"
    [trace] = parse(f"RangeError: r\n{node}\nNode.js v20\n{'y' * len(node)}\n")
    assert [f.line for f in trace.frames] == [2] and trace.message == "r"


# --- 2. pytest-timeout's thread dump -----------------------------------------------------------------

def _check_timeout(text: str, verbose: bool = False) -> None:
    [trace] = resolve(parse(text), FILES)
    assert (trace.exception, trace.message) == ("Failed", "Timeout (>1.0s) from pytest-timeout.")
    assert where(trace)[:2] == [(STATS, 17, "drain_measurements"), ("tests/test_drain.py", 15, "test_drain_empty")]
    assert trace.frames[-1].function == "_run_module_as_main"  # the main thread's, not the poller's
    assert (trace.test.path, trace.test.name) == ("tests/test_drain.py", "test_drain_empty")
    assert not trace.truncated


@pytest.mark.parametrize("verbose", [False, True])
def test_pytest_timeout_thread_dump(project, verbose):
    """Read as Python, a traceback cut short for each thread (the poller's first), with no exception."""
    needs("pytest_timeout")
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", *(["-v"] if verbose else []), "--timeout=1",
              "--timeout-method=thread", "tests/test_drain.py")
    assert "Stack of feed-poller" in out and "Stack of MainThread" in out
    _check_timeout(out)
    assert_culprit_first(project, out, STATS, 17)


def test_captured_pytest_timeout_thread_dump(project):
    _check_timeout(TIMEOUT_OUT)
    _check_timeout(TIMEOUT_OUT.replace("tests/test_drain.py +", "tests/test_drain.py::test_drain_empty +"))
    assert_culprit_first(project, TIMEOUT_OUT, STATS, 17)


def test_pytest_timeout_dump_cut_short_or_odd():
    """Without the session header, without a main thread or its closing rule, the dump still reads."""
    dump = TIMEOUT_OUT[TIMEOUT_OUT.index("tests/test_drain.py +"):]
    [trace] = parse(dump)
    assert trace.message == "Timeout from pytest-timeout." and trace.test.name == "test_drain_empty"
    cut = dump[:dump.rindex("+" * 35)]
    [trace] = parse(cut)
    assert trace.frames[0].function == "drain_measurements"
    no_main = cut.replace("Stack of MainThread", "Stack of worker")
    [trace] = parse(no_main.split("Stack of worker")[0] + "Stack of worker (1) ~~~~\n")
    assert trace.frames[0].function == "_poll"
    [trace] = parse("tests/a.py::b:: +++++ Timeout +++++\n~~~ Stack of MainThread (1) ~~~\n+++++ Timeout +++++\n")
    assert (trace.frames, trace.test) == ((), None)


# --- 3. GitHub Actions' annotations ------------------------------------------------------------------

def _check_ruff(text: str) -> None:
    traces = resolve(parse(text), FILES)
    assert [(t.format, t.exception, where(t)) for t in traces] == [
        ("github", "ruff (EM101)", [(STATS, 7, None)]), ("github", "ruff (EM101)", [(CHECKS, 12, None)]),
        ("github", "ruff (EM101)", [(CHECKS, 25, None)])]
    assert traces[0].message == (f"{STATS}:7:26: EM101 Exception must not use a string literal, assign to variable "
                                 "first\n  help: Assign to variable; remove string literal")


def test_ruff_github_annotations(project):
    """`ruff check --output-format=github`: one `::error title=...,file=...,line=...::` line per error."""
    if importlib.util.find_spec("ruff") is None and shutil.which("ruff") is None:
        pytest.skip("ruff is not installed here: the captured output below checks the fix")
    cmd = ["-m", "ruff"] if importlib.util.find_spec("ruff") else []
    args = ["check", "--no-cache", "--isolated", "--select", "EM101", "--output-format=github", "src"]
    if cmd:
        out = run(project[0], *cmd, *args)
    else:
        out = subprocess.run(["ruff", *args], cwd=project[0], capture_output=True, text=True, timeout=120).stdout
    _check_ruff(out)
    assert_culprit_first(project, out.splitlines()[0] + "\n")


def test_captured_ruff_github_annotations(project):
    _check_ruff(RUFF_OUT)
    assert_culprit_first(project, RUFF_OUT.splitlines()[0] + "\n")


def _check_plugin(text: str, alone: bool) -> None:
    traces = resolve(parse(text), FILES)
    [trace] = traces
    assert (trace.exception, trace.message) == (
        "ValueError", "cannot compute the arithmetic mean of an empty list of measurements; pass one")
    assert (trace.test.path, trace.test.name) == ("tests/test_summary.py", "test_summarize_empty")
    assert trace.format == ("github" if alone else "pytest")  # beside pytest's own report, not a second failure


def test_pytest_plugin_annotation(project):
    """pytest-github-actions-annotate-failures writes its command on stderr, after pytest's progress dots."""
    needs("pytest_github_actions_annotate_failures")
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "tests/test_summary.py",
              env={"GITHUB_ACTIONS": "true"})
    _check_plugin(out, alone=False)
    line = next(line for line in out.splitlines() if "::error " in line)
    _check_plugin(line, alone=True)


def test_captured_pytest_plugin_annotation():
    _check_plugin(GHA_OUT, alone=False)
    line = next(line for line in GHA_OUT.splitlines() if "::error " in line)
    assert line.startswith("tests/test_summary.py .::error ")
    _check_plugin(line, alone=True)
    _check_plugin(line[line.index("::"):], alone=True)
    _check_plugin("2026-12-07T19:34:47.1234567Z " + line[line.index("::"):], alone=True)  # GitHub's raw log


def test_annotation_properties_and_escapes():
    """Properties in any order (`title=`, `endLine=`), values escaped as GitHub's toolkit escapes them."""
    trace = read("::error endLine=12,title=Bad%2C bad%3A value,col=5,line=10,file=pkg/mod.py::first%0Asecond 100%25")
    assert trace is not None
    assert (trace.exception, trace.message) == ("Bad, bad: value", "first\nsecond 100%")
    assert [(f.file, f.line) for f in trace.frames] == [("pkg/mod.py", 10)]
    trace = read("::error file=pkg/mod.py,endLine=4::TestX.test_y[a-1]%0A%0Apkg.errors.BadInput: no%0D%0Adetail")
    assert (trace.frames[0].line, trace.exception, trace.message) == (4, "pkg.errors.BadInput", "no\ndetail")
    assert (trace.test.container, trace.test.name, trace.test.params) == ("pkg/mod.py::TestX", "test_y", "[a-1]")
    for line in ("::error::Process completed with exit code 1.", "::warning file=a.py,line=1::w",
                 "::error title=t::no file", "note::error file=a.py,line=1::m", "::error file=a.py,line=1 no end",
                 "::errors file=a.py::m", "::error file=a.py,line=x9,col=::m%ZZ"):
        trace = read(line)
        assert trace is None or (trace.frames[0].line is None and trace.message == "m%ZZ"), line
    with pytest.raises(TraceError):
        parse("::error::Process completed with exit code 1.\n::warning file=a.py,line=1::w\n")


# --- 4. Fly.io's log prefix --------------------------------------------------------------------------

def fly_logs(text: str, colour: bool = False) -> str:
    """`text` as `fly logs` prints an app's lines (flyctl internal/render/logs.go: the time, then
    `provider[instance]`, the region and `[level]`, the message right after; aurora colours the region
    and the level on a terminal). flyctl needs an account and a machine: it does not run here."""
    stamp, region, level = ("\x1b[2m2026-12-07T19:34:47Z\x1b[0m", "\x1b[32mams\x1b[0m", "\x1b[34minfo\x1b[0m") \
        if colour else ("2026-12-07T19:34:47Z", "ams", "info")
    return "".join(f"{stamp} app[148e4d55b36278] {region} [{level}]{line}\n" for line in text.splitlines())


@pytest.mark.parametrize("colour", [False, True])
def test_fly_log_prefix(project, colour):
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "--tb=native", "tests/test_summary.py")
    logged = fly_logs(out, colour)
    assert view(logged) == view(out)
    [trace] = resolve(parse(logged), FILES)
    assert where(trace)[:2] == [RAISE, CALLER] and trace.test.name == "test_summarize_empty"
    assert_culprit_first(project, logged)


def test_captured_group_in_fly_logs():
    assert [tree(t) for t in resolve(parse(fly_logs(GROUP_OUT)), FILES)] == \
        [tree(t) for t in resolve(parse(GROUP_OUT), FILES)]



# --- 5. nested exception groups ----------------------------------------------------------------------

def _check_group(text: str) -> None:
    [outer] = resolve(parse(text), FILES)
    assert (outer.exception, outer.message) == ("ExceptionGroup", "feed checks failed (2 sub-exceptions)")
    assert where(outer) == [(CHECKS, 25, "check_feeds"), (CHECKS, 29, "main")]
    inner, missing = outer.causes
    assert (inner.exception, inner.message) == ("ExceptionGroup", "batch checks failed (2 sub-exceptions)")
    assert where(inner) == [(CHECKS, 12, "check_feed"), (CHECKS, 21, "check_feeds")]
    assert [(leaf.exception, where(leaf), leaf.causes) for leaf in inner.causes] == [
        ("ValueError", [RAISE, CALLER, (CHECKS, 8, "check_feed")], ())] * 2
    assert (missing.exception, missing.message) == ("KeyError", "'south'")
    assert where(missing) == [(CHECKS, 20, "check_feeds")]


def test_nested_exception_group(project):
    """The outer group's second sub-exception (`+---- 2 ----`, two columns out) was read as the inner
    group's third: `KeyError: 'south'` was filed under `batch checks failed`."""
    out = run(project[0], "-c", "from calc_service_backend.reporting.checks import main; main()")
    _check_group(out)
    assert_ranked_alike(project, out, None, STATS, 7)


def test_captured_nested_exception_group(project):
    _check_group(GROUP_OUT)
    _check_group("".join("> " + line + "\n" for line in GROUP_OUT.splitlines()))  # quoted in a mail or issue
    _check_group("".join("2026-12-07T19:34:47.123Z app[web.1]: " + line + "\n" for line in GROUP_OUT.splitlines()))


UNRAISED = """\
from calc_service_backend.reporting.summary import summarize_measurements

errors = []
for values in ([], []):
    try:
        summarize_measurements(values)
    except ValueError as exc:
        errors.append(exc)
raise ExceptionGroup("feed checks failed", [ExceptionGroup("north", errors), KeyError("south")])
"""

# `python -c "$UNRAISED"` (Python 3.11.7) in the project: the inner group, never raised, has no traceback.
UNRAISED_OUT = """\
  + Exception Group Traceback (most recent call last):
  |   File "<string>", line 9, in <module>
  | ExceptionGroup: feed checks failed (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | ExceptionGroup: north (2 sub-exceptions)
    +-+---------------- 1 ----------------
      | Traceback (most recent call last):
      |   File "<string>", line 6, in <module>
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/summary.py", line 5, in summarize_measurements
      |     return {"mean": compute_arithmetic_mean(values), "n": len(values)}
      |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py", line 7, in compute_arithmetic_mean
      |     raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
      | ValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one
      +---------------- 2 ----------------
      | Traceback (most recent call last):
      |   File "<string>", line 6, in <module>
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/summary.py", line 5, in summarize_measurements
      |     return {"mean": compute_arithmetic_mean(values), "n": len(values)}
      |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      |   File "/work/s36/logs/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc_service_backend/reporting/aggregations/statistics.py", line 7, in compute_arithmetic_mean
      |     raise ValueError("cannot compute the arithmetic mean of an empty list of measurements; pass one")
      | ValueError: cannot compute the arithmetic mean of an empty list of measurements; pass one
      +------------------------------------
    +---------------- 2 ----------------
    | KeyError: 'south'
    +------------------------------------
"""


def _check_unraised(text: str) -> None:
    [outer] = resolve(parse(text), FILES)
    north, south = outer.causes
    assert (north.exception, north.message, north.frames) == ("ExceptionGroup", "north (2 sub-exceptions)", ())
    assert [(leaf.exception, where(leaf)) for leaf in north.causes] == [("ValueError", [RAISE, CALLER])] * 2
    assert (south.exception, south.message) == ("KeyError", "'south'")


def test_nested_group_never_raised(project):
    """A group built inside another and never raised is printed without a traceback: its `+-+` rule was
    taken for the outer group's, so its sub-exceptions were flattened into the outer group."""
    out = run(project[0], "-c", UNRAISED)
    _check_unraised(out)
    assert_culprit_first(project, out)


def test_captured_nested_group_never_raised():
    _check_unraised(UNRAISED_OUT)


def test_group_without_rails_reads_as_before():
    """With its rails and indentation gone, a group cannot say which level a rule belongs to: read as
    before, every sub-exception is still there."""
    flat = "\n".join(line.strip().lstrip("|").strip() for line in GROUP_OUT.splitlines())
    [outer] = parse(flat)
    leaves = [c.exception for c in outer.causes] + [c.exception for c in outer.causes[0].causes]
    assert "KeyError" in leaves and leaves.count("ValueError") == 2

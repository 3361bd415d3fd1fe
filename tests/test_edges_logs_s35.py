"""Failure output as it is pasted from CI logs and terminals, each made by really running the tool that
prints it on a small repository whose `mean` one commit broke, then ranked with `rca suspects`:

- `pytest -n 2 --tb=native` (pytest-xdist) prints `[gw1] linux -- Python ...` between a section's header
  and its traceback: the section was no longer read as `--tb=native`, so the failure lost its test and
  its message ran on into the summary.
- GitLab's runner with FF_TIMESTAMPS writes `<time> 01O ` before every line (stream, out or err,
  `+` for a continued line): nothing was found.
- `logging.basicConfig()`'s default format (`ERROR:root:message`) around a `logger.exception(...)`
  traceback, uvicorn's (`ERROR:    Exception in ASGI application`, `INFO:     127.0.0.1 - "GET /"
  500`) and Django's runserver (`[07/Dec/2026 19:34:47] "GET / HTTP/1.1" 500`): the next log records
  ran on into the exception's message.
- loguru's `logger.exception` (its defaults) parts frames with blank lines, prints values under each
  source line (`│ └ []`) and marks the catching frame `> File`: exceptions lost, three pieces.
- `docker compose logs -t` and `kubectl logs --prefix --timestamps` put the container's tag before the
  timestamp (`web-1  | 2026-...Z Traceback ...`): the timestamp stayed, and nothing was found; so
  did Heroku's dyno tag (`<time> app[web.1]: `).
- Buildkite's raw log starts every line with an APC escape holding the time (`ESC _bk;t=1796669400000 BEL`),
  of which only the first two characters were removed: nothing was found.
- A trace file saved by Windows PowerShell 5 (`pytest > out.txt` writes UTF-16) was read as UTF-8: nothing
  was found; one saved by Notepad (UTF-8 with a byte-order mark) lost its first line.
- structlog's `dict_tracebacks` (its advice for JSON logs) writes the exception as data, a list of
  stacks with their frames; its logfmt and key=value renderers write the traceback escaped in one
  quoted value (`exception="Traceback ...\\n  File \\"..."`): nothing was found in any of them.
- A traceback copied from an 80-column terminal (`fold` does the same), whose frames with long paths
  are cut in two: those frames were lost, and the traceback ended at the first.
- rich's boxed traceback (rich.traceback, Typer, structlog's console renderer): nothing was found.

The tools not installed here (pytest-xdist, structlog, rich, uvicorn, Django, loguru) are run where
they are importable; their output captured byte for byte (Python 3.11, pytest 9.2, xdist 3.8, structlog
26.1, rich 15, uvicorn 0.55, Django 5.2, loguru 0.8) checks the fixes everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve

ROOT = Path(__file__).resolve().parents[1]

MEAN_OK = "def mean(values):\n    total = sum(values)\n    return total / len(values) if values else 0\n"
MEAN_BAD = "def mean(values):\n    total = sum(values)\n    return total / len(values)\n"
SCALE = "\n\ndef scale(values, factor):\n    return [v * factor for v in values]\n"
REPORT = 'from calc.ops import mean\n\n\ndef summary(values):\n    return {"mean": mean(values), "n": len(values)}\n'
TEST_REPORT = '''\
from calc.report import summary


def test_summary():
    assert summary([2, 4]) == {"mean": 3, "n": 2}


def test_summary_empty():
    assert summary([]) == {"mean": 0, "n": 0}
'''
BATCH = '''\
import logging
import sys

from calc.report import summary

log = logging.getLogger("calc.batch")


def load(values):
    try:
        return summary(values)
    except ZeroDivisionError as exc:
        raise RuntimeError("batch failed") from exc


def main(kind):
    if kind == "basic":
        logging.basicConfig(level=logging.INFO)
    elif kind in ("structlog", "logfmt", "kv"):
        import structlog
        render = {"structlog": [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()],
                  "logfmt": [structlog.processors.format_exc_info, structlog.processors.LogfmtRenderer()],
                  "kv": [structlog.processors.format_exc_info, structlog.processors.KeyValueRenderer()]}
        structlog.configure(processors=[structlog.processors.add_log_level,
                                        structlog.processors.TimeStamper(fmt="iso"), *render[kind]],
                            logger_factory=structlog.PrintLoggerFactory(sys.stdout))
        global log
        log = structlog.get_logger("calc.batch")
    elif kind == "rich":
        from rich.traceback import install
        install(width=80, show_locals=False)
        load([])
    log.info("starting batch 7")
    try:
        load([])
    except RuntimeError:
        log.exception("batch 7 failed")
    log.info("continuing with batch 8")
    log.warning("retry budget low")


if __name__ == "__main__":
    main(sys.argv[1])
'''
FILES = ["pytest.ini", "src/calc/__init__.py", "src/calc/ops.py", "src/calc/report.py", "src/calc/fmt.py",
         "tests/test_report.py", "README.md", "docs/steps.md"]
RAISE = ("src/calc/ops.py", 3, "mean")
CALLER = ("src/calc/report.py", 5, "summary")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, str]:
    """The repository (at a long path, as a CI runner's is) and the commit that broke `mean`; beside it,
    a job's script that uses the package (`batch(root)`), as a scheduler's would."""
    root = tmp_path_factory.mktemp("s35logs") / "home/runner/work/calc-service-backend/calc-service-backend"
    repo = GitRepoBuilder(root)
    repo.commit("Add mean", {"pytest.ini": "[pytest]\n", "src/calc/__init__.py": "", "src/calc/ops.py": MEAN_OK + SCALE,
                             "README.md": "calc\n"})
    repo.commit("Add report summary", {"src/calc/report.py": REPORT})
    repo.commit("Test the summary", {"tests/test_report.py": TEST_REPORT})
    repo.fast_commits([(f"Document step {k}", {"docs/steps.md": f"{k} steps\n"}) for k in range(12)])
    culprit = repo.commit("Compute mean in one step", {"src/calc/ops.py": MEAN_BAD + SCALE})
    repo.commit("Add fmt", {"src/calc/fmt.py": 'def fmt(x):\n    return f"{x:.2f}"\n', "README.md": "calc: stats\n"})
    batch(root).parent.mkdir(parents=True)
    batch(root).write_text(BATCH)
    return root, culprit


def batch(root: Path) -> Path:
    return root.parents[2] / "jobs" / "batch.py"


def run(root: Path, *args: str, status: int = 1) -> str:
    """What `python args...` prints in `root` (exiting with `status`), with `src` and this environment's
    packages importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src")] + [p for p in sys.path if "-packages" in p])
    env.update(COLUMNS="80", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here: the captured output below checks the fix")


def suspects(root: Path, text: str) -> dict:
    """`rca suspects --format json` in `root` on `text`, saved beside the repository."""
    saved = root.parent / "trace.txt"
    saved.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", str(saved), "--format", "json"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def where(trace) -> list[tuple]:
    """The frames of a trace that resolved to the repository, innermost first."""
    return [(f.path, f.line, f.function) for f in trace.frames if f.path]


def in_batch(trace) -> list[tuple]:
    """The frames of a trace in the job's script (outside the repository), innermost first."""
    assert all(f.external for f in trace.frames if (f.file or "").endswith("/jobs/batch.py"))
    return [(f.line, f.function) for f in trace.frames if (f.file or "").endswith("/jobs/batch.py")]


def assert_culprit_first(project: tuple[Path, str], text: str) -> None:
    root, culprit = project
    doc = suspects(root, text)
    top = doc["suspects"][0]
    assert top["commit"] == culprit, [s["summary"] for s in doc["suspects"]]
    assert ("src/calc/ops.py", 3) in {(e.get("path"), e.get("line")) for e in top["evidence"]
                                      if e["kind"] == "frame-line"}


# --- 1. pytest-xdist with --tb=native -------------------------------------------------------------

# `pytest -n 2 --tb=native` (pytest 9.2, xdist 3.8) in the project, as it printed.
XDIST_NATIVE = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: /tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend
configfile: pytest.ini
plugins: platformdirs-4.14.9, xdist-3.8.0
created: 2/2 workers
2 workers [2 items]

.F                                                                       [100%]
=================================== FAILURES ===================================
______________________________ test_summary_empty ______________________________
[gw1] linux -- Python 3.11.7 /tmp/s35venv/bin/python
Traceback (most recent call last):
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/runner.py", line 361, in from_call
    result: TResult | None = func()
                             ^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/runner.py", line 250, in <lambda>
    lambda: runtest_hook(item=item, **kwds),
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
           ^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 195, in _multicall
    raise exception
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 167, in _multicall
    teardown.throw(exception)
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/logging.py", line 878, in pytest_runtest_call
    yield
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 167, in _multicall
    teardown.throw(exception)
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/capture.py", line 906, in pytest_runtest_call
    return (yield)
            ^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 167, in _multicall
    teardown.throw(exception)
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/skipping.py", line 268, in pytest_runtest_call
    return (yield)
            ^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
          ^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/runner.py", line 184, in pytest_runtest_call
    item.runtest()
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/python.py", line 1798, in runtest
    self.ihook.pytest_pyfunc_call(pyfuncitem=self)
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_caller.py", line 197, in __call__
    return self._hookexec(
           ^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_manager.py", line 183, in _hookexec
    return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 195, in _multicall
    raise exception
  File "/tmp/s35venv/lib/python3.11/site-packages/pluggy/_execution.py", line 147, in _multicall
    res = hook_impl.function(*args)
          ^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/_pytest/python.py", line 187, in pytest_pyfunc_call
    result = testfunction(**testargs)
             ^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/tests/test_report.py", line 9, in test_summary_empty
    assert summary([]) == {"mean": 0, "n": 0}
           ^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    ^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
=========================== short test summary info ============================
FAILED tests/test_report.py::test_summary_empty - ZeroDivisionError: division...
========================= 1 failed, 1 passed in 0.45s ==========================
"""


def _check_xdist_native(text: str) -> None:
    [trace] = resolve(parse(text), FILES)
    assert (trace.format, trace.exception, trace.message) == ("pytest", "ZeroDivisionError", "division by zero")
    assert trace.test is not None
    assert (trace.test.name, trace.test.path) == ("test_summary_empty", "tests/test_report.py")
    assert where(trace) == [RAISE, CALLER, ("tests/test_report.py", 9, "test_summary_empty")]


def test_xdist_native_section_is_the_tests_failure(project):
    needs("xdist")
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "--tb=native", "tests")
    assert "\n[gw" in out and "Traceback (most recent call last):" in out
    _check_xdist_native(out)
    assert_culprit_first(project, out)


def test_captured_xdist_native_section():
    _check_xdist_native(XDIST_NATIVE)


def test_xdist_long_and_native_read_alike(project):
    """The fix leaves --tb=long under xdist (which already read well) as it was: the same failure."""
    needs("xdist")
    outs = [run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", f"--tb={tb}", "tests")
            for tb in ("long", "native")]
    views = [[(t.exception, t.message, t.test, where(t)) for t in resolve(parse(out), FILES)] for out in outs]
    assert views[0] == views[1]


# --- 2. GitLab's timestamped job log ----------------------------------------------------------------

def gitlab_log(output: str) -> str:
    """`output` as GitLab's runner (17+, FF_TIMESTAMPS) stores it: `<RFC 3339 time> <stream><O|E><+| >`
    before each line, between its own lines and section markers."""
    lines = ["Running with gitlab-runner 17.5.0 (6ef9f8e1)",
             "\x1b[0Ksection_start:1796669400:step_script\r\x1b[0K\x1b[0K"
             "\x1b[36;1mExecuting \"step_script\" stage\x1b[0;m",
             "\x1b[32;1m$ python -m pytest --tb=native tests\x1b[0;m", *output.splitlines(),
             "\x1b[0Ksection_end:1796669401:step_script\r\x1b[0K",
             "\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m"]
    return "".join(f"2026-12-07T18:50:{k // 100:02d}.{k % 100:06d}Z 01{'E' if k == len(lines) - 1 else 'O'} {line}\n"
                   for k, line in enumerate(lines))


@pytest.mark.parametrize("tb", ["long", "native"])
def test_gitlab_timestamped_pytest_output(project, tb):
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", f"--tb={tb}", "tests")
    log = gitlab_log(out)
    [plain] = resolve(parse(out), FILES)
    [trace] = resolve(parse(log), FILES)
    assert (trace.exception, trace.message, trace.test, where(trace)) == \
        (plain.exception, plain.message, plain.test, where(plain))
    assert where(trace)[:2] == [RAISE, CALLER]
    assert_culprit_first(project, log)


def test_gitlab_stream_marker_is_removed_only_after_a_timestamp():
    [trace] = parse('2026-12-07T18:50:00.000001Z 00O+Traceback (most recent call last):\n'
                    '2026-12-07T18:50:00.000002Z 00O   File "/w/src/calc/ops.py", line 3, in mean\n'
                    '2026-12-07T18:50:00.000003Z 00O     return total / len(values)\n'
                    '2026-12-07T18:50:00.000004Z 00O ZeroDivisionError: division by zero\n')
    assert (trace.exception, [(f.file, f.line) for f in trace.frames]) == (
        "ZeroDivisionError", [("/w/src/calc/ops.py", 3)])
    with pytest.raises(TraceError):
        parse("01O ZeroDivisionError is what the job said\n")


# --- 3. logging.basicConfig's default format --------------------------------------------------------

@pytest.fixture(scope="module")
def logged(project) -> str:
    return run(project[0], str(batch(project[0])), "basic", status=0)


def _view(text: str) -> list[tuple]:
    return [(t.exception, t.message, where(t), [(c.exception, where(c)) for c in t.causes])
            for t in resolve(parse(text), FILES)]


def test_basic_config_records_do_not_run_into_the_message(project, logged):
    out = logged
    assert out.startswith("INFO:calc.batch:starting batch 7\nERROR:calc.batch:batch 7 failed\nTraceback")
    assert out.rstrip().endswith("RuntimeError: batch failed\nINFO:calc.batch:continuing with batch 8\n"
                                 "WARNING:calc.batch:retry budget low")
    [trace] = resolve(parse(out), FILES)
    assert (trace.exception, trace.message) == ("RuntimeError", "batch failed")
    assert in_batch(trace) == [(13, "load"), (35, "main")]
    [cause] = trace.causes
    assert (cause.exception, cause.message) == ("ZeroDivisionError", "division by zero")
    assert (where(cause), in_batch(cause)) == ([RAISE, CALLER], [(11, "load")])
    assert_culprit_first(project, out)


def test_a_level_word_without_a_logger_is_kept():
    [trace] = parse("Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n"
                    "ValueError: bad\nERROR: the job failed\n")
    assert trace.message == "bad\nERROR: the job failed"


# --- 3a. uvicorn, Django's runserver and loguru -------------------------------------------------

APP = """\
from calc.report import summary


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = str(summary([])).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""

# `python -m uvicorn app:app` (uvicorn 0.55) beside the project, asked for `/` and `/x`, then stopped.
UVICORN = """\
INFO:     Started server process [32443]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
INFO:     Uvicorn running on http://127.0.0.1:18765 (Press CTRL+C to quit)
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/tmp/s35venv/lib/python3.11/site-packages/uvicorn/protocols/http/h11_impl.py", line 407, in run_asgi
    result = await app(  # type: ignore[func-returns-value]
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/uvicorn/middleware/proxy_headers.py", line 63, in __call__
    return await self.app(scope, receive, send)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/app.py", line 6, in app
    body = str(summary([])).encode()
               ^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    ^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
INFO:     127.0.0.1:52576 - "GET / HTTP/1.1" 500 Internal Server Error
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/tmp/s35venv/lib/python3.11/site-packages/uvicorn/protocols/http/h11_impl.py", line 407, in run_asgi
    result = await app(  # type: ignore[func-returns-value]
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/uvicorn/middleware/proxy_headers.py", line 63, in __call__
    return await self.app(scope, receive, send)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/app.py", line 6, in app
    body = str(summary([])).encode()
               ^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    ^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
INFO:     127.0.0.1:52584 - "GET /x HTTP/1.1" 500 Internal Server Error
INFO:     Shutting down
INFO:     Waiting for application shutdown.
INFO:     Application shutdown complete.
INFO:     Finished server process [32443]
"""


def serve_twice(root: Path) -> str:
    """What uvicorn prints serving `APP` (beside the project) for two requests, then stopping."""
    app = batch(root).parent / "app.py"
    app.write_text(APP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src")] + [p for p in sys.path if "-packages" in p])}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--port", "0"], cwd=app.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        port = lines[-1].split("http://127.0.0.1:", 1)[1].split()[0]
        for path in ("/", "/x"):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    return "".join(lines) + rest


def _check_uvicorn(text: str) -> None:
    traces = resolve(parse(text), FILES)
    assert [(t.exception, t.message) for t in traces] == [("ZeroDivisionError", "division by zero")] * 2
    for trace in traces:
        assert where(trace) == [RAISE, CALLER]
        assert [f.function for f in trace.frames[2:]] == ["app", "__call__", "run_asgi"]


def test_uvicorn_records_do_not_run_into_the_message(project):
    needs("uvicorn")
    out = serve_twice(project[0])
    assert "ERROR:    Exception in ASGI application\nTraceback" in out and '500 Internal Server Error' in out
    _check_uvicorn(out)
    assert_culprit_first(project, out)


def test_captured_uvicorn_log():
    _check_uvicorn(UVICORN)


SITE = """\
import sys
from django.conf import settings
from django.urls import path
from django.http import JsonResponse
settings.configure(DEBUG=True, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="x")
from calc.report import summary

def view(request):
    return JsonResponse(summary([]))

urlpatterns = [path("", view)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""

# `python site.py runserver 18767 --noreload` (Django 5.2, DEBUG on) beside the project, asked for `/` twice.
DJANGO = """\
Performing system checks...

System check identified no issues (0 silenced).
December 07, 2026 - 19:34:44
Django version 5.2.20, using settings None
Starting development server at http://127.0.0.1:18767/
Quit the server with CONTROL-C.

WARNING: This is a development server. Do not use it in a production setting. Use a production WSGI or ASGI server instead.
For more information on production servers see: https://docs.djangoproject.com/en/5.2/howto/deployment/
Internal Server Error: /
Traceback (most recent call last):
  File "/tmp/s35venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
               ^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/dj/site.py", line 9, in view
    return JsonResponse(summary([]))
                        ^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    ^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
[07/Dec/2026 19:34:47] "GET / HTTP/1.1" 500 59952
Internal Server Error: /
Traceback (most recent call last):
  File "/tmp/s35venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
               ^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/s35venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/dj/site.py", line 9, in view
    return JsonResponse(summary([]))
                        ^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    ^^^^^^^^^^^^
  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
[07/Dec/2026 19:34:47] "GET / HTTP/1.1" 500 59952
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runserver_twice(root: Path) -> str:
    """What Django's runserver prints serving `SITE` (beside the project) for two requests, then stopping."""
    site = batch(root).parent / "site.py"
    site.write_text(SITE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src")] + [p for p in sys.path if "-packages" in p])}
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(site), "runserver", str(port), "--noreload"], cwd=site.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(2):
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
                except urllib.error.HTTPError:
                    break
                except OSError:
                    time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    return out


def _check_django(text: str) -> None:
    traces = resolve(parse(text), FILES)
    assert [(t.exception, t.message) for t in traces] == [("ZeroDivisionError", "division by zero")] * 2
    for trace in traces:
        assert where(trace) == [RAISE, CALLER]
        assert [f.function for f in trace.frames[2:]] == ["view", "_get_response", "inner"]


def test_django_runserver_records_do_not_run_into_the_message(project):
    needs("django")
    out = runserver_twice(project[0])
    assert out.count("Internal Server Error: /\nTraceback") == 2 and '"GET / HTTP/1.1" 500' in out
    _check_django(out)
    assert_culprit_first(project, out)


def test_captured_django_runserver_log():
    _check_django(DJANGO)


LOGURU_BATCH = """\
import sys

from loguru import logger

from calc.report import summary


def load(values):
    try:
        return summary(values)
    except ZeroDivisionError as exc:
        raise RuntimeError("batch failed") from exc


def main():
    logger.info("starting batch 7")
    try:
        load([])
    except RuntimeError:
        logger.exception("batch 7 failed")
    logger.info("continuing with batch 8")


if __name__ == "__main__":
    main()
"""

# `python loguru_batch.py` (loguru 0.8, its defaults: `diagnose` and `backtrace` on) beside the project.
LOGURU = """\
2026-12-07 19:39:21.751 +00:00 | INFO     | __main__:main:16 - starting batch 7
2026-12-07 19:39:21.751 +00:00 | ERROR    | __main__:main:20 - batch 7 failed
Traceback (most recent call last):

  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/loguru_batch.py", line 10, in load
    return summary(values)
           │       └ []
           └ <function summary at 0x7f7db6de3c40>

  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary
    return {"mean": mean(values), "n": len(values)}
                    │    │                 └ []
                    │    └ []
                    └ <function mean at 0x7f7db6de3ec0>

  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean
    return total / len(values)
           │           └ []
           └ 0

ZeroDivisionError: division by zero


The above exception was the direct cause of the following exception:


Traceback (most recent call last):

  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/loguru_batch.py", line 25, in <module>
    main()
    └ <function main at 0x7f7db6de3ba0>

> File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/loguru_batch.py", line 18, in main
    load([])
    └ <function load at 0x7f7db7915580>

  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/loguru_batch.py", line 12, in load
    raise RuntimeError("batch failed") from exc

RuntimeError: batch failed
2026-12-07 19:39:21.754 +00:00 | INFO     | __main__:main:21 - continuing with batch 8
"""


def _check_loguru(text: str) -> None:
    [trace] = resolve(parse(text), FILES)
    assert (trace.exception, trace.message) == ("RuntimeError", "batch failed")
    assert [(f.line, f.function) for f in trace.frames] == [(12, "load"), (18, "main"), (25, "<module>")]
    [cause] = trace.causes
    assert (cause.exception, cause.message) == ("ZeroDivisionError", "division by zero")
    assert where(cause) == [RAISE, CALLER]


def test_loguru_exception(project):
    """loguru parts frames with blank lines, prints values under each source line (`│ └ []`) and marks the
    frame that caught with `>`: the exceptions were lost, and the traceback fell into three pieces."""
    needs("loguru")
    script = batch(project[0]).parent / "loguru_batch.py"
    script.write_text(LOGURU_BATCH)
    out = run(project[0], str(script), status=0)
    assert "\n> File " in out and "└ " in out
    _check_loguru(out)
    assert_culprit_first(project, out)


def test_captured_loguru_exception():
    _check_loguru(LOGURU)


# --- 3b. a container's tag before the timestamp ----------------------------------------------------

# As docker compose (cmd/formatter/logs.go: `prefix + timestamp + " " + line`, the name padded) and
# kubectl (`--prefix --timestamps`) print a container's lines; neither runs here without a daemon.
# Heroku's `heroku logs` (its documented `<time> <source>[<dyno>]: `) names the dyno, not a process id.
CONTAINER_PREFIXES = ["web-1  | 2026-12-07T18:50:00.123456789Z ", "[pod/api-7d9f/app] 2026-12-07T18:50:00.123456789Z ",
                      "2026-12-07T18:50:00.123456+00:00 app[web.1]: "]


@pytest.mark.parametrize("prefix", CONTAINER_PREFIXES)
def test_container_tag_then_timestamp(logged, prefix):
    tagged = "".join(prefix + line + "\n" for line in logged.splitlines())
    assert _view(tagged) == _view(logged)
    [trace] = parse(tagged)
    assert (trace.exception, trace.message) == ("RuntimeError", "batch failed")


def test_buildkite_timestamped_log(project, logged):
    """Buildkite's agent starts each line with an APC escape holding its time (`ESC _bk;t=ms BEL`), which
    was cut to its first two characters, leaving `bk;t=...` before every line: nothing was found."""
    stamp = "".join(f"\x1b_bk;t={1796669400000 + k}\x07{line}\n" for k, line in enumerate(logged.splitlines()))
    assert _view(stamp) == _view(logged)
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "--color=yes", "tests")
    stamped = "".join(f"\x1b_bk;t={1796669400000 + k}\x07{line}\n" for k, line in enumerate(out.splitlines()))
    [trace] = resolve(parse(stamped), FILES)
    assert (trace.exception, where(trace)[:2]) == ("ZeroDivisionError", [RAISE, CALLER])
    assert_culprit_first(project, stamped)


# --- 3c. a file saved by Windows PowerShell or Notepad ---------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_trace_file_with_a_byte_order_mark(project, encoding):
    """Windows PowerShell 5's `pytest > out.txt` writes UTF-16 (with its mark) and CRLF; Notepad saves
    UTF-8 with a mark. Read as UTF-8, the first was nothing at all, the second lost its first line."""
    root, culprit = project
    out = run(root, "-m", "pytest", "-p", "no:cacheprovider", "--tb=native", "tests")
    saved = root.parent / f"out-{encoding}.txt"
    saved.write_bytes(out.replace("\n", "\r\n").encode(encoding))
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", str(saved), "--format", "json"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["suspects"][0]["commit"] == culprit
    [trace] = resolve(parse("\ufeff" + out[out.index("Traceback"):]), FILES)
    assert (trace.exception, trace.truncated, where(trace)[:2]) == ("ZeroDivisionError", False, [RAISE, CALLER])


# --- 4. structlog's dict_tracebacks -----------------------------------------------------------------

# `python jobs/batch.py structlog` (structlog 26.1) beside the project, as it printed: four records.
STRUCTLOG_DICT = r"""{"event": "starting batch 7", "level": "info", "timestamp": "2026-12-07T19:29:43.324574Z"}
{"event": "batch 7 failed", "level": "error", "timestamp": "2026-12-07T19:29:43.324631Z", "exception": [{"exc_type": "RuntimeError", "exc_value": "batch failed", "exc_notes": [], "syntax_error": null, "is_cause": false, "frames": [{"filename": "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", "lineno": 35, "name": "main", "locals": {"kind": "'structlog'", "structlog": "<module 'structlog' from '/tmp/s35venv/lib/python3.11/site-packages/structlog/__init__.py'>", "render": "{\n    'structlog': [\n        <structlog.processors.ExceptionRenderer object at 0x7f46daccf390>,\n        <structlog.processors.JSONRenderer object at 0x7f46db17d0d0>\n    ],\n    'logfmt': [\n        <structlog.processors.ExceptionRenderer object at 0x7f46daccf450>,\n        <structlog.processors.LogfmtRenderer object at 0x7f46db217850>\n    ],\n    'kv': [\n        <structlog.processors.ExceptionRenderer object at 0x7f46daccf450>,\n        <structlog.processors.KeyValueRenderer object at 0x7f46db193990>\n    ]\n}"}}, {"filename": "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", "lineno": 13, "name": "load", "locals": {"values": "[]"}}], "is_group": false, "exceptions": []}, {"exc_type": "ZeroDivisionError", "exc_value": "division by zero", "exc_notes": [], "syntax_error": null, "is_cause": true, "frames": [{"filename": "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", "lineno": 11, "name": "load", "locals": {"values": "[]"}}, {"filename": "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", "lineno": 5, "name": "summary", "locals": {"values": "[]"}}, {"filename": "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", "lineno": 3, "name": "mean", "locals": {"values": "[]", "total": "0"}}], "is_group": false, "exceptions": []}]}
{"event": "continuing with batch 8", "level": "info", "timestamp": "2026-12-07T19:29:43.334446Z"}
{"event": "retry budget low", "level": "warning", "timestamp": "2026-12-07T19:29:43.334472Z"}
"""


def _check_structlog(text: str) -> None:
    [trace] = resolve(parse(text), FILES)
    assert (trace.format, trace.exception, trace.message) == ("python", "RuntimeError", "batch failed")
    assert in_batch(trace) == [(13, "load"), (35, "main")]
    [cause] = trace.causes
    assert (cause.exception, cause.message) == ("ZeroDivisionError", "division by zero")
    assert (where(cause), in_batch(cause)) == ([RAISE, CALLER], [(11, "load")])


def test_structlog_dict_tracebacks(project):
    needs("structlog")
    out = run(project[0], str(batch(project[0])), "structlog", status=0)
    assert '"exc_type": "RuntimeError"' in out and "Traceback" not in out
    _check_structlog(out)
    assert_culprit_first(project, out)


def test_captured_structlog_dict_tracebacks(project):
    _check_structlog(STRUCTLOG_DICT)
    assert_culprit_first(project, STRUCTLOG_DICT)


def test_structlog_group_and_odd_values():
    group = [{"exc_type": "ExceptionGroup", "exc_value": "g (1 sub-exception)", "frames": [
        {"filename": "/a/x.py", "lineno": 2, "name": "f"}, {"filename": 7}, "x", {"filename": "/a/y.py"}],
        "exceptions": [[{"exc_type": "TypeError", "exc_value": None, "frames": []}], "junk"]}]
    [trace] = parse(json.dumps({"event": "e", "exception": group}) + "\n")
    assert trace.exception == "ExceptionGroup"
    assert [(f.file, f.line) for f in trace.frames] == [("/a/y.py", None), ("/a/x.py", 2)]
    assert [(c.exception, c.message) for c in trace.causes] == [("TypeError", "")]
    with pytest.raises(TraceError):
        parse('{"exception": [{"exc_type": 3, "frames": []}]}\n')


# `python jobs/batch.py logfmt` and `... kv` (structlog 26.1, format_exc_info): the traceback is one
# quoted value of a logfmt or key=value (repr) line, as it printed.
STRUCTLOG_LOGFMT = r"""event="starting batch 7" level=info timestamp=2026-12-07T19:29:43.438787Z
event="batch 7 failed" level=error timestamp=2026-12-07T19:29:43.438838Z exception="Traceback (most recent call last):\n  File \"/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py\", line 11, in load\n    return summary(values)\n           ^^^^^^^^^^^^^^^\n  File \"/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py\", line 5, in summary\n    return {\"mean\": mean(values), \"n\": len(values)}\n                    ^^^^^^^^^^^^\n  File \"/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py\", line 3, in mean\n    return total / len(values)\n           ~~~~~~^~~~~~~~~~~~~\nZeroDivisionError: division by zero\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py\", line 35, in main\n    load([])\n  File \"/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py\", line 13, in load\n    raise RuntimeError(\"batch failed\") from exc\nRuntimeError: batch failed"
event="continuing with batch 8" level=info timestamp=2026-12-07T19:29:43.439229Z
event="retry budget low" level=warning timestamp=2026-12-07T19:29:43.439249Z
"""

STRUCTLOG_KV = r"""event='starting batch 7' level='info' timestamp='2026-12-07T19:29:43.561583Z'
event='batch 7 failed' level='error' timestamp='2026-12-07T19:29:43.561629Z' exception='Traceback (most recent call last):\n  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", line 11, in load\n    return summary(values)\n           ^^^^^^^^^^^^^^^\n  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/report.py", line 5, in summary\n    return {"mean": mean(values), "n": len(values)}\n                    ^^^^^^^^^^^^\n  File "/tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service-backend/src/calc/ops.py", line 3, in mean\n    return total / len(values)\n           ~~~~~~^~~~~~~~~~~~~\nZeroDivisionError: division by zero\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", line 35, in main\n    load([])\n  File "/tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py", line 13, in load\n    raise RuntimeError("batch failed") from exc\nRuntimeError: batch failed'
event='continuing with batch 8' level='info' timestamp='2026-12-07T19:29:43.562008Z'
event='retry budget low' level='warning' timestamp='2026-12-07T19:29:43.562024Z'
"""


@pytest.mark.parametrize("kind", ["logfmt", "kv"])
def test_structlog_logfmt_and_key_value(project, kind):
    needs("structlog")
    out = run(project[0], str(batch(project[0])), kind, status=0)
    assert "exception=" in out and "\\n  File " in out
    _check_structlog(out)
    assert_culprit_first(project, out)


@pytest.mark.parametrize("text", [STRUCTLOG_LOGFMT, STRUCTLOG_KV], ids=["logfmt", "kv"])
def test_captured_structlog_logfmt_and_key_value(project, text):
    _check_structlog(text)
    assert_culprit_first(project, text)


def test_quoted_values_without_a_trace_or_unclosed_give_nothing():
    for text in ['level=info msg="two\\nlines" path="C:\\\\x\\d"\n', 'a="\\n' + '\\"' * 1000 + "\n",
                 "msg='it\\'s\\n' x='\\n\n"]:
        with pytest.raises(TraceError):
            parse(text)


# --- 5. a traceback cut at a terminal's width -------------------------------------------------------

def fold(text: str, width: int) -> str:
    if shutil.which("fold") is None:
        pytest.skip("no fold here")
    return subprocess.run(["fold", "-w", str(width)], input=text, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_wrapped_traceback_reads_as_unwrapped(logged, width):
    folded = fold(logged, width)
    assert any(len(line) == width for line in folded.splitlines())
    assert _view(folded) == _view(logged)


@pytest.mark.parametrize("width", [80, 100])
def test_wrapped_pytest_native_output(project, width):
    out = run(project[0], "-m", "pytest", "-p", "no:cacheprovider", "--tb=native", "tests")
    folded = fold(out, width)
    assert len(folded.splitlines()) > len(out.splitlines())
    assert _view(folded) == _view(out)
    assert_culprit_first(project, folded)


def test_wrapping_joins_only_frames():
    """A frame that ends at the width before a bare exception, or before flat source, stays as it is."""
    frame = '  File "/srv/app/src/calc/ops.py", line 3, in mean'
    text = f"Traceback (most recent call last):\n{frame}\nKeyError\n{'x' * len(frame)}\n"
    [trace] = parse(text)
    assert (trace.exception, trace.frames[0].function) == ("KeyError", "mean")
    flat = f"Traceback (most recent call last):\n{frame.strip()}\nsummary([])\nValueError: v\n{'y' * 48}\n"
    [trace] = parse(flat)
    assert (trace.exception, trace.frames[0].function) == ("ValueError", "mean")


# --- 6. rich's boxed traceback ----------------------------------------------------------------------

# `python jobs/batch.py rich` (rich 15, width 80) beside the project: the uncaught exception, as rich drew it.
RICH = """\
╭───────────────────── Traceback (most recent call last) ──────────────────────╮
│ /tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py:11 in load                │
│                                                                              │
│    8                                                                         │
│    9 def load(values):                                                       │
│   10 │   try:                                                                │
│ ❱ 11 │   │   return summary(values)                                          │
│   12 │   except ZeroDivisionError as exc:                                    │
│   13 │   │   raise RuntimeError("batch failed") from exc                     │
│   14                                                                         │
│                                                                              │
│ /tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service- │
│ backend/src/calc/report.py:5 in summary                                      │
│                                                                              │
│   2                                                                          │
│   3                                                                          │
│   4 def summary(values):                                                     │
│ ❱ 5 │   return {"mean": mean(values), "n": len(values)}                      │
│   6                                                                          │
│                                                                              │
│ /tmp/rca_s35_logs_h7/cap/home/runner/work/calc-service-backend/calc-service- │
│ backend/src/calc/ops.py:3 in mean                                            │
│                                                                              │
│   1 def mean(values):                                                        │
│   2 │   total = sum(values)                                                  │
│ ❱ 3 │   return total / len(values)                                           │
│   4                                                                          │
│   5                                                                          │
│   6 def scale(values, factor):                                               │
╰──────────────────────────────────────────────────────────────────────────────╯
ZeroDivisionError: division by zero

The above exception was the direct cause of the following exception:

╭───────────────────── Traceback (most recent call last) ──────────────────────╮
│ /tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py:43 in <module>            │
│                                                                              │
│   40                                                                         │
│   41                                                                         │
│   42 if __name__ == "__main__":                                              │
│ ❱ 43 │   main(sys.argv[1])                                                   │
│   44                                                                         │
│                                                                              │
│ /tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py:32 in main                │
│                                                                              │
│   29 │   elif kind == "rich":                                                │
│   30 │   │   from rich.traceback import install                              │
│   31 │   │   install(width=80, show_locals=False)                            │
│ ❱ 32 │   │   load([])                                                        │
│   33 │   log.info("starting batch 7")                                        │
│   34 │   try:                                                                │
│   35 │   │   load([])                                                        │
│                                                                              │
│ /tmp/rca_s35_logs_h7/cap/home/runner/jobs/batch.py:13 in load                │
│                                                                              │
│   10 │   try:                                                                │
│   11 │   │   return summary(values)                                          │
│   12 │   except ZeroDivisionError as exc:                                    │
│ ❱ 13 │   │   raise RuntimeError("batch failed") from exc                     │
│   14                                                                         │
│   15                                                                         │
│   16 def main(kind):                                                         │
╰──────────────────────────────────────────────────────────────────────────────╯
RuntimeError: batch failed
"""


def _check_rich(text: str) -> None:
    [trace] = resolve(parse(text), FILES)
    assert (trace.exception, trace.message) == ("RuntimeError", "batch failed")
    assert in_batch(trace) == [(13, "load"), (32, "main"), (43, "<module>")]
    [cause] = trace.causes
    assert (cause.exception, cause.message) == ("ZeroDivisionError", "division by zero")
    assert (where(cause), in_batch(cause)) == ([RAISE, CALLER], [(11, "load")])


def test_rich_traceback(project):
    needs("rich")
    out = run(project[0], str(batch(project[0])), "rich")
    assert "╭" in out and "Traceback (most recent call last)" in out
    _check_rich(out)
    assert_culprit_first(project, out)


def test_captured_rich_traceback(project):
    _check_rich(RICH)
    assert_culprit_first(project, RICH)


def test_rich_box_without_frames_or_exception_is_cut_not_a_crash():
    [trace] = parse("╭── Traceback (most recent call last) ──╮\n│ in main:9 │\n")
    assert (trace.exception, trace.truncated) == ("", True)
    assert [(f.file, f.line, f.function) for f in trace.frames] == [(None, 9, "main")]

"""Trace shapes that came out wrong, each produced here by really running the tool that prints it
(Python 3.11's pytest and `python -m doctest`, a JDK's `java`), in a temporary folder:

- `pytest --tb=line` on a test raising an ExceptionGroup prints the group's whole native traceback
  above the `path:12: ExceptionGroup: ...` line: one failure, not two traces.
- `python -m doctest [-v] file.py` prints `File "x.py", line N, in mod.func` / `Failed example:`
  blocks: each is one failure at that file, line and function, as pytest's `[doctest]` sections are.
- A Java stack trace logged with an emoji or symbol before each line (`🔥 ERROR \tat ...`,
  `✗ \tat ...`) keeps its frames, as one logged with a timestamp and level does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve

# --- the project the tools run on -------------------------------------------------------------

CORE = '''\
def check(items):
    errors = [ValueError(f"bad {i}") for i in items if i < 0]
    if errors:
        raise ExceptionGroup("invalid items", errors)
    return True


def add(a, b):
    return a + b
'''

TEST_GROUPS = '''\
from app.core import add, check


def test_group():
    check([1, -2, -3])


def test_add():
    assert add(1, 2) == 4


def test_chained():
    try:
        {}["k"]
    except KeyError as e:
        raise ExceptionGroup("wrapped", [ValueError("v")]) from e


def test_nested():
    raise ExceptionGroup("outer", [ExceptionGroup("inner", [TypeError("t")]), OSError("o")])
'''

DOC = '''\
"""Helpers with doctests.

>>> add(2, 2)
4
"""


def add(a, b):
    """Add two numbers.

    >>> add(1, 2)
    4
    """
    return a + b


def parse(text):
    """Parse an integer.

    >>> parse("7")
    7
    >>> parse("x")
    0
    """
    return int(text)


class Box:
    def get(self):
        """
        >>> Box().get()
        'box'
        """
        return 'bx'
'''

DOCS_TXT = """\
Using add:

>>> from app.core import add
>>> add(1, 1)
3
"""

PY_FILES = ["src/app/__init__.py", "src/app/core.py", "src/app/doc.py", "tests/test_groups.py", "docs/usage.txt"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("s34")
    for path, text in (("src/app/__init__.py", ""), ("src/app/core.py", CORE), ("src/app/doc.py", DOC),
                       ("tests/test_groups.py", TEST_GROUPS), ("docs/usage.txt", DOCS_TXT)):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _run(root: Path, *args: str, expect: int = 1) -> str:
    """Run `python args...` in `root` with `src` importable; stdout and stderr as printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(PYTHONPATH=str(root / "src"), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


# --- 1. pytest --tb=line and ExceptionGroup ----------------------------------------------------

@pytest.fixture(scope="module")
def tb_line(project) -> str:
    return _run(project, "-m", "pytest", "-p", "no:cacheprovider", "--tb=line", "tests/test_groups.py")


def test_tb_line_exception_group_is_one_trace_per_failure(tb_line):
    assert "  + Exception Group Traceback (most recent call last):" in tb_line  # pytest prints it natively
    traces = resolve(parse(tb_line), PY_FILES)
    assert len(traces) == tb_line.count("\nFAILED ") == 4
    assert [t.test.name for t in traces if t.test] == ["test_group", "test_add", "test_chained", "test_nested"]
    assert {t.format for t in traces} == {"pytest"}


def test_tb_line_exception_group_keeps_its_frames_and_sub_exceptions(tb_line):
    group, add, chained, nested = resolve(parse(tb_line), PY_FILES)
    assert (group.exception, group.message) == ("ExceptionGroup", "invalid items (2 sub-exceptions)")
    assert [(f.path, f.line, f.function) for f in group.frames] == [
        ("src/app/core.py", 4, "check"), ("tests/test_groups.py", 5, "test_group")]
    assert [(c.exception, c.message) for c in group.causes] == [("ValueError", "bad -2"), ("ValueError", "bad -3")]
    assert (add.message, [(f.path, f.line) for f in add.frames]) == ("assert 3 == 4", [("tests/test_groups.py", 9)])
    # the crash line names the sub-exception (`ValueError('v') [single exception in ExceptionGroup]`)
    assert chained.exception == "ExceptionGroup"
    assert [(f.path, f.line) for f in chained.frames] == [("tests/test_groups.py", 16)]
    assert [c.exception for c in chained.causes] == ["ValueError", "KeyError"]
    assert nested.exception == "ExceptionGroup" and nested.causes[0].exception == "ExceptionGroup"


# --- 2. python -m doctest, plain and verbose, like pytest --doctest-modules --------------------

@pytest.fixture(scope="module")
def doctest_runs(project) -> dict[str, str]:
    return {
        "doctest": _run(project, "-m", "doctest", "src/app/doc.py"),
        "doctest -v": _run(project, "-m", "doctest", "-v", "src/app/doc.py"),
        "pytest": _run(project, "-m", "pytest", "-p", "no:cacheprovider", "--doctest-modules", "src/app/doc.py"),
    }


def _doctest_view(trace) -> tuple:
    """What a doctest failure resolves to: exception, where, and the docstring's owner."""
    top = trace.frames[0]
    assert trace.test is not None
    return (trace.exception, top.path, top.line, top.function, trace.test.path,
            trace.test.name.rsplit(".", 2)[-2:])


@pytest.mark.parametrize("run", ["doctest", "doctest -v"])
def test_stdlib_doctest_failures_resolve_to_file_line_and_function(doctest_runs, run):
    out = doctest_runs[run]
    assert 'File "' in out and "Failed example:" in out and "Exception raised:" in out
    traces = resolve(parse(out), PY_FILES)
    assert [_doctest_view(t) for t in traces] == [
        ("DocTestFailure", "src/app/doc.py", 31, "get", "src/app/doc.py", ["Box", "get"]),
        ("DocTestFailure", "src/app/doc.py", 11, "add", "src/app/doc.py", ["doc", "add"]),
        ("UnexpectedException", "src/app/doc.py", 22, "parse", "src/app/doc.py", ["doc", "parse"]),
    ]
    failure, unexpected = traces[1], traces[2]
    assert failure.message == "Expected:\n    4\nGot:\n    3"
    [cause] = unexpected.causes
    assert (cause.exception, cause.message) == ("ValueError", "invalid literal for int() with base 10: 'x'")
    assert ("src/app/doc.py", 25, "parse") in [(f.path, f.line, f.function) for f in cause.frames]
    assert unexpected.message == "ValueError: invalid literal for int() with base 10: 'x'"


def test_stdlib_and_pytest_doctest_read_alike(doctest_runs):
    stdlib = resolve(parse(doctest_runs["doctest"]), PY_FILES)
    pytest_ = resolve(parse(doctest_runs["pytest"]), PY_FILES)
    assert [_doctest_view(t) for t in stdlib] == [_doctest_view(t) for t in pytest_]
    assert [t.message for t in stdlib] == [t.message for t in pytest_]
    assert [[(f.path, f.line) for f in t.all_frames() if f.path] for t in stdlib] == [
        [(f.path, f.line) for f in t.all_frames() if f.path] for t in pytest_]
    assert pytest_[0].test is not None and pytest_[0].test.name == "app.doc.Box.get"


def test_stdlib_doctest_of_a_text_file_is_in_no_function(project):
    out = _run(project, "-m", "doctest", "docs/usage.txt")
    [trace] = resolve(parse(out), PY_FILES)
    assert (trace.exception, trace.message) == ("DocTestFailure", "Expected:\n    3\nGot:\n    2")
    assert [(f.path, f.line, f.function) for f in trace.frames] == [("docs/usage.txt", 4, None)]
    assert trace.test is not None and (trace.test.name, trace.test.path) == ("usage.txt", "docs/usage.txt")


def test_doctest_header_alone_is_not_a_traceback():
    """A `File "x", line N, in name` line without `Failed example:` stays a (cut) Python frame."""
    [trace] = parse('File "/srv/app/src/app/doc.py", line 11, in doc.add\n    add(1, 2)\nValueError: no\n')
    assert (trace.format, trace.exception) == ("python", "ValueError")


# --- 3. Java frames behind an emoji or symbol log prefix ---------------------------------------

JAVA = """\
package com.x;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

public class Y {
    static int m(String s) {
        return Integer.parseInt(s);
    }

    static int load(String s) {
        try {
            return m(s);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("bad config value", e);
        }
    }

    static void log(PrintStream out, String prefix, Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        for (String line : w.toString().split("\\n")) {
            out.println(prefix + line);
        }
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println(args[0] + "at least one config check failed (see Y.java:12)");
        out.println(args[0] + "look at com.x.Y.m(Y.java:12) for details");
        try {
            load("x");
        } catch (IllegalStateException e) {
            log(out, args[0], e);
        }
    }
}
"""

JAVA_FILES = ["src/main/java/com/x/Y.java"]
JAVA_PREFIXES = ["", "2026-12-07 12:00:00,123 ERROR ", "\U0001f525 ERROR ", "\u2717 ", "\u274c [ERROR] ",
                 "\u26a0\ufe0f WARN app - "]


@pytest.fixture(scope="module")
def java_logs(tmp_path_factory) -> dict[str, str]:
    if shutil.which("java") is None:
        pytest.skip("no JDK here: the captured JAVA_FIRE below still checks the fix")
    root = tmp_path_factory.mktemp("java")
    source = root / "src/main/java/com/x/Y.java"
    source.parent.mkdir(parents=True)
    source.write_text(JAVA)
    out = {}
    for prefix in JAVA_PREFIXES:  # the source-file launcher (JDK 11+) compiles and runs in one go
        proc = subprocess.run(["java", str(source), prefix], cwd=root, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out[prefix] = proc.stdout.decode("utf-8")
    return out


def _java_view(text: str) -> list[tuple]:
    return [(t.exception, t.message, [(f.path, f.line, f.function) for f in t.all_frames()])
            for t in resolve(parse(text), JAVA_FILES)]


@pytest.mark.parametrize("prefix", JAVA_PREFIXES[2:])
def test_java_frames_behind_a_symbol_prefix_read_as_without_it(java_logs, prefix):
    plain = _java_view(java_logs[""])
    assert plain[0][0] == "java.lang.IllegalStateException"
    assert ("src/main/java/com/x/Y.java", 10, "m") in plain[0][2]
    assert _java_view(java_logs[prefix]) == plain == _java_view(java_logs["2026-12-07 12:00:00,123 ERROR "])


def test_symbol_prefixed_prose_gives_no_frame(java_logs):
    for prefix in JAVA_PREFIXES:
        lines = [f.line for t in parse(java_logs[prefix]) for f in t.all_frames()]
        assert 10 in lines and 12 not in lines, prefix  # "at least ... (see Y.java:12)", "look at ...(Y.java:12)"
        prose = "".join(java_logs[prefix].splitlines(keepends=True)[:2])
        with pytest.raises(TraceError):
            parse(prose)


# `java Y.java "🔥 ERROR "` (OpenJDK 17, the source-file launcher) as it printed, byte for byte.
JAVA_FIRE = """\
🔥 ERROR at least one config check failed (see Y.java:12)
🔥 ERROR look at com.x.Y.m(Y.java:12) for details
🔥 ERROR java.lang.IllegalStateException: bad config value
🔥 ERROR \tat com.x.Y.load(Y.java:17)
🔥 ERROR \tat com.x.Y.main(Y.java:34)
🔥 ERROR \tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
🔥 ERROR \tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)
🔥 ERROR \tat java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
🔥 ERROR \tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
🔥 ERROR \tat jdk.compiler/com.sun.tools.javac.launcher.Main.execute(Main.java:419)
🔥 ERROR \tat jdk.compiler/com.sun.tools.javac.launcher.Main.run(Main.java:192)
🔥 ERROR \tat jdk.compiler/com.sun.tools.javac.launcher.Main.main(Main.java:132)
🔥 ERROR Caused by: java.lang.NumberFormatException: For input string: "x"
🔥 ERROR \tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)
🔥 ERROR \tat java.base/java.lang.Integer.parseInt(Integer.java:668)
🔥 ERROR \tat java.base/java.lang.Integer.parseInt(Integer.java:786)
🔥 ERROR \tat com.x.Y.m(Y.java:10)
🔥 ERROR \tat com.x.Y.load(Y.java:15)
🔥 ERROR \t... 8 more
"""


def test_captured_emoji_prefixed_java_trace():
    [trace] = resolve(parse(JAVA_FIRE), JAVA_FILES)
    assert (trace.exception, trace.message) == ("java.lang.IllegalStateException", "bad config value")
    assert [(f.path, f.line, f.function) for f in trace.frames if f.path] == [
        ("src/main/java/com/x/Y.java", 17, "load"), ("src/main/java/com/x/Y.java", 34, "main")]
    [cause] = trace.causes
    assert cause.exception == "java.lang.NumberFormatException"
    assert [(f.path, f.line) for f in cause.frames if f.path] == [
        ("src/main/java/com/x/Y.java", 10), ("src/main/java/com/x/Y.java", 15)]

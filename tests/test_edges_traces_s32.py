"""Failure output in the shapes a new user pastes: produced for real where the tool was at hand
(Python 3.11, pytest 9, Node 20, javac, rustc 1.9x), copied here byte for byte."""

from __future__ import annotations

import json

from rca_lsp.traces import parse, resolve
from rca_lsp.traces.clean import make_doc

# --- Rust 1.92+ prints the panicking thread's id: `thread 'main' (29539) panicked at ...` ---

RUST_PANIC_WITH_THREAD_ID = """\

thread 'main' (29539) panicked at src/parse.rs:7:5:
index out of bounds: the len is 2 but the index is 5
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""

CARGO_TEST_WITH_THREAD_ID = """\

running 1 test
parse::tests::splits --- FAILED

failures:

---- parse::tests::splits stdout ----

thread 'parse::tests::splits' (30120) panicked at src/parse.rs:13:19:
assertion `left == right` failed
  left: 1
 right: 2
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs:689:5
   1: core::panicking::panic_fmt
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:80:14
   2: core::panicking::assert_failed_inner
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:439:17
   3: core::panicking::assert_failed::<usize, usize>
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:394:5
   4: rs::parse::tests::splits
             at ./src/parse.rs:13:19
   5: rs::parse::tests::splits::{{closure}}
             at ./src/parse.rs:13:16
   6: core::ops::function::FnOnce::call_once
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:250:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.


failures:
    parse::tests::splits

test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.07s
"""

RUST_FILES = ["Cargo.toml", "src/main.rs", "src/parse.rs"]


def test_rust_panic_with_thread_id_is_found():
    [trace] = resolve(parse(RUST_PANIC_WITH_THREAD_ID), RUST_FILES)
    assert (trace.format, trace.exception) == ("rust", "panic")
    assert trace.message == "index out of bounds: the len is 2 but the index is 5"
    assert [(f.path, f.line) for f in trace.frames] == [("src/parse.rs", 7)]


def test_cargo_test_with_thread_id_keeps_message_and_test():
    [trace] = resolve(parse(CARGO_TEST_WITH_THREAD_ID), RUST_FILES)
    assert trace.exception == "panic"
    assert trace.message.startswith("assertion `left == right` failed")
    assert trace.test is not None and (trace.test.container, trace.test.name) == ("parse::tests", "splits")
    assert [(f.path, f.line, f.function) for f in trace.frames if not f.external] == [
        ("src/parse.rs", 13, "splits"), ("src/parse.rs", 13, "splits")]


def test_rust_turbofish_frame_names_its_function():
    [trace] = parse(CARGO_TEST_WITH_THREAD_ID)
    assert trace.frames[3].function == "assert_failed"
    text = "stack backtrace:\n   0: mycrate::codec::decode::<u8>\n             at ./src/codec.rs:9:5\n"
    [bt] = resolve(parse(text), ["src/codec.rs"])
    assert (bt.frames[0].function, bt.frames[0].path) == ("decode", "src/codec.rs")


# --- Log lines where every line of the record carries `<time> LEVEL logger: ` or a CRI prefix ---

PY_CHAIN = [
    'Traceback (most recent call last):',
    '  File "/srv/app/src/app/core.py", line 33, in wrap',
    '    divide(1, 0)',
    '  File "/srv/app/src/app/core.py", line 10, in divide',
    '    return a / b',
    '           ~~^~~',
    'ZeroDivisionError: division by zero',
    '',
    'The above exception was the direct cause of the following exception:',
    '',
    'Traceback (most recent call last):',
    '  File "/srv/app/src/app/core.py", line 35, in wrap',
    '    raise ValueError("bad") from e',
    'ValueError: bad',
]
PY_FILES = ["src/app/__init__.py", "src/app/core.py", "src/app/doc.py", "tests/test_core.py", "tests/test_ut.py"]


def _check_chain(text: str) -> None:
    [trace] = resolve(parse(text), PY_FILES)
    assert (trace.exception, trace.message) == ("ValueError", "bad")
    assert [(f.path, f.line, f.function) for f in trace.frames] == [("src/app/core.py", 35, "wrap")]
    [cause] = trace.causes
    assert cause.exception == "ZeroDivisionError"
    assert [(f.path, f.line) for f in cause.frames] == [("src/app/core.py", 10), ("src/app/core.py", 33)]


def test_every_line_prefixed_with_time_level_and_logger():
    _check_chain("".join(f"2026-12-07 12:00:00,123 ERROR svc: {line}\n" for line in PY_CHAIN))
    _check_chain("".join(f"[2026-12-07 12:00:00,123] [ERROR] app.worker: {line}\n" for line in PY_CHAIN))


def test_every_line_prefixed_by_containerd_cri_log_format():
    _check_chain("".join(f"2026-12-07T12:00:00.123456789Z stderr F {line}\n" for line in PY_CHAIN))


def test_level_prefix_keeps_an_exception_named_after_it():
    text = ("2026-12-07 12:00:00,123 ERROR KeyError: 'x'\n2026-12-07 12:00:01,123 ERROR KeyError: 'y'\n"
            "2026-12-07 12:00:02,123 ERROR panic: boom\n2026-12-07 12:00:02,123 ERROR panic: boom\n")
    assert make_doc(text).text[:4] == ("KeyError: 'x'", "KeyError: 'y'", "panic: boom", "panic: boom")


# --- A JSON log line holds the traceback as one escaped string ---

def test_traceback_inside_json_log_line():
    record = {"ts": "2026-12-07T12:00:00Z", "level": "ERROR", "msg": "boom", "exc_info": "\n".join(PY_CHAIN)}
    text = ('{"ts": "2026-12-07T12:00:00Z", "level": "INFO", "msg": "starting"}\n'
            + json.dumps(record) + "\n"
            + '{"ts": "2026-12-07T12:00:01Z", "level": "INFO", "msg": "next"}\n')
    _check_chain(text)


def test_java_stack_inside_logstash_json_line():
    record = {"@timestamp": "2026-12-07T12:00:00.123Z", "level": "ERROR", "logger_name": "com.acme.App",
              "stack_trace": "java.lang.IllegalStateException: no\n\tat com.acme.App.run(App.java:12)\n"
                             "\tat com.acme.App.main(App.java:5)\n"}
    [trace] = resolve(parse("app | " + json.dumps(record) + "\n"), ["src/main/java/com/acme/App.java"])
    assert trace.exception == "java.lang.IllegalStateException"
    assert [(f.path, f.line, f.function) for f in trace.frames] == [
        ("src/main/java/com/acme/App.java", 12, "run"), ("src/main/java/com/acme/App.java", 5, "main")]


# --- pytest --doctest-modules: the section is `[doctest] app.doc.add`, the node id `path::app.doc.add` ---

PYTEST_DOCTEST = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.0.3, pluggy-1.6.0
rootdir: /tmp/s32/repo
collected 1 item

src/app/doc.py F                                                         [100%]

=================================== FAILURES ===================================
____________________________ [doctest] app.doc.add _____________________________
002 
003     >>> add(1, 2)
Expected:
    4
Got:
    3

/tmp/s32/repo/src/app/doc.py:3: DocTestFailure
=========================== short test summary info ============================
FAILED src/app/doc.py::app.doc.add
============================== 1 failed in 0.10s ===============================
"""


def test_pytest_doctest_failure_is_one_trace_with_its_test():
    [trace] = resolve(parse(PYTEST_DOCTEST), PY_FILES)
    assert trace.exception == "DocTestFailure"
    assert trace.test is not None
    assert (trace.test.container, trace.test.name, trace.test.path) == (
        "src/app/doc.py", "app.doc.add", "src/app/doc.py")
    assert [(f.path, f.line) for f in trace.frames] == [("src/app/doc.py", 3)]


# --- unittest's own runner names the failing test above each traceback ---

UNITTEST = """\
EFFF
======================================================================
ERROR: test_div (tests.test_ut.TestThing.test_div)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/s32/repo/tests/test_ut.py", line 7, in test_div
    divide(1, 0)
  File "/tmp/s32/repo/src/app/core.py", line 10, in divide
    return a / b
           ~~^~~
ZeroDivisionError: division by zero

======================================================================
FAIL: test_sub (tests.test_ut.TestThing.test_sub) (i=1)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/s32/repo/tests/test_ut.py", line 15, in test_sub
    self.assertEqual(i, 5)
AssertionError: 1 != 5

======================================================================
FAIL: test_old (tests.test_ut.TestThing)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/s32/repo/tests/test_ut.py", line 19, in test_old
    self.fail()
AssertionError: None

----------------------------------------------------------------------
Ran 3 tests in 0.001s

FAILED (failures=2, errors=1)
"""


def test_unittest_output_names_each_failing_test():
    traces = resolve(parse(UNITTEST), PY_FILES)
    assert [(t.test.container, t.test.name, t.test.params, t.test.path) for t in traces if t.test] == [
        ("tests.test_ut.TestThing", "test_div", "", "tests/test_ut.py"),
        ("tests.test_ut.TestThing", "test_sub", " (i=1)", "tests/test_ut.py"),
        ("tests.test_ut.TestThing", "test_old", "", "tests/test_ut.py"),
    ]
    assert [[(f.path, f.line) for f in t.frames] for t in traces] == [
        [("src/app/core.py", 10), ("tests/test_ut.py", 7)], [("tests/test_ut.py", 15)], [("tests/test_ut.py", 19)]]


# --- Node 20 ESM: the top-level frame is `at async file:///...` (no function, no parentheses) ---

NODE_ESM = """\
file:///app/src/lib/util.js:3
  return x.foo.bar;
               ^

TypeError: Cannot read properties of undefined (reading 'bar')
    at load (file:///app/src/lib/util.js:3:16)
    at async run (file:///app/src/main.js:2:31)
    at async file:///app/src/main.js:3:1

Node.js v20.20.2
"""


def test_node_esm_async_top_level_frame_has_a_clean_file():
    [trace] = resolve(parse(NODE_ESM), ["package.json", "src/main.js", "src/lib/util.js"])
    assert [(f.file, f.line, f.function, f.path) for f in trace.frames] == [
        ("file:///app/src/lib/util.js", 3, "load", "src/lib/util.js"),
        ("file:///app/src/main.js", 2, "run", "src/main.js"),
        ("file:///app/src/main.js", 3, None, "src/main.js"),
    ]

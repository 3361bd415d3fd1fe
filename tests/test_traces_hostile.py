"""Hostile and random input: parse returns traces or raises TraceError, never anything else."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rca_lsp.errors import TraceError
from rca_lsp.traces import MAX_FRAMES, parse, resolve
from rca_lsp.types import Trace

# Lines that look like parts of every format, to steer random text into the parsers' paths.
FRAGMENTS = [
    "Traceback (most recent call last):",
    '  File "/app/x.py", line 3, in main',
    '  File "x.py", line 1',
    "    raise ValueError('x')",
    "    ^^^^^^^^",
    "ValueError: boom",
    "KeyError",
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
    "  + Exception Group Traceback (most recent call last):",
    "  | ExceptionGroup: many (2 sub-exceptions)",
    "  +-+---------------- 1 ----------------",
    "    +------------------------------------",
    "SyntaxError: invalid syntax",
    "=================================== FAILURES ===================================",
    "___________________________ TestA.test_b[1] ___________________________",
    "_ _ _ _ _ _ _ _ _ _",
    ">       assert f() == 2",
    "E       assert 1 == 2",
    "E   ValueError: x",
    "tests/test_a.py:12: AssertionError",
    "tests/test_a.py:12: in test_b",
    "/abs/tests/test_a.py:3: KeyError: 'k'",
    "FAILED tests/test_a.py::TestA::test_b[1] - AssertionError: x",
    "FAILED ::",
    "----------------------------- Captured stdout call -----------------------------",
    "--- org.x.FooTest::testBar",
    "java.lang.IllegalStateException: bad",
    'Exception in thread "main" java.lang.Error',
    "\tat org.x.Foo.bar(Foo.java:12)",
    "\tat org.x.Foo$Inner.lambda$run$0(Foo.java)",
    "\tat java.base/java.lang.Thread.run(Thread.java:840)",
    "\tat app//org.x.Foo$$Lambda$14/0x0000000800c0b000.apply(Unknown Source)",
    "Caused by: java.io.IOException: io",
    "\tSuppressed: java.lang.Exception",
    "\t... 3 more",
    "\t... 99999 more",
    "[ERROR] testBar(org.x.FooTest)  Time elapsed: 0.01 s  <<< FAILURE!",
    "FooTest > testBar() FAILED",
    "    java.lang.AssertionError at FooTest.java:25",
    "TypeError: x is undefined",
    "    at fn (/abs/file.js:12:5)",
    "    at /abs/file.js:12:5",
    "    at async Promise.all (index 0)",
    "    at eval (eval at <anonymous> (file.js:1:1), <anonymous>:1:1)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {",
    "  [cause]: Error: inner",
    "}",
    "fn@http://x/y.js:1:2",
    " FAIL  src/a.test.js",
    "  ● Suite › name",
    "  1 failing",
    "  1) Suite",
    "       name:",
    "panic: runtime error: index out of range",
    "goroutine 1 [running]:",
    "main.(*T).M(0x0, {0x1, 0x2})",
    "\t/home/u/app/main.go:12 +0x1d",
    "created by main.main in goroutine 1",
    "--- FAIL: TestX (0.00s)",
    "    --- FAIL: TestX/sub (0.00s)",
    "    x_test.go:12: want 1",
    "=== RUN   TestX",
    "FAIL\texample.com/x\t0.01s",
    "thread 'main' panicked at src/main.rs:12:5:",
    "thread 'main' panicked at 'msg', src/main.rs:12:5",
    "thread 'x' panicked at '",
    "stack backtrace:",
    "   0: rust_begin_unwind",
    "             at ./src/lib.rs:12:5",
    "   1:     0x55d0c0a1b2c3 - <a::B as c::D>::f::h0123456789abcdef",
    "      inlined::frame",
    "---- tests::foo stdout ----",
    "note: run with `RUST_BACKTRACE=1`",
    "Program received signal SIGSEGV, Segmentation fault.",
    "#0  0x0000555555555189 in f (p=0x0) at x.c:5",
    "#1  main () at x.c:9",
    "#2  0x00007ffff7c29e40 in g () from /lib/libc.so.6",
    "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1",
    "    #0 0x4f in operator delete(void*) (/lib/libasan.so+0x1)",
    "    #1 0x50 in main /src/main.cc:12:3",
    "SUMMARY: AddressSanitizer: heap-use-after-free",
    "==9== Invalid read of size 4",
    "==9==    at 0x1: f (x.c:1)",
    "==9==    by 0x2: g (in /lib/x.so)",
    "==9==",
    '<testsuite><testcase classname="a.B" name="c"><failure type="X">',
    "java.lang.Error: in xml\n\tat a.B.c(B.java:1)",
    "</failure></testcase></testsuite>",
    "<testcase",
    "2024-01-01T00:00:00Z app[1]: ",
    "[INFO] ",
    "> ",
    "| ",
    "\x1b[31m",
    "",
    "\r",
]

line = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40))
documents = st.lists(line, max_size=40).map("\n".join)


class _Errors(logging.Handler):
    """Collects ERROR records: a parser that crashed logs one and loses its readings."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def parser_errors():
    handler = _Errors()
    log = logging.getLogger("rca_lsp.traces")
    log.addHandler(handler)
    yield handler.records
    log.removeHandler(handler)


def _parse_or_error(text: str) -> list[Trace]:
    try:
        traces = parse(text)
    except TraceError:
        return []
    assert traces and all(isinstance(t, Trace) for t in traces)
    return traces


def _check_frames(traces: list[Trace]) -> None:
    for trace in traces:
        for k, frame in enumerate(trace.frames):
            assert frame.index == k
        _check_frames(list(trace.causes))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_arbitrary_text(parser_errors, text):
    _check_frames(_parse_or_error(text))
    assert parser_errors == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents)
def test_trace_like_text(parser_errors, text):
    traces = _parse_or_error(text)
    _check_frames(traces)
    assert parser_errors == []
    resolved = resolve(traces, ["src/main.rs", "app/main.go", "org/x/Foo.java", "x.py", "x.c", "file.js"])
    assert len(resolved) == len(traces)


VALID = """\
Traceback (most recent call last):
  File "/srv/app/orders/pricing.py", line 12, in compute_total
    return subtotal / order.discount
ZeroDivisionError: division by zero
"""


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n\x1b\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                        max_size=60), max_size=10),
       st.lists(st.text(alphabet="abc xyz:.,=-", max_size=60), max_size=10))
def test_valid_trace_among_garbage(before, after):
    text = "\n".join(before + [""] + VALID.splitlines() + [""] + after)
    traces = parse(text)
    found = [t for t in traces if t.exception == "ZeroDivisionError"]
    assert len(found) == 1
    assert found[0].frames[0].line == 12


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["../", "/", "a/", "./", "..", "~/", "C:\\", "file:///", "x.py"]), max_size=8))
def test_climbing_paths_never_resolve(parts):
    """A path that climbs inside itself (`a/../x.py`) names nothing; leading `..` (pytest run in a
    subfolder: `../src/x.py`) only hide where the path starts, so it names what the absolute path does."""
    path = "".join(parts)
    frame_text = f'Traceback (most recent call last):\n  File "{path}x.py", line 1, in f\nE: e\n'
    traces = _parse_or_error(frame_text)
    files = ["x.py", "a/x.py", "etc/x.py"]
    for trace in resolve(traces, files):
        for frame in trace.frames:
            bare = re.sub(r"^(file://)?([A-Za-z]:)?", "", (frame.file or "").replace("\\", "/"))
            comps = [c for c in bare.split("/") if c and c != "."]
            rest = comps[next((i for i, c in enumerate(comps) if c != ".."), len(comps)):]
            if ".." in rest:
                assert frame.path is None and frame.external
            elif len(rest) < len(comps):
                absolute = f'Traceback (most recent call last):\n  File "/{"/".join(rest)}", line 1, in f\nE: e\n'
                assert frame.path == resolve(_parse_or_error(absolute), files)[0].frames[0].path


def test_frame_cap():
    frames = "".join(f"\tat org.x.Gen.f{i}(Gen.java:{i + 1})\n" for i in range(MAX_FRAMES + 1))
    [trace] = parse("java.lang.StackOverflowError\n" + frames)
    assert len(trace.frames) == MAX_FRAMES
    assert trace.truncated
    assert "truncated" in trace.message
    assert trace.frames[-1].function == f"f{MAX_FRAMES - 1}"


def test_frame_cap_spans_traces():
    one = "java.lang.Error: a\n" + "\tat a.B.c(B.java:1)\n" * 60_000
    traces = parse(one + "\n" + one + "\n" + one)
    assert sum(len(t.all_frames()) for t in traces) == MAX_FRAMES
    assert traces[-1].truncated and len(traces) == 2


def test_not_text_is_a_trace_error():
    with pytest.raises(TraceError):
        parse(None)  # type: ignore[arg-type]
    with pytest.raises(TraceError):
        parse("")


def test_pathological_lines():
    nasty = "\n".join([
        'File "' + "x" * 5000 + '", line 1' + ", in " * 500,
        "at " + "a." * 3000 + "(" * 500,
        "at f (" + "x:1:" * 2000 + ")",
        "___ " + "_ x " * 3000 + "___",
        "#1 " + " at " * 2000,
        "E   " + "Error: " * 2000,
        "=" * 100_000,
        "thread '" + "'" * 5000 + "' panicked at " + "'" * 5000,
        "<testcase" * 1000,
    ])
    _parse_or_error(nasty * 20)

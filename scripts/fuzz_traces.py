"""Coverage-guided fuzzing of the trace reader: `rca_lsp.traces.parse` then `resolve`.

    pip install atheris
    python scripts/fuzz_traces.py -max_total_time=600 [-dict=...] [corpus_dir]

Any exception other than TraceError from `parse`, any exception from `resolve`, a frame
path outside the tracked files, or more than MAX_FRAMES frames is a crash: libFuzzer stops,
writes the input to crash-<sha1> (in the current folder) and prints the traceback. Without a
corpus folder argument the seeds go to $TMPDIR/rca-fuzz-corpus-traces. The seeds are real traces of
every format, so mutations start inside the parsers' paths.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from rca_lsp.errors import TraceError
    from rca_lsp.traces import MAX_FRAMES, parse, resolve

FILES = [
    "src/main/java/org/x/Foo.java", "src/test/java/org/x/FooTest.java", "app/orders/views.py",
    "app/orders/pricing.py", "tests/test_a.py", "src/routes/users.js", "main.go", "src/lib.rs",
    "src/list.c", "src/main.c", "x_test.go", "pkg/a.py", "pkg/__init__.py",
]
TRACKED = set(FILES)

SEEDS = [
    'Traceback (most recent call last):\n  File "/srv/app/orders/views.py", line 31, in order_detail\n'
    '    total = compute_total(order)\n  File "app/orders/pricing.py", line 12, in compute_total\n'
    "    return subtotal / order.discount\nZeroDivisionError: division by zero\n",
    "--- org.x.FooTest::testBar\njava.lang.IllegalStateException: bad\n\tat org.x.Foo.bar(Foo.java:12)\n"
    "\tat org.x.FooTest.testBar(FooTest.java:7)\nCaused by: java.io.IOException: io\n\tat org.x.Foo.io(Foo.java:3)\n"
    "\t... 2 more\n",
    "TypeError: Cannot read properties of undefined (reading 'name')\n"
    "    at formatUser (/home/ana/api/src/routes/users.js:27:31)\n"
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n",
    "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n"
    "\t/home/ana/app/main.go:12 +0x1d\n",
    "thread 'main' panicked at src/lib.rs:88:14:\nindex out of bounds\nstack backtrace:\n"
    "   0: app::f\n             at ./src/lib.rs:88:14\n",
    "#0  0x0000555555555189 in list_push (list=0x0, value=3) at src/list.c:41\n"
    "#1  0x00005555555552a4 in main () at src/main.c:18\n",
    "=================================== FAILURES ===================================\n"
    "___________________________ TestA.test_b ___________________________\n\n"
    ">       assert f() == 2\nE       assert 1 == 2\n\ntests/test_a.py:12: AssertionError\n"
    "FAILED tests/test_a.py::TestA::test_b - AssertionError: x\n",
    "--- FAIL: TestX (0.00s)\n    x_test.go:12: want 1\nFAIL\texample.com/x\t0.01s\n",
    '<testsuite><testcase classname="org.x.FooTest" name="testBar"><failure type="java.lang.Error">'
    "java.lang.Error\n\tat org.x.Foo.bar(Foo.java:12)\n</failure></testcase></testsuite>\n",
    'Traceback (most recent call last):\n  File "../../etc/passwd", line 1, in <module>\n'
    '  File "/etc/shadow", line 2, in f\nKeyError: 1\n',
]


def _count(trace) -> int:
    return len(trace.frames) + sum(_count(c) for c in trace.causes)


def _check(trace) -> None:
    for frame in trace.all_frames():
        assert frame.path is None or frame.path in TRACKED, frame
    if trace.test is not None:
        assert trace.test.path is None or trace.test.path in TRACKED, trace.test


def test_one(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        traces = parse(text)
    except TraceError:
        return
    assert sum(_count(t) for t in traces) <= MAX_FRAMES
    for trace in resolve(traces, FILES):
        _check(trace)


def main() -> None:
    args = list(sys.argv)
    corpus = [a for a in args[1:] if not a.startswith("-")]
    if not corpus:  # write the seeds to a fresh corpus folder so libFuzzer starts from them
        folder = Path(tempfile.gettempdir()) / "rca-fuzz-corpus-traces"
        folder.mkdir(exist_ok=True)
        for i, seed in enumerate(SEEDS):
            (folder / f"seed-{i}").write_text(seed)
        args.append(str(folder))
    atheris.Setup(args, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

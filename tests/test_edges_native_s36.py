"""C, C++ and Rust failure output as a new user pastes it, produced for real (gcc 12.2.0 with its
sanitizers, GNU gdb 13.1, glibc 2.36, Debian 12) and copied here byte for byte; the live variants
run the tools where they are installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rca_lsp.traces import parse, resolve
from tests.conftest import GitRepoBuilder, ranked

ROOT = Path(__file__).resolve().parents[1]

# --- ThreadSanitizer prints `#0 worker /x/crash.c:25 (tsan+0x12f4)`: no address, no `in` ---------

# gcc 12.2.0 -fsanitize=thread, `./tsan race`
TSAN_RACE = """\
==================
WARNING: ThreadSanitizer: data race (pid=20579)
  Read of size 4 at 0x565158a0e084 by thread T2:
    #0 worker /work/s36/native/crash/crash.c:25 (tsan+0x12f4)

  Previous write of size 4 at 0x565158a0e084 by thread T1:
    #0 worker /work/s36/native/crash/crash.c:25 (tsan+0x130c)

  Location is global 'shared' of size 4 at 0x565158a0e084 (tsan+0x4084)

  Thread T2 (tid=20582, running) created by main thread at:
    #0 pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)
    #1 main /work/s36/native/crash/crash.c:45 (tsan+0x1483)

  Thread T1 (tid=20581, finished) created by main thread at:
    #0 pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)
    #1 main /work/s36/native/crash/crash.c:45 (tsan+0x1483)

SUMMARY: ThreadSanitizer: data race /work/s36/native/crash/crash.c:25 in worker
==================
ThreadSanitizer: reported 1 warnings
"""


def test_tsan_frames_keep_their_file_and_line():
    trace = parse(TSAN_RACE)[0]
    assert trace.exception == "ThreadSanitizer"
    top = trace.frames[0]
    assert (top.file, top.line, top.function) == ("/work/s36/native/crash/crash.c", 25, "worker")
    created = trace.causes[1].frames
    assert [(f.function, f.line) for f in created] == [("pthread_create", 1001), ("main", 45)]
    [resolved] = resolve([trace], ["crash.c", "Makefile"])
    assert resolved.frames[0].path == "crash.c" and not resolved.frames[0].external


def test_asan_frames_with_a_module_in_brackets_are_unchanged():
    frame = parse("==1==ERROR: AddressSanitizer: SEGV on unknown address\n"
                  "    #0 0x5562270df120 in _start (/work/s36/native/crash/ubsan+0x1120)\n")[0].frames[0]
    assert (frame.function, frame.file, frame.line) == ("_start", "/work/s36/native/crash/ubsan", None)


# --- gdb's `bt full` prints each frame's locals under it: one stack, not one trace per frame ------

# GNU gdb 13.1: `gdb -batch -ex run -ex bt -ex "bt full" ./test_parser` (g++ 12.2.0 -g -O0)
GDB_BT_FULL = """\
terminate called after throwing an instance of 'std::invalid_argument'
  what():  empty item in '1,,2'

Program received signal SIGABRT, Aborted.
__pthread_kill_implementation (threadid=<optimized out>, signo=signo@entry=6, no_tid=no_tid@entry=0) at ./nptl/pthread_kill.c:44
44	./nptl/pthread_kill.c: No such file or directory.
#0  __pthread_kill_implementation (threadid=<optimized out>, signo=signo@entry=6, no_tid=no_tid@entry=0) at ./nptl/pthread_kill.c:44
        tid = <optimized out>
        ret = 0
        pd = <optimized out>
        old_mask = {__val = {0}}
        ret = <optimized out>
#1  0x00007ffff7aa8f4f in __pthread_kill_internal (signo=6, threadid=<optimized out>) at ./nptl/pthread_kill.c:78
No locals.
#2  0x00007ffff7a59fb2 in __GI_raise (sig=sig@entry=6) at ../sysdeps/posix/raise.c:26
        ret = <optimized out>
#3  0x00007ffff7a44472 in __GI_abort () at ./stdlib/abort.c:79
        save_stage = 1
        act = {__sigaction_handler = {sa_handler = 0x20, sa_sigaction = 0x20}, sa_mask = {__val = {0 <repeats 15 times>, 140737354125344}}, sa_flags = -139853863, sa_restorer = 0x55555556cfb8}
#4  0x00007ffff7c9d919 in ?? () from /lib/x86_64-linux-gnu/libstdc++.so.6
No symbol table info available.
#5  0x00007ffff7ca8e1a in ?? () from /lib/x86_64-linux-gnu/libstdc++.so.6
No symbol table info available.
#6  0x00007ffff7ca8e85 in std::terminate() () from /lib/x86_64-linux-gnu/libstdc++.so.6
No symbol table info available.
#7  0x00007ffff7ca90d8 in __cxa_throw () from /lib/x86_64-linux-gnu/libstdc++.so.6
No symbol table info available.
#8  0x0000555555556961 in calc::Parser::numbers (this=0x7fffffffe640) at src/parser.cpp:15
        out = std::vector of length 1, capacity 1 = {1}
        ss = <incomplete type>
        item = ""
#9  0x0000555555556a9b in calc::Parser::sum (this=0x7fffffffe640) at src/parser.cpp:23
        n = 32767
        __for_begin = non-dereferenceable iterator for std::vector
        __for_end = non-dereferenceable iterator for std::vector
        total = 0
#10 0x000055555555648f in test_sum_empty_item () at tests/test_parser.cpp:7
        p = {text_ = "1,,2"}
#11 0x0000555555556514 in main () at tests/test_parser.cpp:11
No locals.
"""


def test_gdb_bt_full_is_one_stack():
    [trace] = parse(GDB_BT_FULL)
    assert len(trace.frames) == 12
    numbers = trace.frames[8]
    assert (numbers.qualname, numbers.file, numbers.line) == ("calc::Parser::numbers", "src/parser.cpp", 15)
    assert trace.frames[11].function == "main"


def test_gdb_bt_then_bt_full_reads_the_stack_twice_not_thirteen_times():
    bt = "".join(line + "\n" for line in GDB_BT_FULL.splitlines() if line.startswith("#"))
    traces = parse(GDB_BT_FULL.replace("#0  __pthread_kill_implementation", bt + "#0  __pthread_kill_implementation", 1))
    assert [len(t.frames) for t in traces] == [12, 12]


# --- glibc's assert(): `prog: file:line: function: Assertion `expr' failed.`, with no stack ---------

# glibc 2.36, gcc 12.2.0 -g: `./plain assert`; g++ 12.2.0: `./asrt` (glibc prints C++'s pretty name)
GLIBC_ASSERT_C = "plain: crash.c:16: check: Assertion `v > 0 && \"value must be positive\"' failed.\n"
GLIBC_ASSERT_CPP = ("asrt: asrt.cpp:2: int calc::Parser::sum(int) const: Assertion `n >= 0 && \"negative\"' "
                    "failed.\nAborted\n")


def test_glibc_assertion_is_a_one_frame_trace():
    [trace] = parse(GLIBC_ASSERT_C)
    assert trace.format == "cpp" and trace.exception == "assertion"
    assert "v > 0" in trace.message
    frame = trace.frames[0]
    assert (frame.file, frame.line, frame.function) == ("crash.c", 16, "check")


def test_glibc_assertion_in_cpp_names_the_method_without_its_return_type():
    frame = parse(GLIBC_ASSERT_CPP)[0].frames[0]
    assert (frame.file, frame.line, frame.function, frame.module) == ("asrt.cpp", 2, "sum", "calc::Parser")


def test_glibc_assertion_from_ci_resolves_to_the_repository():
    text = "2024-05-01T10:00:00.1234567Z test_strbuf: /home/runner/work/proj/proj/tests/t.c:11: " \
           "test_append_long: Assertion `strcmp(sb.data, \"ab\") == 0' failed.\n"
    [trace] = resolve(parse(text), ["tests/t.c", "src/strbuf.c"])
    assert trace.frames[0].path == "tests/t.c" and trace.frames[0].line == 11


def test_prose_about_assertions_is_no_trace():
    from rca_lsp.errors import TraceError
    with pytest.raises(TraceError):
        parse("note: see x.c: the Assertion `a' failed. is glibc's message\n")


# --- gdb names with parentheses inside template arguments -----------------------------------------

# GNU gdb 13.1 `thread apply all bt`, g++ 12.2.0 -g -O0
GDB_TEMPLATE_FRAME = ("#4  0x0000555555556a33 in std::__invoke_impl<void, void (*)()> "
                      "(__f=@0x55555556ceb8: 0x555555555209 <app::idle()>) at /usr/include/c++/12/bits/invoke.h:61\n")


def test_gdb_template_arguments_with_parentheses_stay_in_the_name():
    frame = parse(GDB_TEMPLATE_FRAME)[0].frames[0]
    assert frame.qualname == "std::__invoke_impl<void, void (*)()>"
    assert frame.function == "__invoke_impl<void, void (*)()>" and frame.module == "std"
    assert frame.line == 61


# --- the culprit is ranked with frame evidence from a ThreadSanitizer report -----------------------

def _race_repo(root: Path) -> GitRepoBuilder:
    repo = GitRepoBuilder(root)
    repo.commit("Add counter", {"src/counter.c": "static int hits;\n\nvoid *worker(void *arg) {\n"
                                "    (void)arg;\n    return 0;\n}\n"})
    repo.commit("Add README", {"README.md": "# counter\n"}, author="Bob")
    repo.commit("Count hits in the worker", {"src/counter.c": "static int hits;\n\nvoid *worker(void *arg) {\n"
                                             "    (void)arg;\n    hits++;\n    return 0;\n}\n"}, author="Carol")
    repo.commit("Document", {"README.md": "# counter\n\nmake test\n"}, author="Bob")
    return repo


def test_tsan_report_ranks_the_commit_that_wrote_the_racy_line(tmp_path):
    from rca_lsp.vcs import open_repo
    _race_repo(tmp_path / "repo")
    text = TSAN_RACE.replace("/work/s36/native/crash/crash.c:25", "/home/runner/work/c/c/src/counter.c:5")
    result = ranked(open_repo(tmp_path / "repo"), text)
    top = result.suspects[0]
    assert top.commit.summary == "Count hits in the worker"
    assert any(e.kind == "frame-line" and e.path == "src/counter.c" and e.line == 5 for e in top.evidence)


# --- live: the real tools, where installed ----------------------------------------------------------

_RACY = "#include <pthread.h>\nstatic int shared;\nstatic void *worker(void *a) {\n    (void)a;\n    shared++;\n" \
        "    return 0;\n}\nint main(void) {\n    pthread_t t[2];\n    for (int i = 0; i < 2; i++) " \
        "pthread_create(&t[i], 0, worker, 0);\n    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);\n" \
        "    return 0;\n}\n"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc with ThreadSanitizer")
def test_live_tsan_report(tmp_path):
    (tmp_path / "race.c").write_text(_RACY)
    build = subprocess.run(["gcc", "-g", "-O0", "-fsanitize=thread", "-o", "race", "race.c", "-lpthread"],
                           cwd=tmp_path, capture_output=True, text=True)
    if build.returncode:
        pytest.skip(f"no ThreadSanitizer here: {build.stderr[-200:]}")
    out = subprocess.run(["./race"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    if "ThreadSanitizer" not in out.stderr or "data race" not in out.stderr:
        pytest.skip("ThreadSanitizer reported no race on this run (or could not run here)")
    trace = parse(out.stderr)[0]
    assert any(f.line == 5 and (f.file or "").endswith("race.c") for f in trace.frames)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc and glibc")
def test_live_glibc_assertion(tmp_path):
    (tmp_path / "a.c").write_text("#include <assert.h>\nint main(int c, char **v) {\n    (void)v;\n"
                                  "    assert(c > 5);\n    return 0;\n}\n")
    subprocess.run(["gcc", "-g", "-o", "a", "a.c"], cwd=tmp_path, check=True)
    out = subprocess.run(["./a"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    if "Assertion" not in out.stderr:
        pytest.skip(f"not glibc's assert here: {out.stderr[-200:]}")
    frame = parse(out.stderr)[0].frames[0]
    assert (frame.file, frame.line, frame.function) == ("a.c", 4, "main")


@pytest.mark.skipif(shutil.which("gdb") is None or shutil.which("gcc") is None, reason="needs gdb and gcc")
def test_live_gdb_bt_full(tmp_path):
    (tmp_path / "s.c").write_text("static int deref(int *p) {\n    int local = 3;\n    return *p + local;\n}\n"
                                  "int main(void) {\n    return deref(0);\n}\n")
    subprocess.run(["gcc", "-g", "-O0", "-o", "s", "s.c"], cwd=tmp_path, check=True)
    out = subprocess.run(["gdb", "-q", "-batch", "-ex", "run", "-ex", "bt full", "./s"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    if "local = " not in out.stdout:
        pytest.skip(f"gdb could not run the program here: {out.stdout[-300:]} {out.stderr[-300:]}")
    [trace] = parse(out.stdout)
    assert [(f.function, f.line) for f in trace.frames] == [("deref", 3), ("main", 6)]


# --- C++'s uncaught exception names the exception of the gdb stack that follows it ------------------

def test_uncaught_cpp_exception_names_the_gdb_stack():
    [trace] = parse(GDB_BT_FULL)
    assert (trace.exception, trace.message) == ("std::invalid_argument", "empty item in '1,,2'")


# GNU gdb 13.1 `thread apply all bt` on a threaded program (g++ 12.2.0): the signal names its thread
GDB_THREAD_SIGNAL = """\
Thread 1 "threads" received signal SIGSEGV, Segmentation fault.
0x00005555555552bc in app::crash () at threads.cpp:13
13	void crash() { int *p = nothing(); *p = pick<int>(Store{{1,2}}, 1); }

Thread 1 (Thread 0x7ffff7eb1740 (LWP 22325) "threads"):
#0  0x00005555555552bc in app::crash () at threads.cpp:13
#1  0x0000555555555358 in main () at threads.cpp:18
"""


def test_gdb_signal_of_a_named_thread():
    [trace] = parse(GDB_THREAD_SIGNAL)
    assert (trace.exception, trace.message) == ("SIGSEGV", "Segmentation fault")
    assert [f.qualname for f in trace.frames] == ["app::crash", "main"]


def test_gdb_signal_goes_to_its_thread_in_thread_apply_all_bt():
    idle = ("Thread 2 (Thread 0x7ffff7a1d6c0 (LWP 22350) \"threads\"):\n"
            "#0  0x00007ffff7aed545 in __GI___clock_nanosleep (clock_id=clock_id@entry=0, flags=flags@entry=0, "
            "req=0x7ffff7a1cdc0, rem=0x7ffff7a1cdc0) at ../sysdeps/unix/sysv/linux/clock_nanosleep.c:48\n"
            "#3  0x0000555555555237 in app::idle () at threads.cpp:11\n\n")
    text = GDB_THREAD_SIGNAL.replace("Thread 1 (Thread", idle + "Thread 1 (Thread")
    idle_trace, crash = parse(text)
    assert idle_trace.exception == "crash" and idle_trace.frames[-1].qualname == "app::idle"
    assert (crash.exception, crash.frames[0].qualname) == ("SIGSEGV", "app::crash")


THREADS_CPP = "".join(f"// {n}\n" for n in range(1, 11)) + (
    "void idle() { for (;;) pause(); }\n"  # 11
    "// 12\n"
    "void crash() { int *p = nothing(); *p = 1; }\n"  # 13
    + "".join(f"// {n}\n" for n in range(14, 18))
    + "int main() { crash(); }\n")  # 18


def test_the_thread_the_signal_hit_counts_first_wherever_gdb_prints_it(tmp_path):
    """`thread apply all bt` printed an idle thread before the crashing one: the idle thread's frames
    weighed most, and the commit that last touched the idle loop outranked the one that broke crash()."""
    repo = GitRepoBuilder(tmp_path / "threads")
    repo.commit("threads", {"threads.cpp": THREADS_CPP})
    culprit = repo.commit("crash: write through the pointer", {"threads.cpp": THREADS_CPP.replace("*p = 1;", "*p = 2;")})
    idler = repo.commit("idle: pause", {"threads.cpp": THREADS_CPP.replace("*p = 1;", "*p = 2;").replace("pause()", "sleep(1)")})
    idle = ("Thread 2 (Thread 0x7ffff7a1d6c0 (LWP 22350) \"threads\"):\n"
            "#0  0x00007ffff7aed545 in __GI___clock_nanosleep (clock_id=0, flags=0) at clock_nanosleep.c:48\n"
            "#1  0x0000555555555237 in app::idle () at threads.cpp:11\n\n")
    text = GDB_THREAD_SIGNAL.replace("Thread 1 (Thread", idle + "Thread 1 (Thread")
    done = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"],
                          cwd=repo.root, input=text, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    order = [x["commit"] for x in json.loads(done.stdout)["suspects"]]
    assert order.index(culprit) < order.index(idler)  # before: the idle loop's commit above the culprit



# cargo 1.95.0 / rustc 1.95.0, `RUST_BACKTRACE=1 cargo test`: one failure's section, byte for byte
CARGO_SECTION = "---- tests::skips_blank_items stdout ----\nthread 'tests::skips_blank_items' (23535) panicked at src/parse.rs:6:22:\nbad number: ParseIntError { kind: Empty }\nstack backtrace:\n   0: __rustc::rust_begin_unwind\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs:689:5\n   1: core::panicking::panic_fmt\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:80:14\n   2: core::result::unwrap_failed\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs:1867:5\n   3: core::result::Result<T,E>::expect\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs:1185:23\n   4: tally::parse::item\n             at ./src/parse.rs:6:22\n   5: core::ops::function::FnMut::call_mut\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:166:5\n   6: core::ops::function::impls::<impl core::ops::function::FnOnce<A> for &mut F>::call_once\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:310:21\n   7: core::option::Option<T>::map\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/option.rs:1165:29\n   8: <core::iter::adapters::map::Map<I,F> as core::iter::traits::iterator::Iterator>::next\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/iter/adapters/map.rs:107:26\n   9: alloc::vec::Vec<T,A>::extend_desugared\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/vec/mod.rs:3969:44\n  10: <alloc::vec::Vec<T,A> as alloc::vec::spec_extend::SpecExtend<T,I>>::spec_extend\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/vec/spec_extend.rs:18:14\n  11: <alloc::vec::Vec<T> as alloc::vec::spec_from_iter_nested::SpecFromIterNested<T,I>>::from_iter\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/vec/spec_from_iter_nested.rs:41:9\n  12: <alloc::vec::Vec<T> as alloc::vec::spec_from_iter::SpecFromIter<T,I>>::from_iter\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/vec/spec_from_iter.rs:33:9\n  13: <alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/vec/mod.rs:3865:9\n  14: core::iter::traits::iterator::Iterator::collect\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/iter/traits/iterator.rs:2064:9\n  15: tally::parse::numbers\n             at ./src/parse.rs:2:31\n  16: tally::total\n             at ./src/lib.rs:5:5\n  17: tally::tests::skips_blank_items\n             at ./src/lib.rs:19:20\n  18: tally::tests::skips_blank_items::{{closure}}\n             at ./src/lib.rs:18:27\n  19: core::ops::function::FnOnce::call_once\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:250:5\n  20: <fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once\n             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:250:5\nnote: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n"
TALLY_LIB = 'pub mod parse;\n\n/// The sum of the comma-separated numbers.\npub fn total(text: &str) -> u32 {\n    parse::numbers(text).iter().sum()\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn sums_items() {\n        assert_eq!(total("1,2,3"), 6);\n    }\n\n    #[test]\n    fn skips_blank_items() {\n        assert_eq!(total("1,,2"), 3);\n    }\n\n    #[test]\n    fn threaded_total() {\n        let h = std::thread::spawn(|| total("4,,5"));\n        assert_eq!(h.join().unwrap(), 9);\n    }\n\n    #[test]\n    #[should_panic(expected = "bad number")]\n    fn rejects_letters() {\n        total("1,x");\n    }\n}\n'
TALLY_PARSE_OK = "pub fn numbers(text: &str) -> Vec<u32> {\n    text.split(',').filter(|s| !s.trim().is_empty()).map(item).collect()\n}\n\nfn item(s: &str) -> u32 {\n    s.trim().parse().expect(\"bad number\")\n}\n"
TALLY_PARSE_BAD = TALLY_PARSE_OK.replace(".filter(|s| !s.trim().is_empty())", "")


def test_rust_unit_tests_in_the_codes_own_file_are_test_code(tmp_path):
    """`#[cfg(test)] mod tests` lives in src/lib.rs, no test path: its frames counted as code, so the
    commit that wrote the failing test got frame evidence and could outrank the culprit."""
    repo = GitRepoBuilder(tmp_path / "tally")
    head = TALLY_LIB.split("#[cfg(test)]")[0]
    repo.commit("Add tally", {"src/lib.rs": head, "src/parse.rs": TALLY_PARSE_OK, "Cargo.toml": "[package]\nname = \"tally\"\n"})
    tests = repo.commit("Cover blank items", {"src/lib.rs": TALLY_LIB})
    culprit = repo.commit("Parse every item", {"src/parse.rs": TALLY_PARSE_BAD})
    done = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"],
                          cwd=repo.root, input=CARGO_SECTION, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    suspects = json.loads(done.stdout)["suspects"]
    assert suspects[0]["commit"] == culprit
    wrote_test = next(s for s in suspects if s["commit"] == tests)
    assert not [e for e in wrote_test["evidence"] if e["kind"] != "words" and "skips_blank_items" in e["text"]]
    # before: "changed tests.skips_blank_items, the function of frame 18 of the trace", and it ranked first

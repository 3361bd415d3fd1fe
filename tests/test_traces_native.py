"""C/C++ backtraces: gdb, AddressSanitizer, valgrind."""

from __future__ import annotations

import pytest

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve

GDB = """\
Program received signal SIGSEGV, Segmentation fault.
0x0000555555555189 in list_push (list=0x0, value=3) at src/list.c:41
41\t    list->items[list->len++] = value;
(gdb) bt
#0  0x0000555555555189 in list_push (list=0x0, value=3) at src/list.c:41
#1  0x00005555555552a4 in load_numbers (path=0x7fffffffe3c1 "in.txt") at src/main.c:18
#2  0x0000555555555301 in main (argc=2, argv=0x7fffffffdfa8) at src/main.c:30
#3  0x00007ffff7c29d90 in __libc_start_call_main (main=main@entry=0x5555555552e0 <main>, argc=argc@entry=2, argv=argv@entry=0x7fffffffdfa8) at ../sysdeps/nptl/libc_start_call_main.h:58
#4  0x00007ffff7c29e40 in __libc_start_main_impl () from /lib/x86_64-linux-gnu/libc.so.6
#5  0x00005555555550c5 in _start ()
"""

ASAN = """\
=================================================================
==48213==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000014 at pc 0x55b8f1e4a2c1 bp 0x7ffd5d1f8a70 sp 0x7ffd5d1f8a60
READ of size 4 at 0x602000000014 thread T0
    #0 0x55b8f1e4a2c0 in Buffer::size() const /home/ana/imgtool/src/buffer.cc:27:12
    #1 0x55b8f1e4b7d3 in imgtool::Decoder::decode(std::vector<unsigned char, std::allocator<unsigned char> > const&) /home/ana/imgtool/src/decoder.cc:88:20
    #2 0x55b8f1e4c010 in main /home/ana/imgtool/src/main.cc:14:3
    #3 0x7f3e0a829d8f in __libc_start_call_main ../sysdeps/nptl/libc_start_call_main.h:58:16
    #4 0x55b8f1e49e24 in _start (/home/ana/imgtool/build/imgtool+0x2e24)

0x602000000014 is located 4 bytes inside of 16-byte region [0x602000000010,0x602000000020)
freed by thread T0 here:
    #0 0x7f3e0acb724f in operator delete(void*, unsigned long) ../../../../src/libsanitizer/asan/asan_new_delete.cpp:172
    #1 0x55b8f1e4b6a1 in imgtool::Decoder::reset() /home/ana/imgtool/src/decoder.cc:61:5

previously allocated by thread T0 here:
    #0 0x7f3e0acb61e7 in operator new(unsigned long) ../../../../src/libsanitizer/asan/asan_new_delete.cpp:99
    #1 0x55b8f1e4b5c2 in imgtool::Decoder::Decoder() /home/ana/imgtool/src/decoder.cc:12:17

SUMMARY: AddressSanitizer: heap-use-after-free /home/ana/imgtool/src/buffer.cc:27:12 in Buffer::size() const
==48213==ABORTING
"""

FILES = ["src/list.c", "src/main.c", "src/list.h", "src/buffer.cc", "src/decoder.cc", "src/main.cc"]


def test_gdb_backtrace():
    [trace] = parse(GDB)
    assert trace.format == "cpp"
    assert (trace.exception, trace.message) == ("SIGSEGV", "Segmentation fault")
    assert [f.function for f in trace.frames] == [
        "list_push", "load_numbers", "main", "__libc_start_call_main", "__libc_start_main_impl", "_start"]
    assert (trace.frames[0].file, trace.frames[0].line) == ("src/list.c", 41)
    assert trace.frames[4].file == "/lib/x86_64-linux-gnu/libc.so.6"
    [resolved] = resolve([trace], FILES)
    assert [f.path for f in resolved.frames] == ["src/list.c", "src/main.c", "src/main.c", None, None, None]
    assert [f.external for f in resolved.frames] == [False, False, False, True, True, True]


def test_asan_report_with_free_and_alloc_stacks():
    [trace] = parse(ASAN)
    assert trace.exception == "AddressSanitizer"
    assert trace.message.startswith("heap-use-after-free on address 0x602000000014")
    top = trace.frames[0]
    assert (top.function, top.qualname, top.module, top.line) == ("size", "Buffer::size() const", "Buffer", 27)
    assert trace.frames[1].function == "decode"
    assert trace.frames[1].module == "imgtool::Decoder"
    assert trace.frames[4].file == "/home/ana/imgtool/build/imgtool"
    freed, allocated = trace.causes
    assert freed.message == "freed by thread T0 here"
    assert freed.frames[1].function == "reset"
    assert allocated.frames[1].line == 12
    [resolved] = resolve([trace], FILES)
    assert [f.path for f in resolved.frames] == ["src/buffer.cc", "src/decoder.cc", "src/main.cc", None, None]
    assert resolved.causes[0].frames[0].external


def test_valgrind_report():
    text = """\
==9123== Memcheck, a memory error detector
==9123== Command: ./build/list_test
==9123==
==9123== Invalid write of size 4
==9123==    at 0x109189: list_push (list.c:41)
==9123==    by 0x1092A3: load_numbers (main.c:18)
==9123==    by 0x4A7ED8F: (below main) (libc_start_call_main.h:58)
==9123==  Address 0x4aa1048 is 0 bytes after a block of size 8 alloc'd
==9123==    at 0x4848899: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==9123==    by 0x109160: list_new (list.c:12)
==9123==
"""
    [trace] = parse(text)
    assert (trace.exception, trace.message) == ("valgrind", "Invalid write of size 4")
    assert [(f.function, f.file, f.line) for f in trace.frames[:2]] == [
        ("list_push", "list.c", 41), ("load_numbers", "main.c", 18)]
    [cause] = trace.causes
    assert cause.message.startswith("Address 0x4aa1048 is 0 bytes after")
    assert cause.frames[1].function == "list_new"
    [resolved] = resolve([trace], FILES)
    assert resolved.frames[0].path == "src/list.c"


def test_markdown_headings_are_not_frames_and_cut_backtrace():
    text = "#1 Introduction\n#2 Usage (see below)\n" + GDB[: GDB.index("#3")] + "#3  0x00007ffff7c2"
    [trace] = parse(text)
    assert len(trace.frames) == 3
    assert trace.truncated


def test_ubsan_report_without_a_stack_is_a_one_frame_trace():
    """UndefinedBehaviorSanitizer prints no stack by default (print_stacktrace=0): its location line
    is the frame; a compiler warning of the same shape is not a trace."""
    text = """\
$ ./build/calc 2147483647 1
src/calc.c:4:14: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'
SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior src/calc.c:4:14 in
"""
    [trace] = parse(text)
    assert (trace.format, trace.exception) == ("cpp", "UndefinedBehaviorSanitizer")
    assert trace.message.startswith("signed integer overflow: 2147483647 + 1")
    assert [(f.file, f.line) for f in trace.frames] == [("src/calc.c", 4)]
    [resolved] = resolve([trace], ["src/calc.c", "src/main.c"])
    assert resolved.frames[0].path == "src/calc.c" and not resolved.frames[0].external
    with_stack = text.replace("SUMMARY", "    #0 0x4011d6 in add /work/src/calc.c:4:14\n"
                                         "    #1 0x401234 in main /work/src/main.c:9:3\n\nSUMMARY")
    [trace] = parse(with_stack)
    assert [(f.function, f.line) for f in trace.frames] == [("add", 4), ("main", 9)]
    with pytest.raises(TraceError):
        parse("src/calc.c:4:14: warning: unused variable 'y'\n")

"""Go panics and `go test` failures."""

from __future__ import annotations

from rca_lsp.traces import parse, resolve
from rca_lsp.types import TestId as Tid

PANIC = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x10 pc=0x6f4b2a]

goroutine 34 [running]:
github.com/acme/shop/internal/store.(*OrderStore).Total(0x0, {0xc0001a2000, 0x24})
\t/home/ana/go/src/github.com/acme/shop/internal/store/orders.go:88 +0x2a
github.com/acme/shop/internal/api.(*Server).handleOrder.func1({0x8a1f40, 0xc0000b2380})
\t/home/ana/go/src/github.com/acme/shop/internal/api/orders.go:41 +0x9c
net/http.HandlerFunc.ServeHTTP(0xc000190000?, {0x8a1f40?, 0xc0000b2380?}, 0x0?)
\t/usr/local/go/src/net/http/server.go:2166 +0x29
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3285 +0x4b4

goroutine 1 [IO wait]:
internal/poll.runtime_pollWait(0x7f1b4c6e1e28, 0x72)
\t/usr/local/go/src/runtime/netpoll.go:345 +0x85
exit status 2
"""

FILES = ["internal/store/orders.go", "internal/api/orders.go", "cmd/shop/main.go", "mathx/add.go",
         "mathx/add_test.go", "go.mod"]


def test_panic_frames_and_message():
    [trace] = parse(PANIC)
    assert trace.format == "go"
    assert trace.exception == "panic"
    assert trace.message.startswith("runtime error: invalid memory address or nil pointer dereference")
    assert "[signal SIGSEGV" in trace.message
    assert len(trace.frames) == 4  # the other goroutine is skipped
    top = trace.frames[0]
    assert (top.function, top.line, top.module) == ("Total", 88, "github.com/acme/shop/internal/store")
    assert top.qualname == "github.com/acme/shop/internal/store.(*OrderStore).Total"
    assert trace.frames[1].function == "handleOrder"  # closure func1 -> enclosing method
    assert trace.frames[3].qualname == "net/http.(*Server).Serve"
    assert not trace.truncated


def test_panic_resolve():
    [trace] = resolve(parse(PANIC), FILES)
    assert [f.path for f in trace.frames] == ["internal/store/orders.go", "internal/api/orders.go", None, None]
    assert [f.external for f in trace.frames] == [False, False, True, True]


def test_go_test_failure_with_package():
    text = """\
--- FAIL: TestAdd (0.00s)
    add_test.go:12: Add(1, 2) = 4; want 3
    add_test.go:13: Add(-1, 1) = 2; want 0
--- FAIL: TestSub (0.00s)
    --- FAIL: TestSub/negative (0.00s)
        add_test.go:30: Sub(1, 2) = 1; want -1
FAIL
FAIL\tgithub.com/acme/mathx\t0.003s
"""
    add, sub = parse(text)
    assert add.test == Tid("github.com/acme/mathx", "TestAdd")
    assert add.exception == "FAIL"
    assert add.message == "Add(1, 2) = 4; want 3\nAdd(-1, 1) = 2; want 0"
    assert [(f.file, f.line, f.function) for f in add.frames] == [("add_test.go", 12, "TestAdd"),
                                                                  ("add_test.go", 13, "TestAdd")]
    assert sub.test.name == "TestSub"
    assert sub.frames[0].line == 30
    [resolved, _] = resolve([add, sub], FILES)
    assert resolved.frames[0].path == "mathx/add_test.go"
    assert resolved.test.path == "mathx/add_test.go"


def test_go_test_verbose_logs_before_fail_line():
    text = """\
=== RUN   TestAdd
    add_test.go:12: Add(1, 2) = 4; want 3
--- FAIL: TestAdd (0.00s)
=== RUN   TestOK
--- PASS: TestOK (0.00s)
FAIL
"""
    [trace] = parse(text)
    assert trace.test.name == "TestAdd"
    assert trace.frames[0].line == 12


def test_panic_inside_test():
    text = """\
--- FAIL: TestParse (0.00s)
panic: runtime error: index out of range [3] with length 3 [recovered]
\tpanic: runtime error: index out of range [3] with length 3

goroutine 7 [running]:
testing.tRunner.func1.2({0x5b1e20, 0xc000018150})
\t/usr/local/go/src/testing/testing.go:1631 +0x24a
panic({0x5b1e20?, 0xc000018150?})
\t/usr/local/go/src/runtime/panic.go:770 +0x132
github.com/acme/mathx.Parse(...)
\t/home/ana/mathx/add.go:21
github.com/acme/mathx.TestParse(0xc0000a4820)
\t/home/ana/mathx/add_test.go:40 +0x1d
testing.tRunner(0xc0000a4820, 0x5d8a08)
\t/usr/local/go/src/testing/testing.go:1689 +0xfb
created by testing.(*T).Run in goroutine 1
\t/usr/local/go/src/testing/testing.go:1742 +0x390
"""
    [trace] = parse(text)
    assert trace.test == Tid("github.com/acme/mathx", "TestParse")
    assert trace.frames[2].function == "Parse"
    assert trace.frames[2].line == 21
    [resolved] = resolve([trace], FILES)
    assert [f.external for f in resolved.frames] == [True, True, False, False, True, True]
    assert resolved.test.path == "mathx/add_test.go"


def test_truncated_panic():
    cut = PANIC[: PANIC.index("\t/home/ana/go/src/github.com/acme/shop/internal/api/orders.go")]
    [trace] = parse(cut)
    assert trace.truncated
    assert len(trace.frames) == 1

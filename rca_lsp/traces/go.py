"""Go panics (`panic:` + `goroutine N [running]:`) and `go test` failures (`--- FAIL: TestX`).

A panic's frames are those of the first goroutine after it (the one that panicked),
innermost first as Go prints them; other goroutines are skipped. A `--- FAIL` without
a panic becomes a trace whose frames are the `file_test.go:12: message` lines it logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from rca_lsp.traces.base import MAX_MESSAGE_LINES, Found, at_end, indent, numbered
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

GOROUTINE = re.compile(r"goroutine \d{1,12} \[[^\]]{0,200}\]:")
FAIL = re.compile(r"--- FAIL: (?P<name>\S{1,1000}) \([\d.]{1,20}m?s\)")
RUN = re.compile(r"=== (?:RUN|CONT|PAUSE)\s{1,10}(?P<name>\S{1,1000})")
LOG = re.compile(r"(?P<file>[\w./-]{1,4096}\.go):(?P<line>\d{1,9}):(?: (?P<msg>.*))?")
PACKAGE = re.compile(r"(?:FAIL|ok)\s{1,10}(?P<pkg>\S{1,1000})(?:\s.{0,200})?")
_PANIC_PREFIXES = ("panic: ", "fatal error: ")
_CLOSURE = re.compile(r"(?:func|gowrap|deferwrap)\d{1,9}")


def _func_line(s: str) -> tuple[str, str, str] | None:
    """`pkg/path.(*T).Method(0x1, {...})` -> (qualname, function, package)."""
    if not s.endswith(")") or s.startswith(("/", "goroutine ")) or " " in s.split("(", 1)[0]:
        return None
    qual = s[: s.rfind("(")]
    if not qual:
        return None
    if "[" in qual:  # generic instantiation: pkg.Map[...]
        qual = qual.split("[", 1)[0] + qual[qual.rfind("]") + 1:]
    slash = qual.rfind("/")
    package, dot, rest = qual[slash + 1:].partition(".")
    package = qual[: slash + 1] + package
    parts = [p for p in rest.split(".") if p and not _CLOSURE.fullmatch(p)] or [rest]
    function = parts[-1].strip("()*")
    return qual, function, package


def _file_line(s: str) -> tuple[str, int] | None:
    """`/path/file.go:12 +0x1d` -> (/path/file.go, 12)."""
    loc = s.split(" +0x", 1)[0].strip()
    file, sep, num = loc.rpartition(":")
    if not sep or not num.isdigit() or not file.endswith(".go"):
        return None
    return file, int(num)


def _read_goroutine(lines: tuple[str, ...], j: int) -> tuple[list[Frame], int, bool]:
    """Frames of the goroutine whose header is at j; returns them, the next line, cut-off."""
    frames: list[Frame] = []
    k = j + 1
    while k < len(lines):
        s = lines[k].strip()
        created = s.startswith("created by ")
        fn = _func_line(s.split(" in goroutine ", 1)[0][len("created by "):] + "()") if created else _func_line(s)
        if fn is None:
            break
        where = _file_line(lines[k + 1].strip()) if k + 1 < len(lines) else None
        if where is None:
            return frames, k + 1, at_end(lines, k + 1)
        frames.append(Frame(index=0, raw=f"{s}\n{lines[k + 1].strip()}", file=where[0], line=where[1],
                            function=fn[1], qualname=fn[0], module=fn[2]))
        k += 2
    return frames, k, False


def _skip_goroutines(lines: tuple[str, ...], k: int) -> int:
    """Skip the other goroutines' dumps that follow the panicking one."""
    while True:
        n = k
        while n < len(lines) and not lines[n].strip():
            n += 1
        if n >= len(lines) or not GOROUTINE.fullmatch(lines[n].strip()):
            return k
        _, k, _ = _read_goroutine(lines, n)


def _read_panic(lines: tuple[str, ...], i: int) -> tuple[Trace, int]:
    s = lines[i].strip()
    kind, _, first = s.partition(": ")
    more: list[str] = []
    k = i + 1
    while k < len(lines) and len(more) < MAX_MESSAGE_LINES:
        t = lines[k].strip()
        if GOROUTINE.fullmatch(t):
            frames, k, cut = _read_goroutine(lines, k)
            k = _skip_goroutines(lines, k)
            message = "\n".join([first] + more)
            return Trace("go", kind, message, numbered(frames), truncated=cut), k
        if t.startswith(("panic: ", "[signal ")) or (not t and k + 1 < len(lines)):
            if t:
                more.append(t)
            k += 1
            continue
        break
    # No goroutine dump: only a cut-off input makes this a (truncated) panic.
    return Trace("go", kind, "\n".join([first] + more), (), truncated=at_end(lines, k)), k


def _test_of(frames: tuple[Frame, ...]) -> TestId | None:
    for f in frames:
        if (f.file or "").endswith("_test.go") and (f.function or "").startswith(("Test", "Benchmark", "Fuzz")):
            return TestId(container=f.module or "", name=f.function or "")
    return None


@dataclass
class _State:
    out: list[Found] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)  # -v output per test
    running: str | None = None
    failed: list[tuple[int, str, int]] = field(default_factory=list)  # (line, test, index in out)


def _read_fail(lines: tuple[str, ...], i: int, name: str, st: _State) -> tuple[Trace | None, int]:
    """A `--- FAIL:` line and the log lines under it (or, with -v, above it)."""
    base = indent(lines[i])
    logged: list[str] = []
    k = i + 1
    while k < len(lines) and len(logged) < MAX_MESSAGE_LINES:
        line = lines[k]
        if not line.strip() or indent(line) <= base or line.strip().startswith(("--- ", "=== ")):
            break
        logged.append(line.strip())
        k += 1
    if k < len(lines) and lines[k].strip().startswith("panic: "):
        return None, k  # the panic that follows is this test's trace
    logged = logged or st.logs.get(name, [])
    frames: list[Frame] = []
    messages: list[str] = []
    for text in logged:
        m = LOG.fullmatch(text)
        if m:
            frames.append(Frame(index=0, raw=text, file=m.group("file"), line=int(m.group("line")),
                                function=name.split("/", 1)[0]))
        messages.append((m.group("msg") or "") if m else text)
    test = TestId(container=(frames[0].file or "") if frames else "", name=name.split("/", 1)[0])
    return Trace("go", "FAIL", "\n".join(messages).strip(), numbered(frames), test=test), max(k, i + 1)


def _note_run(st: _State, s: str, raw: str) -> None:
    m = RUN.fullmatch(s)
    if m:
        st.running = m.group("name")
    elif st.running and raw[:1] in (" ", "\t") and len(st.logs.setdefault(st.running, [])) < MAX_MESSAGE_LINES:
        st.logs[st.running].append(s)


def _set_package(st: _State, pkg: str) -> None:
    """`FAIL example.com/pkg 0.01s` names the package of the failures above it."""
    for line, name, index in st.failed:
        found = st.out[index]
        trace = found.traces[0]
        test = TestId(container=pkg, name=trace.test.name if trace.test else name)
        st.out[index] = Found(found.start, found.end, (replace(trace, test=test),))
    st.failed.clear()


def find(doc: Doc) -> list[Found]:
    """Every Go panic and failed Go test in the document."""
    lines = doc.plain
    st = _State()
    failing: tuple[int, str] | None = None  # a `--- FAIL` whose panic comes next
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith(_PANIC_PREFIXES) and not lines[i][:1].isspace():
            trace, k = _read_panic(lines, i)
            test, start = _test_of(trace.frames), i
            if failing:
                start, test = failing[0], test or TestId(container="", name=failing[1])
            if trace.frames or trace.truncated or failing:
                st.out.append(Found(start, k - 1, (replace(trace, test=test),)))
                if test and not test.container:
                    st.failed.append((start, test.name, len(st.out) - 1))
            failing = None
            i = max(k, i + 1)
            continue
        failing = None
        m = FAIL.fullmatch(s) if s.startswith("--- FAIL") else None
        if m:
            name = m.group("name")
            failed, k = _read_fail(lines, i, name, st)
            child = k < len(lines) and lines[k].strip().startswith(f"--- FAIL: {name}/")
            if failed is None:
                failing = (i, name.split("/", 1)[0])
            elif failed.frames or failed.message or not child:
                st.out.append(Found(i, k - 1, (failed,)))
                st.failed.append((i, name, len(st.out) - 1))
            i = k
            continue
        pkg = PACKAGE.fullmatch(s) if s.startswith(("FAIL", "ok ")) else None
        if pkg and st.failed:
            _set_package(st, pkg.group("pkg"))
        _note_run(st, s, lines[i])
        i += 1
    return st.out

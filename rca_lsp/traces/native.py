"""C/C++ backtraces: gdb (`#0  0x.. in f (a=1) at x.c:12`), sanitizers (`#0 0x.. in f /x.cc:12:3`)
and valgrind (`==1==    at 0x..: f (x.c:12)`); UndefinedBehaviorSanitizer's `x.c:4:5: runtime error:
...`, a one-frame trace where no stack follows (its default: print_stacktrace=0); glibc's
`prog: x.c:16: check: Assertion `v > 0' failed.`, a one-frame trace too. ThreadSanitizer's frames
have no address (`#0 worker /x.c:25 (bin+0x12f4)`); gdb's `bt full` prints each frame's locals,
indented or `No locals.`, under it: the stack goes on past them.

A sanitizer or valgrind report prints several stacks (the access, then where the
memory was freed and allocated): the first is the trace, the others its `causes`,
each with the heading it was printed under as message. gdb stacks stand alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rca_lsp.traces.base import Found, at_end, indent, numbered, split_location, split_symbol
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, Trace

FRAME = re.compile(
    r"#(?P<n>\d{1,6})\s{1,10}(?:(?P<addr>0x[0-9a-fA-F]{1,20})\s{1,4}(?:in\s{1,4})?)?(?P<rest>\S.{0,8192})"
)
THREAD = re.compile(r"Thread (?P<n>\d{1,9}) \(.{0,500}\):")  # gdb's `thread apply all bt` heading
SIGNAL = re.compile(r"(?:Program|Thread (?P<thread>\d{1,9})(?: \"[^\"]{0,200}\")?) (?:received|terminated with) signal (?P<sig>SIG\w{1,20}), (?P<msg>.{0,500}?)\.?")
SANITIZER = re.compile(r"(?:==\d{1,10}==)?(?:ERROR|WARNING): (?P<kind>\w{1,40}Sanitizer): (?P<msg>.{0,4096})")
SANITIZER_END = re.compile(r"(?:SUMMARY: \w{1,40}Sanitizer:.{0,4096}|==\d{1,10}==ABORTING)")
VALGRIND = re.compile(r"==\d{1,10}== ?")
UBSAN = re.compile(r"(?P<file>[^\s:][^:]{0,4096}):(?P<line>\d{1,9}):(?:\d{1,9}:)? runtime error: (?P<msg>.{0,4096})")
VALGRIND_FRAME = re.compile(r"(?:at|by) 0x[0-9A-Fa-f]{1,20}: (?P<rest>.{1,8192})")
THROWN = re.compile(r"terminate called after throwing an instance of '(?P<type>[^']{1,1000})'")
WHAT = re.compile(r"what\(\): {1,4}(?P<msg>.{0,4096})")
ASSERT = re.compile(r"(?P<prog>[^\s:]{1,4096}): (?P<file>[^\s:][^:]{0,4096}):(?P<line>\d{1,9}): "
                    r"(?P<func>\S.{0,4096}?): Assertion [`'](?P<expr>.{0,4096})' failed\.")
NO_LOCALS = ("No locals.", "No symbol table info available.", "No arguments.")
_OPERATOR = re.compile(r"operator\s*(?:<<=|>>=|<=>|<<|>>|<=|>=|->\*|->|<|>|\(\))")


def _top_level(text: str, token: str) -> int:
    """Where `token` first occurs outside template arguments (`f<void (*)()> (a=1)`), else -1."""
    masked = _OPERATOR.sub(lambda m: "o" * len(m.group()), text)
    depth = 0
    for i, ch in enumerate(masked):
        if depth == 0 and masked.startswith(token, i):
            return i
        depth += (ch == "<") - (ch == ">")
    return -1


def _names(text: str) -> tuple[str | None, str | None, str | None]:
    """(function, qualname, module) from `ns::Foo::bar(int) const` or gdb's `ns::Foo::bar`."""
    qual = text.strip()
    if not qual or qual.startswith("??") or qual.startswith("0x"):
        return None, None, None
    name = qual
    cut = _top_level(name, "(")
    if cut > 0:
        name = name[:cut]
    parts = split_symbol(name) or [name]
    module = "::".join(parts[:-1]) or None
    return parts[-1].strip() or None, qual, module


def _gdb_function(head: str) -> str:
    """`crash (p=0x0)` -> `crash`: gdb separates the arguments with a space."""
    p = _top_level(head, " (")
    return head[:p] if p > 0 else head


def _rest(rest: str) -> tuple[str, str | None, int | None]:
    """Split what follows `#N 0x.. in`: (function text, file, line)."""
    p = rest.rfind(" at ")
    if p > 0:
        file, line, _ = split_location(rest[p + 4:].strip())
        if line is not None:
            return _gdb_function(rest[:p]), file, line
    p = rest.rfind(" from ")
    if p > 0:
        return _gdb_function(rest[:p]), rest[p + 6:].strip(), None
    head, _, last = rest.rpartition(" ")
    if last.startswith("(") and last.endswith(")"):  # ASan: (/lib/libc.so.6+0x21bf6)
        function, _, where = head.rpartition(" ")
        file, line, _ = split_location(where)
        if function and line is not None:  # TSan: worker /x/crash.c:25 (tsan+0x12f4)
            return function, file, line
        return head, last[1:-1].split("+0x", 1)[0], None
    file, line, _ = split_location(last)
    if line is not None and head:
        return head, file, line
    return _gdb_function(rest), None, None


def parse_frame(stripped: str) -> tuple[int, Frame] | None:
    """A gdb or sanitizer frame line: (frame number, frame)."""
    m = FRAME.fullmatch(stripped)
    if not m or m.group("rest").startswith("0x") and " " not in m.group("rest"):
        return None
    text, file, line = _rest(m.group("rest"))
    if not m.group("addr") and not file:
        return None  # "#1 Introduction": a heading, not a frame
    function, qual, module = _names(text)
    return int(m.group("n")), Frame(index=0, raw=stripped, file=file, line=line, function=function,
                                    qualname=qual, module=module)


def parse_valgrind(stripped: str) -> Frame | None:
    """`at 0x4005B4: main (test.c:10)` or `by 0x..: f (in /lib/libc.so.6)`."""
    m = VALGRIND_FRAME.fullmatch(stripped)
    if not m:
        return None
    rest = m.group("rest")
    p = rest.rfind(" (")
    file, line = None, None
    if p > 0 and rest.endswith(")"):
        loc = rest[p + 2:-1]
        rest = rest[:p]
        if loc.startswith("in "):
            file = loc[3:]
        else:
            file, line, _ = split_location(loc)
    function, qual, module = _names(rest)
    return Frame(index=0, raw=stripped, file=file, line=line, function=function, qualname=qual, module=module)


@dataclass
class _Report:
    start: int
    exception: str
    message: str
    stacks: list[tuple[str, list[Frame]]] = field(default_factory=list)
    location: Frame | None = None  # where the report says it happened, when no stack may follow (UBSan)

    def found(self, end: int, truncated: bool) -> Found | None:
        stacks = self.stacks or ([("", [self.location])] if self.location else [])
        if not stacks:
            return None
        causes = tuple(Trace("cpp", self.exception, heading, numbered(frames)) for heading, frames in stacks[1:])
        trace = Trace("cpp", self.exception, self.message, numbered(stacks[0][1]), causes=causes,
                      truncated=truncated)
        return Found(self.start, end, (trace,))


@dataclass
class _State:
    out: list[Found] = field(default_factory=list)
    report: _Report | None = None
    stack: list[Frame] | None = None
    stack_start: int = 0
    end: int = 0
    heading: str = ""
    signal: tuple[str, str] | None = None
    indent: int = 0  # of the open stack's first frame line
    thread: str | None = None  # the thread whose stack gdb prints, from its heading
    signal_thread: str | None = None  # the thread the signal was delivered to, where gdb says
    thrown: tuple[str, str] | None = None  # C++'s `terminate called after throwing ...` and its what()

    def close_stack(self, truncated: bool = False) -> None:
        if self.stack is None:
            return
        if self.report:
            self.report.stacks.append((self.heading, self.stack))
        else:
            ours = self.signal_thread is None or self.signal_thread == self.thread
            exc, msg = (self.thrown or self.signal if ours else None) or ("crash", "")
            trace = Trace("cpp", exc, msg, numbered(self.stack), truncated=truncated)
            self.out.append(Found(self.stack_start, self.end, (trace,)))
            if ours:
                self.signal = self.thrown = self.signal_thread = None
        self.stack = None

    def close_report(self, end: int, truncated: bool = False) -> None:
        self.close_stack()
        if self.report:
            found = self.report.found(end, truncated)
            if found:
                self.out.append(found)
            self.report = None


def _without_return_type(pretty: str) -> str:
    """glibc names a C++ function by its pretty name: `int calc::Parser::sum(int) const` -> the
    name after the last space outside template arguments and before the parameters."""
    cut = _top_level(pretty, "(")
    name = pretty[:cut] if cut > 0 else pretty
    masked = _OPERATOR.sub(lambda m: "o" * len(m.group()), name)
    depth, last = 0, -1
    for i, ch in enumerate(masked):
        depth += (ch == "<") - (ch == ">")
        if ch == " " and depth == 0:
            last = i
    return name[last + 1:] if 0 <= last < len(name) - 1 else name


def _assertion(i: int, s: str) -> Found | None:
    """glibc's assert(): `prog: x.c:16: check: Assertion `v > 0' failed.`, a one-frame trace."""
    m = ASSERT.fullmatch(s)
    if not m:
        return None
    function, qual, module = _names(_without_return_type(m.group("func")))
    frame = Frame(index=0, raw=s, file=m.group("file"), line=int(m.group("line")), function=function,
                  qualname=qual, module=module)
    trace = Trace("cpp", "assertion", f"Assertion `{m.group('expr')}' failed", (frame,))
    return Found(i, i, (trace,))


def _locals(line: str, body: str, st: _State) -> bool:
    """A line of gdb's `bt full` under a frame: its locals, indented deeper, or `No locals.`."""
    return st.stack is not None and bool(body) and (body in NO_LOCALS or indent(line) > st.indent)


def _frame_of(s: str, valgrind: bool) -> tuple[int, Frame] | None:
    if s.startswith("#"):
        return parse_frame(s)
    if valgrind and s.startswith(("at 0x", "by 0x")):
        f = parse_valgrind(s)
        return (-1, f) if f else None
    return None


def _heading(st: _State, i: int, s: str, valgrind: bool, raw: str) -> None:
    """A line outside any stack: report boundaries, signals, headings."""
    m = SANITIZER.fullmatch(s) if "Sanitizer" in s else None
    ub = UBSAN.fullmatch(s) if "runtime error: " in s else None
    if m:
        st.close_report(i - 1)
        st.report = _Report(i, m.group("kind"), m.group("msg").strip())
    elif ub:
        st.close_report(i - 1)
        st.report = _Report(i, "UndefinedBehaviorSanitizer", ub.group("msg").strip(), location=Frame(
            index=0, raw=s, file=ub.group("file"), line=int(ub.group("line"))))
    elif SANITIZER_END.fullmatch(s):
        st.close_report(i)
    elif valgrind and not s:
        st.close_report(i - 1)
    elif valgrind and st.report is None and not raw[:1].isspace():
        st.report = _Report(i, "valgrind", s)
    elif s.startswith(("Program ", "Thread ")) and (sig := SIGNAL.fullmatch(s)):
        st.signal, st.signal_thread = (sig.group("sig"), sig.group("msg")), sig.group("thread")
    elif s.startswith("Thread ") and (thread := THREAD.fullmatch(s)):
        st.thread = thread.group("n")
    elif s.startswith("terminate called") and (thrown := THROWN.fullmatch(s)):
        st.thrown = (thrown.group("type"), "")
    elif st.thrown and not st.thrown[1] and (what := WHAT.fullmatch(s)):
        st.thrown = (st.thrown[0], what.group("msg"))
    elif "Assertion " in s and (found := _assertion(i, s)):
        st.close_report(i - 1)
        st.out.append(found)
    if s:
        st.heading = s.strip().rstrip(":")


def find(doc: Doc) -> list[Found]:
    """Every native backtrace in the document."""
    st = _State()
    lines = doc.plain
    for i, line in enumerate(lines):
        s = line.strip()
        vg = VALGRIND.match(s) if s.startswith("==") else None
        body = s[vg.end():] if vg else s
        numbered_frame = _frame_of(body.strip(), bool(vg))
        if numbered_frame:
            number, frame = numbered_frame
            if st.stack is not None and number == 0:
                st.close_stack()
            if st.stack is None:
                st.stack, st.stack_start, st.indent = [], i, indent(line)
            st.stack.append(frame)
            st.end = i
            continue
        if not vg and _locals(line, body, st):
            st.end = i
            continue
        cut = at_end(lines, i + 1) and body.startswith("#") and st.stack is not None
        st.close_stack(cut)
        _heading(st, i, body, bool(vg), body if vg else line)
    last = next((line.strip() for line in reversed(lines[-3:]) if line.strip()), "")
    st.close_stack()
    st.close_report(len(lines) - 1, truncated=last.startswith("#") and not parse_frame(last))
    return st.out

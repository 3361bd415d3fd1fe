"""C/C++ backtraces: gdb (`#0  0x.. in f (a=1) at x.c:12`), sanitizers (`#0 0x.. in f /x.cc:12:3`)
and valgrind (`==1==    at 0x..: f (x.c:12)`); UndefinedBehaviorSanitizer's `x.c:4:5: runtime error:
...`, a one-frame trace where no stack follows (its default: print_stacktrace=0).

A sanitizer or valgrind report prints several stacks (the access, then where the
memory was freed and allocated): the first is the trace, the others its `causes`,
each with the heading it was printed under as message. gdb stacks stand alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rca_lsp.traces.base import Found, at_end, numbered, split_location, split_symbol
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, Trace

FRAME = re.compile(
    r"#(?P<n>\d{1,6})\s{1,10}(?:(?P<addr>0x[0-9a-fA-F]{1,20})\s{1,4}(?:in\s{1,4})?)?(?P<rest>\S.{0,8192})"
)
SIGNAL = re.compile(r"Program (?:received|terminated with) signal (?P<sig>SIG\w{1,20}), (?P<msg>.{0,500}?)\.?")
SANITIZER = re.compile(r"(?:==\d{1,10}==)?(?:ERROR|WARNING): (?P<kind>\w{1,40}Sanitizer): (?P<msg>.{0,4096})")
SANITIZER_END = re.compile(r"(?:SUMMARY: \w{1,40}Sanitizer:.{0,4096}|==\d{1,10}==ABORTING)")
VALGRIND = re.compile(r"==\d{1,10}== ?")
UBSAN = re.compile(r"(?P<file>[^\s:][^:]{0,4096}):(?P<line>\d{1,9}):(?:\d{1,9}:)? runtime error: (?P<msg>.{0,4096})")
VALGRIND_FRAME = re.compile(r"(?:at|by) 0x[0-9A-Fa-f]{1,20}: (?P<rest>.{1,8192})")


def _names(text: str) -> tuple[str | None, str | None, str | None]:
    """(function, qualname, module) from `ns::Foo::bar(int) const` or gdb's `ns::Foo::bar`."""
    qual = text.strip()
    if not qual or qual.startswith("??") or qual.startswith("0x"):
        return None, None, None
    name = qual
    if not name.startswith("operator") and "(" in name:
        name = name.split("(", 1)[0]
    parts = split_symbol(name) or [name]
    module = "::".join(parts[:-1]) or None
    return parts[-1].strip() or None, qual, module


def _gdb_function(head: str) -> str:
    """`crash (p=0x0)` -> `crash`: gdb separates the arguments with a space."""
    p = head.find(" (")
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

    def close_stack(self, truncated: bool = False) -> None:
        if self.stack is None:
            return
        if self.report:
            self.report.stacks.append((self.heading, self.stack))
        else:
            exc, msg = self.signal or ("crash", "")
            trace = Trace("cpp", exc, msg, numbered(self.stack), truncated=truncated)
            self.out.append(Found(self.stack_start, self.end, (trace,)))
            self.signal = None
        self.stack = None

    def close_report(self, end: int, truncated: bool = False) -> None:
        self.close_stack()
        if self.report:
            found = self.report.found(end, truncated)
            if found:
                self.out.append(found)
            self.report = None


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
    elif s.startswith("Program ") and (sig := SIGNAL.fullmatch(s)):
        st.signal = (sig.group("sig"), sig.group("msg"))
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
                st.stack, st.stack_start = [], i
            st.stack.append(frame)
            st.end = i
            continue
        cut = at_end(lines, i + 1) and body.startswith("#") and st.stack is not None
        st.close_stack(cut)
        _heading(st, i, body, bool(vg), body if vg else line)
    last = next((line.strip() for line in reversed(lines[-3:]) if line.strip()), "")
    st.close_stack()
    st.close_report(len(lines) - 1, truncated=last.startswith("#") and not parse_frame(last))
    return st.out

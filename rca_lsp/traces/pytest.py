"""pytest output: one trace per failing test.

Reads the `--tb=long/auto/short` entries (`path:12: in func` / `path:12: Error`),
`--tb=native` (handed to the Python parser), `--tb=line` (one `path:12: Error: msg`
line per test, under the native traceback pytest prints for an exception group) and,
when nothing else is shown, the `FAILED path::Class::test - msg`
summary alone. The `____ Class.test ____` headers and the summary name the test; a
parametrised case (`test_x[a-1]`) or a subtest (`Class.test_b (k='v')`, `test_s [msg] (i=0)`,
`SUBFAILED[msg] (i=0) path::test_s`) names its test function, the case kept in `params`.
A traceback in a failure's captured output (a logged exception) joins its chain, last.
Entries are printed outermost first, so frames are reversed; chained exceptions
(pytest prints the cause first) become `causes`, direct cause first.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace

from rca_lsp.traces import doctests, python
from rca_lsp.traces.base import Found, exception_line, join_message, numbered, split_params
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

LOCATION = re.compile(r"(?P<path>(?:[A-Za-z]:)?[^\s:][^:]{0,4096}):(?P<line>\d{1,9}):(?: (?P<rest>.{0,8192}))?")
_DOTTED = re.compile(r"[\w$]+(?:\.[\w$]+)*")
DEF = re.compile(r"\s{0,200}(?:async\s{1,10})?def\s{1,10}(?P<name>\w{1,500})")
_REGIONS = ("failures", "errors", "short test summary info", "test session starts")
_SUMMARY_PREFIXES = ("FAILED ", "ERROR ", "SUBFAIL")
# `SUBFAILED(k='v') tests/a.py::T::test_b - msg`: the node id starts at the first `path::` after a space.
_SUB_NODE = re.compile(r" (?=[^\s\[\]()'\"]{1,4096}::)")
_SUBTESTS_FAILED = re.compile(r"contains \d+ failed subtests?")
_DOCTEST_ERRORS = ("DocTestFailure", "UnexpectedException")
# pytest-xdist names the worker under each section header: `[gw1] linux -- Python 3.11.7 /venv/bin/python`.
_WORKER = re.compile(r"\[gw\d{1,6}\] .{0,4096}")


@dataclass
class _Summary:
    line: int
    path: str
    classes: list[str]
    name: str  # with parameters (and a subtest's description), as in the section header
    exception: str
    message: str
    nodeid: str = ""
    subtest: bool = False

    @property
    def key(self) -> str:
        return ".".join(self.classes + [self.name])

    def test(self) -> TestId:
        container = "::".join([self.path] + self.classes)
        name, params = split_params(self.name)
        return TestId(container=container, name=name, path=self.path, params=params)


@dataclass
class _Section:
    start: int
    end: int
    title: str
    captured: int | None = None  # first line of a "Captured ..." block, excluded from parsing


@dataclass
class _Part:
    """The entries of one exception of a section (pytest prints a chain cause first)."""

    frames: list[Frame] = field(default_factory=list)
    elines: list[str] = field(default_factory=list)
    located_exc: str | None = None

    def trace(self, causes: tuple[Trace, ...] = ()) -> Trace:
        exception, message = self.located_exc or "", "\n".join(self.elines).strip()
        first = exception_line(self.elines[0]) if self.elines else None
        if first and (not exception or first[0] == exception or first[0].endswith("." + exception)):
            exception, message = first[0], join_message(first[1], [e.strip() for e in self.elines[1:]])
        return Trace(format="pytest", exception=exception or "AssertionError", message=message,
                     frames=numbered(self.frames[::-1]), causes=causes, truncated=not self.frames)


def _location(line: str) -> re.Match | None:
    if not line or line[0].isspace() or ":" not in line:
        return None
    m = LOCATION.fullmatch(line)
    if m and (".py" in m.group("path") or "/" in m.group("path") or "\\" in m.group("path")):
        return m
    return None


def _summary(i: int, s: str) -> _Summary | None:
    """`FAILED tests/test_a.py::TestC::test_x[1] - AssertionError: msg`; a failed subtest
    (pytest 9, pytest-subtests) as `SUBFAILED[msg] (k=1) tests/test_a.py::test_s - msg`."""
    desc, sub = "", s.startswith("SUBFAIL")
    if sub:
        m = _SUB_NODE.search(s)
        if m is None:
            return None
        desc = s[:m.start()].removeprefix("SUBFAILED").removeprefix("SUBFAIL").strip()
        rest = s[m.end():]
    else:
        rest = s.split(" ", 1)[1] if " " in s else ""
    nodeid, _, msg = rest.partition(" - ")
    nodeid = nodeid.strip()
    head = nodeid.split("[", 1)[0]
    if "::" not in head or " " in head:
        return None
    parts = head.split("::")
    name = parts[-1] + nodeid[len(head):] + (" " + desc if desc else "")
    exc = exception_line(msg) if msg else None
    exception, message = exc if exc else ("", msg.strip())
    if not exception and message.startswith("assert "):
        exception = "AssertionError"  # pytest shows a failed plain assert by its rewritten text
    return _Summary(i, parts[0], parts[1:-1], name, exception, message, nodeid, sub)


def _drop_subtest_totals(summaries: list[_Summary]) -> list[_Summary]:
    """`FAILED a.py::test_s - contains 2 failed subtests` only counts the SUBFAILED lines of its test."""
    with_subs = {s.nodeid for s in summaries if s.subtest}
    return [s for s in summaries
            if s.subtest or s.nodeid not in with_subs or not _SUBTESTS_FAILED.fullmatch(s.message)]


def _scan(lines: tuple[str, ...]) -> tuple[list[_Section], list[_Summary], list[tuple[int, re.Match]]]:
    """Sections (`____ test ____`), summary lines and `--tb=line` lines of the output."""
    sections: list[_Section] = []
    summaries: list[_Summary] = []
    tb_line: list[tuple[int, re.Match]] = []
    region = ""
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("==") and s.endswith("==") and len(s) > 4:
            region = s.strip("= ").lower()
            if sections and sections[-1].end == -1:
                sections[-1].end = i - 1
        elif s.startswith("___") and s.endswith("___") and s.strip("_ "):
            if sections and sections[-1].end == -1:
                sections[-1].end = i - 1
            sections.append(_Section(i, -1, s.strip("_ ")))
        elif s.startswith(("--", "- ")) and " Captured " in s and sections and sections[-1].captured is None:
            sections[-1].captured = i
        elif s.startswith(_SUMMARY_PREFIXES) and (summary := _summary(i, s)):
            summaries.append(summary)
        elif region in ("failures", "errors") and (not sections or sections[-1].end != -1):
            m = _location(line)
            if m and m.group("rest") and not m.group("rest").startswith("in "):
                tb_line.append((i, m))
    if sections and sections[-1].end == -1:
        sections[-1].end = len(lines) - 1
    return sections, summaries, tb_line


def _parts(lines: tuple[str, ...]) -> list[_Part]:
    """Entries of a long/short section: frames, `E` lines and the located exception per chain link."""
    parts = [_Part()]
    source: list[str] = []
    for line in lines:
        s = line.strip()
        if s in python.MARKERS:
            parts.append(_Part())
            source = []
        elif line.startswith("E ") or line == "E":
            parts[-1].elines.append(line[4:] if line.startswith("E   ") else line[1:].strip())
        elif m := _location(line):
            rest = (m.group("rest") or "").strip()
            func = rest[3:].strip() if rest.startswith("in ") else _def_name(source)
            parts[-1].frames.append(Frame(index=0, raw=s, file=m.group("path"), line=int(m.group("line")),
                                          function=func, qualname=func))
            if rest and not rest.startswith("in ") and exception_line(rest) and " " not in rest:
                parts[-1].located_exc = rest
            source = []
        elif s.startswith("_ _") and set(s) <= {"_", " "}:
            source = []
        elif len(source) < 500:
            source.append(line)
    return [p for p in parts if p.frames or p.elines] or [parts[-1]]


def _def_name(source: list[str]) -> str | None:
    for line in source:
        m = DEF.match(line)
        if m:
            return m.group("name")
    return None


def _section_trace(doc: Doc, sec: _Section) -> Trace | None:
    end = (sec.captured - 1) if sec.captured is not None else sec.end
    lo, hi = sec.start + 1, end + 1
    body = doc.text[lo:hi]
    first = next((k for k, line in enumerate(body) if line.strip() and not _WORKER.fullmatch(line)), None)
    if first is not None and python.HEADER.fullmatch(doc.plain[lo + first]):  # --tb=native
        sub = doc.slice(lo, hi)
        trace, _ = python.read_chain(sub, first)
        return replace(trace, format="pytest")
    parts = _parts(body)
    if not parts[-1].frames and not parts[-1].elines:
        return None
    causes = tuple(p.trace() for p in reversed(parts[:-1]))
    return parts[-1].trace(causes)


MAX_LOGGED = 3  # tracebacks read from one failure's captured output


def _logged(doc: Doc, sec: _Section) -> tuple[Trace, ...]:
    """The Python tracebacks in a failure's captured output (`Captured log call`, `Captured stderr
    call`: a `logger.exception` or `traceback.print_exc` while the test ran), after the test's own
    chain: code that catches an exception, logs it and returns a fallback fails the test on an
    assertion whose traceback shows only the test, and the logged one is then the only pointer into
    the code. They come last, so their frames weigh less than the test's own."""
    if sec.captured is None:
        return ()
    found: list[Trace] = []
    k, end = sec.captured + 1, sec.end + 1
    while k < end and len(found) < MAX_LOGGED:
        if python.is_start(doc.plain, k):
            trace, used = python.read_chain(doc.slice(k, end), 0)
            if trace.frames:
                found.append(replace(trace, format="pytest"))
            k += max(used, 1)
        else:
            k += 1
    return tuple(found)


def _title(title: str) -> tuple[list[str], str] | None:
    """`TestC.test_x[1]` -> (["TestC"], "test_x[1]"), `TestC.test_b (k='a.b')` -> (["TestC"],
    "test_b (k='a.b')"): the case's text may hold dots; None for a collection error."""
    for prefix in ("ERROR at setup of ", "ERROR at teardown of "):
        if title.startswith(prefix):
            title = title[len(prefix):]
    if title.startswith("ERROR collecting "):
        return None
    title = title.removeprefix("[doctest] ")  # `[doctest] pkg.mod.func`, node id `path::pkg.mod.func`
    m = _DOTTED.match(title)
    head = m.group() if m and title[m.end():].startswith(("[", " ", "(")) else title.split("[", 1)[0]
    parts = head.split(".")
    return parts[:-1], parts[-1] + title[len(head):]


def _test_for(title: str, trace: Trace, summaries: dict[str, deque[_Summary]]) -> TestId | None:
    named = _title(title)
    if named is None:
        return None
    classes, name = named
    queue = summaries.get(".".join(classes + [name]))
    if queue:
        return queue.popleft().test()
    short, params = split_params(name)
    frames = trace.frames
    own = [f for f in frames if f.function == short] or list(frames[-1:])
    path = own[-1].file if own else None
    container = "::".join(([path] if path else []) + classes) or ".".join(classes)
    return TestId(container=container, name=short, path=path, params=params)


def _doctest_section(doc: Doc, sec: _Section, trace: Trace) -> Trace:
    """A `[doctest] pkg.mod.func` section read as the doctest runner's own report is (see doctests):
    the same failure should say the same whichever runner printed it."""
    if not trace.frames:
        return trace
    name, top, lo = sec.title.removeprefix("[doctest] "), trace.frames[0], sec.start + 1
    located = [k for k in range(lo, sec.end + 1) if _location(doc.text[k])]
    hi = located[-1] if located else sec.end + 1  # the traceback ends above `path:22: UnexpectedException`
    frame = doctests.example_frame(top.raw, top.file, top.line, name)
    unexpected = doctests.raised(doc, lo, hi) if trace.exception == "UnexpectedException" else None
    found = doctests.failure(frame, trace.test, unexpected, doctests.outcome(doc.text, lo, hi))
    return replace(found, format="pytest", frames=(frame, *trace.frames[1:]))


def _looks_like_pytest(lines: tuple[str, ...]) -> bool:
    e_lines = located = False
    for line in lines:
        if line.startswith("=") and any(r in line.lower() for r in _REGIONS):
            return True
        if line.startswith("FAILED ") and "::" in line:
            return True
        e_lines = e_lines or line.startswith("E   ")
        located = located or (line[:1] not in ("", " ", "\t") and ": " in line and _location(line) is not None)
        if e_lines and located:
            return True
    return False


def _tb_line_traces(doc: Doc, tb_line: list[tuple[int, re.Match]], pending: list[_Summary]) -> list[Found]:
    """`--tb=line`: one `path:12: Error: msg` line per failing test, in summary order; a native
    traceback printed just above the line (an exception group's) is that failure's, read in full."""
    out = []
    for k, (i, m) in enumerate(tb_line):
        exc = exception_line(m.group("rest")) or ("", m.group("rest"))
        frame = Frame(index=0, raw=m.group(0), file=m.group("path"), line=int(m.group("line")))
        test = pending[k].test() if len(pending) == len(tb_line) else None
        start, trace = i, Trace("pytest", exc[0], exc[1], (frame,), test=test)
        lo = tb_line[k - 1][0] + 1 if k else _region_start(doc.text, i)
        if native := _native_above(doc, lo, i):
            start, found = native
            trace = replace(found, format="pytest", frames=found.frames or (frame,), test=test)
        out.append(Found(start, i, (trace,)))
    if len(pending) == len(tb_line):
        pending.clear()
    return out


def _region_start(lines: tuple[str, ...], i: int) -> int:
    """The line after the `==== FAILURES ====` rule above line i."""
    while i > 0 and not lines[i - 1].startswith("=="):
        i -= 1
    return i


def _native_above(doc: Doc, lo: int, i: int) -> tuple[int, Trace] | None:
    """A Python traceback in lines lo..i-1 that runs up to line i: (its first line, its trace).

    pytest cannot draw an exception group in its own style yet, so it prints Python's native
    traceback, sub-exceptions and chain included, above even the single `--tb=line` line. Left
    unclaimed, the Python parser reads that traceback as a failure of its own: two traces for one.
    """
    h = next((k for k in range(lo, i) if python.is_start(doc.plain, k)), None)
    if h is None:
        return None
    trace, j = python.read_chain(doc.slice(h, i), 0)
    return None if any(line.strip() for line in doc.plain[h + j:i]) else (h, trace)


def _bare_body(lines: tuple[str, ...]) -> list[_Section]:
    """A section body pasted without its header: from its first to its last pytest-looking line."""
    marked = [i for i, line in enumerate(lines)
              if line.startswith(("E   ", ">")) or DEF.match(line) or _location(line)]
    located = [i for i in marked if lines[i].startswith("E   ") or _location(lines[i])]
    if not marked or not located:
        return []
    return [_Section(marked[0] - 1, located[-1], "")]


def find(doc: Doc) -> list[Found]:
    """One trace per failing test in pytest output."""
    lines = doc.text
    if not _looks_like_pytest(lines):
        return []
    sections, summaries, tb_line = _scan(lines)
    if not sections and not summaries and not tb_line:
        sections = _bare_body(lines)
    by_key: dict[str, deque[_Summary]] = defaultdict(deque)
    for summary in _drop_subtest_totals(summaries):
        by_key[summary.key].append(summary)
    out: list[Found] = []
    for sec in sections:
        trace = _section_trace(doc, sec)
        if trace is not None:
            test = _test_for(sec.title, trace, by_key) if sec.title else None
            trace = replace(trace, test=test)
            if sec.title.startswith("[doctest] ") and trace.exception in _DOCTEST_ERRORS:
                trace = _doctest_section(doc, sec, trace)
            trace = replace(trace, causes=trace.causes + _logged(doc, sec))
            out.append(Found(max(sec.start, 0), sec.end, (trace,)))
    pending = [s for queue in by_key.values() for s in queue]
    pending.sort(key=lambda s: s.line)
    # --tb=line lines are only read outside a section: beside one (an ERRORS section's `E` line, for a
    # setup that failed) they are the failures' own, and were lost with it.
    out.extend(_tb_line_traces(doc, tb_line, pending))
    for s in pending:
        out.append(Found(s.line, s.line, (Trace("pytest", s.exception, s.message, (), test=s.test()),)))
    return out

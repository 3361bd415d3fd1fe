"""JavaScript stacks: V8/Node (`at fn (file.js:1:2)`), Firefox (`fn@file.js:1:2`), Jest, Mocha,
node:test's spec reporter (`✖ title (1.2ms)`, after `test at file.js:8:5` in its summary) and
Vitest (`FAIL  file.ts > suite > title`, frames `❯ fn file.ts:3:11` with code excerpts between).

V8 prints the innermost frame first, so frames keep their order. A Node 16+
`[cause]:` block inside the trailing `{ ... }` becomes `causes[0]`; an AggregateError's
`[errors]: [ ... ]` each become a cause, in order. A frame is only
taken when its file looks like JavaScript (or a Node builtin, `<anonymous>`), which
keeps Rust `at ./src/lib.rs:3:5` lines and prose out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rca_lsp.traces.base import (
    MAX_MESSAGE_LINES,
    Found,
    at_end,
    join_message,
    looks_like_exception,
    numbered,
    opens_trace,
    split_location,
)
from rca_lsp.types import Frame, TestId, Trace
from rca_lsp.traces.clean import Doc

HEADER = re.compile(
    r"(?:Uncaught (?:exception )?)?(?P<exc>[A-Za-z_$][\w$.]{0,200})(?: \[(?P<code>[\w-]{1,100})\])?(?::\s?(?P<msg>.*))?"
)
_EXTENSIONS = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".vue", ".svelte", ".coffee")
_EVAL = re.compile(r"\(([^()\s]{1,4096}:\d{1,9}:\d{1,9})\)")
_JEST_FILE = re.compile(r"FAIL\s{1,10}(?P<file>\S{1,4096}\.[cm]?[jt]sx?)(?:\s(?P<rest>.{0,2000}))?")
_JEST_CODE = re.compile(r"\d{1,9} \|.{0,8192}|\|.{0,8192}")
_VITEST_CODE = re.compile(r"\d{1,9}\|.{0,8192}|\|?\s{0,8192}\^")  # `  7|   expect(..)`, `   |   ^` under a frame
_MOCHA_HEADER = re.compile(r"\d{1,6}\) (?P<title>.{1,2000})")
_NODE_TEST_FILE = re.compile(r"test at (?P<file>\S{1,4096}?\.[cm]?[jt]sx?):\d{1,9}:\d{1,9}")
_NODE_TEST_FAILED = re.compile(r"\u2716 (?P<title>.{1,2000}) \(\d{1,9}(?:\.\d{1,9})?m?s\)")
_MAX_PROPS = 200


def _is_js_file(file: str) -> bool:
    base = file.split("?", 1)[0].split("#", 1)[0]
    return base.endswith(_EXTENSIONS) or file.startswith("node:") or file in ("<anonymous>", "native")


def _location(loc: str) -> tuple[str | None, int | None] | None:
    """`file.js:12:5` -> (file.js, 12); builtins -> (None, None); not JavaScript -> None."""
    if loc.startswith("eval at "):
        m = _EVAL.search(loc)
        if not m:
            return None
        loc = m.group(1)
    if loc in ("native", "<anonymous>") or loc.startswith("index "):
        return None, None
    file, line, col = split_location(loc)
    if line is None or col is None or not _is_js_file(file):
        return None
    return file, line


def _names(name: str | None) -> tuple[str | None, str | None]:
    """(short function name, qualified name as printed) from `async Foo.bar [as baz]`."""
    if not name:
        return None, None
    for prefix in ("async ", "new "):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name.endswith("]") and " [as " in name:
        name = name[: name.rfind(" [as ")]
    short = name.rsplit(".", 1)[-1] if not name.endswith(".") else name
    return short or None, name or None


def parse_frame(stripped: str) -> Frame | None:
    """One V8 (`at ...`) or Firefox (`fn@file:1:2`) frame line."""
    s = stripped[:-2] if stripped.endswith(" {") else stripped
    s = s[:-1] if s.endswith("),") else s  # the last frame of an error inside `[errors]: [ ... ]`
    if s.startswith("at "):
        body = s[3:].strip()
        p = body.find(" (")
        name, loc = (body[:p], body[p + 2:-1]) if body.endswith(")") and p > 0 else (None, body)
        if name is None and loc.startswith("async "):  # `at async file:///app/main.mjs:3:1` (ESM top level)
            loc = loc[6:].lstrip()
    elif s.startswith("\u276f "):  # Vitest: `❯ Module.check src/deep.ts:3:11`, `❯ test/x.test.ts:4:3`
        body = s[2:].strip()
        name, _, loc = body.rpartition(" ")
        name = name or None
    elif "@" in s and " " not in s:
        name, _, loc = s.partition("@")
    else:
        return None
    where = _location(loc)
    if where is None:
        return None
    short, qual = _names(name)
    return Frame(index=0, raw=stripped, file=where[0], line=where[1], function=short, qualname=qual)


def header(stripped: str) -> tuple[str, str] | None:
    m = HEADER.fullmatch(stripped)
    if not m or not (looks_like_exception(m.group("exc")) or m.group("exc") == "Error"):
        return None
    return m.group("exc"), (m.group("msg") or "").strip()


@dataclass
class _Section:
    exception: str
    first: str
    more: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)

    def trace(self, test: TestId | None = None, causes: tuple = (), truncated: bool = False) -> Trace:
        return Trace(format="javascript", exception=self.exception, message=join_message(self.first, self.more),
                     frames=numbered(self.frames), test=test, causes=causes, truncated=truncated)


@dataclass
class _State:
    out: list[Found] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)  # the trace being read
    start: int = 0
    end: int = 0
    props: int = -1  # lines read inside a trailing `{ ... }`; -1 when not inside one
    pending: tuple[int, _Section] | None = None
    test: tuple[int, TestId] | None = None
    test_file: str | None = None
    jest_message: list[str] = field(default_factory=list)
    code_seen: bool = False
    mocha: list[str] | None = None  # title lines of a Mocha failure being read
    mocha_indent: int = 0  # how far the last of those lines is indented
    indent: int = 0  # how far the line being read is indented
    failing_seen: bool = False
    cut: bool = False  # the input stopped inside the trace being read
    errors: bool = False  # inside an AggregateError's `[errors]: [ ... ]`: each error read is a cause

    def close(self) -> None:
        if self.sections:
            test = self.test[1] if self.test and self.test[0] <= self.start else None
            trace = self.sections[0].trace(test, tuple(s.trace() for s in self.sections[1:]), self.cut)
            self.cut = False
            self.out.append(Found(self.start, self.end, (trace,)))
            self.sections = []
            self.props = -1
            self.errors = False
            if test:
                self.test = None


def _begin(st: _State, i: int) -> _Section:
    if st.pending and (not st.test or st.pending[0] > st.test[0]):
        start, section = st.pending
    elif st.test:
        start = st.test[0]
        section = _Section("Error", st.jest_message[0] if st.jest_message else "", st.jest_message[1:])
    else:
        start, section = i, _Section("", "")
    st.start = min(start, st.test[0]) if st.test else start
    st.sections = [section]
    st.pending = None
    return section


def _in_trace(st: _State, i: int, s: str) -> bool:
    """Feed a non-frame line to the open trace; False when it ends the trace."""
    if st.props < 0:
        return False
    if s == "}" or st.props >= _MAX_PROPS:
        st.end = i
        st.close()
        return True
    st.props += 1
    if s.startswith("[cause]: "):
        exc = header(s[len("[cause]: "):]) or ("Error", s[len("[cause]: "):])
        st.sections.append(_Section(*exc))
    elif s.startswith("[errors]: ["):  # an AggregateError's errors, each with its own stack
        st.errors = True
    elif st.errors and (found := header(s)):
        st.sections.append(_Section(*found))
    st.end = i
    return True


def _test_line(st: _State, i: int, s: str) -> bool:
    """Test lines: Jest (`FAIL file`, `● Suite › name`), Vitest (`FAIL  file > suite > name`),
    node:test (`test at file:8:5`, `✖ name (1.2ms)`) and Mocha (`1) Suite ... name:`)."""
    if s.startswith("FAIL ") and (m := _JEST_FILE.fullmatch(s)):
        st.test_file = m.group("file")
        rest = (m.group("rest") or "").strip()
        if rest.startswith("> "):  # Vitest names the test on the file's line: `FAIL  f.ts > suite > title`
            parts = [part.strip() for part in rest[2:].split(" > ")]
            st.test = (i, TestId(container=" > ".join(parts[:-1]) or st.test_file, name=parts[-1], path=st.test_file))
            st.jest_message, st.pending, st.code_seen = [], None, False
        return True
    if s.startswith("● "):
        parts = [p.strip() for p in s[2:].split(" › ")]
        if parts[-1] != "Test suite failed to run":
            container = " › ".join(parts[:-1]) or st.test_file or ""
            st.test = (i, TestId(container=container, name=parts[-1], path=st.test_file))
        st.jest_message, st.pending, st.code_seen = [], None, False
        return True
    if s.startswith("test at ") and (m := _NODE_TEST_FILE.fullmatch(s)):
        st.test_file = m.group("file")
        return True
    if s.startswith("\u2716 ") and (m := _NODE_TEST_FAILED.fullmatch(s)):  # node:test: a suite or a test
        st.test = (i, TestId(container=st.test_file or "", name=m.group("title"), path=st.test_file))
        st.jest_message, st.pending, st.code_seen = [], None, False
        return True
    return _mocha_line(st, i, s)


def _mocha_line(st: _State, i: int, s: str) -> bool:
    """Mocha's `N failing`, then per failure `1) Suite`, nested titles, and the test's `title:`."""
    if s.endswith(" failing") and s.split(" ", 1)[0].isdigit():
        st.failing_seen = True
        return True
    if st.failing_seen and (m := _MOCHA_HEADER.fullmatch(s)):
        st.mocha, st.mocha_indent = [m.group("title")], st.indent
        return True
    if st.mocha is None:
        return False
    exc = header(s) if s else None
    # Nested titles are indented 7 spaces and more, the error's message 5: a line that steps back
    # is the message even when it names no error (fast-check's `Property failed after 1 tests`).
    message = bool(s) and not exc and st.indent < st.mocha_indent
    if st.mocha[-1].endswith(":") and (not s or exc or message):
        # A blank line or the error's first line ends the titles; the last, with its colon, is the
        # test's (a suite's title may end with a colon too: `describe("matching:", ..)`).
        parts = st.mocha[:-1] + [st.mocha[-1][:-1]]
        st.test = (i - 1 if exc or message else i,
                   TestId(container=" ".join(parts[:-1]), name=parts[-1], path=st.test_file))
        st.mocha, st.pending, st.jest_message = None, None, []
        if message:
            st.pending = (i, _Section("Error", s))
            return True
        return not exc  # the error's line goes on to open the trace
    if s and len(st.mocha) < 20:
        st.mocha.append(s)
        st.mocha_indent = st.indent
        return True
    st.mocha = None
    return False


def _outside(st: _State, i: int, s: str) -> None:
    if _test_line(st, i, s):
        return
    exc = header(s) if s else None
    if exc:
        st.pending = (i, _Section(*exc))
    elif st.pending and len(st.pending[1].more) < MAX_MESSAGE_LINES and not opens_trace(s):
        st.pending[1].more.append(s)
    elif st.test and s and not st.code_seen and len(st.jest_message) < 20:
        st.code_seen = bool(_JEST_CODE.fullmatch(s))  # the message ends where the code frame starts
        if not st.code_seen:
            st.jest_message.append(s)


def find(doc: Doc) -> list[Found]:
    """Every JavaScript stack in the document."""
    st = _State()
    for i, raw in enumerate(doc.plain):
        s = raw.strip()
        st.indent = len(raw) - len(raw.lstrip())
        frame = parse_frame(s) if ("at " in s or "@" in s or s.startswith("\u276f ")) else None
        if frame:
            section = st.sections[-1] if st.sections else _begin(st, i)
            section.frames.append(frame)
            st.end = i
            if s.endswith(" {"):
                st.props = 0
            continue
        if st.sections and _in_trace(st, i, s):
            continue
        if st.sections and _VITEST_CODE.fullmatch(s) and st.sections[-1].frames[-1].raw.startswith("\u276f "):
            continue  # Vitest's excerpt of the frame's code
        st.cut = bool(st.sections) and s.startswith("at ") and at_end(doc.plain, i + 1)
        st.close()
        _outside(st, i, s)
    st.close()
    return st.out

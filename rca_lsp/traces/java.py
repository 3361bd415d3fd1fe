"""Java and Kotlin stack traces, with the test that failed when the output names it.

JVM traces print the innermost frame first, so frames keep their printed order.
`Caused by:` sections become `causes` in printed order (the direct cause first), Log4j2's
root-cause-first `Wrapped by:` sections in reverse; `Suppressed:` blocks are skipped. The
failing test comes from a Defects4J header (`--- pkg.FooTest::testX`), a Maven Surefire (2 or
3) or Gradle line, or else is inferred from the frames (see `infer_test`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rca_lsp.traces.base import (
    MAX_MESSAGE_LINES,
    Found,
    at_end,
    indent,
    join_message,
    numbered,
    opens_trace,
    strip_params,
)
from rca_lsp.traces.clean import Doc, strip_symbol_prefix
from rca_lsp.traces.external import jvm_external
from rca_lsp.types import Frame, TestId, Trace

EXCEPTION = re.compile(
    r"(?:Exception in thread \"[^\"]{0,200}\" )?"
    r"(?P<exc>(?:[A-Za-z_$][\w$]{0,200}\.){1,40}[A-Za-z_$][\w$]{0,200}"
    r"|[A-Z][\w$]{0,200}(?:Exception|Error|Throwable|Failure))"
    r"(?::\s?(?P<msg>.*))?"
)
MORE = re.compile(r"\.\.\. (?P<n>\d{1,9}) (?:more|common frames omitted)")
_CLASS = re.compile(r"[\w$.<>/-]{1,1000}")
_FILE = re.compile(r"[\w$.-]{1,300}")
_SUREFIRE = re.compile(
    r"(?:(?P<name>[\w$]{1,300})(?:\(\))?\((?P<cls>[\w$.]{1,1000})\)|(?P<qual>[\w$.]{1,1000})(?:\(\))?)"
    r"\s{1,10}Time elapsed:.{0,200}<<< (?:FAILURE|ERROR)!"
)
# Surefire 3 (3.0.0-M6 on): `pkg.FooTest$Inner.method(long, int)[2] -- Time elapsed: 0.01 s <<< FAILURE!`;
# a Kotlin method may hold spaces (`fun \`adds two\`()`), never a dot.
_SUREFIRE3 = re.compile(
    r"(?P<cls>[\w$.]{1,1000})\.(?P<name>[^\s().][^().]{0,300}?)(?P<params>\([^()]{0,500}\)(?:\[\d{1,9}\])?)?"
    r" -- Time elapsed:.{0,200}<<< (?:FAILURE|ERROR)!"
)
_GRADLE = re.compile(r"(?P<cls>[\w$.]{1,1000}) > (?P<name>.{1,1000}?) FAILED")
_GRADLE_SHORT = re.compile(
    r"(?P<exc>[\w$.]{1,1000}) at (?P<file>[\w$-]{1,300}\.(?:java|kt|groovy|scala)):(?P<line>\d{1,9})"
)
_VALUE_CLASS_MANGLED = re.compile(r"([A-Za-z_][\w$]{0,300}?)-(?:impl\d?|[\w-]{7})")
_NO_FILE = ("Native Method", "Unknown Source", "Unknown", "")
_TEST_SUFFIXES = ("Test", "Tests", "TestCase", "IT", "Spec")


def _module_prefix_free(qual: str) -> str:
    """Drop `java.base/`, `app//` and `loader/module@1.0/` prefixes (never a `$$Lambda$1/0x..`)."""
    while "/" in qual:
        head, _, rest = qual.partition("/")
        if "$" in head:
            break
        qual = rest.lstrip("/")
    return qual


def method_name(method: str, cls: str = "") -> str:
    """The source method behind synthetic names.

    `lambda$foo$0` -> foo, `lambda$new$0` -> <init>, Kotlin `foo$lambda$0` -> foo, and a
    Kotlin lambda or coroutine class `AppKt$main$1.invokeSuspend` -> main.
    """
    if method in ("invoke", "invokeSuspend") and "$" in cls:
        inner = [p for p in cls.split("$")[1:] if p and not p.isdigit()]
        if inner and inner[-1].isidentifier():
            return inner[-1]
    if method.startswith("lambda$"):
        enclosing = method[len("lambda$"):].split("$", 1)[0]
        return {"new": "<init>", "static": "<clinit>"}.get(enclosing, enclosing) or method
    if "$lambda" in method:  # Kotlin: foo$lambda$0, foo$lambda-1
        return method.split("$lambda", 1)[0] or method
    return _kotlin_synthetic(method)


def _kotlin_synthetic(method: str) -> str:
    """The declared Kotlin function behind a name the compiler made: `add$default` (default
    arguments), `fetch$suspendImpl` (an open suspend function's body), `price-impl` and
    `price-0GA-fAs` (a value class's member, a function taking one)."""
    for suffix in ("$default", "$suspendImpl"):
        if method.endswith(suffix) and len(method) > len(suffix):
            return method[: -len(suffix)]
    m = _VALUE_CLASS_MANGLED.fullmatch(method)
    return m.group(1) if m else method


def parse_frame(stripped: str) -> Frame | None:
    """`at pkg.Outer$Inner.method(File.java:12)` (also Native Method, Unknown Source, `~[jar]`)."""
    if not stripped.startswith("at "):
        return None
    body = stripped[3:].strip()
    if body.endswith("]"):  # logback/log4j packaging data: "(Foo.java:12) ~[app.jar:1.0]"
        cut = body.rfind(" ")
        body = body[:cut].rstrip() if cut > 0 else body
    if not body.endswith(")"):
        return None
    p = body.rfind("(")
    if p <= 0 or body[p - 1] == " ":
        return None
    qual, loc = _module_prefix_free(body[:p]), body[p + 1:-1]
    file, line = _location(loc)
    if isinstance(file, bool):  # junk where a location should be (never True)
        return None
    cls, dot, method = qual.rpartition(".")
    if not dot or not cls or not method or not _CLASS.fullmatch(cls):
        return None
    if " " in method and not (file or "").endswith(".kt"):
        return None
    return Frame(index=0, raw=stripped, file=file or None, line=line, function=method_name(method, cls),
                 qualname=qual, module=cls.split("$", 1)[0] or cls)


def _location(loc: str) -> tuple[str | None | bool, int | None]:
    """`File.java:12` -> (File.java, 12); `Native Method` -> (None, None); junk -> (False, None)."""
    name, sep, num = loc.rpartition(":")
    if not sep:
        name, num = loc, ""
    elif not num.isdigit() or len(num) > 9:
        return False, None
    if name in _NO_FILE or (name.startswith("<") and name.endswith(">")):  # <generated>
        return None, int(num) if num else None
    if not _FILE.fullmatch(name) or ("." not in name and name != "SourceFile"):
        return False, None
    return name, int(num) if num else None


def exception(text: str) -> tuple[str, str] | None:
    m = EXCEPTION.fullmatch(text.strip())
    return (m.group("exc"), (m.group("msg") or "").strip()) if m else None


def is_test_class(module: str | None) -> bool:
    simple = (module or "").rsplit(".", 1)[-1]
    return bool(simple) and (simple.endswith(_TEST_SUFFIXES) or simple.startswith("Test"))


def infer_test(frames: list[Frame]) -> TestId | None:
    """The failing test from frames, innermost first.

    Among non-library frames in test classes (`*Test`, `*Tests`, `Test*`...), the first
    whose method starts with `test`; otherwise the outermost one, since JUnit calls the
    test method and the test method calls its helpers.
    """
    candidates = [f for f in frames if is_test_class(f.module) and not jvm_external(f.module)]
    if not candidates:
        return None
    named = [f for f in candidates if (f.function or "").lower().startswith("test")]
    best = named[0] if named else candidates[-1]
    return TestId(container=best.module or "", name=best.function or "")


@dataclass
class _Section:
    exception: str
    first: str
    more: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    elided: int = 0

    def trace(self, test: TestId | None = None, causes: tuple = (), truncated: bool = False) -> Trace:
        return Trace(format="java", exception=self.exception, message=join_message(self.first, self.more),
                     frames=numbered(self.frames), test=test, causes=causes, truncated=truncated)


@dataclass
class _Builder:
    start: int
    end: int
    test: TestId | None
    sections: list[_Section]
    suppressed_at: int | None = None
    truncated: bool = False
    wrapped: bool = False  # Log4j2's `%rEx`: the root cause first, then `Wrapped by:` each wrapper

    def finish(self) -> Found:
        sections = self.sections[::-1] if self.wrapped else self.sections
        main, causes = sections[0], sections[1:]
        truncated = self.truncated or self.sections[0].elided > 0  # the trace printed first is whole
        for outer, inner in zip(sections, causes):
            # "... n more" counts frames shared with the enclosing trace: more than it has is a cut
            overcount = not self.wrapped and inner.elided > len(outer.frames) + outer.elided
            truncated = truncated or overcount or not (inner.frames or inner.elided)
        test = self.test or infer_test(main.frames)
        trace = main.trace(test, tuple(c.trace() for c in causes), truncated)
        return Found(self.start, self.end, (trace,))


@dataclass
class _State:
    out: list[Found] = field(default_factory=list)
    cur: _Builder | None = None
    pending: tuple[int, _Section] | None = None  # an exception line waiting for its frames
    test: tuple[int, TestId, bool] | None = None  # (line, test, from a Defects4J header)

    def close(self) -> None:
        if self.cur:
            self.out.append(self.cur.finish())
            self.cur = None

    def flush_d4j(self, end: int) -> None:
        """A Defects4J header with an exception but no frames still names a failure."""
        if self.test and self.test[2] and self.pending:
            self.out.append(Found(self.test[0], end, (self.pending[1].trace(self.test[1]),)))
            self.test = self.pending = None


def _header_test(s: str) -> tuple[TestId, bool] | None:
    """Defects4J, Surefire or Gradle lines naming the failing test."""
    if s.startswith("--- ") and "::" in s and " " not in s[4:]:
        cls, _, name = s[4:].partition("::")
        return TestId(container=cls, name=strip_params(name)), True
    if "<<< " in s and "Time elapsed" in s:
        if " -- Time elapsed" in s:
            return _surefire3(s)
        m = _SUREFIRE.fullmatch(s)
        if m and m.group("cls"):
            return TestId(container=m.group("cls"), name=m.group("name")), False
        if m:
            cls, _, name = m.group("qual").rpartition(".")
            return (TestId(container=cls, name=name), False) if cls else None
    if s.endswith(" FAILED") and " > " in s:
        m = _GRADLE.fullmatch(s)
        if m:
            return TestId(container=m.group("cls"), name=strip_params(m.group("name"))), False
    return None


def _surefire3(s: str) -> tuple[TestId, bool] | None:
    """The test a Surefire 3 line names; None for a class's own failure (`pkg.FooTest -- Time
    elapsed`: a `@BeforeAll` threw), which the frames name better."""
    m = _SUREFIRE3.fullmatch(s)
    if not m or (m.group("name")[0].isupper() and not m.group("params")):
        return None
    return TestId(container=m.group("cls"), name=m.group("name"), params=m.group("params") or ""), False


def _continues_message(section: _Section, s: str) -> bool:
    """A line of a `Caused by:` message, blank lines and all, before the cause's first frame."""
    if section.frames or section.elided or len(section.more) >= MAX_MESSAGE_LINES:
        return False
    return not opens_trace(s, exceptions=False) and _header_test(s) is None


def _in_trace(st: _State, i: int, raw: str, s: str) -> bool:
    """Feed line i to the trace being read; False when the line ends it."""
    cur = st.cur
    assert cur is not None
    if cur.suppressed_at is not None:
        if s and indent(raw) > cur.suppressed_at and s.startswith(("at ", "... ", "Caused by:", "Wrapped by:",
                                                                   "Suppressed:")):
            cur.end = i
            return True
        cur.suppressed_at = None
    if s.startswith(("Caused by:", "Wrapped by:")):
        head = s.partition(":")[0]
        cur.wrapped = cur.wrapped or (head == "Wrapped by" and len(cur.sections) == 1)
        rest = s[len(head) + 1:]
        cur.sections.append(_Section(*(exception(rest) or (rest.strip(), ""))))
    elif s.startswith("Suppressed:"):
        cur.suppressed_at = indent(raw)
    elif s.startswith("... ") and (more := MORE.fullmatch(s)):
        cur.sections[-1].elided = int(more.group("n"))
    elif _continues_message(cur.sections[-1], s):
        cur.sections[-1].more.append(s)
    else:
        return False
    cur.end = i
    return True


def _outside(st: _State, i: int, s: str) -> None:
    """Line i is not part of a trace: look for test headers and exception lines."""
    named = _header_test(s) if s else None
    if named:
        st.flush_d4j(i - 1)
        st.test = (i, named[0], named[1])
        st.pending = None
        return
    gradle = _GRADLE_SHORT.fullmatch(s) if st.test and " at " in s else None
    if gradle and st.test:
        frame = Frame(index=0, raw=s, file=gradle.group("file"), line=int(gradle.group("line")))
        section = _Section(gradle.group("exc"), "", frames=[frame])
        st.out.append(Found(st.test[0], i, (section.trace(st.test[1]),)))
        st.test = None
        return
    if s.startswith("<") and ">" in s:  # XML that did not parse: <failure ...>java.lang.X: msg
        s = s[s.rfind(">") + 1:]
    # Under a Defects4J header the first exception line is the one: what follows until the
    # frames is its message, however long (Closure prints whole ASTs) or exception-like.
    d4j = st.test is not None and st.test[2] and st.pending is not None
    exc = exception(s) if s and not d4j else None
    if exc:
        st.pending = (i, _Section(*exc))
    elif st.pending and len(st.pending[1].more) < MAX_MESSAGE_LINES and not opens_trace(s):
        st.pending[1].more.append(s)
    elif not d4j:
        st.pending = None


def _start(st: _State, i: int, frame: Frame) -> None:
    start, section = st.pending if st.pending else (i, _Section("", ""))
    test = None
    if st.test:
        start, test = min(start, st.test[0]), st.test[1]
    st.cur = _Builder(start=start, end=i, test=test, sections=[section])
    section.frames.append(frame)
    st.pending = st.test = None


def find(doc: Doc) -> list[Found]:
    """Every JVM stack trace in the document."""
    st = _State()
    lines = doc.plain
    for i, raw in enumerate(lines):
        raw = strip_symbol_prefix(raw)  # `🔥 ERROR \tat ...`: no JVM line starts with such a symbol
        s = raw.strip()
        frame = parse_frame(s) if s.startswith("at ") else None
        if frame and st.cur and st.cur.suppressed_at is not None and indent(raw) > st.cur.suppressed_at:
            st.cur.end = i
            continue
        if frame:
            if st.cur is None:
                _start(st, i, frame)
            else:
                st.cur.suppressed_at = None
                st.cur.sections[-1].frames.append(frame)
                st.cur.end = i
            continue
        if st.cur and _in_trace(st, i, raw, s):
            continue
        if st.cur:
            st.cur.truncated = st.cur.truncated or (at_end(lines, i + 1) and s.startswith("at "))
        st.close()
        _outside(st, i, s)
    st.close()
    st.flush_d4j(len(lines) - 1)
    return st.out

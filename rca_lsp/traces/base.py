"""Pieces shared by the format parsers.

Each parser returns `Found` records: the traces it recognised and the line span they
came from, so the engine can let the earliest, widest claim win when two formats read
the same lines (a pytest section holding a Python traceback, a Rust backtrace whose
`at` lines look like JavaScript frames).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rca_lsp.types import Frame, TestId, Trace

# How many continuation lines an exception message may take; keeps scans bounded.
MAX_MESSAGE_LINES = 50

# `ValueError: msg`, `pkg.mod.Error: msg`, bare `KeyError`; names may hold `<locals>`.
EXC_LINE = re.compile(r"(?P<exc>[A-Za-z_][\w.<>]{0,300})(?::(?: ?(?P<msg>.*))?)?")

# A function or method name as test runners print it before its parameters.
_IDENT = re.compile(r"[\w$]+")

_EXC_WORDS = ("Error", "Exception", "Warning", "Exit", "Interrupt", "Iteration",
              "Failure", "Failed", "Fault", "Group", "Timeout")


@dataclass(frozen=True)
class Found:
    """Traces a parser read from lines start..end (inclusive, 0-based)."""

    start: int
    end: int
    traces: tuple[Trace, ...]

    def __post_init__(self) -> None:
        if self.end < self.start:
            object.__setattr__(self, "end", self.start)


def numbered(frames: list[Frame]) -> tuple[Frame, ...]:
    """Give frames (already innermost first) their indexes 0..n-1."""
    return tuple(f if f.index == i else replace(f, index=i) for i, f in enumerate(frames))


def at_end(lines: tuple[str, ...] | list[str], k: int) -> bool:
    """Whether nothing but (at most two) blank lines remain from line k: the input stopped there."""
    return len(lines) - k <= 2 and not any(line.strip() for line in lines[k:])


def indent(line: str) -> int:
    """Width of the leading whitespace (tabs count as one)."""
    return len(line) - len(line.lstrip())


def looks_like_exception(name: str) -> bool:
    """Whether a bare word reads like an exception type rather than ordinary text."""
    tail = name.rsplit(".", 1)[-1]
    return tail.endswith(_EXC_WORDS) or tail in ("Exception", "Error", "BaseException")


def exception_line(line: str, strict: bool = False) -> tuple[str, str] | None:
    """Split `Type: message`; with `strict`, a bare or undotted name must read like an exception."""
    m = EXC_LINE.fullmatch(line.strip())
    if not m:
        return None
    exc = m.group("exc")
    if exc.endswith(".") or exc.startswith(".") or ".." in exc:
        return None
    if strict and not looks_like_exception(exc):
        return None
    return exc, (m.group("msg") or "").strip()


_OPENERS = ("Traceback (most recent call last):", "goroutine ", "panic: ", "thread '", "--- FAIL", "---- ",
            "Caused by:", "stack backtrace:", "Exception in thread ", "=== RUN", "● ")


def opens_trace(stripped: str, exceptions: bool = True) -> bool:
    """Whether a line starts (or is a frame of) some trace: an exception message stops before it.

    With `exceptions=False`, a line that merely reads like `pkg.SomeError: text` does not count
    (a JVM message quoting another exception).
    """
    if stripped.startswith(_OPENERS):
        return True
    if stripped.startswith("at ") and stripped[3:4] not in ("[", "{", "") \
            and (stripped.endswith(")") or stripped[-1:].isdigit()):  # not Jackson's "at [Source: ...]"
        return True
    if stripped.startswith("#") and stripped[1:2].isdigit():
        return True
    exc = exception_line(stripped, strict=True) if exceptions else None
    return exc is not None and ("." in exc[0] or bool(exc[1]))


def split_location(loc: str) -> tuple[str, int | None, int | None]:
    """`path:12:5` -> (path, 12, 5); `path:12` -> (path, 12, None); else (loc, None, None)."""
    head, sep, tail = loc.rpartition(":")
    if not sep or not (tail.isascii() and tail.isdigit()) or len(tail) > 9:  # `³` is a digit int() refuses
        return loc, None, None
    head2, sep2, tail2 = head.rpartition(":")
    if sep2 and tail2.isascii() and tail2.isdigit() and len(tail2) <= 9 and head2:
        return head2, int(tail2), int(tail)
    if not head:
        return loc, None, None
    return head, int(tail), None


def split_params(name: str) -> tuple[str, str]:
    """A test's function and its parametrisation as printed, so a parametrised or sub-test case
    still finds its function: `test_x[a/b-1.5]` -> (`test_x`, `[a/b-1.5]`), unittest's subTest
    `test_b (k='v.w')` -> (`test_b`, ` (k='v.w')`), `test_s [msg] (i=0)`, `testFoo()`."""
    name = name.strip()
    m = _IDENT.match(name)
    if m and name[m.end():].startswith(("[", "(", " [", " (")):
        return m.group(), name[m.end():]
    if "[" in name and not name.startswith("["):
        cut = name.index("[")
        return name[:cut].strip(), name[cut:]
    return name, ""


def strip_params(name: str) -> str:
    """The test function alone: `test_x[1-2]` -> `test_x`, `test_b (k=1)` -> `test_b`, `testFoo()` -> `testFoo`."""
    return split_params(name)[0]


def dotted_test(qualified: str, sep: str = ".") -> TestId | None:
    """`pkg.ClassTest.testX` -> TestId(pkg.ClassTest, testX)."""
    container, dot, name = qualified.strip().rpartition(sep)
    if not dot or not container or not name:
        return None
    return TestId(container=container, name=strip_params(name))


def join_message(first: str, more: list[str]) -> str:
    """An exception message with its continuation lines, blank edges dropped."""
    parts = [first] + more
    while parts and not parts[-1].strip():
        parts.pop()
    return "\n".join(parts).strip()


def split_symbol(symbol: str) -> list[str]:
    """Split a C++/Rust path on `::` outside `<...>`: `<a::B as c::D>::f` -> [`<a::B as c::D>`, `f`]."""
    parts: list[str] = []
    depth = start = 0
    i = 0
    while i < len(symbol):
        c = symbol[i]
        if c == "<":
            depth += 1
        elif c == ">" and depth:
            depth -= 1
        elif c == ":" and depth == 0 and symbol.startswith("::", i):
            parts.append(symbol[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(symbol[start:])
    return [p for p in parts if p]

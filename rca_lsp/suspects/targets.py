"""The code a failure points at: frame functions and what the failing test calls, with weights.

From the failing test method we follow calls through the call graph (`rca_lsp.code.graph`) up to
`HOPS` calls deep, each worth `HOP_DECAY` of the one before (and nothing under the graph's minimum
weight), with callee names resolved best-effort (receiver types, lexical scope, supertypes and
subtypes, modules, then same-named symbols sharing the weight). Calls made on the failing line of
the test count double. A test method the named class inherits from a base test class is walked
from there. HOPS is 4, not 2: the dev split's culprits were reached by 85% of the tests' walks at 2
and 93% at 4, and top-1 did not fall (BENCHMARKS.md, "Reach"; chosen on the dev split).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from rca_lsp.code.outline import COMPUTED
from rca_lsp.suspects.code_view import CodeView, stem
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Call, Symbol, TestId, Trace

log = logging.getLogger(__name__)

HOPS = 4
HOP_DECAY = 0.4
FAILING_LINE_BOOST = 2.0


@dataclass(frozen=True)
class Target:
    path: str
    symbol: Symbol
    weight: float
    why: str  # "the failing test X calls it" / "frame 3 is in it"
    hops: int


@dataclass(frozen=True)
class FailingTest:
    path: str
    symbol: Symbol
    line: int | None  # the failing line inside it, when a frame of the trace shows it


def _test_class(test: TestId) -> str:
    """The simple name of the test's class (`a.b.FooTest$Inner` -> FooTest)."""
    return test.container.split("::")[-1].rsplit(".", 1)[-1].split("$")[0]


def _failing_line(trace: Trace, path: str, test: TestId, symbols: list[Symbol]) -> int | None:
    """The line of the test's frame: the one that names the test's function, else one inside a
    function of the test's name (a JS test is an anonymous callback: `Context.<anonymous>`)."""
    lines = [(f.line, f.function) for f in trace.all_frames() if f.path == path and f.line is not None]
    named = next((line for line, function in lines if function == test.name), None)
    if named is not None:
        return named
    return next((line for line, _ in lines if _in_test_function(symbols, test, line)), None)


def _in_test_function(symbols: list[Symbol], test: TestId, line: int) -> bool:
    """Whether `line` lies in a function named like the test."""
    return bool(_test_functions_at(symbols, test, line))


def _test_functions_at(symbols: list[Symbol], test: TestId, line: int) -> list[Symbol]:
    """The functions named like the test that hold `line` (a JS test is its titled callback, whose
    title may be a pattern: outline.test_title)."""
    return [s for s in symbols if s.kind != "class" and s.start_line <= line <= s.end_line
            and _titled(s.name, test.name)]


def _titled(name: str, title: str) -> bool:
    """Whether a function `name`d so is the test the runner printed as `title`: the same text, or
    a pattern it fits (a computed part, `%i`/`%s` and `$a` of Jest's `test.each`, each any text)."""
    if name == title:
        return True
    if COMPUTED not in name and "%" not in name and "$" not in name:
        return _one_row_of(name, title)
    pattern = _PLACEHOLDER.sub("\x00", name)
    regex = ".*".join(re.escape(part) for part in pattern.split("\x00"))
    return re.fullmatch(regex, title, re.DOTALL) is not None


_PLACEHOLDER = re.compile(re.escape(COMPUTED) + r"|%[sdifjoOp#]|\$[A-Za-z_]\w*")


def _one_row_of(name: str, title: str) -> bool:
    """Whether `title` is what a data-driven runner names one row of the test function `name`:
    `test_bit_string_1` for asn1crypto's `@data(..) def bit_string`, `test_add_0_small` for
    parameterized's or ddt's `test_add`. Only asked where the file has no function of the title's
    name, so the frame inside the function decides."""
    return len(name) >= 3 and re.fullmatch(rf"(?:test_)?{re.escape(name)}_\w+", title) is not None


def _owner_class(qualname: str) -> str:
    parts = qualname.split(".")
    return parts[-2] if len(parts) >= 2 else ""


class TargetFinder:
    def __init__(self, view: CodeView) -> None:
        self.view = view

    # -- the failing test ---------------------------------------------------------------------
    def test_file(self, test: TestId, trace: Trace) -> str | None:
        """The file that defines the test: the one its id names, unless that file does not define
        it and a frame of the trace shows the test's function elsewhere (a runner module that
        imports every test module: `tests/__main__.py::TestGrammar::test_x`)."""
        named = test.path if test.path and self.view.has(test.path) else None
        if named and any(s.name == test.name for s in self.view.symbols(named)):
            return named
        for frame in trace.all_frames():
            if frame.path and frame.function == test.name and self.view.has(frame.path):
                return frame.path
        for frame in trace.all_frames():  # a frame inside a function of the test's name (a JS title)
            if frame.path and frame.line is not None and self.view.has(frame.path) and _in_test_function(
                    self.view.symbols(frame.path), test, frame.line):
                return frame.path
        if named:
            return named
        simple = test.container.split("::")[0].rsplit(".", 1)[-1].split("$")[0]
        for frame in trace.all_frames():
            if frame.path and stem(frame.path) == simple:
                return frame.path
        options = self.view.paths_with_stem(simple)
        package = test.container.rsplit(".", 1)[0].replace(".", "/")
        options.sort(key=lambda p: (package not in p, not is_test_path(p), len(p)))
        return options[0] if options else None

    def test_symbol(self, path: str, test: TestId, line: int | None = None) -> Symbol | None:
        """The test method: many classes of one file share names like `test_basic`, so the one that
        holds the failing frame's line wins, then the one in the named class, then the shallowest."""
        found = [s for s in self.view.symbols(path) if s.name == test.name and s.kind != "class"]
        if line is not None:
            holding = [s for s in found if s.start_line <= line <= s.end_line]
            if holding:
                return holding[0]
            if not found:  # a JS test whose title is a pattern: the innermost the failing line is in
                patterned = _test_functions_at(self.view.symbols(path), test, line)
                return min(patterned, key=lambda s: s.end_line - s.start_line, default=None)
        owner = _test_class(test)
        return min(found, key=lambda s: (_owner_class(s.qualname) != owner, s.qualname.count(".")), default=None)

    def inherited_test(self, path: str, test: TestId) -> tuple[str, Symbol | None]:
        """A test method the named class inherits (JUnit runs a base class's tests for each
        subclass): the supertypes' method of that name, through the call graph's resolver."""
        owner = _test_class(test)
        classes = [s for s in self.view.symbols(path) if s.kind == "class" and s.name == owner]
        for cls in classes:
            for (tpath, qualname), _ in self.view.graph.resolve(path, Call(cls.qualname, test.name, cls.start_line,
                                                                            "this", cls.name)):
                symbol = self.view.symbol(tpath, qualname)
                if symbol is not None and symbol.kind != "class":
                    return tpath, symbol
        return path, None

    def locate(self, trace: Trace) -> FailingTest | None:
        """The trace's failing test method: its file, the method (the named class's own, else the
        one it inherits) and the failing line in it when a frame shows one."""
        test = trace.test
        path = self.test_file(test, trace) if test else None
        if test is None or path is None:
            return None
        line = _failing_line(trace, path, test, self.view.symbols(path))
        sym = self.test_symbol(path, test, line)
        if sym is None:
            path, sym = self.inherited_test(path, test)
            line = _failing_line(trace, path, test, self.view.symbols(path))
        return FailingTest(path, sym, line) if sym else None

    def from_test(self, trace: Trace) -> dict[tuple[str, str], Target]:
        found = self.locate(trace)
        if found is None:
            return {}
        owner = _owner_class(found.symbol.qualname)
        label = f"{owner + '.' if owner else ''}{found.symbol.name}"
        return self.walk(found.path, found.symbol, found.line, f"the failing test {label}")

    def walk(self, path: str, start: Symbol, failing_line: int | None, why: str) -> dict[tuple[str, str], Target]:
        """What `start` reaches in up to HOPS calls; calls made on the failing line count double."""
        graph = self.view.graph
        reached = graph.reach(path, start.qualname, hops=HOPS, decay=HOP_DECAY)
        weights = {target: weight for target, (weight, _) in reached.items()}
        direct = {target for target, _ in graph.edges(path, start.qualname)}
        if failing_line is not None:
            for call in graph.calls_from(path, start.qualname):
                if call.line == failing_line:
                    for target, _ in graph.resolve(path, call):
                        if target in weights:
                            weights[target] *= FAILING_LINE_BOOST
        found = {}
        for (tpath, qualname), weight in weights.items():
            symbol = self.view.symbol(tpath, qualname)
            if symbol is not None:
                hops = 1 if (tpath, qualname) in direct else reached[(tpath, qualname)][1]
                found[(tpath, qualname)] = Target(tpath, symbol, weight, why, hops)
        return found

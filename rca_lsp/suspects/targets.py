"""The code a failure points at: frame functions and what the failing test calls, with weights.

From the failing test method we follow calls through the call graph (`rca_lsp.code.graph`) a few
hops, each worth `HOP_DECAY` of the one before, with callee names resolved best-effort (receiver
types, lexical scope, supertypes, modules, then same-named symbols sharing the weight). Calls made
on the failing line of the test count double.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rca_lsp.suspects.code_view import CodeView, stem
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Symbol, TestId, Trace

log = logging.getLogger(__name__)

HOPS = 2
HOP_DECAY = 0.4
FAILING_LINE_BOOST = 2.0


@dataclass(frozen=True)
class Target:
    path: str
    symbol: Symbol
    weight: float
    why: str  # "the failing test X calls it" / "frame 3 is in it"
    hops: int


def _owner_class(qualname: str) -> str:
    parts = qualname.split(".")
    return parts[-2] if len(parts) >= 2 else ""


class TargetFinder:
    def __init__(self, view: CodeView) -> None:
        self.view = view

    # -- the failing test ---------------------------------------------------------------------
    def test_file(self, test: TestId, trace: Trace) -> str | None:
        if test.path and self.view.has(test.path):
            return test.path
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
        owner = test.container.split("::")[-1].rsplit(".", 1)[-1].split("$")[0]
        return min(found, key=lambda s: (_owner_class(s.qualname) != owner, s.qualname.count(".")), default=None)

    def from_test(self, trace: Trace) -> dict[tuple[str, str], Target]:
        test = trace.test
        if test is None:
            return {}
        path = self.test_file(test, trace)
        if path is None:
            return {}
        failing = next((f.line for f in trace.all_frames()
                        if f.path == path and f.function == test.name), None)
        sym = self.test_symbol(path, test, failing)
        if sym is None:
            return {}
        label = f"{_owner_class(sym.qualname) + '.' if _owner_class(sym.qualname) else ''}{test.name}"
        return self.walk(path, sym, failing, f"the failing test {label}")

    def walk(self, path: str, start: Symbol, failing_line: int | None, why: str) -> dict[tuple[str, str], Target]:
        """What `start` reaches in up to HOPS calls; calls made on the failing line count double."""
        graph = self.view.graph
        weights = graph.callees(path, start.qualname, hops=HOPS, decay=HOP_DECAY)
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
                found[(tpath, qualname)] = Target(tpath, symbol, weight, why, 1 if (tpath, qualname) in direct else HOPS)
        return found

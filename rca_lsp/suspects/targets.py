"""The code a failure points at: frame functions and what the failing test calls, with weights.

From the failing test method we follow calls through the call graph a few hops (each hop worth
`HOP_DECAY` of the one before), resolving callee names best-effort: the receiver's declared type
first, then the caller's own file, then the class under test (`NumberUtilsTest` -> `NumberUtils`),
then every same-named symbol with the weight shared among them. Very common names are damped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rca_lsp.suspects.code_view import CodeView, is_test_path, stem
from rca_lsp.types import Call, Symbol, TestId, Trace

log = logging.getLogger(__name__)

HOPS = 2
HOP_DECAY = 0.4
FAILING_LINE_BOOST = 2.0
MAX_AMBIGUITY = 12
COMMON_NAMES = frozenset("""
get set put add remove size length equals hashCode toString valueOf append isEmpty contains clear iterator
close next hasNext format apply accept run call build of create init __init__ __str__ __repr__ __eq__
assertEquals assertTrue assertFalse assertNull assertNotNull assertSame fail assertThat
""".split())
COMMON_DAMPING = 0.15


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

    def test_symbol(self, path: str, test: TestId) -> Symbol | None:
        found = [s for s in self.view.symbols(path) if s.name == test.name and s.kind != "class"]
        return min(found, key=lambda s: s.qualname.count("."), default=None)

    # -- resolution ----------------------------------------------------------------------------
    def resolve(self, call: Call, caller_path: str, under_test: str) -> list[tuple[str, Symbol]]:
        named = [(p, s) for p, s in self.view.symbols_named(call.callee)]
        if not named:
            return []
        if call.receiver_type:
            typed = [(p, s) for p, s in named
                     if _owner_class(s.qualname) == call.receiver_type or stem(p) == call.receiver_type]
            if typed:
                return typed
        if call.receiver in ("", "this", "self", "super"):
            local = [(p, s) for p, s in named if p == caller_path]
            if local:
                return local
        if under_test:
            cut = [(p, s) for p, s in named if _owner_class(s.qualname) == under_test or stem(p) == under_test]
            if cut:
                return cut
        return named if len(named) <= MAX_AMBIGUITY else []

    def walk(self, start_path: str, start: Symbol, weight: float, under_test: str,
             failing_line: int | None, why: str) -> dict[tuple[str, str], Target]:
        found: dict[tuple[str, str], Target] = {}
        frontier = [(start_path, start, weight)]
        for hop in range(1, HOPS + 1):
            nxt = []
            for path, sym, w in frontier:
                for call in self.view.calls_from(path, sym.qualname):
                    boost = FAILING_LINE_BOOST if hop == 1 and failing_line == call.line else 1.0
                    resolved = self.resolve(call, path, under_test)
                    share = w * boost * (HOP_DECAY ** (hop - 1)) / max(len(resolved), 1)
                    if call.callee in COMMON_NAMES:
                        share *= COMMON_DAMPING
                    for rpath, rsym in resolved:
                        key = (rpath, rsym.qualname)
                        if key in found and found[key].weight >= share:
                            continue
                        found[key] = Target(rpath, rsym, share, why, hop)
                        nxt.append((rpath, rsym, w * boost / max(len(resolved), 1)))
            frontier = nxt
        return found

    def from_test(self, trace: Trace) -> dict[tuple[str, str], Target]:
        test = trace.test
        if test is None:
            return {}
        path = self.test_file(test, trace)
        if path is None:
            return {}
        sym = self.test_symbol(path, test)
        if sym is None:
            return {}
        failing = next((f.line for f in trace.all_frames()
                        if f.path == path and f.function == test.name), None)
        under_test = stem(path)
        for suffix in ("Tests", "Test", "_test", "test_"):
            under_test = under_test.removesuffix(suffix).removeprefix("test_")
        label = f"{_owner_class(sym.qualname) + '.' if _owner_class(sym.qualname) else ''}{test.name}"
        return self.walk(path, sym, 1.0, under_test, failing, f"the failing test {label}")

"""A call graph of the current work tree, to follow a failing test into the code it runs.

A commit that changed ``NumberUtils.createInteger`` is a suspect for a failing
``NumberUtilsTest.testLang747`` even when the stack trace never printed that
method: the test calls it. ``CallGraph.callees`` gives, for a symbol, the
symbols it reaches within a few hops, weighted by distance and by how sure
the name resolution was (see ``resolve.py`` for the rules).

Nodes are ``(path, qualname)``: overloads sharing a qualname are one node.
The graph lives in memory; building it for ~600 Java files (200k lines) takes
a few seconds, dominated by tree-sitter parsing.
"""

from __future__ import annotations

import gc
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from rca_lsp.code.calls import analyze
from rca_lsp.code.languages import COPIED_DIRS, known_extensions, language_for_path
from rca_lsp.code.resolve import Resolver, Target
from rca_lsp.code.symbols import SymbolIndex
from rca_lsp.types import Call, Symbol

log = logging.getLogger(__name__)

DEFAULT_DECAY = 0.4
MIN_WEIGHT = 0.01
_SKIP_DIRS = frozenset({"__pycache__", "target", "build", "venv", "site-packages"}) | COPIED_DIRS


@dataclass
class _File:
    language: str
    index: SymbolIndex
    calls: dict[str, list[Call]] | None = field(default_factory=dict)  # caller qualname -> calls; None: not loaded


CallLoader = Callable[[str], Iterable[Call]]


class CallGraph:
    """Symbols and call sites of many files, with best-effort callee resolution."""

    def __init__(self, call_loader: CallLoader | None = None) -> None:
        self._files: dict[str, _File] = {}
        self._resolver = Resolver()
        self._edges: dict[Target, list[tuple[Target, float]]] = {}
        self._typed_edges: dict[tuple[Target, str], list[tuple[Target, float, str]]] = {}
        self._call_loader = call_loader

    @classmethod
    def build(cls, files: Iterable[tuple[str, bytes]]) -> "CallGraph":
        """Parse every ``(path, source)`` whose language is supported; others are skipped.

        The cyclic garbage collector is paused meanwhile: building allocates
        millions of short-lived, acyclic objects, and its full passes over
        the growing graph cost about a third of the build time.
        """
        graph = cls()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for path, source in files:
                graph.add(path, source)
        finally:
            if was_enabled:
                gc.enable()
        return graph

    @classmethod
    def from_directory(cls, root: str, max_files: int = 20_000) -> "CallGraph":
        """Build from the supported source files under ``root`` (paths relative, POSIX)."""
        def read() -> Iterator[tuple[str, bytes]]:
            for rel in source_files(root, max_files):
                try:
                    with open(os.path.join(root, rel), "rb") as handle:
                        yield rel, handle.read()
                except OSError as exc:
                    log.debug("cannot read %s: %s", rel, exc)

        return cls.build(read())

    def add(self, path: str, source: bytes) -> bool:
        """Add (or replace) one file; False when its language is unsupported."""
        language = language_for_path(path)
        if language is None:
            return False
        if path in self._files:
            log.debug("replacing %s in the call graph", path)
        facts = analyze(source, language)
        self.add_facts(path, language, facts.symbols, facts.bases, facts.calls, facts.default)
        return True

    def add_facts(self, path: str, language: str, symbols: list[Symbol], bases: dict[str, list[str]],
                  calls: Iterable[Call] | None = None, default: str = "") -> None:
        """Add (or replace) one file from facts already extracted (an index keeps them per blob).

        With ``calls`` None, the call sites are read through the graph's ``call_loader`` the first
        time a traversal needs them, so a graph over a whole repository loads only what it walks.
        """
        self._files[path] = _File(language, SymbolIndex(symbols), None if calls is None else _by_caller(calls))
        self._resolver.add_file(path, symbols, bases, default)
        self._edges.clear()
        self._typed_edges.clear()

    # -- lookups ---------------------------------------------------------------

    def paths(self) -> list[str]:
        return list(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def symbols(self, path: str) -> list[Symbol]:
        """The symbols of ``path`` in document order ([] if unknown)."""
        entry = self._files.get(path)
        return list(entry.index.symbols) if entry else []

    def symbol_at(self, path: str, line: int) -> Symbol | None:
        """The innermost symbol of ``path`` containing the 1-based ``line``."""
        entry = self._files.get(path)
        return entry.index.at(line) if entry else None

    def find(self, name: str) -> list[Target]:
        """Every ``(path, qualname)`` whose short name is ``name``."""
        return list(self._resolver.by_name.get(name, []))

    def calls_from(self, path: str, qualname: str) -> list[Call]:
        """The call sites made directly in ``qualname`` (lambdas and anonymous classes included)."""
        entry = self._files.get(path)
        if entry is None:
            return []
        if entry.calls is None:
            entry.calls = _by_caller(self._call_loader(path) if self._call_loader else ())
        return list(entry.calls.get(qualname, []))

    def call_count(self) -> int:
        return sum(len(c) for f in self._files.values() for c in (f.calls or {}).values())

    def symbol_count(self) -> int:
        return sum(len(f.index.symbols) for f in self._files.values())

    # -- traversal -------------------------------------------------------------

    def resolve(self, path: str, call: Call) -> list[tuple[Target, float]]:
        """Candidate targets of one call site made in ``path``, with confidence factors."""
        return self._resolver.resolve(path, call.caller, call)

    def edges(self, path: str, qualname: str) -> list[tuple[Target, float]]:
        """Direct callees of one node, each with the best confidence over its call sites."""
        key = (path, qualname)
        cached = self._edges.get(key)
        if cached is None:
            best: dict[Target, float] = {}
            for call in self.calls_from(path, qualname):
                for target, factor in self.resolve(path, call):
                    if factor > best.get(target, 0.0):
                        best[target] = factor
            cached = self._edges[key] = sorted(best.items())
        return cached

    def callees(
        self,
        path: str,
        qualname: str,
        hops: int = 2,
        decay: float = DEFAULT_DECAY,
        min_weight: float = MIN_WEIGHT,
    ) -> dict[Target, float]:
        """Symbols reachable from ``(path, qualname)`` within ``hops`` calls, with weights.

        A direct callee weighs its resolution confidence (1.0 when unambiguous);
        each further hop multiplies by ``decay`` and by that hop's confidence.
        The weight of a symbol is the maximum over the paths reaching it; the
        start symbol itself is left out, and weights below ``min_weight`` are dropped.
        """
        return {target: weight for target, (weight, _) in self.reach(path, qualname, hops, decay, min_weight).items()}

    def reach(self, path: str, qualname: str, hops: int = 2, decay: float = DEFAULT_DECAY,
              min_weight: float = MIN_WEIGHT) -> dict[Target, tuple[float, int]]:
        """As ``callees``, with the number of calls of each symbol's best path.

        The walk carries what it knows of each method's ``self`` (`edges_as`): entered through a
        call on a ``Padded``, the inherited ``Construct.build`` calls ``self._build`` on a Padded,
        which is ``Padded._build``, not every override of ``Construct._build``."""
        start = (path, qualname)
        best: dict[Target, tuple[float, int]] = {}
        seen: dict[tuple[Target, str], float] = {}
        frontier: dict[tuple[Target, str], float] = {(start, ""): 1.0}
        for hop in range(max(hops, 0)):
            step = 1.0 if hop == 0 else decay
            reached: dict[tuple[Target, str], float] = {}
            for (node, as_type), weight in frontier.items():
                for target, factor, then in self.edges_as(node, as_type):
                    w = weight * step * factor
                    if target == start or w < min_weight or w <= seen.get((target, then), 0.0):
                        continue
                    seen[(target, then)] = reached[(target, then)] = w
                    if w > best.get(target, (0.0, 0))[0]:
                        best[target] = (w, hop + 1)
            frontier = reached
            if not frontier:
                break
        return best

    def edges_as(self, node: Target, as_type: str) -> list[tuple[Target, float, str]]:
        """The callees of ``node`` when its ``self`` is known to be an ``as_type`` (a subtype of its
        class; "" when unknown), each with what is known of the callee's ``self``: a call on self
        (``self.m()``, ``this.m()``, ``super.m()``, a bare Java call of a member) passes the object
        on, and a call on a receiver of a declared type that runs an inherited member passes that
        type. A call on self resolves on ``as_type``: its member, or the one it inherits."""
        key = (node, as_type)
        cached = self._typed_edges.get(key)
        if cached is not None:
            return cached
        path, qualname = node
        entry = self._files.get(path)
        owner = qualname.rpartition(".")[0].rpartition(".")[2]
        known = as_type or owner
        best: dict[tuple[Target, str], float] = {}
        for call in self.calls_from(path, qualname):
            on_self = call.receiver in _SELF_RECEIVERS or (
                not call.receiver and not call.receiver_type and entry is not None and entry.language in _IMPLICIT_THIS)
            found: list[tuple[Target, float]] = []
            if on_self and as_type and as_type != owner and call.receiver not in _SUPER_RECEIVERS:
                found = self._resolver.typed_call(as_type, call.callee, path)
            found = found or self.resolve(path, call)
            for target, factor in found:
                then = ""
                if on_self and known:
                    then = known
                elif call.receiver_type and call.callee != call.receiver_type:
                    then = call.receiver_type
                if then == _class_of(target) or (then and not self._resolver.inherits(then, _class_of(target))):
                    then = ""  # its own class, an override below the type, or no member: nothing to add
                if factor > best.get((target, then), 0.0):
                    best[(target, then)] = factor
        out = self._typed_edges[key] = sorted((t, f, then) for (t, then), f in best.items())
        return out


_SUPER_RECEIVERS = frozenset({"super", "super()"})
_IMPLICIT_THIS = frozenset({"java", "cpp"})  # where a bare call inside a method may be a call on this
_SELF_RECEIVERS = frozenset({"self", "this", "cls"}) | _SUPER_RECEIVERS


def _class_of(target: Target) -> str:
    """The simple name of the class a member belongs to ("" for a top-level function)."""
    return target[1].rpartition(".")[0].rpartition(".")[2]


def _by_caller(calls: Iterable[Call]) -> dict[str, list[Call]]:
    by_caller: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_caller[call.caller].append(call)
    return dict(by_caller)


def source_files(root: str, max_files: int = 20_000) -> list[str]:
    """Relative POSIX paths of supported source files under ``root``, skipping hidden,
    dependency and build folders; at most ``max_files``, in a stable order."""
    extensions = known_extensions()
    out: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(names):
            if os.path.splitext(name)[1].lower() in extensions:
                rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                if language_for_path(rel):
                    out.append(rel)
                    if len(out) >= max_files:
                        return out
    return out

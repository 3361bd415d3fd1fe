"""The call graph as retrieval sees it: HEAD from the index, plus the work tree's test files.

Committed files come from the index (parsed once per blob at `rca index`; call sites are read
only for the files a traversal walks). Test files that the work tree changed or added (the new
failing test, typically) are parsed live. Uncommitted edits to non-test files are deliberately
ignored: they are not evidence about any commit, and in a half-fixed work tree they would leak
the fix.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path, PurePosixPath

from rca_lsp.code.graph import CallGraph
from rca_lsp.index import queries
from rca_lsp.index.store import Index
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Call, Symbol

log = logging.getLogger(__name__)

MAX_LIVE_BYTES = 2_000_000


def stem(path: str) -> str:
    return PurePosixPath(path).stem


class CodeView:
    def __init__(self, index: Index, root: str, live_paths: set[str]) -> None:
        self.index = index
        self.root = Path(root).resolve()
        self._blob = queries.head_blobs(index)
        self.graph = CallGraph(call_loader=self._load_calls)
        self._load_index()
        self.live = {p for p in live_paths if is_test_path(p) and self._add_live(p)}
        self._by_stem: dict[str, list[str]] = defaultdict(list)
        for path in set(self._blob) | self.live:
            self._by_stem[stem(path)].append(path)

    def _load_index(self) -> None:
        symbols: dict[str, list[Symbol]] = defaultdict(list)
        language: dict[str, str] = {}
        for path, lang, name, qualname, kind, start, end in queries.head_symbols(self.index):
            language[path] = lang
            symbols[path].append(Symbol(name, qualname, kind, start, end))
        bases: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for path, qualname, base in queries.head_bases(self.index):
            bases[path][qualname].append(base)
        defaults = queries.head_defaults(self.index)
        for path, syms in symbols.items():
            self.graph.add_facts(path, language[path], syms, dict(bases.get(path, {})), None, defaults.get(path, ""))

    def _add_live(self, path: str) -> bool:
        full = (self.root / path).resolve()
        if not full.is_relative_to(self.root) or not full.is_file() or full.stat().st_size > MAX_LIVE_BYTES:
            return False
        return self.graph.add(path, full.read_bytes())

    def _load_calls(self, path: str) -> list[Call]:
        blob = self._blob.get(path)
        if blob is None:
            return []
        return [Call(*row) for row in queries.calls_in(self.index, blob)]

    def blob_of(self, path: str) -> str | None:
        """HEAD's blob id of a committed file."""
        return self._blob.get(path)

    def paths_with_stem(self, name: str) -> list[str]:
        return list(self._by_stem.get(name, []))

    def has(self, path: str) -> bool:
        return path in self.graph

    def symbols(self, path: str) -> list[Symbol]:
        return self.graph.symbols(path)

    def symbol_at(self, path: str, line: int) -> Symbol | None:
        """The innermost symbol around `line`."""
        return self.graph.symbol_at(path, line)

    def symbol(self, path: str, qualname: str) -> Symbol | None:
        return next((s for s in self.graph.symbols(path) if s.qualname == qualname), None)

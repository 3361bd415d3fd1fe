"""Symbols and calls of the code as retrieval sees it.

Committed files come from the index (parsed once per blob at `rca index`). Test files that the
work tree changed or added (the new failing test, typically) are parsed live. Uncommitted edits
to non-test files are deliberately ignored: they are not evidence about any commit, and in a
half-fixed work tree they would leak the fix.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

from rca_lsp.index.store import Index
from rca_lsp.types import Call, Symbol

log = logging.getLogger(__name__)

_TEST_PATH = re.compile(r"(^|/)(tests?|testing|spec|__tests__)(/|$)|(^|/)test_[^/]*\.py$|_test\.(py|go)$"
                        r"|Tests?\.(java|kt|scala|cs)$|(^|/)Test[A-Z][^/]*\.java$|\.(test|spec)\.[jt]sx?$")


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


def stem(path: str) -> str:
    return PurePosixPath(path).stem


class CodeView:
    def __init__(self, index: Index, root: str, live_paths: set[str]) -> None:
        self.index = index
        self.root = Path(root)
        self.live = {p for p in live_paths if is_test_path(p)}
        self._blob = dict(index.conn.execute("SELECT path, blob FROM head_files"))
        self._by_stem: dict[str, list[str]] = {}
        for path in set(self._blob) | self.live:
            self._by_stem.setdefault(stem(path), []).append(path)
        self._symbols = lru_cache(maxsize=4096)(self._load_symbols)
        self._calls = lru_cache(maxsize=4096)(self._load_calls)
        self._live_cache: dict[str, tuple[list[Symbol], list[Call]]] = {}

    def paths_with_stem(self, name: str) -> list[str]:
        return self._by_stem.get(name, [])

    def has(self, path: str) -> bool:
        return path in self._blob or path in self.live

    def _parse_live(self, path: str) -> tuple[list[Symbol], list[Call]]:
        hit = self._live_cache.get(path)
        if hit is None:
            from rca_lsp.code.calls import calls
            from rca_lsp.code.languages import language_for_path
            from rca_lsp.code.symbols import symbols

            language = language_for_path(path)
            full = (self.root / path).resolve()
            hit = ([], [])
            if language and full.is_relative_to(self.root.resolve()) and full.is_file():
                data = full.read_bytes()
                hit = (symbols(data, language), calls(data, language))
            self._live_cache[path] = hit
        return hit

    def _load_symbols(self, path: str) -> tuple[Symbol, ...]:
        if path in self.live:
            return tuple(self._parse_live(path)[0])
        blob = self._blob.get(path)
        if blob is None:
            return ()
        rows = self.index.conn.execute(
            "SELECT name, qualname, kind, start_line, end_line FROM code_symbols WHERE blob = ?", (blob,))
        return tuple(Symbol(*row) for row in rows)

    def _load_calls(self, path: str) -> tuple[Call, ...]:
        if path in self.live:
            return tuple(self._parse_live(path)[1])
        blob = self._blob.get(path)
        if blob is None:
            return ()
        rows = self.index.conn.execute(
            "SELECT caller, callee, line, receiver, receiver_type FROM code_calls WHERE blob = ?", (blob,))
        return tuple(Call(*row) for row in rows)

    def symbols(self, path: str) -> tuple[Symbol, ...]:
        return self._symbols(path)

    def calls_from(self, path: str, qualname: str) -> list[Call]:
        return [c for c in self._calls(path) if c.caller == qualname]

    def symbol_at(self, path: str, line: int) -> Symbol | None:
        """The innermost symbol around `line`."""
        inside = [s for s in self.symbols(path) if s.start_line <= line <= s.end_line]
        return min(inside, key=lambda s: s.end_line - s.start_line, default=None)

    def symbols_named(self, name: str) -> list[tuple[str, Symbol]]:
        """(path, symbol) for every committed or live symbol with this short name."""
        out = []
        rows = self.index.conn.execute(
            "SELECT h.path, s.name, s.qualname, s.kind, s.start_line, s.end_line FROM code_symbols s"
            " JOIN head_files h ON h.blob = s.blob WHERE s.name = ?", (name,)).fetchall()
        for path, *rest in rows:
            if path not in self.live:
                out.append((path, Symbol(*rest)))
        for path in self.live:
            out.extend((path, s) for s in self.symbols(path) if s.name == name)
        return out

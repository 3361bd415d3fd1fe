"""Symbols of a file and the symbols a set of line ranges touches.

This is what maps each hunk of each commit to the functions it changed, on the
old and the new version of the file, so it has to be cheap and never fail:
syntax errors, empty or huge files and bad encodings all give a best-effort list.

The rule for ``touched`` (1-based, inclusive ranges):

* A range ``(a, b)`` with ``b >= a`` touches, among the symbols overlapping
  ``a..b``, those that contain no other overlapping symbol. A hunk inside a
  method reports the method and not its class; a hunk on a field, or on blank
  lines between methods, reports the class; a hunk that spans a new method and
  the blank line before it reports only the method.
* A range with ``b == a - 1`` is zero-length, as a hunk ``+N,0`` or ``-N,0``
  gives it: the change sits between lines N and N+1. It touches the innermost
  symbol that contains both N and N+1; a deletion at the boundary of two
  methods touches their class, one at the top of a file touches nothing.
  (Hunk mapping on the other side of the diff, where the range is not empty,
  names the removed method itself.)
* Anything else (``b < a - 1``) touches nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from rca_lsp.code.outline import build_outline
from rca_lsp.code.parse import parse
from rca_lsp.code.queries import matches
from rca_lsp.code.spans import SpanIndex
from rca_lsp.types import Hunk, Symbol

log = logging.getLogger(__name__)


def symbols(source: bytes, language: str) -> list[Symbol]:
    """Functions, methods, constructors and classes of ``source``, in document order.

    Returns [] for empty, oversized (>2 MB or >=50,000 lines) or unsupported input.
    """
    return symbols_and_tree(source, language)[0]


def symbols_and_tree(source: bytes, language: str, previous: tuple[bytes, Any] | None = None,
                     hunks: Sequence[tuple[int, int, int, int]] | None = None) -> tuple[list[Symbol], Any | None]:
    """`symbols`, and the tree they came from (None where there is none); ``previous`` (another
    version's source and tree, which this consumes) and ``hunks`` as `parse` takes them."""
    tree = parse(source, language, previous, hunks)
    if tree is None:
        return [], None
    return build_outline(matches(tree, language, symbols_only=True)).symbols, tree


class SymbolIndex:
    """The symbols of one file version, indexed for point and range lookups in O(log n)."""

    def __init__(self, items: Sequence[Symbol]) -> None:
        self.symbols = list(items)
        self._spans = SpanIndex([(s.start_line, s.end_line) for s in self.symbols])

    def at(self, line: int) -> Symbol | None:
        """The innermost symbol containing ``line``."""
        i = self._spans.at(line)
        return self.symbols[i] if i >= 0 else None

    def enclosing(self, symbol_index: int) -> list[Symbol]:
        """The symbol at ``symbol_index`` and the ones around it, innermost first."""
        return [self.symbols[i] for i in self._spans.ancestors(symbol_index)]

    def touched(self, line_ranges: Iterable[tuple[int, int]]) -> list[Symbol]:
        """The innermost symbols the ranges touch (see the module docstring), in document order."""
        hit: set[int] = set()
        for lo, hi in line_ranges:
            if hi >= lo:
                hit.update(self._spans.innermost_overlapping(lo, hi))
            elif hi == lo - 1:
                i = self._spans.common(self._spans.at(lo), self._spans.at(lo + 1))
                if i >= 0:
                    hit.add(i)
        return [self.symbols[i] for i in sorted(hit, key=lambda i: (self.symbols[i].start_line, i))]


def touched(items: Sequence[Symbol], line_ranges: Iterable[tuple[int, int]]) -> list[Symbol]:
    """The innermost symbols among ``items`` that the 1-based inclusive ranges touch.

    O((symbols + ranges) log symbols). See the module docstring for the rule,
    including zero-length ranges ``(N, N - 1)``.
    """
    return SymbolIndex(items).touched(line_ranges)


def hunk_ranges(hunks: Iterable[Hunk], side: str = "new") -> list[tuple[int, int]]:
    """The ranges of ``hunks`` on one side ("old" or "new"), zero-length ones as ``(N, N - 1)``."""
    if side == "old":
        return [(h.old_start, h.old_start + h.old_len - 1) for h in hunks]
    return [(h.new_start, h.new_start + h.new_len - 1) for h in hunks]

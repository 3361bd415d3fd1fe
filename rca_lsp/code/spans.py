"""Innermost-span lookups over nested intervals in O(log n).

Symbols nest (class > method > local function), and both hunk mapping and
call attribution ask "which innermost symbol owns this point/range?" many
times per file. Flattening the nesting once into disjoint segments, each
owned by its innermost span, turns every question into a binary search.
Works on any integer coordinate: lines for symbols, bytes for call sites.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Sequence


class SpanIndex:
    """Nested inclusive spans ``(start, end)`` indexed for innermost lookups.

    Spans that overlap without nesting (two methods sharing a line) are
    tolerated: the later-starting span owns the shared coordinates.
    """

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self.spans = list(spans)
        self.order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1], i))
        self.parent: list[int] = [-1] * len(spans)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._owners: list[int] = []
        self._build()

    def _emit(self, lo: int, hi: int, owner: int) -> None:
        if lo <= hi:
            self._starts.append(lo)
            self._ends.append(hi)
            self._owners.append(owner)

    def _build(self) -> None:
        """One sweep over spans sorted by (start, -end) with a stack of open spans."""
        spans = self.spans
        stack: list[int] = []
        cursor = 0  # set at the first span, before it is read
        for i in self.order:
            start, end = spans[i]
            if end < start:
                continue
            while stack and spans[stack[-1]][1] < start:
                top = stack.pop()
                self._emit(cursor, spans[top][1], top)
                cursor = max(cursor, spans[top][1] + 1)
            if stack:
                self._emit(cursor, start - 1, stack[-1])
                self.parent[i] = next((j for j in reversed(stack) if spans[j][1] >= end), -1)
            stack.append(i)
            cursor = start
        while stack:
            top = stack.pop()
            self._emit(cursor, spans[top][1], top)
            cursor = max(cursor, spans[top][1] + 1)

    def at(self, point: int) -> int:
        """Index of the innermost span containing ``point``, or -1."""
        k = bisect_right(self._starts, point) - 1
        if k >= 0 and self._ends[k] >= point:
            return self._owners[k]
        return -1

    def owners(self, lo: int, hi: int) -> list[int]:
        """Innermost owners of the points ``lo..hi``, in order, without repeats."""
        k = max(bisect_right(self._starts, lo) - 1, 0)
        out: list[int] = []
        seen: set[int] = set()
        while k < len(self._starts) and self._starts[k] <= hi:
            owner = self._owners[k]
            if self._ends[k] >= lo and owner not in seen:
                seen.add(owner)
                out.append(owner)
            k += 1
        return out

    def ancestors(self, i: int) -> list[int]:
        """``i`` and its enclosing spans, innermost first."""
        chain = []
        while i >= 0:
            chain.append(i)
            i = self.parent[i]
        return chain

    def common(self, a: int, b: int) -> int:
        """The innermost span enclosing both ``a`` and ``b`` (either may be -1), or -1."""
        if a < 0 or b < 0:
            return -1
        mine = set(self.ancestors(a))
        while b >= 0 and b not in mine:
            b = self.parent[b]
        return b

    def innermost_overlapping(self, lo: int, hi: int) -> list[int]:
        """Spans overlapping ``lo..hi`` that contain no other overlapping span."""
        found = self.owners(lo, hi)
        if len(found) < 2:
            return found
        shadowed: set[int] = set()
        for i in found:
            shadowed.update(self.ancestors(self.parent[i]))
        return [i for i in found if i not in shadowed]

"""Probability-weighted bisection over a range of a commit DAG: pure functions of what was tested.

The range is what `git bisect` searches: the ancestors of the bad commit that are not ancestors
of a good one; a parent outside the range counts as good. The culprit is the first bad commit:
bad, with every parent good. Testing X splits the remaining candidates in two: if X fails, the
culprit is X or one of its ancestors; if X passes, it is neither. So each test removes the mass
of one side, and the best test is the one whose failure probability (the prior mass of X and its
ancestors among the remaining candidates) is nearest one half: with a uniform prior this is plain
bisection. Halving alone is myopic with a confident prior: it would rather test a commit that
splits off the last tenth of the mass than the 90% suspect, and then still need the suspect and its
parent. So once one candidate holds `confirm_at` of the remaining mass, it is confirmed directly:
the test runs at it, then at its parents; each run either confirms it or rules it out. On a chain
(a linear history, or a linearised one) of up to MAX_PLANNED candidates without skips, the next
test is instead the root of the optimal plan (`plan`): the fewest expected tests for this prior.

The state is kept as bit sets (Python ints, one bit per commit of the range, ancestors before
descendants), so a step over a few thousand candidates costs a few thousand big-int operations.
The mass of a set is summed per distinct prior weight (a popcount each): a prior made of a few
ranked suspects over a uniform floor has few distinct weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

GOOD, BAD, SKIP = "good", "bad", "skip"
MAX_PLANNED = 400  # chains longer than this are halved by mass first (the plan is quadratic)


@dataclass(frozen=True)
class Conclusion:
    """Where a search ended: one culprit when confirmed, else every commit that may be it."""

    culprit: str | None  # None when skipped commits leave more than one possibility
    confirmed: bool
    possible: tuple[str, ...]  # most probable first; just the culprit when confirmed


def topo_order(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """The range's commits, every one after its in-range parents (iterative: no recursion limit)."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for root in parents:
        if root in state:
            continue
        stack = [(root, iter(parents[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next((p for p in it if p in parents and state.get(p) != 2), None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state.get(nxt) == 1:
                raise ValueError(f"the commit graph has a cycle through {nxt}")
            else:
                state[nxt] = 1
                stack.append((nxt, iter(parents[nxt])))
    return order


class Search:
    """The candidates left after each result, and the next commit worth testing."""

    def __init__(self, parents: Mapping[str, Sequence[str]], bad: str,
                 prior: Mapping[str, float] | None = None, confirm_at: float = 0.5) -> None:
        if bad not in parents:
            raise ValueError(f"the bad commit {bad} is not in the range")
        self.order = topo_order(parents)
        self.parents = {node: tuple(p for p in parents[node] if p in parents) for node in self.order}
        self.confirm_at = confirm_at
        self.bit = {node: 1 << i for i, node in enumerate(self.order)}
        self.ancestors: list[int] = []
        for node in self.order:
            mask = self.bit[node]
            for p in parents[node]:
                if p in self.bit:
                    mask |= self.ancestors[self.bit[p].bit_length() - 1]
            self.ancestors.append(mask)
        self.weight = _weights(self.order, prior or {})
        self._groups: dict[float, int] = {}
        for node, w in self.weight.items():
            self._groups[w] = self._groups.get(w, 0) | self.bit[node]
        self.linear = all(len(ps) <= 1 for ps in self.parents.values()) and \
            len({p for ps in self.parents.values() for p in ps}) == sum(len(ps) for ps in self.parents.values())
        self._plan: tuple[list[str], dict[str, int], list[list[int]]] | None = None
        self.bad = bad
        self.alive = self._anc(bad)
        self.skipped = 0
        self.results: dict[str, str] = {bad: BAD}

    def _anc(self, node: str) -> int:
        return self.ancestors[self.bit[node].bit_length() - 1]

    def mass(self, mask: int) -> float:
        return sum(w * (mask & group).bit_count() for w, group in self._groups.items())

    def _nodes(self, mask: int) -> list[str]:
        return [node for node in self.order if mask & self.bit[node]]

    @property
    def remaining(self) -> list[str]:
        """The commits that may still be the culprit (the current bad one included)."""
        return self._nodes(self.alive)

    def is_open(self, node: str) -> bool:
        """Whether `node` may still be the culprit."""
        return node in self.bit and bool(self.alive & self.bit[node])

    def record(self, node: str, result: str) -> None:
        """Take one test result into account; a result for a commit already ruled out is refused,
        since it could only contradict what is known (or tell nothing)."""
        if node not in self.bit:
            raise ValueError(f"{node} is not in the range")
        if not self.alive & self.bit[node]:
            raise ValueError(f"{node} was already ruled out")
        self.results[node] = result
        if result == BAD:
            self.alive &= self._anc(node)
            self.bad = node
        elif result == GOOD:
            if node == self.bad:
                raise ValueError(f"{node} is known bad")
            self.alive &= ~self._anc(node)
        elif result == SKIP:
            self.skipped |= self.bit[node]
        else:
            raise ValueError(f"unknown result {result!r}")

    def next_probe(self) -> str | None:
        """The next commit to test (see the module's docstring); None when done."""
        testable = self.alive & ~self.skipped & ~self.bit[self.bad]
        if not testable:
            return None
        if self.linear and not self.skipped & self.alive and self.alive.bit_count() <= MAX_PLANNED:
            return self._planned()
        total = self.mass(self.alive)
        top = max(self._nodes(self.alive), key=lambda n: self.weight[n])
        if self.weight[top] >= self.confirm_at * total:
            probe = self._confirming(top, testable)
            if probe is not None:
                return probe
        best, best_gap = None, 2.0
        for node in self._nodes(testable):
            gap = abs(self.mass(self._anc(node) & self.alive) / total - 0.5)
            if gap < best_gap:
                best, best_gap = node, gap
        return best

    def _planned(self) -> str:
        """On a chain, the test that minimises the expected number of tests left (see `plan`).
        Results only cut the chain to a sub-interval, whose best first test the table of the
        first plan already holds: the plan is computed once."""
        chain = self._nodes(self.alive)  # oldest first, ending at the known bad commit
        if self._plan is None or chain[0] not in self._plan[1] or chain[-1] not in self._plan[1]:
            self._plan = (chain, {node: i for i, node in enumerate(chain)}, plan_roots([self.weight[n] for n in chain]))
        nodes, where, roots = self._plan
        return nodes[roots[where[chain[0]]][where[chain[-1]]]]

    def _confirming(self, node: str, testable: int) -> str | None:
        """The test that confirms or rules out `node`: at it, then at its open parents."""
        if node != self.bad:
            return node if testable & self.bit[node] else None
        return next((p for p in self.parents[node] if testable & self.bit[p]), None)

    def conclusion(self) -> Conclusion:
        """The answer once `next_probe` is None (before that, the current state of knowledge)."""
        left = self._nodes(self.alive)
        if left == [self.bad]:
            return Conclusion(self.bad, True, (self.bad,))
        ranked = sorted(left, key=lambda n: -self.weight[n])
        return Conclusion(None, False, tuple(ranked))


def plan(weights: Sequence[float]) -> int:
    """Where to test first on a chain of candidates (oldest first; the last is known bad), to
    minimise the expected number of tests until one is left: failing at k keeps 0..k, passing keeps
    k+1.. . The cost F(i, j) = W(i, j) + min_k F(i, k) + F(k+1, j) is that of an optimal alphabetic
    tree, solved by Knuth's dynamic programme in O(n^2) (the best k is monotone in i and j)."""
    return plan_roots(weights)[0][len(weights) - 1] if len(weights) >= 2 else 0


def plan_roots(weights: Sequence[float]) -> list[list[int]]:
    """The best first test of every sub-interval [i, j] of the chain (see `plan`)."""
    n = len(weights)
    pre = [0.0]
    for w in weights:
        pre.append(pre[-1] + w)
    cost = [[0.0] * n for _ in range(n)]
    root = [[i] * n for i in range(n)]
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            best, best_k = math.inf, root[i][j - 1]
            for k in range(root[i][j - 1], min(root[i + 1][j], j - 1) + 1):
                value = cost[i][k] + cost[k + 1][j]
                if value < best:
                    best, best_k = value, k
            cost[i][j] = pre[j + 1] - pre[i] + best
            root[i][j] = best_k
    return root


def _weights(order: list[str], prior: Mapping[str, float]) -> dict[str, float]:
    """Every commit's prior weight; a missing or non-positive one gets the smallest positive one,
    so no commit is ever impossible and the masses never sum to zero."""
    positive = [w for w in prior.values() if w > 0]
    floor = min(positive) if positive else 1.0
    return {node: prior[node] if prior.get(node, 0) > 0 else floor for node in order}

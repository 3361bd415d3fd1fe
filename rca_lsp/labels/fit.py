"""The listwise linear fusion refitted on a repository's labels, with numpy alone.

A conditional logit (the probability of the culprit is the softmax of its score among the
candidates) on the standardised `learned.COLUMNS`, fitted by Newton's method. The penalty pulls
the weights towards retrieval's own order (`anchor`: all weight on the `linear` column, its scale
fitted), not towards zero, so that few labels move the ranking a little and none leave it as it
is: λ → ∞ is retrieval. λ is chosen by leave-one-out on the labels from `L2_GRID`.

"Wins", the rule `rca model tune` keeps a fit by: on leave-one-out over the labels, a higher MRR
than retrieval's linear order on the same labels, and a top-1 no lower.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rca_lsp.suspects.learned import COLUMNS, LinearModel, matrix

L2_GRID = (1.0, 3.0, 10.0, 30.0)
MIN_LABELS = 20  # measured: with fewer, the fit lost to retrieval on held-out cases (BENCHMARKS.md, labels curve)
LINEAR = COLUMNS.index("linear")
POSITION = COLUMNS.index("position")


@dataclass(frozen=True)
class Case:
    """One ranked failure as a matrix: candidates' COLUMNS and the culprit's row (None: not ranked);
    `rows`, each candidate's features as stored (what a model over other columns reads)."""

    X: np.ndarray
    bic: int | None
    rows: tuple[Mapping[str, float], ...] = ()


@dataclass(frozen=True)
class Scores:
    n: int
    top1: float  # percent
    top5: float
    mrr: float

    def row(self) -> str:
        return f"{self.n:>4}  {self.top1:6.1f}  {self.top5:6.1f}  {self.mrr:6.3f}"


def case_of(rows: list[tuple[str, dict[str, float]]], culprit: str) -> Case:
    from rca_lsp.suspects.retrieve import Weights

    hashes = [h for h, _ in rows]
    bic = hashes.index(culprit) if culprit in hashes else None
    return Case(matrix([f for _, f in rows], Weights()), bic, tuple(f for _, f in rows))


def rank_of(case: Case, scores: np.ndarray) -> int | None:
    """The culprit's 1-based rank under `scores`, ties to the newer commit as rca breaks them."""
    if case.bic is None:
        return None
    s, pos = scores[case.bic], case.X[:, POSITION]
    ahead = (scores > s) | ((scores == s) & (pos < pos[case.bic]))
    return 1 + int(ahead.sum())


def retrieval_ranks(cases: list[Case]) -> list[int | None]:
    return [rank_of(c, c.X[:, LINEAR]) for c in cases]


def model_ranks(model, cases: list[Case]) -> list[int | None]:
    return [rank_of(c, model.predict(c.X)) for c in cases]


def summarize(ranks: list[int | None]) -> Scores:
    n = len(ranks)
    if not n:
        return Scores(0, 0.0, 0.0, 0.0)
    top1 = sum(r == 1 for r in ranks) / n * 100
    top5 = sum(r is not None and r <= 5 for r in ranks) / n * 100
    mrr = sum(1.0 / r for r in ranks if r) / n
    return Scores(n, top1, top5, mrr)


def wins(tuned: Scores, base: Scores) -> bool:
    return tuned.mrr > base.mrr + 1e-12 and tuned.top1 >= base.top1


# --- the fit -------------------------------------------------------------------------------------

def _stack(cases: list[Case]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    used = [c for c in cases if c.bic is not None]
    X = np.vstack([c.X for c in used])
    starts = np.cumsum([0] + [len(c.X) for c in used])[:-1]
    return X, starts, starts + np.array([c.bic for c in used])


def _nll(Z: np.ndarray, starts: np.ndarray, culprits: np.ndarray, w: np.ndarray, grad: bool):
    """Negative log-likelihood (and its gradient and Hessian) of all cases at once."""
    s = Z @ w
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(Z))))
    top = np.maximum.reduceat(s, starts)
    e = np.exp(s - top[seg])
    total = np.add.reduceat(e, starts)
    value = float(np.sum(top + np.log(total) - s[culprits]))
    if not grad:
        return value, None, None
    p = e / total[seg]
    m = np.add.reduceat(p[:, None] * Z, starts)
    g = m.sum(0) - Z[culprits].sum(0)
    H = (Z.T * p) @ Z - m.T @ m
    return value, g, H


def _newton(Z, starts, culprits, anchor: np.ndarray, l2: float, start: np.ndarray | None = None,
            iters: int = 50) -> np.ndarray:
    """The penalised optimum (convex: a warm `start` changes only how fast it is reached)."""
    w = (anchor if start is None else start).copy()

    def objective(v):
        return _nll(Z, starts, culprits, v, False)[0] + l2 * float((v - anchor) @ (v - anchor))

    current = objective(w)
    for _ in range(iters):
        _, g, H = _nll(Z, starts, culprits, w, True)
        g = g + 2 * l2 * (w - anchor)
        H = H + 2 * l2 * np.eye(len(w))
        step = np.linalg.solve(H, g)
        t = 1.0
        while t > 1e-6 and objective(w - t * step) > current - 1e-4 * t * float(g @ step):
            t /= 2
        w = w - t * step
        new = objective(w)
        if current - new < 1e-9:
            break
        current = new
    return w


def fit(cases: list[Case], l2: float, version: str = "tuned", warm: LinearModel | None = None) -> LinearModel:
    """`warm`: a fit on nearly the same cases (leave-one-out's full fit), to start Newton from."""
    X, starts, culprits = _stack(cases)
    mean = X.mean(0)
    sd = X.std(0)
    scale = np.where(sd > 1e-9, sd, 1.0)
    Z = (X - mean) / scale
    guess = None if warm is None else np.array(warm.weights) * scale / np.array(warm.scale)
    one = _newton(Z[:, [LINEAR]], starts, culprits, np.zeros(1), 1e-3,
                  None if guess is None else np.array([max(guess[LINEAR], 0.0)]))  # retrieval's order, scaled
    anchor = np.zeros(len(COLUMNS))
    anchor[LINEAR] = max(float(one[0]), 0.0)
    w = _newton(Z, starts, culprits, anchor, l2, guess)
    return LinearModel(version, COLUMNS, tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, w)))


def leave_one_out(cases: list[Case], l2: float) -> list[int | None]:
    """Each labelled case ranked by the fusion fitted on all the others."""
    full = fit(cases, l2)
    ranks: list[int | None] = []
    for i, case in enumerate(cases):
        if case.bic is None:
            ranks.append(None)
            continue
        model = fit(cases[:i] + cases[i + 1:], l2, warm=full)
        ranks.append(rank_of(case, model.predict(case.X)))
    return ranks


@dataclass(frozen=True)
class Tuning:
    l2: float
    tuned: Scores  # leave-one-out
    retrieval: Scores
    ranks: tuple[int | None, ...]
    base_ranks: tuple[int | None, ...]

    @property
    def wins(self) -> bool:
        return wins(self.tuned, self.retrieval)


def tune(cases: list[Case], grid: tuple[float, ...] = L2_GRID) -> Tuning:
    """λ chosen by leave-one-out MRR (then top-1); the figures are that leave-one-out's (chosen among
    len(grid) values on the same labels: slightly optimistic, which the wins rule's margin of a
    strictly higher MRR and an equal top-1 does not correct; BENCHMARKS.md measures on held-out cases)."""
    base = retrieval_ranks(cases)
    best = None
    for l2 in grid:
        ranks = leave_one_out(cases, l2)
        s = summarize(ranks)
        if best is None or (s.mrr, s.top1) > (best[1].mrr, best[1].top1):
            best = (l2, s, ranks)
    assert best is not None
    return Tuning(best[0], best[1], summarize(base), tuple(best[2]), tuple(base))


# --- paired tests (exact, standard library) --------------------------------------------------------

def _binom_two_sided(k: int, n: int) -> float:
    from math import comb

    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: list[int | None], b: list[int | None]) -> str:
    """`a` against `b` on the same cases: McNemar (exact) on top-1, a sign test on reciprocal rank."""
    won = sum(x == 1 and y != 1 for x, y in zip(a, b))
    lost = sum(y == 1 and x != 1 for x, y in zip(a, b))
    rr = [(1 / x if x else 0.0) - (1 / y if y else 0.0) for x, y in zip(a, b)]
    up, down = sum(d > 0 for d in rr), sum(d < 0 for d in rr)
    return (f"top-1 {won} won / {lost} lost (McNemar exact p={_binom_two_sided(won, won + lost):.3f}); "
            f"reciprocal rank {up} up / {down} down (sign test p={_binom_two_sided(up, up + down):.3f})")

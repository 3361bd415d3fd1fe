"""The grid fit of scripts/bench_tune.py through its rank matrix: the same weights as a search that
ranks every case under every set (what the script did before the matrix), on random cases."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_tune  # noqa: E402

GRID = {k: (0.0,) for k in bench_tune.FEATURES} | {"frame": (1.0, 1.5, 3.0), "code": (1.0,), "words": (0.5, 1.0),
                                                     "recency": (0.2, 0.4, 1.0), "coupling": (0.0, 1.0)}


def _cases(seed: int, n: int = 12) -> list[dict]:
    """Cases of 30 candidates each with features on a coarse scale (many exact ties, as real ones have)."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        rows = [(f"c{j}", {k: float(rng.choice([0.0, 0.5, 1.0])) for k in ("frame", "code", "words", "coupling")}
                 | {"recency": float(rng.choice([0.1, 0.2, 0.3]))}) for j in range(30)]
        cases.append({"case_id": f"X-{i}", "project": "X", "bic": f"c{rng.integers(30)}", "rows": rows})
    return cases


def _searched(cases: list[dict]) -> dict[str, float]:
    best, best_score = bench_tune.HAND, (-1.0, -1.0)
    for values in itertools.product(*(GRID[k] for k in bench_tune.FEATURES)):
        weights = dict(zip(bench_tune.FEATURES, values))
        score = bench_tune.objective(cases, weights)
        if score > best_score:
            best, best_score = weights, score
    return best


def test_the_matrix_fit_equals_the_search_on_subsets_and_resamples() -> None:
    for seed in range(6):
        cases = _cases(seed)
        grid = bench_tune.Grid(cases, GRID)
        assert grid.fit(range(len(cases))) == _searched(cases)
        picks = [0, 0, 3, 5, 5, 5, 7, 11]  # a resample: repeats count
        assert grid.fit(picks) == _searched([cases[i] for i in picks])


def test_the_bagged_fit_is_a_mean_of_grid_sets_and_reports_its_spread() -> None:
    cases = _cases(1)
    mean, spread = bench_tune.Grid(cases, GRID).bagged(range(len(cases)), rounds=20)
    assert min(GRID["frame"]) <= mean["frame"] <= max(GRID["frame"])
    assert round(mean["frame"] * 20) == mean["frame"] * 20  # rounded to 0.05
    assert mean["code"] == 1.0 and spread["code"] == 0.0  # one value: no spread
    assert any(spread[k] > 0 for k in ("frame", "words", "recency", "coupling"))  # random cases: the fit wavers


def _searched_by_project(cases: list[dict]) -> dict[str, float]:
    """The by-project objective, searched: each project's mean reciprocal rank plus its top-5 share,
    averaged over projects; ties by the projects' mean top-50 share, then grid order."""
    projects = sorted({c["project"] for c in cases})
    best, best_score = None, (-1.0, -1.0)
    for values in itertools.product(*(GRID[k] for k in bench_tune.FEATURES)):
        weights = dict(zip(bench_tune.FEATURES, values))
        per = []
        for p in projects:
            ranks = [bench_tune.rank(c, weights) for c in cases if c["project"] == p]
            per.append((np.mean([1 / r if r else 0 for r in ranks]) + np.mean([bool(r and r <= 5) for r in ranks]),
                        np.mean([bool(r and r <= 50) for r in ranks])))
        score = (round(float(np.mean([s for s, _ in per])), 9), float(np.mean([t for _, t in per])))
        if score > best_score:
            best, best_score = weights, score
    assert best is not None
    return best


def test_the_by_project_fit_weighs_each_project_the_same() -> None:
    for seed in range(4):
        cases = _cases(seed, 14)
        for c in cases[:3]:  # a small project beside a large one
            c["project"] = "Y"
        grid = bench_tune.Grid(cases, GRID, by_project=True)
        assert grid.fit(range(len(cases))) == _searched_by_project(cases)
    # the small project's three cases count as much as the large project's eleven: a fit by case differs
    differs = 0
    for seed in range(12):
        cases = _cases(seed, 14)
        for c in cases[:3]:
            c["project"] = "Y"
        differs += bench_tune.Grid(cases, GRID, by_project=True).fit(range(14)) != bench_tune.Grid(cases, GRID).fit(
            range(14))
    assert differs > 0


def test_fitted_without_keeps_the_cases_order() -> None:
    cases = _cases(2, 12)
    for i, c in enumerate(cases):
        c["project"] = "BA"[i % 2]  # interleaved: sorting by project would reorder them
    rows = bench_tune.fitted_without(cases, cases, GRID)
    for name in rows:
        for i, c in enumerate(cases):
            fold = bench_tune.Grid(cases, GRID).fit(j for j, d in enumerate(cases) if d["project"] != c["project"])
            assert rows[name][i] == bench_tune.rank(c, fold)

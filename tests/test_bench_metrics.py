"""Exact values of the benchmark metrics on hand-made ranks (pure, no git, no network)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "bench_metrics.py"
_spec = importlib.util.spec_from_file_location("bench_metrics", _PATH)
assert _spec and _spec.loader
bm = importlib.util.module_from_spec(_spec)
sys.modules["bench_metrics"] = bm
_spec.loader.exec_module(bm)

RANKS = [1, 2, 4, None, 10, 60, 3, None]  # 8 cases


def test_top_n_counts_ranks_within_n_over_all_cases() -> None:
    assert bm.top_n(RANKS, 1) == 12.5
    assert bm.top_n(RANKS, 3) == 37.5
    assert bm.top_n(RANKS, 5) == 50.0
    assert bm.top_n(RANKS, 10) == 62.5
    assert bm.top_n(RANKS, 50) == 62.5
    assert bm.top_n(RANKS, 60) == 75.0


def test_mrr_counts_unranked_as_zero() -> None:
    expected = (1 + 1 / 2 + 1 / 4 + 1 / 10 + 1 / 60 + 1 / 3) / 8
    assert bm.mrr(RANKS) == pytest.approx(expected, abs=1e-15)
    assert bm.mrr([1, 1]) == 1.0
    assert bm.mrr([None, None]) == 0.0


def test_empty_inputs() -> None:
    assert bm.top_n([], 1) == 0.0
    assert bm.mrr([]) == 0.0
    assert bm.median([]) is None
    assert bm.median([None]) is None


def test_median_ignores_unknown_values() -> None:
    assert bm.median([3, None, 1, 2]) == 2.0
    assert bm.median([4, 1, 2, 3]) == 2.5


def test_summarize() -> None:
    s = bm.summarize([1, None, 5, 2])
    assert s == {"cases": 4, "top1": 25.0, "top3": 50.0, "top5": 75.0, "top10": 75.0,
                 "top50": 75.0, "mrr": pytest.approx((1 + 0.2 + 0.5) / 4)}


def test_summarize_rejects_zero_based_ranks() -> None:
    with pytest.raises(ValueError):
        bm.summarize([0, 1])


def test_summarize_rows() -> None:
    rows = [
        {"rank": 1, "ranked": 10, "index_s": 2.0, "query_s": 0.5, "error": ""},
        {"rank": None, "ranked": 0, "index_s": None, "query_s": None, "error": "boom"},
        {"rank": 4, "ranked": 30, "index_s": 4.0, "query_s": 1.5, "error": ""},
    ]
    s = bm.summarize_rows(rows)
    assert s["cases"] == 3
    assert s["top1"] == pytest.approx(100 / 3)
    assert s["top5"] == pytest.approx(200 / 3)
    assert s["mrr"] == pytest.approx((1 + 0.25) / 3)
    assert s["median_ranked"] == 10.0
    assert s["median_index_s"] == 3.0
    assert s["median_query_s"] == 1.0
    assert s["errors"] == 1

"""Ranking metrics of the benchmark, from the BIC's 1-based rank in each case.

A rank of None means the system did not rank the BIC (or failed on the case): it is a
miss for every top-N and counts 0 in the MRR. Pure functions, standard library only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

TOP_NS: tuple[int, ...] = (1, 3, 5, 10, 50)


def top_n(ranks: Sequence[int | None], n: int) -> float:
    """Percent of cases whose BIC is ranked within the first `n`."""
    if not ranks:
        return 0.0
    hits = sum(1 for r in ranks if r is not None and r <= n)
    return 100.0 * hits / len(ranks)


def mrr(ranks: Sequence[int | None]) -> float:
    """Mean reciprocal rank; an unranked BIC contributes 0."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def median(values: Iterable[float | int | None]) -> float | None:
    """Median of the known values, None when there are none."""
    known = [v for v in values if v is not None]
    return float(statistics.median(known)) if known else None


def summarize(ranks: Sequence[int | None], ns: Sequence[int] = TOP_NS) -> dict[str, float | int]:
    """{"cases", "top1", "top3", ..., "mrr"} for one system."""
    for r in ranks:
        if r is not None and r < 1:
            raise ValueError(f"ranks are 1-based, got {r}")
    out: dict[str, float | int] = {"cases": len(ranks)}
    for n in ns:
        out[f"top{n}"] = top_n(ranks, n)
    out["mrr"] = mrr(ranks)
    return out


def summarize_rows(rows: Sequence[dict], ns: Sequence[int] = TOP_NS) -> dict[str, float | int | None]:
    """Summary of per-case rows with keys rank, ranked, index_s, query_s, error."""
    out: dict[str, float | int | None] = dict(summarize([r.get("rank") for r in rows], ns))
    out["median_ranked"] = median(r.get("ranked") for r in rows)
    out["median_index_s"] = median(r.get("index_s") for r in rows)
    out["median_query_s"] = median(r.get("query_s") for r in rows)
    out["errors"] = sum(1 for r in rows if r.get("error"))
    return out


def print_table(first: str, rows: dict[str, Sequence[int | None]], ns: Sequence[int] = (1, 3, 5, 10)) -> None:
    """A markdown table: one row per label, its cases, top-n for each n and MRR, from BIC ranks."""
    print(f"| {first} | cases | " + " | ".join(f"top-{n}" for n in ns) + " | MRR |")
    print("|---|---|" + "---|" * len(ns) + "---|")
    for label, ranks in rows.items():
        s = summarize(ranks)
        print(f"| {label} | {s['cases']} | " + " | ".join(f"{s[f'top{n}']:.1f}%" for n in ns) + f" | {s['mrr']:.3f} |")

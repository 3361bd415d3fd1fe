"""Rankers measured on labels or benchmark cases, and the confirmed culprits' ranks over time.

`rca model eval` is the gate: a fusion becomes a default nowhere unless it beats retrieval here, on
the same cases, with the paired test beside the figures. The ranks are recomputed from the stored
features (`fit.case_of`), so retrieval's figures are those of its linear order over the same
columns the fusion sees (a bisection's `executed` feature, which no fusion sees, is left out).

The fit and the ranks over matrices need numpy (`fit`, imported where they are used); `stats` only
counts and ranks in plain Python, so it runs without numpy.
"""

from __future__ import annotations

import gzip
import json
import math
import time
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.labels.store import Label, LabelError

if TYPE_CHECKING:
    from rca_lsp.labels.fit import Case
    from rca_lsp.suspects.learned import RegressionFusion

HEADER = "cases      system                                       n   top-1   top-5     MRR"


def label_cases(labels: list[Label]) -> list[Case]:
    from rca_lsp.labels.fit import case_of

    return [case_of(list(label.candidates), label.culprit) for label in labels]


def bench_cases(folder: Path) -> list[Case]:
    """Benchmark cases from per-case feature files (scripts/dataset_features.py: `since` rows when the
    case has a good revision, else `whole`)."""
    from rca_lsp.labels.fit import case_of

    paths = sorted(folder.glob("*.json.gz")) if folder.is_dir() else []
    if not paths:
        raise LabelError(f"no benchmark case files (*.json.gz) in {folder}")
    cases = []
    for path in paths:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                doc = json.load(fh)
            rows = doc.get("since") or doc["whole"]
            cases.append(case_of([(h, f) for h, f in rows], doc["bic"]))
        except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LabelError(f"{path}: not a benchmark case file ({type(exc).__name__}: {exc})") from None
    return cases


def compare(title: str, cases: list[Case], models: list[tuple[str, object]]) -> list[str]:
    """Retrieval and each (name, model) on the same cases, each with its paired test against retrieval."""
    from rca_lsp.labels.fit import paired, retrieval_ranks, summarize

    base = retrieval_ranks(cases)
    lines = [f"{title:<10} {'retrieval (linear, shipped weights)':<40} {summarize(base).row()}"]
    for name, model in models:
        ranks = _ranks(model, cases)
        lines.append(f"{title:<10} {name:<40} {summarize(ranks).row()}")
        lines.append(f"{'':<10} {name} vs retrieval: {paired(ranks, base)}")
    return lines


def _ranks(model: object, cases: list[Case]) -> list[int | None]:
    from rca_lsp.labels.fit import model_ranks, rank_of

    if isinstance(model, ShippedRegression):
        import numpy as np

        return [rank_of(c, np.array(model.scores(c.rows))) for c in cases]
    return model_ranks(model, cases)


SHIPPED_REGRESSION = "shipped fusion for regressions"


@dataclass(frozen=True)
class ShippedRegression:
    """The shipped fusion for regressions (`learned.REGRESSION_PATH`, and its model for runs with
    coverage where a case's features hold `executed`), scored on a case as `rca suspects` applies
    it without a tuned fusion: where since_test drew its line and the history is as long as any it
    was trained on, its model; elsewhere the weighted sum it would re-rank."""

    fusion: RegressionFusion

    def scores(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        """Each candidate's score, from its stored features (the history's length and each
        commit's place in it are read back from `log_candidates` and `position`)."""
        from rca_lsp.kinds import CONTEXT, SCORED
        from rca_lsp.suspects.learned import regression_model, regression_score
        from rca_lsp.suspects.retrieve import Weights, score

        n = round(math.expm1(rows[0]["log_candidates"])) if rows and "log_candidates" in rows[0] else len(rows)
        table = {i: {f: row[f] for f in SCORED if f in row} for i, row in enumerate(rows)}
        context = {i: {f: row[f] for f in CONTEXT if f in row} for i, row in enumerate(rows)}
        position = {i: round(row["position"] * n) if "position" in row else i for i, row in enumerate(rows)}
        summed = score(table, position, Weights())  # retrieval's own sum, as `rca suspects` computes it
        model = regression_model(self.fusion, any(row.get("since_test", 0.0) > 0 for row in rows),
                                 any(row.get("executed", 0.0) > 0 for row in rows), n)
        ranked = regression_score(model, table, context, summed, position) if model is not None else summed
        by_row = {i: value for value, i in ranked}
        return [by_row[i] for i in range(len(rows))]


def shipped() -> list[tuple[str, object]]:
    """The fusions shipped with rca (`learned.FUSION_DIR`, rca_lsp/suspects/fusion/): the fusion for
    regressions, as `rca suspects` applies it (`ShippedRegression`), and any learned fusion over
    `learned.COLUMNS` there, which no ranking uses by default."""
    from rca_lsp.suspects.learned import (COLUMNS, FUSION_DIR, REGRESSION_COVERAGE_PATH, REGRESSION_PATH, load,
                                          load_regression_fusion)

    regression = (REGRESSION_PATH, REGRESSION_COVERAGE_PATH)
    found = [(f"shipped {p.stem}", load(p)) for p in sorted(FUSION_DIR.glob("*.json")) if p not in regression]
    return [(SHIPPED_REGRESSION, ShippedRegression(load_regression_fusion()))] + \
        [(name, m) for name, m in found if m.columns == COLUMNS]


def _retrieval_rank(label: Label) -> int | None:
    """For a label that came without it (imported from elsewhere): from its features, in retrieval's
    linear order (`capture.retrieval_order`, ties to the newer commit), as `fit.retrieval_ranks`
    ranks it, in plain Python."""
    from rca_lsp.labels.capture import retrieval_order

    hashes = [h for h, _ in retrieval_order(dict(label.candidates))]
    return hashes.index(label.culprit) + 1 if label.culprit in hashes else None


def stats(labels: list[Label], period: str = "month") -> list[tuple[str, int, float, float, float, float]]:
    """(period, labels, % culprit #1 and % in the top 5 under the ranker the user had (unknown for an
    imported label that does not say: counted as not), and the same for retrieval) per calendar
    month (or week), oldest first."""
    fmt = "%Y-%m" if period == "month" else "%G-W%V"
    groups: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        groups[time.strftime(fmt, time.gmtime(label.created))].append(label)
    out = []
    for key in sorted(groups):
        items = groups[key]
        n = len(items)

        def share(ranks, limit):
            return sum(r is not None and r <= limit for r in ranks) / n * 100

        shown = [label.rank for label in items]
        base = [label.retrieval_rank if label.retrieval_rank is not None else _retrieval_rank(label) for label in items]
        out.append((key, n, share(shown, 1), share(shown, 5), share(base, 1), share(base, 5)))
    return out

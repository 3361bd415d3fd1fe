"""Rankers measured on labels or benchmark cases, and the confirmed culprits' ranks over time.

`rca model eval` is the gate: a fusion becomes a default nowhere unless it beats retrieval here, on
the same cases, with the paired test beside the figures. The ranks are recomputed from the stored
features (`fit.case_of`), so retrieval's figures are those of its linear order over the same
columns the fusion sees (a bisection's `executed` feature, which no fusion sees, is left out).
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections import defaultdict
from pathlib import Path

from rca_lsp.labels.fit import Case, case_of, model_ranks, paired, retrieval_ranks, summarize
from rca_lsp.labels.store import Label, LabelError

HEADER = "cases      system                                       n   top-1   top-5     MRR"


def label_cases(labels: list[Label]) -> list[Case]:
    return [case_of(list(label.candidates), label.culprit) for label in labels]


def bench_cases(folder: Path) -> list[Case]:
    """Benchmark cases from per-case feature files (scripts/dataset_features.py: `since` rows when the
    case has a good revision, else `whole`)."""
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
    base = retrieval_ranks(cases)
    lines = [f"{title:<10} {'retrieval (linear, shipped weights)':<40} {summarize(base).row()}"]
    for name, model in models:
        ranks = model_ranks(model, cases)
        lines.append(f"{title:<10} {name:<40} {summarize(ranks).row()}")
        lines.append(f"{'':<10} {name} vs retrieval: {paired(ranks, base)}")
    return lines


def shipped() -> list[tuple[str, object]]:
    """The learned fusions shipped with rca (models/fusion/*.json), none of them a default."""
    from rca_lsp.suspects.learned import FUSION_DIR, COLUMNS, load

    found = [(f"shipped {p.stem}", load(p)) for p in sorted(FUSION_DIR.glob("*.json"))] if FUSION_DIR.is_dir() else []
    return [(name, m) for name, m in found if m.columns == COLUMNS]


def _retrieval_rank(label: Label) -> int | None:
    """For a label that came without it (imported from elsewhere): from its features."""
    return retrieval_ranks([case_of(list(label.candidates), label.culprit)])[0]


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

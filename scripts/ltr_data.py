"""Cases as matrices for learning to rank: one row per candidate commit, one column per feature.

The columns are retrieval's features and its context (`rca suspects --explain` prints both; see
rca_lsp/suspects/context.py): the change's size, its age and position in history, the number of
candidates, uncommitted test files; and retrieval's own linear score, rank and gap to the best
under the shipped weights. Every column is computed from
the case alone (no benchmark label, no project name), so a model trained on some repositories
applies to any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset_features import load_case

RETRIEVAL = ("frame", "code", "words", "recency", "coupling", "file", "owner", "authorship")
CONTEXT = ("log_lines", "log_files", "log_age_days", "position", "log_candidates", "dirty_tests")  # rca_lsp.suspects.context
DERIVED = ("linear", "log_linear_rank", "linear_gap")  # retrieval's shipped linear score, its rank, its gap to the top
COLUMNS = RETRIEVAL + CONTEXT + DERIVED


@dataclass
class Case:
    case_id: str
    project: str
    commits: list[str]  # retrieval's order
    X: np.ndarray  # len(commits) x len(COLUMNS)
    bic: int | None  # row of the culprit, None if not ranked
    operator: str = ""

    @property
    def recency(self) -> np.ndarray:
        return self.X[:, COLUMNS.index("recency")]


def matrix(doc: dict, rows_key: str = "whole") -> Case:
    rows = doc[rows_key]
    n = len(rows)
    X = np.zeros((n, len(COLUMNS)))
    for i, (_, f) in enumerate(rows):
        X[i, :len(RETRIEVAL) + len(CONTEXT)] = [f.get(k, 0.0) for k in RETRIEVAL + CONTEXT]
    X[:, len(RETRIEVAL) + len(CONTEXT):] = derived(X[:, :len(RETRIEVAL)])
    commits = [h for h, _ in rows]
    bic = commits.index(doc["bic"]) if doc["bic"] in commits else None
    return Case(doc["case_id"], doc["project"], commits, X, bic, doc.get("mutation", {}).get("operator", ""))


def derived(R: np.ndarray) -> np.ndarray:
    """Retrieval's linear score under the shipped weights, its rank (log) and its gap to the best."""
    from rca_lsp.suspects.retrieve import Weights

    w = Weights()
    linear = R @ np.array([getattr(w, k) for k in RETRIEVAL])
    rank = np.empty(len(linear))
    rank[np.argsort(-linear, kind="stable")] = np.arange(1, len(linear) + 1)
    top = linear.max() if len(linear) else 0.0
    return np.column_stack([linear, np.log1p(rank), linear - top])


def load_dir(folder: Path, rows_key: str = "whole") -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.json.gz")):
        doc = load_case(path)
        if rows_key in doc:
            cases.append(matrix(doc, rows_key))
    return cases


def rank_of(case: Case, scores: np.ndarray) -> int | None:
    """The culprit's 1-based rank under `scores`, ties broken by recency as rca does."""
    if case.bic is None:
        return None
    s, r = scores[case.bic], case.recency
    ahead = (scores > s) | ((scores == s) & (r > r[case.bic]))
    return 1 + int(ahead.sum())

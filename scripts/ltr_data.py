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

from rca_lsp.labels.fit import rank_of  # noqa: F401  (the culprit's rank, ties to the newer commit: shared with rca model tune)
from rca_lsp.suspects import learned
from rca_lsp.suspects.learned import COLUMNS, CONTEXT, DERIVED, RETRIEVAL  # noqa: F401  (the columns, re-exported)



@dataclass
class Case:
    case_id: str
    project: str
    commits: list[str]  # retrieval's order
    X: np.ndarray  # len(commits) x len(COLUMNS)
    bic: int | None  # row of the culprit, None if not ranked
    operator: str = ""


def matrix(doc: dict, rows_key: str = "whole") -> Case:
    from rca_lsp.suspects.retrieve import Weights

    rows = doc[rows_key]
    commits = [h for h, _ in rows]
    bic = commits.index(doc["bic"]) if doc["bic"] in commits else None
    return Case(doc["case_id"], doc["project"], commits, learned.matrix([f for _, f in rows], Weights()), bic,
                doc.get("mutation", {}).get("operator", ""))


def load_dir(folder: Path, rows_key: str = "whole") -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.json.gz")):
        doc = load_case(path)
        if rows_key in doc:
            cases.append(matrix(doc, rows_key))
    return cases

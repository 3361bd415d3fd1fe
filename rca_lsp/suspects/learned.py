"""A learned fusion of retrieval's features, evaluated with numpy alone (ranking needs no LightGBM
or scipy): gradient-boosted trees (LightGBM's lambdarank, scripts/ltr_train.py) or a listwise
linear model (conditional logit over standardised columns).

The model file (JSON, versioned) holds its kind and column names; for trees, per tree, flat
arrays: split feature, threshold, left and right child (a negative child ~k is leaf k) and leaf
values, a tree walked for all candidates at once, one level per step; for the linear kind, each
column's mean, scale and weight.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rca_lsp.errors import ModelError
from rca_lsp.kinds import CONTEXT, SCORED, Feature

# the fusions shipped with rca (package data): the fusion for regressions, read by `rca suspects`,
# and any learned fusion over COLUMNS, which `rca model eval` measures
FUSION_DIR = Path(__file__).resolve().parent / "fusion"
# The model's columns, in the order its files list them; executed is not one (a model never saw it).
RETRIEVAL = (Feature.FRAME, Feature.CODE, Feature.WORDS, Feature.RECENCY, Feature.COUPLING, Feature.FILE,
             Feature.OWNER, Feature.AUTHORSHIP)
DERIVED = ("linear", "log_linear_rank", "linear_gap")  # retrieval's linear score, its rank, its gap to the best
COLUMNS = RETRIEVAL + CONTEXT + DERIVED


def derived(R, weights):
    """DERIVED for rows of RETRIEVAL values (a numpy array), under `weights` (retrieve.Weights)."""
    import numpy as np

    linear = R @ np.array([weights.of(k) for k in RETRIEVAL])
    rank = np.empty(len(linear))
    rank[np.argsort(-linear, kind="stable")] = np.arange(1, len(linear) + 1)
    top = linear.max() if len(linear) else 0.0
    return np.column_stack([linear, np.log1p(rank), linear - top])


def matrix(rows: Sequence[Mapping[Any, float]], weights):
    """COLUMNS for each candidate's {feature: value} (retrieval's and its context's)."""
    import numpy as np

    X = np.zeros((len(rows), len(COLUMNS)))
    base = len(RETRIEVAL) + len(CONTEXT)
    for i, row in enumerate(rows):
        X[i, :base] = [row.get(k, 0.0) for k in RETRIEVAL + CONTEXT]
    if rows:
        X[:, base:] = derived(X[:, :len(RETRIEVAL)], weights)
    return X


@dataclass(frozen=True)
class Tree:
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf: tuple[float, ...]


@dataclass(frozen=True)
class TreeModel:
    version: str
    columns: tuple[str, ...]
    trees: tuple[Tree, ...]
    min_candidates: int = 0  # as LinearModel's: the fusion for regressions leaves shorter histories alone

    def score_row(self, x: Sequence[float]) -> float:
        """One candidate's score from its values in `columns` order, in plain Python (no numpy):
        LightGBM's walk, `<=` to the left, a negative child ~k being leaf k."""
        total = 0.0
        for t in self.trees:
            node = 0 if t.feature else ~0
            while node >= 0:
                node = t.left[node] if x[t.feature[node]] <= t.threshold[node] else t.right[node]
            total += t.leaf[~node]
        return total

    def predict(self, X):
        import numpy as np

        total = np.zeros(X.shape[0])
        for t in self.trees:
            if not t.feature:  # a single leaf
                total += t.leaf[0]
                continue
            feature, threshold = np.array(t.feature), np.array(t.threshold)
            left, right, leaf = np.array(t.left), np.array(t.right), np.array(t.leaf)
            node = np.zeros(X.shape[0], dtype=int)
            active = np.ones(X.shape[0], dtype=bool)
            while active.any():
                idx = node[active]
                go_left = X[active, feature[idx]] <= threshold[idx]
                node[active] = np.where(go_left, left[idx], right[idx])
                active = node >= 0
            total += leaf[~node]
        return total


@dataclass(frozen=True)
class LinearModel:
    """A listwise linear ranker (conditional logit): standardised columns times weights."""

    version: str
    columns: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    min_candidates: int = 0  # fewer candidates than any case it was trained on: not used (the fusion for regressions)

    def predict(self, X):
        import numpy as np

        return ((X - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.weights)

    def to_json(self) -> dict:
        doc = {"kind": "linear", "version": self.version, "columns": list(self.columns), "mean": list(self.mean),
               "scale": list(self.scale), "weights": list(self.weights)}
        return {**doc, "min_candidates": self.min_candidates} if self.min_candidates else doc


Model = TreeModel | LinearModel
RegressionModel = LinearModel | TreeModel


def learned_score(model: Model, table: dict[int, dict[Feature, float]], context: dict[int, dict[Feature, float]],
                  position: dict[int, int], weights) -> list[tuple[float, int]]:
    """(score, commit id), best first, ties to the newer commit, as `retrieve.score` orders them."""
    if model.columns != COLUMNS:
        raise ModelError(f"learned fusion {model.version} was trained on other columns than this version computes")
    ids = list(table)
    scores = model.predict(matrix([{**table[c], **context.get(c, {})} for c in ids], weights))
    ranked = [(float(v), c) for v, c in zip(scores, ids)]
    ranked.sort(key=lambda item: (-item[0], position[item[1]]))
    return ranked


# The fusion for regressions (models/README.md, "The fusion for regressions"): trees (LightGBM
# lambdarank) or a listwise linear model over retrieval's scored features, the context, the
# weighted sum retrieval ranks by (its value, the log of its rank, its gap to the best) and, for
# trees, SHAPE. It applies only where the failing test is committed and passed at its last change
# (since_test drew its line), and it is scored in plain Python unless numpy is at hand: ranking
# needs no numpy.
SCORE_DERIVED = ("score", "log_score_rank", "score_gap")
# columns a tree model may also read: how far back the commit is (log1p of the commits after it), and
# recency times the weighted sum (so that recency can count for less where the evidence is strong)
SHAPE = ("log_back", "recency_x_score")
REGRESSION_KNOWN = frozenset(f.value for f in SCORED + CONTEXT) | frozenset(SCORE_DERIVED) | frozenset(SHAPE)
REGRESSION_PATH = FUSION_DIR / "regression.json"
# the same for a run with the failing test's coverage (`--coverage`): the executed feature is a column
REGRESSION_COVERAGE_PATH = REGRESSION_PATH.with_name("regression_coverage.json")


def check_regression(model: RegressionModel) -> RegressionModel:
    """The model, if this version computes every column it reads and its arrays agree."""
    unknown = [c for c in model.columns if c not in REGRESSION_KNOWN]
    if unknown:
        raise ModelError(f"the regression fusion {model.version} reads columns this version does not compute: "
                         + ", ".join(unknown))
    if isinstance(model, TreeModel):
        for i, t in enumerate(model.trees):
            splits = len(t.feature)
            if not (splits == len(t.threshold) == len(t.left) == len(t.right) and len(t.leaf) == splits + 1):
                raise ModelError(f"the regression fusion {model.version}: tree {i} has splits and leaves that "
                                 "do not agree")
            # a child is a leaf (~k) or a later split: every walk ends
            if any(not 0 <= f < len(model.columns) for f in t.feature) or \
                    any(not (-len(t.leaf) <= c < 0 or node < c < splits)
                        for node in range(splits) for c in (t.left[node], t.right[node])):
                raise ModelError(f"the regression fusion {model.version}: tree {i} points outside itself "
                                 "or back to an earlier split")
        return model
    if not len(model.columns) == len(model.mean) == len(model.scale) == len(model.weights):
        raise ModelError(f"the regression fusion {model.version} has columns, means, scales and weights "
                         "of different lengths")
    if any(not scale > 0 for scale in model.scale):
        raise ModelError(f"the regression fusion {model.version} has a scale that is not positive")
    return model


@functools.lru_cache(maxsize=4)
def load_regression(path: Path = REGRESSION_PATH) -> RegressionModel:
    """The shipped fusion for regressions (a ModelError names the file when it cannot be read)."""
    return check_regression(load(path))


@dataclass(frozen=True)
class RegressionFusion:
    """The fusion for regressions: one model for rankings without coverage, one for those with."""

    plain: RegressionModel
    covered: RegressionModel

    def for_run(self, executed: bool) -> RegressionModel:
        return self.covered if executed else self.plain


def load_regression_fusion() -> RegressionFusion:
    """Both shipped models (a ModelError names a file that cannot be read)."""
    covered = load_regression(REGRESSION_COVERAGE_PATH)
    if "executed" not in covered.columns:
        raise ModelError(f"{REGRESSION_COVERAGE_PATH} does not read the executed feature")
    return RegressionFusion(load_regression(), covered)


REGRESSION_NOTE = ("ranked by the fusion for regressions, learned from confirmed regressions in other projects "
                   "(off: --no-fusion, or the editor's rca.fusion setting)")


def regression_model(regression: RegressionFusion | None, regime: bool, executed: bool,
                     candidates: int) -> RegressionModel | None:
    """The fusion for regressions' model that ranks this failure, if any: only in its regime (since_test
    drew its line, no tuned fusion, since_test weighted) and over a history of `candidates` commits at
    least as long as the shortest it was trained on."""
    if regression is None or not regime:
        return None
    model = regression.for_run(executed)
    return model if candidates >= model.min_candidates else None


def regression_score(model: RegressionModel, table: dict[int, dict[Feature, float]],
                     context: dict[int, dict[Feature, float]], summed: list[tuple[float, int]],
                     position: dict[int, int]) -> list[tuple[float, int]]:
    """(score, commit id), best first, ties to the newer commit, as `retrieve.score` orders them.
    `summed` is `retrieve.score`'s ranking (the weighted sum, best first): its value, rank and gap
    to the best are three of the model's columns."""
    best = summed[0][0] if summed else 0.0
    derived = {c: (value, math.log1p(rank), value - best) for rank, (value, c) in enumerate(summed, start=1)}
    rows: list[list[float]] = []
    for c, row in table.items():
        value, log_rank, gap = derived[c]
        values: dict[str, float] = {**{str(k): v for k, v in row.items()},
                                    **{str(k): v for k, v in context.get(c, {}).items()},
                                    "score": value, "log_score_rank": log_rank, "score_gap": gap,
                                    "log_back": math.log1p(position[c]),
                                    "recency_x_score": row.get(Feature.RECENCY, 0.0) * value}
        rows.append([values.get(name, 0.0) for name in model.columns])
    if isinstance(model, TreeModel):
        scores = _tree_scores(model, rows)
    else:
        scores = [sum(w * (v - m) / s for v, m, s, w in zip(x, model.mean, model.scale, model.weights)) for x in rows]
    ranked = list(zip(scores, table))
    ranked.sort(key=lambda item: (-item[0], position[item[1]]))
    return ranked


VECTORISE_FROM = 1000  # candidates from which numpy's walk pays for importing numpy (about 0.1 s)


def _tree_scores(model: TreeModel, rows: list[list[float]], vectorised: bool = True) -> list[float]:
    """Each row's score: with numpy where it is installed and already loaded or the history is long
    (the same comparisons and sums, tree by tree, so the same floats), else walked in plain Python
    (about 0.2 ms a candidate for 300 trees: ranking needs no numpy)."""
    import sys

    if vectorised and rows and ("numpy" in sys.modules or len(rows) >= VECTORISE_FROM):
        try:
            import numpy as np
        except ImportError:
            pass
        else:
            return [float(v) for v in model.predict(np.array(rows, dtype=float))]
    return [model.score_row(x) for x in rows]


def from_lightgbm(dump: dict, version: str) -> dict:
    """The compact form of a LightGBM `dump_model()` (numerical `<=` splits only)."""
    trees = []
    for info in dump["tree_info"]:
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        leaf: list[float] = []

        def walk(node: dict) -> int:
            if "leaf_value" in node:
                leaf.append(node["leaf_value"])
                return ~(len(leaf) - 1)
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')}")
            i = len(feature)
            feature.append(node["split_feature"])
            threshold.append(node["threshold"])
            left.append(0)
            right.append(0)
            left[i] = walk(node["left_child"])
            right[i] = walk(node["right_child"])
            return i

        root = info["tree_structure"]
        walk(root)
        trees.append({"feature": feature, "threshold": threshold, "left": left, "right": right, "leaf": leaf})
    return {"kind": "trees", "version": version, "columns": dump["feature_names"], "trees": trees}


def load(path: Path) -> Model:
    try:
        doc = json.loads(path.read_text())
        if doc.get("kind") == "linear":
            return LinearModel(doc["version"], tuple(doc["columns"]), tuple(doc["mean"]), tuple(doc["scale"]),
                               tuple(doc["weights"]), int(doc.get("min_candidates", 0)))
        trees = tuple(Tree(tuple(t["feature"]), tuple(t["threshold"]), tuple(t["left"]), tuple(t["right"]),
                           tuple(t["leaf"])) for t in doc["trees"])
        return TreeModel(doc["version"], tuple(doc["columns"]), trees, int(doc.get("min_candidates", 0)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"cannot read the learned fusion {path}: {e}") from None

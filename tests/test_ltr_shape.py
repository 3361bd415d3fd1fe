"""scripts/ltr_shape.py: the shape columns it trains on are the ones the tool computes at run time,
and its tree fusion (LightGBM lambdarank) learns, is written as the tool reads it, and ranks the same
from the file; on a real git history and real pytest output, and on cases of known signal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from _reliability import load
from conftest import ranked
from test_regression_fusion import _regression_history
from test_test_change import _pytest_output

from rca_lsp.suspects import learned
from rca_lsp.suspects.learned import RegressionFusion, load_regression
from rca_lsp.vcs.git import GitRepo

lr = load("ltr_regime")
ls = load("ltr_shape")
Case = load("ltr_data").Case


def test_the_shape_columns_are_the_ones_the_tool_computes(git_repo) -> None:
    """Features as the dataset keeps them (`--explain`, rounded to 6 places): commits back is
    recovered exactly (0 .. n-1, as the tool's history positions), so a tree's split on it is the
    tool's; recency x score is the product of the two columns."""
    _, _, culprit = _regression_history(git_repo)
    result = ranked(GitRepo(git_repo.root), _pytest_output(git_repo.root))
    rows = list(result.features.items())
    case = ls.shaped(lr.to_case("toy-w1-01", "toy", culprit, rows))
    back = np.expm1(case.X[:, ls.EXTENDED.index("log_back")])
    assert sorted(np.rint(back).astype(int).tolist()) == list(range(len(rows)))
    assert np.allclose(back, np.rint(back), atol=1e-9)  # integers, not position x n's rounding error
    assert back[case.commits.index(culprit)] == 1  # the last commit is newer
    score = case.X[:, lr.COLUMNS.index("score")]
    assert np.allclose(case.X[:, ls.EXTENDED.index("recency_x_score")], case.X[:, lr.COLUMNS.index("recency")] * score)


def _cases(rng: np.random.Generator) -> list:
    """Four repositories of 30 cases, 60 candidates each, in the regime; the culprit (a random row)
    is the one whose file feature is highest, among noise in every other column."""
    out = []
    for p in "abcd":
        for i in range(30):
            X = rng.uniform(0, 1, size=(60, len(lr.COLUMNS)))
            X[:, lr.COLUMNS.index("since_test")] = 1.0
            X[:, lr.POSITION] = rng.permutation(60) / 60
            bic = int(rng.integers(60))
            X[bic, lr.COLUMNS.index("file")] = X[:, lr.COLUMNS.index("file")].max() + 0.5
            out.append(ls.shaped(Case(f"{p}-w1-{i:02d}", p, [f"{p}{i}c{j}" for j in range(60)], X, bic)))
    return out


def test_the_tree_fusion_learns_left_out_and_ranks_the_same_from_its_file(tmp_path: Path) -> None:
    data = _cases(np.random.default_rng(5))
    ranks = ls.loro("G1", data, [])
    assert sum(r == 1 for r in ranks) >= 0.9 * len(ranks)  # each repository ranked by the others' fit
    path = tmp_path / "trees.json"
    score = ls.save_trees(data, path)
    doc = json.loads(path.read_text())
    assert doc["kind"] == "trees" and doc["min_candidates"] == 60 and doc["trained"]["cases"] == 120
    assert doc["trained"]["repositories"] == ["a", "b", "c", "d"]
    model = load_regression(path)  # the tool's own checks pass
    assert isinstance(model, learned.TreeModel) and model.columns == tuple(ls.EXTENDED)
    booster = ls.SYSTEMS["G1"](data)  # the same fit again: deterministic
    for c in data[:10]:
        assert np.allclose(score(c), booster(c), atol=1e-9)
        assert np.allclose([model.score_row(list(x)) for x in c.X], booster(c), atol=1e-9)
    assert RegressionFusion(model, model).for_run(False) is model


def test_the_trees_learn_from_retrievals_top_candidates_and_the_culprit():
    """`ltr_train.training_rows` with `by_score` keeps a case's culprit, the NEG_TOP candidates that
    retrieval's score puts first and NEG_RANDOM drawn from the rest; where the case's own order is
    retrieval's, the same rows as without an order."""
    lt = load("ltr_train")
    n = lt.NEG_TOP + lt.NEG_RANDOM + 50
    X = np.zeros((n, len(ls.EXTENDED)))
    X[:, lr.COLUMNS.index("score")] = np.linspace(1, 0, n)  # the case's order is retrieval's
    X[:, 0] = np.arange(n)  # which row is which
    case = Case("a-w1-01", "a", [f"c{j}" for j in range(n)], X, n - 1)
    columns = list(range(len(ls.EXTENDED)))
    rows, y, groups = lt.training_rows([case], columns, ls.by_score)
    plain = lt.training_rows([case], columns)
    assert np.array_equal(rows, plain[0]) and np.array_equal(y, plain[1]) and groups == plain[2]
    flipped = Case("a-w1-02", "a", case.commits, X.copy(), 0)
    flipped.X[:, lr.COLUMNS.index("score")] = np.linspace(0, 1, n)  # retrieval's first are the last rows
    rows, y, groups = lt.training_rows([flipped], columns, ls.by_score)
    kept = set(rows[:, 0].astype(int).tolist())
    assert set(range(n - lt.NEG_TOP, n)) <= kept and 0 in kept and y[list(rows[:, 0]).index(0)] == 1
    assert groups == [len(kept)] and len(kept) in (lt.NEG_TOP + lt.NEG_RANDOM, lt.NEG_TOP + lt.NEG_RANDOM + 1)
    assert y.sum() == 1  # the culprit (kept whether or not the draw took it)

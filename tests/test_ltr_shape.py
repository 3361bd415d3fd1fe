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


def _coverage_rows(rng: np.random.Generator, projects: str) -> dict:
    """A `bench_coverage_fit.py --cache` file's cases: 30 a repository, 60 candidates each, in the
    regime, every feature noise but the culprit's executed value, the highest of its case."""
    names = ("frame", "code", "words", "recency", "coupling", "file", "authorship", "blamed", "blamed_newest",
             "log_lines", "log_files", "log_age_days", "log_candidates")
    out = {}
    for p in projects:
        for i in range(30):
            bic = int(rng.integers(60))
            rows = []
            for j, back in enumerate(rng.permutation(60)):
                f = {k: float(rng.uniform(0, 1)) for k in names}
                f.update(since_test=1.0, position=float(back) / 60, executed=float(rng.uniform(0, 0.5)))
                if j == bic:
                    f["executed"] = 1.0
                rows.append([f"{p}{i}c{j}", f])
            out[f"{p}-w1-{i:02d}"] = {"case_id": f"{p}-w1-{i:02d}", "project": p, "bic": f"{p}{i}c{bic}", "rows": rows}
    return out


def test_trees_for_runs_with_coverage_read_executed_and_load_as_the_tools_covered_model(tmp_path: Path) -> None:
    """`ltr_shape.py --coverage --save`: trees over the shipped trees' columns and executed, fitted on
    row caches (runs with coverage), written as a model the tool accepts for `--coverage` runs, its
    version naming the kind; row caches without `--coverage` are refused by name."""
    import subprocess
    import sys

    rng = np.random.default_rng(7)
    train, held = tmp_path / "rows_ab.json", tmp_path / "rows_cd.json"
    train.write_text(json.dumps(_coverage_rows(rng, "ab")))
    held.write_text(json.dumps(_coverage_rows(rng, "cd")))
    script = str(ls.__file__)
    base = [sys.executable, script, "--score", str(train), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "r.json")]
    refused = subprocess.run(base, capture_output=True, text=True)
    assert refused.returncode != 0 and "give --coverage" in refused.stderr
    out = tmp_path / "covered.json"
    done = subprocess.run([*base, "--coverage", "--with", "blamed", "--with", "blamed_newest", "--save", str(out),
                           "--held", str(held)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    model = load_regression(out)
    assert isinstance(model, learned.TreeModel) and model.version.startswith("regression-coverage-trees-")
    assert {"executed", "blamed", "blamed_newest", "log_back", "recency_x_score"} <= set(model.columns)
    assert "weighted sum's order" in json.loads(out.read_text())["trained"]["rows"]  # how its rows were read
    held_ranks = json.loads((tmp_path / "c" / "held-rows_cd.json").read_text())["ranks"]["G1"]
    assert len(held_ranks) == 60 and sum(r == 1 for r in held_ranks) >= 54  # repositories it never saw
    plain = load_regression()
    assert RegressionFusion(plain, model).for_run(True) is model


def test_a_row_caches_rows_are_refitted_in_the_weighted_sums_order_not_the_collecting_models(tmp_path: Path) -> None:
    """A row cache keeps the order of the model that ranked it; `load` puts each case's rows in the
    weighted sum's order (score, then the newer commit), so the same rows in any order give the same
    cases and a refit does not depend on which model shipped; `summed=False` keeps them as collected."""
    rng = np.random.default_rng(3)
    doc = _coverage_rows(rng, "a")
    shuffled = {k: {**v, "rows": [v["rows"][i] for i in rng.permutation(len(v["rows"]))]} for k, v in doc.items()}
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    one.write_text(json.dumps(doc))
    two.write_text(json.dumps(shuffled))
    a, b = ls.load(one, tmp_path / "x.pkl"), ls.load(two, tmp_path / "y.pkl")
    assert [c.commits for c in a] == [c.commits for c in b] and all(np.array_equal(x.X, y.X) for x, y in zip(a, b))
    score = lr.COLUMNS.index("score")
    for c in a:
        assert c.commits[c.bic] == doc[c.case_id]["bic"]  # the culprit followed its row
        s = c.X[:, score]
        assert np.all(s[:-1] >= s[1:])
    kept = ls.load(two, tmp_path / "z.pkl", summed=False)
    assert [c.commits for c in kept] == [[r[0] for r in shuffled[c.case_id]["rows"]] for c in kept]
    assert [c.commits for c in kept] != [c.commits for c in a]

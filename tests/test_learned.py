"""The learned fusion: retrieval's context features on a real repository, the numpy tree evaluator
against LightGBM's own predictions, and ranking by a model end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import ranked
from rca_lsp.errors import ModelError
from rca_lsp.kinds import CONTEXT
from rca_lsp.suspects import learned
from rca_lsp.vcs import open_repo
from tests.test_cli import _history


def test_numpy_trees_predict_exactly_what_lightgbm_predicts(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, len(learned.COLUMNS)))
    y = (X[:, 0] + 0.5 * X[:, 9] + rng.normal(scale=0.3, size=600) > 1.0).astype(float)
    params = {"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "seed": 1}
    booster = lgb.train(params, lgb.Dataset(X, y, group=[20] * 30), num_boost_round=40)
    path = tmp_path / "fusion.json"
    doc = learned.from_lightgbm(booster.dump_model(), version="test")
    doc["columns"] = list(learned.COLUMNS)
    path.write_text(json.dumps(doc))
    model = learned.load(path)
    probe = rng.normal(size=(300, len(learned.COLUMNS)))
    assert len(model.trees) == 40
    assert np.allclose(model.predict(probe), booster.predict(probe), atol=1e-9)


def test_a_model_file_that_cannot_be_read_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": "x", "columns": [')
    with pytest.raises(ModelError, match="broken.json"):
        learned.load(path)


def test_context_features_of_a_real_history(git_repo):
    shas = _history(git_repo)
    result = ranked(open_repo(git_repo.root), (git_repo.root / "crash.txt").read_text())
    feats = {s.commit.hash: result.features[s.commit.hash] for s in result.suspects}
    assert all(set(CONTEXT) <= set(f) for f in feats.values())
    # newest first: docs is HEAD (position 0), calc the root; one hour between commits
    assert feats[shas["docs"]]["position"] == 0.0 and feats[shas["calc"]]["position"] == 0.75
    assert feats[shas["calc"]]["log_age_days"] == pytest.approx(math.log1p(3 / 24), abs=1e-5)
    assert feats[shas["readme"]]["log_files"] == pytest.approx(math.log1p(1))
    assert feats[shas["readme"]]["log_lines"] == pytest.approx(math.log1p(1))  # one added line
    assert feats[shas["docs"]]["log_lines"] == pytest.approx(math.log1p(2))  # one line replaced
    assert [f["log_candidates"] for f in feats.values()] == pytest.approx([math.log1p(4)] * 4)
    # the failing test is written but not committed: one uncommitted test file
    assert [f["dirty_tests"] for f in feats.values()] == pytest.approx([math.log1p(1)] * 4)


def test_ranking_follows_the_model_and_keeps_the_evidence(git_repo):
    shas = _history(git_repo)
    text = (git_repo.root / "crash.txt").read_text()
    repo = open_repo(git_repo.root)
    # one tree: the larger change wins (log_lines above 1.0: +1, else -1)
    split = learned.COLUMNS.index("log_lines")
    model = learned.TreeModel("by-size", learned.COLUMNS, (learned.Tree((split,), (1.0,), (~0,), (~1,), (-1.0, 1.0)),))
    plain = ranked(repo, text)
    fused = ranked(repo, text, fusion=model)
    big = {h for h in shas.values() if plain.features[h]["log_lines"] > 1.0}
    assert {s.commit.hash for s in fused.suspects[:len(big)]} == big
    assert [s.score for s in fused.suspects] == sorted((s.score for s in fused.suspects), reverse=True)
    evidence = {s.commit.hash: s.evidence for s in plain.suspects}
    assert all(s.evidence == evidence[s.commit.hash] for s in fused.suspects)


def test_a_model_of_other_columns_is_refused(git_repo):
    _history(git_repo)
    model = learned.TreeModel("old", ("frame", "code"), ())
    with pytest.raises(ModelError, match="other columns"):
        ranked(open_repo(git_repo.root), (git_repo.root / "crash.txt").read_text(), fusion=model)


def test_a_linear_model_round_trips_and_ranks(tmp_path):
    model = learned.LinearModel("lin", learned.COLUMNS, (0.0,) * len(learned.COLUMNS), (2.0,) * len(learned.COLUMNS),
                                tuple(1.0 if c == "frame" else 0.0 for c in learned.COLUMNS))
    path = tmp_path / "lin.json"
    path.write_text(json.dumps(model.to_json()))
    again = learned.load(path)
    assert again == model
    X = np.zeros((3, len(learned.COLUMNS)))
    X[:, 0] = [0.0, 1.0, 0.5]
    assert list(again.predict(X)) == [0.0, 0.5, 0.25]

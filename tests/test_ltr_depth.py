"""The weighted listwise fit (scripts/ltr_train.clogit_fit's case_weight) and the choice of the
deep-case weight (scripts/ltr_depth.py), on cases whose culprits follow known signals."""

from __future__ import annotations

import numpy as np

from _reliability import load

lt = load("ltr_train")
lr = load("ltr_regime")
ld = load("ltr_depth")
Case = load("ltr_data").Case


def _case(rng: np.random.Generator, i: int, project: str, signal: str, deep: bool) -> object:
    """40 candidates of noise; the culprit (row 7) is the one highest in `signal`; every candidate
    in the regime (since_test set)."""
    X = rng.normal(size=(40, len(lr.COLUMNS)))
    X[:, lr.COLUMNS.index("since_test")] = 1.0
    col = lr.COLUMNS.index(signal)
    X[7, col] = X[:, col].max() + 1.0
    suffix = f"-w1-d{i:02d}" if deep else f"-w1-{i:02d}"
    return Case(f"{project}{suffix}", project, [f"c{j}" for j in range(40)], X, 7)


def _data(seed: int = 0) -> list:
    """Window cases whose culprit is the most recent-looking candidate, deep cases whose culprit is
    the one whose code the frames hit, in four repositories."""
    rng = np.random.default_rng(seed)
    out = []
    for p in ("a", "b", "c", "d"):
        out += [_case(rng, i, p, "recency", False) for i in range(12)]
        out += [_case(rng, i, p, "code", True) for i in range(12)]
    return out


def test_a_case_weighted_twice_fits_as_the_case_given_twice_and_weight_0_as_left_out():
    data = _data()
    cols = lr.SYSTEMS["listwise"]
    heavy = data[0]
    twice = lt.clogit_fit(data, cols, 0.1, case_weight=lambda c: 2.0 if c is heavy else 1.0)
    copied = lt.clogit_fit(data + [heavy], cols, 0.1)
    assert np.allclose(twice["weights"], copied["weights"], atol=1e-6)
    assert np.allclose(twice["mean"], copied["mean"]) and np.allclose(twice["scale"], copied["scale"])
    dropped = lt.clogit_fit(data, cols, 0.1, case_weight=lambda c: 0.0 if lr.deep(c) else 1.0)
    window = lt.clogit_fit([c for c in data if not lr.deep(c)], cols, 0.1)
    assert np.allclose(dropped["weights"], window["weights"], atol=1e-6)
    plain, ones = lt.clogit_fit(data, cols, 0.1), lt.clogit_fit(data, cols, 0.1, case_weight=lambda c: 1.0)
    assert np.allclose(plain["weights"], ones["weights"])


def test_the_deep_weight_is_chosen_by_the_window_cases_left_out_by_repository(capsys):
    """Deep cases teach a signal that misleads on window cases: leaving each repository out, the
    window cases rank best with the deep cases weighted least, and that weight is chosen."""
    data = _data(1)
    w = ld.choose(data, [0.0, 1.0, 3.0], l2=0.1)
    out = capsys.readouterr().out
    assert w == 0.0 and "chosen, by the window cases' MRR then top-5: w = 0" in out
    ranks0 = ld.loro(data, 0.0, 0.1)
    ranks3 = ld.loro(data, 3.0, 0.1)
    window = [i for i, c in enumerate(data) if not lr.deep(c)]
    deep = [i for i, c in enumerate(data) if lr.deep(c)]
    mrr = lambda r, idx: np.mean([1.0 / r[i] for i in idx])  # noqa: E731
    assert mrr(ranks0, window) > mrr(ranks3, window)
    assert mrr(ranks3, deep) > mrr(ranks0, deep)  # what the choice costs the deep cases, and shows


def test_leaving_a_repository_out_gives_each_case_its_own_rank_in_the_data_order():
    """`ltr_regime.loro` returns ranks in the order of the cases given, whatever the order of their
    repositories (the twenty-second sitting's tables paired ranks in repository order with cases
    in load order): each case's rank is the one its repository's fold gives it."""
    data = _data(4)
    rng = np.random.default_rng(4)
    shuffled = [data[i] for i in rng.permutation(len(data))]  # repositories interleaved
    fit = lambda train: lr.linear(lt.clogit_fit(train, lr.SYSTEMS["listwise"], 0.1))  # noqa: E731
    ranks = lr.loro(shuffled, fit)
    for p in "abcd":
        train = [c for c in shuffled if c.project != p]
        idx = [i for i, c in enumerate(shuffled) if c.project == p]
        assert [ranks[i] for i in idx] == lr.gated(fit(train), [shuffled[i] for i in idx], 40)
    assert len(set(ranks)) > 1  # not every case ranked alike: the check can tell cases apart


def test_a_fit_ranks_only_where_the_tool_would_use_it():
    """`ltr_regime.gated` gates as the tool does (`learned.regression_model`): a history shorter than
    the fit's `min_candidates`, or a case out of the regime, keeps the weighted sum's rank."""
    data = _data(3)
    train, test = data[:-1], data[-1]  # a window case: its culprit is the most recent-looking
    score = lr.linear(lt.clogit_fit(train, lr.SYSTEMS[ld.SYSTEM], 0.1))
    short = Case(test.case_id, test.project, test.commits[:30], test.X[:30], test.bic)
    out = Case(test.case_id, test.project, test.commits, test.X.copy(), test.bic)
    out.X[:, lr.COLUMNS.index("since_test")] = 0.0
    weighted = lr.shipped_ranks([test, short, out])
    assert lr.gated(score, [test], 40) == [1] != weighted[:1]  # the fit ranks it, and not as the weighted sum
    assert lr.gated(score, [short, out], 40) == weighted[1:]
    assert lr.gated(score, [short], 30) == [1]


def test_a_saved_fit_read_back_ranks_as_the_fit_and_a_seen_repository_is_refused(tmp_path):
    """scripts/ltr_versus.py: the file `ltr_regime.save` writes, read back, ranks every case as the
    fit in memory did (the columns that cannot move a ranking left out); asked to compare on a
    repository the saved fit trained on, it refuses, naming it."""
    import pytest

    lv = load("ltr_versus")
    data = _data(2)
    for c in data:  # as in real cases: the same for every candidate of a case (save leaves it out)
        c.X[:, lr.COLUMNS.index("log_candidates")] = np.log(len(c.commits))
    train = [c for c in data if c.project != "d"]
    fit = lt.clogit_fit(train, lr.SYSTEMS[ld.SYSTEM], 0.1)
    path = tmp_path / "regression.json"
    lr.save(fit, 0.1, train, path)
    test = [c for c in data if c.project == "d"]
    score, min_candidates, _ = lr.read_fusion(path, lr.COLUMNS)
    assert min_candidates == lr.shortest(train) == 40
    assert lr.gated(score, test, min_candidates) == lr.gated(lr.linear(fit), test, 0)
    assert sum(r == 1 for r in lr.gated(score, test, min_candidates)) >= 12  # the window cases' culprits first
    folder = tmp_path / "dataset"
    with pytest.raises(SystemExit, match="trained on a: not held out"):
        lv.main(["--data", str(folder), "--model", str(path), "--repos", "a,d"])

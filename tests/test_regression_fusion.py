"""The fusion for regressions (rca_lsp.suspects.learned.regression_score): where the failing test is
committed and passed at its last change, the shipped listwise model ranks instead of the weighted
sum; everywhere else the weighted sum ranks as before. Real git, real pytest output, the shipped
model file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _reliability import load as load_script
from conftest import ranked
from test_test_change import CALENDAR, REWRITTEN, TEST, TEST_FEBRUARY, _history, _pytest_output

from rca_lsp.errors import ModelError
from rca_lsp.suspects import Weights
from rca_lsp.suspects.learned import (REGRESSION_COVERAGE_PATH, REGRESSION_PATH, LinearModel, TreeModel, check_regression,
                                      load, load_regression, load_regression_fusion)
from rca_lsp.suspects.learned import REGRESSION_NOTE
from rca_lsp.vcs.git import GitRepo

# a large rewrite after the test's last change, then the one-line culprit
GROWN = REWRITTEN.replace('    """Days in a month of a common year."""\n',
                          '    """Days in a month of a common year (February has 28)."""\n'
                          '    if not 1 <= month <= 12:\n        raise ValueError(month)\n')


def _fill(git_repo, n: int, what: str) -> None:
    """`n` commits after HEAD that change no code, in one `git fast-import`."""
    git_repo.fast_commits((f"{what} {i}\n", {f"{what.lower()}.md": f"{what} {i}\n"}) for i in range(n))


def _regression_history(git_repo) -> tuple[str, str, str]:
    """A library with a long history (the fusion applies to histories as long as those it was trained
    on): the failing test last changed, a large rewrite after it, weeks of other work, then the
    one-line culprit and a last commit."""
    git_repo.commit("Start", {"README.md": "calendar\n"})
    _fill(git_repo, load_regression().min_candidates, "Plans")
    git_repo.commit("Add the calendar: days of a month", {"calendar_.py": CALENDAR, "tests/test_calendar.py": TEST})
    test_change = git_repo.commit("Test February", {"tests/test_calendar.py": TEST_FEBRUARY}, author="Carol")
    _fill(git_repo, 60, "Notes")
    rewrite = git_repo.commit("Rewrite days with a table of long months, and check the month",
                              {"calendar_.py": GROWN}, author="Alice")
    _fill(git_repo, 40, "Docs")
    culprit = git_repo.commit("Tidy up", {"calendar_.py": GROWN.replace("if month == 2:", "if month == 3:")},
                              author="Bob")
    git_repo.commit("Changelog", {"CHANGES.md": "tidy\n"})
    return test_change, rewrite, culprit


def test_the_shipped_model_files_are_ones_this_version_reads() -> None:
    fusion = load_regression_fusion()
    assert fusion.plain.version.startswith("regression-") and fusion.covered.version.startswith("regression-coverage-")
    assert {"since_test", "recency", "score", "log_score_rank"} <= set(fusion.plain.columns)
    assert "executed" not in fusion.plain.columns and "executed" in fusion.covered.columns
    assert fusion.for_run(False) is fusion.plain and fusion.for_run(True) is fusion.covered
    held_out = {"more-itertools", "boltons", "sqlparse", "cachetools"}  # the Python track's libraries
    db = load_script("dataset_build")  # and the fresh held-out sets'
    held_out |= {s.name for name in ("pyheld_repos.json", "pyheld6_repos.json", "pyheld7_repos.json",
                                     "pyheld8_repos.json") for s in db.load_specs(Path(db.__file__).parent / name)}
    assert len(held_out) >= 32  # 4 + 4 + 8 + 8 + 8 built, and those the lists turned down
    for path, least in ((REGRESSION_PATH, 400), (REGRESSION_COVERAGE_PATH, 200)):
        trained = json.loads(path.read_text())["trained"]
        assert trained["cases"] >= least and len(trained["repositories"]) >= 25  # models/DATA.md
        assert not held_out & set(trained["repositories"])


def test_a_committed_test_that_passed_at_its_last_change_is_ranked_by_the_fusion(git_repo) -> None:
    test_change, rewrite, culprit = _regression_history(git_repo)
    trace = _pytest_output(git_repo.root)
    repo = GitRepo(git_repo.root)
    weighted = ranked(repo, trace)
    assert [s.commit.hash for s in weighted.suspects][0] == rewrite  # the larger change wins on code and words
    assert REGRESSION_NOTE not in weighted.notes
    fused = ranked(repo, trace, regression=load_regression_fusion())
    order = [s.commit.hash for s in fused.suspects]
    assert order[0] == culprit, order  # the newer, smaller change: what a regression after the test looks like
    assert fused.notes[-1] == REGRESSION_NOTE and len(fused.notes) == 2  # and where since_test drew its line
    assert test_change[:10] in fused.notes[0]
    assert fused.features == weighted.features  # the same evidence and features: only the order differs
    assert sorted(order) == sorted(s.commit.hash for s in weighted.suspects)


def test_the_pure_python_scores_are_the_models_own(git_repo) -> None:
    """regression_score builds each column in plain Python; the model's numpy predict over the same
    columns, built independently from the explained features, gives the same scores."""
    _regression_history(git_repo)
    repo = GitRepo(git_repo.root)
    model = load_regression()
    result = ranked(repo, _pytest_output(git_repo.root), regression=load_regression_fusion())
    rows = result.features  # hash -> features and context (--explain)
    weights = Weights()
    summed = {h: sum(weights.of(k) * v for k, v in row.items() if k in Weights.__dataclass_fields__)
              for h, row in rows.items()}
    order = sorted(rows, key=lambda h: (-summed[h], rows[h]["position"]))
    n = len(rows)
    derived = {h: {"score": summed[h], "log_score_rank": np.log1p(order.index(h) + 1),
                   "score_gap": summed[h] - summed[order[0]], "log_back": np.log1p(round(rows[h]["position"] * n)),
                   "recency_x_score": rows[h]["recency"] * summed[h]} for h in rows}
    X = np.array([[{**rows[h], **derived[h]}.get(c, 0.0) for c in model.columns] for h in rows])
    expected = dict(zip(rows, model.predict(X)))
    shown = {s.commit.hash: s.score for s in result.suspects}
    assert max(abs(shown[h] - expected[h]) for h in rows) < 1e-4  # explain rounds features to 6 places
    assert [s.commit.hash for s in result.suspects] == sorted(rows, key=lambda h: (-expected[h], rows[h]["position"]))


def test_with_coverage_the_model_that_reads_the_executed_feature_ranks(git_repo) -> None:
    """The culprit's changed line ran in the failing test (a coverage report's lines): the model for
    runs with coverage ranks, and the executed feature counts in it."""
    test_change, rewrite, culprit = _regression_history(git_repo)
    repo = GitRepo(git_repo.root)
    trace = _pytest_output(git_repo.root)
    ran = {"calendar_.py": set(range(1, 20))}
    fused = ranked(repo, trace, regression=load_regression_fusion(), executed=ran)
    assert REGRESSION_NOTE in fused.notes
    assert [s.commit.hash for s in fused.suspects][0] == culprit
    assert fused.features[culprit]["executed"] > 0
    plain = ranked(repo, trace, executed=ran)
    assert REGRESSION_NOTE not in plain.notes
    assert [s.commit.hash for s in plain.suspects] != [s.commit.hash for s in fused.suspects]


def test_the_weighted_sum_ranks_where_the_regime_does_not_hold(git_repo) -> None:
    first, test_change, culprit = _history(git_repo)
    repo = GitRepo(git_repo.root)
    trace = _pytest_output(git_repo.root)
    model = load_regression_fusion()

    def same(**options) -> None:
        with_model = ranked(repo, trace, regression=model, **options)
        without = ranked(repo, trace, **options)
        assert REGRESSION_NOTE not in with_model.notes
        assert [s.commit.hash for s in with_model.suspects] == [s.commit.hash for s in without.suspects]
        assert [s.score for s in with_model.suspects] == [s.score for s in without.suspects]

    same(since=first)  # a range the user bounded: no line drawn
    same(weights=Weights(since_test=0.0))  # the line not counted
    git_repo.write("tests/test_calendar.py", TEST_FEBRUARY + "    assert days(4) == 30\n")  # a test being written
    same()


def test_a_repositorys_tuned_fusion_comes_before_the_shipped_one(git_repo) -> None:
    from rca_lsp.suspects.learned import COLUMNS

    _regression_history(git_repo)
    repo = GitRepo(git_repo.root)
    trace = _pytest_output(git_repo.root)
    n = len(COLUMNS)
    oldest_first = LinearModel("tuned-1", tuple(str(c) for c in COLUMNS), (0.0,) * n, (1.0,) * n,
                               tuple(1.0 if c == "position" else 0.0 for c in COLUMNS))
    result = ranked(repo, trace, fusion=oldest_first, regression=load_regression_fusion())
    assert REGRESSION_NOTE not in result.notes
    positions = [result.features[s.commit.hash]["position"] for s in result.suspects]
    assert positions == sorted(positions, reverse=True)  # the tuned model's order: the oldest first


def test_a_model_file_this_version_cannot_read_is_refused_by_name(tmp_path: Path) -> None:
    columns = ["frame", "code", "recency", "since_test", "executed", "position", "score"]  # a linear model's file
    good = {"kind": "linear", "version": "regression-linear-test", "columns": columns, "mean": [0.0] * len(columns),
            "scale": [1.0] * len(columns), "weights": [1.0] * len(columns), "min_candidates": 10}
    assert isinstance(load_regression(_written(tmp_path / "good.json", good)), LinearModel)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**good, "columns": [*good["columns"][:-1], "phase_of_the_moon"]}))
    with pytest.raises(ModelError, match="phase_of_the_moon"):
        load_regression(unknown)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({**good, "weights": good["weights"][:-1]}))
    with pytest.raises(ModelError, match="different lengths"):
        load_regression(short)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ModelError, match="broken.json"):
        load_regression(broken)
    zero = LinearModel("z", ("recency",), (0.0,), (0.0,), (1.0,))
    with pytest.raises(ModelError, match="scale"):
        check_regression(zero)
    assert isinstance(load(REGRESSION_COVERAGE_PATH), TreeModel) and isinstance(load(REGRESSION_PATH), TreeModel)


def _written(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_the_cli_ranks_by_the_fusion_and_says_so_unless_told_not_to(git_repo) -> None:
    _, rewrite, culprit = _regression_history(git_repo)
    trace = git_repo.root.parent / "failure.txt"
    trace.write_text(_pytest_output(git_repo.root))

    def rca(*extra: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--repo", str(git_repo.root),
                               "--trace", str(trace), "--format", "json", *extra],
                              capture_output=True, text=True, check=True)
        return json.loads(proc.stdout)

    fused = rca()
    assert fused["suspects"][0]["commit"] == culprit and REGRESSION_NOTE in fused["notes"]
    plain = rca("--no-fusion")
    assert plain["suspects"][0]["commit"] == rewrite and REGRESSION_NOTE not in plain["notes"]
    assert len(plain["notes"]) == 1  # where since_test drew its line is still said


@pytest.mark.asyncio(loop_scope="function")
async def test_the_editor_setting_turns_the_fusion_off(git_repo) -> None:
    """`rca.fusion: false` in the language server: retrieval's weights alone, as `--no-fusion`."""
    from lsp_helpers import command, session

    _, rewrite, culprit = _regression_history(git_repo)
    text = _pytest_output(git_repo.root)
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(git_repo.root), "-q"], check=True)
    async with session([git_repo.root]) as (client, _):
        fused = await command(client, "rca.suspects", {"text": text})
    async with session([git_repo.root], options={"fusion": False}) as (client, _):
        plain = await command(client, "rca.suspects", {"text": text})
        assert not any("is not valid" in m.message for m in client.messages)
    assert fused["suspects"][0]["commit"] == culprit and REGRESSION_NOTE in fused["notes"]
    assert plain["suspects"][0]["commit"] == rewrite and REGRESSION_NOTE not in plain["notes"]


def test_a_label_records_that_the_fusion_ranked_what_the_user_saw(git_repo) -> None:
    from rca_lsp import service

    _, _, culprit = _regression_history(git_repo)
    label = service.record_label(GitRepo(git_repo.root), _pytest_output(git_repo.root), culprit, "editor").label
    assert label.ranker == load_regression().version and label.rank == 1


def _tree_fusion(tmp_path: Path, rows: np.ndarray, columns: tuple[str, ...]):
    """A real LightGBM lambdarank over `columns` (groups of 20 rows, the first row of each relevant
    when its first two columns sum high), written and read back as the tool reads a model file."""
    lgb = pytest.importorskip("lightgbm")
    from rca_lsp.suspects.learned import from_lightgbm

    y = (rows[:, 0] + rows[:, 1] > np.quantile(rows[:, 0] + rows[:, 1], 0.8)).astype(float)
    booster = lgb.train({"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "seed": 1},
                        lgb.Dataset(rows, y, group=[20] * (len(rows) // 20), feature_name=list(columns)),
                        num_boost_round=30)
    path = tmp_path / "trees.json"
    path.write_text(json.dumps({**from_lightgbm(booster.dump_model(), "regression-trees-test"), "min_candidates": 10}))
    return booster, load_regression(path), path


def test_a_tree_fusion_ranks_in_plain_python_as_lightgbm_scores(git_repo, tmp_path: Path) -> None:
    """A tree model as the fusion for regressions (it may read log_back and recency_x_score too):
    the plain-Python walk gives LightGBM's own predictions, and the ranking of a real failure follows
    LightGBM's scores over the columns built independently from the explained features."""
    from rca_lsp.suspects.learned import SHAPE, RegressionFusion, TreeModel, _tree_scores

    _regression_history(git_repo)
    columns = ("recency", "code", "words", "file", "score", "log_score_rank", *SHAPE)
    rng = np.random.default_rng(3)
    scale = np.array([1, 1, 1, 1, 3, 6, 6, 3])  # about the ranges of the real columns
    booster, model, _ = _tree_fusion(tmp_path, rng.uniform(0, 1, size=(600, len(columns))) * scale, columns)
    assert isinstance(model, TreeModel) and model.min_candidates == 10 and model.columns == columns
    probe = rng.uniform(0, 1, size=(200, len(columns))) * scale
    assert np.allclose([model.score_row(list(x)) for x in probe], booster.predict(probe), atol=1e-9)
    rows = [list(x) for x in probe]  # numpy's walk (where installed) and plain Python's: the same floats
    assert _tree_scores(model, rows) == _tree_scores(model, rows, vectorised=False)
    result = ranked(GitRepo(git_repo.root), _pytest_output(git_repo.root),
                    regression=RegressionFusion(model, load_regression(REGRESSION_COVERAGE_PATH)))
    assert REGRESSION_NOTE in result.notes
    rows = result.features
    weights = Weights()
    summed = {h: sum(weights.of(k) * v for k, v in row.items() if k in Weights.__dataclass_fields__)
              for h, row in rows.items()}
    order = sorted(rows, key=lambda h: (-summed[h], rows[h]["position"]))
    n = len(rows)
    built = {h: {**rows[h], "score": summed[h], "log_score_rank": np.log1p(order.index(h) + 1),
                 "log_back": np.log1p(round(rows[h]["position"] * n)), "recency_x_score": rows[h]["recency"] * summed[h]}
             for h in rows}
    expected = dict(zip(rows, booster.predict(np.array([[built[h].get(c, 0.0) for c in columns] for h in rows]))))
    shown = {s.commit.hash: s.score for s in result.suspects}
    assert max(abs(shown[h] - expected[h]) for h in rows) < 1e-3  # explain rounds features to 6 places
    assert len(set(np.round(list(expected.values()), 6))) > 5  # the trees tell the commits apart


def test_a_tree_file_that_does_not_hold_together_is_refused(tmp_path: Path) -> None:
    from rca_lsp.suspects.learned import SHAPE

    columns = ("recency", "score", *SHAPE)
    _, _, path = _tree_fusion(tmp_path, np.random.default_rng(4).uniform(0, 4, size=(400, 4)), columns)
    good = json.loads(path.read_text())
    tree = good["trees"][0]
    assert len(tree["feature"]) >= 2
    cases = {"points back": {**tree, "right": [0, *tree["right"][1:]]},
             "short": {**tree, "leaf": tree["leaf"][:-1]},
             "outside": {**tree, "feature": [len(columns), *tree["feature"][1:]]}}
    for name, broken in cases.items():
        bad = tmp_path / f"{name}.json"
        bad.write_text(json.dumps({**good, "trees": [broken, *good["trees"][1:]]}))
        with pytest.raises(ModelError, match="tree 0"):
            load_regression(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**good, "columns": [*columns[:-1], "phase_of_the_moon"]}))
    with pytest.raises(ModelError, match="phase_of_the_moon"):
        load_regression(unknown)


@pytest.mark.asyncio(loop_scope="function")
async def test_the_editors_coverage_setting_ranks_as_the_cli_with_that_report(git_repo) -> None:
    """`rca.coverage` in the language server: the failing test's real coverage.py report, read at each
    ranking as `rca suspects --coverage` reads it (the same suspects in the same order, the model for
    runs with coverage); a report that is missing is said, and the ranking runs without it."""
    from lsp_helpers import command, session
    from test_coverage_reports import _covered

    _regression_history(git_repo)
    root = git_repo.root
    text = _covered(root, root.parent / "coverage.json")  # the test fails under coverage too
    assert "FAILED tests/test_calendar.py::test_days" in text
    shutil.copy(root.parent / "coverage.json", root / "coverage.json")  # where the setting names it
    trace = root.parent / "failure.txt"
    trace.write_text(text)

    def cli(*extra: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--repo", str(root), "--trace", str(trace),
                               "--format", "json", "--top", "20", *extra], capture_output=True, text=True, check=True)
        return [s["commit"] for s in json.loads(proc.stdout)["suspects"]]

    covered, plain = cli("--coverage", str(root / "coverage.json")), cli()
    assert covered != plain  # the report moves the ranking
    async with session([root], options={"coverage": "coverage.json"}) as (client, _):
        answer = await command(client, "rca.suspects", {"text": text})
    assert [s["commit"] for s in answer["suspects"]] == covered
    assert any(e["kind"] == "executed" for s in answer["suspects"] for e in s["evidence"])
    assert not any("without coverage" in w for w in answer["warnings"])
    async with session([root], options={"coverage": "missing.json"}) as (client, _):
        missing = await command(client, "rca.suspects", {"text": text})
    assert [s["commit"] for s in missing["suspects"]] == plain
    assert f"coverage report {root / 'missing.json'} does not exist or is not a file; ranked without coverage" \
        in missing["warnings"]
    async with session([root], options={"coverage": ""}) as (client, _):
        await command(client, "rca.suspects", {"text": text})
        assert any('rca setting coverage: "" is not valid' in m.message for m in client.messages)

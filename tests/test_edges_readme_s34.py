"""What a new user following README.md ran into (the thirty-fourth sitting), on real repositories
and real CLI processes:

- `rca model stats` only counts: it runs where numpy cannot be imported; `tune` and `eval`, which
  fit and score with numpy, say so in one line (exit 6) instead of an internal error, and numpy is a
  base dependency.
- pytest's collection error (a test module that fails to import; no test ran) is ranked with a
  warning that says so and names the module.
- `rca model eval` finds the shipped fusion for regressions (rca_lsp/suspects/fusion/) and scores it
  as `rca suspects` applies it.
- `--explain`: every feature in the JSON, zeros included; in text, a `features:` line per suspect.
- `rca suspects --help` names the option the trace comes from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from _hg import HgRepoBuilder, hg_env, needs_hg
from conftest import GitRepoBuilder
from test_labels import _labelled, _synthetic, _write
from test_regression_fusion import _regression_history
from test_test_change import _pytest_output

from rca_lsp.kinds import CONTEXT, SCORED
from tests.test_cli import _history, rca

ROOT = Path(__file__).resolve().parents[1]

# a real rca process in which `import numpy` fails, as on an install without it
WITHOUT_NUMPY = ("import sys\nsys.modules['numpy'] = None\nfrom rca_lsp.cli import run\n"
                 "sys.exit(run(sys.argv[1:]))\n")


def rca_without_numpy(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_NUMPY, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


# --- 1. numpy -------------------------------------------------------------------------------------

def test_model_stats_runs_where_numpy_cannot_be_imported(git_repo, tmp_path):
    _labelled(git_repo)
    root = str(git_repo.root)
    imported = tmp_path / "imported.jsonl"
    _write(imported, _synthetic(3, 8, "size"))  # no retrieval_rank: stats ranks them from their features
    assert rca("labels", "import", str(imported), "--repo", root).returncode == 0
    without = rca_without_numpy("model", "stats", "--repo", root)
    assert without.returncode == 0 and "internal error" not in without.stderr, without.stderr
    assert without.stdout == rca("model", "stats", "--repo", root).stdout
    # retrieval's ranks of the imported labels, as the numpy fit computes them
    from rca_lsp.labels.fit import case_of, retrieval_ranks

    ranks = retrieval_ranks([case_of([tuple(r) for r in lb["candidates"]], lb["culprit"])
                             for lb in _synthetic(3, 8, "size")])
    row = next(ln for ln in without.stdout.splitlines() if ln.startswith("2023-11")).split()
    assert row[1] == "3" and row[4:] == [f"{sum(r == 1 for r in ranks) / 3 * 100:.1f}%",
                                         f"{sum(r is not None and r <= 5 for r in ranks) / 3 * 100:.1f}%"], row


def test_tune_and_eval_without_numpy_say_what_is_missing_in_one_line(git_repo, tmp_path):
    _labelled(git_repo)
    root = str(git_repo.root)
    for command in ("tune", "eval"):
        proc = rca_without_numpy("model", command, "--repo", root)
        assert proc.returncode == 6, proc.stderr
        assert proc.stderr.count("\n") == 1 and "internal error" not in proc.stderr, proc.stderr
        assert f"rca model {command} needs numpy" in proc.stderr and "pip install" in proc.stderr


def test_numpy_is_a_base_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.replace(" ", "").startswith("numpy>=1.24") for d in project["dependencies"])


# --- 3. a pytest collection error --------------------------------------------------------------

OPS = "def add(a, b):\n    return a + b\n"
TEST_OPS = "from ops.core import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def _collection_error(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env |= {"PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Interrupted: 2 errors during collection" in out, out  # pytest's own
    assert "ERROR collecting tests/test_ops.py" in out and "ImportError while importing test module" in out
    return out


def test_a_collection_error_is_ranked_with_a_warning_naming_the_module(tmp_path):
    repo = GitRepoBuilder(tmp_path / "repo")
    repo.commit("Add ops", {"ops/__init__.py": "", "ops/core.py": OPS, "tests/test_ops.py": TEST_OPS})
    repo.commit("Rename add to plus", {"ops/core.py": OPS.replace("def add", "def plus")})
    repo.commit("Use the extras", {"tests/test_extra.py": "import ops_extras\n"})
    output = _collection_error(repo.root)
    proc = rca("suspects", "--trace", "-", "--format", "json", cwd=repo.root, input=output)
    assert proc.returncode == 0, proc.stderr
    [warning] = json.loads(proc.stdout)["warnings"]
    assert warning.startswith("pytest's output is a collection error, not a test failure: the tests did not run")
    # no test ran, so no coverage report of the failing test would tell more: that hint is not given
    assert not any("coverage" in hint for hint in json.loads(proc.stdout)["hints"]), json.loads(proc.stdout)["hints"]
    assert "the trace is of the import" in warning and "\n" not in warning
    assert "tests/test_ops.py (ImportError: cannot import name 'add' from 'ops.core'" in warning
    assert "tests/test_extra.py (ModuleNotFoundError: No module named 'ops_extras')" in warning
    text = rca("suspects", "--trace", "-", cwd=repo.root, input=output)
    assert text.returncode == 0 and warning in text.stderr and text.stdout.startswith("#1 ")


def test_a_failing_test_has_no_collection_warning(git_repo):
    _history(git_repo)
    proc = rca("suspects", "--repo", str(git_repo.root), "--trace", "crash.txt", "--format", "json",
               cwd=git_repo.root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["warnings"] == [], proc.stderr


# --- 5. the shipped fusion in `rca model eval` ---------------------------------------------------

def _rows(stdout: str) -> dict[str, list[str]]:
    """`rca model eval`'s rows on the labels: system -> n, top-1, top-5, MRR."""
    return {ln[11:51].strip(): ln[51:].split() for ln in stdout.splitlines() if ln.startswith("labels ")}


def test_eval_scores_the_shipped_fusion_for_regressions_as_suspects_applies_it(git_repo, tmp_path):
    _, rewrite, culprit = _regression_history(git_repo)
    root = str(git_repo.root)
    trace = tmp_path / "failure.txt"
    trace.write_text(_pytest_output(git_repo.root))
    assert rca("failures", "add", "--repo", root, "--trace", str(trace)).returncode == 0
    proc = rca("failures", "resolve", "1", "--repo", root, "--culprit", culprit)
    assert proc.returncode == 0, proc.stderr
    proc = rca("model", "eval", "--repo", root)
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    # retrieval's linear order puts the older rewrite first; the fusion, as `rca suspects` ranked it, the culprit
    assert rows["retrieval (linear, shipped weights)"][:2] == ["1", "0.0"], proc.stdout
    assert rows["shipped fusion for regressions"] == ["1", "100.0", "100.0", "1.000"], proc.stdout
    assert "shipped fusion for regressions vs retrieval: top-1 1 won / 0 lost" in proc.stdout
    # the whole order it scores from the stored label is the one `rca suspects` shows
    from rca_lsp.labels.evaluate import ShippedRegression
    from rca_lsp.labels.store import listing
    from rca_lsp.suspects.learned import load_regression_fusion

    [label] = listing(str(git_repo.root / ".git"))
    rows = dict(label.candidates)
    scores = ShippedRegression(load_regression_fusion()).scores(list(rows.values()))
    order = [h for _, h in sorted(zip(scores, rows), key=lambda item: (-item[0], rows[item[1]]["position"]))]
    shown = rca("suspects", "--repo", root, "--trace", str(trace), "--format", "json", "--top", "0")
    assert order == [s["commit"] for s in json.loads(shown.stdout)["suspects"]] and len(order) == label.total


def test_eval_lists_the_shipped_fusion_on_labels_outside_its_regime(git_repo):
    _labelled(git_repo)  # four commits: too short a history for the fusion, so the weighted sum ranks
    proc = rca("model", "eval", "--repo", str(git_repo.root))
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    assert set(rows) == {"retrieval (linear, shipped weights)", "shipped fusion for regressions"}, proc.stdout
    assert rows["shipped fusion for regressions"] == rows["retrieval (linear, shipped weights)"]


# --- 6. --explain -----------------------------------------------------------------------------------

def test_explain_gives_every_feature_in_json_and_a_features_line_in_text(git_repo):
    shas = _history(git_repo)
    root = str(git_repo.root)
    proc = rca("suspects", "--repo", root, "--trace", "crash.txt", "--format", "json", "--explain", cwd=root)
    assert proc.returncode == 0, proc.stderr
    suspects = json.loads(proc.stdout)["suspects"]
    every = [str(f) for f in SCORED + CONTEXT]
    for s in suspects:
        assert list(s["features"]) == every, s["features"]
    readme = next(s for s in suspects if s["commit"] == shas["readme"])
    assert readme["features"]["frame"] == 0 and readme["features"]["since_test"] == 0
    text = rca("suspects", "--repo", root, "--trace", "crash.txt", "--explain", cwd=root)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    culprit = next(i for i, ln in enumerate(lines) if ln.startswith("#") and shas["culprit"][:10] in ln)
    shown = next(ln for ln in lines[culprit + 1:] if ln.strip().startswith("features:"))
    assert "frame " in shown and "code " in shown and "recency " in shown, shown
    plain = rca("suspects", "--repo", root, "--trace", "crash.txt", cwd=root)
    assert "features:" not in plain.stdout


# --- 7. install hints for a checkout ---------------------------------------------------------------

CHECKOUT = "in rca-lsp's checkout (or 'rca-lsp[{}]')"


def test_a_missing_model_names_the_checkout_install_of_the_export_extra(git_repo, tmp_path):
    _history(git_repo)
    env = {**os.environ, "RCA_MODEL_DIR": str(tmp_path / "models")}
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "crash.txt", "--ranker", "llm"],
                          cwd=git_repo.root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 6 and proc.stderr.count("\n") == 1, proc.stderr
    assert "needs the export extra: pip install -e '.[export]' " + CHECKOUT.format("export") in proc.stderr


@needs_hg
def test_mercurial_without_hglib_names_the_checkout_install_of_the_hg_extra(tmp_path):
    repo = HgRepoBuilder(tmp_path / "hgrepo")
    repo.write("a.py", "x = 1\n")
    repo.hg("add", "a.py")
    repo.hg("commit", "-m", "Add a", "-d", "1600000000 0")
    blocked = "import sys\nsys.modules['hglib'] = None\n" + WITHOUT_NUMPY.split("\n", 2)[2]
    proc = subprocess.run([sys.executable, "-c", blocked, "index", "--repo", str(repo.root)], env=hg_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1, proc.stderr
    assert "(hint: pip install -e '.[hg]' " + CHECKOUT.format("hg") in proc.stderr


# --- 9. the help ---------------------------------------------------------------------------------

def test_suspects_help_names_the_trace_option():
    proc = rca("suspects", "--help")
    assert proc.returncode == 0
    first = " ".join(proc.stdout.split("Options:")[0].split())
    assert "in TRACE" not in first and "--trace" in first, first

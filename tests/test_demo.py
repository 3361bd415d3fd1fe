"""The demo end to end: a real repository with a regression in its history, the real
pytest failing on it, and the real `rca` CLI (as a subprocess) ranking its commits.

scripts/demo_repo.py builds `datespan` (40 commits, four authors, two merges, a rename);
commit 30, "Speed up month_span with a table of month lengths", breaks century leap
years, and an uncommitted test, tests/test_leap_years.py, catches it.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "demo_repo.py"
_spec = importlib.util.spec_from_file_location("demo_repo", _PATH)
assert _spec and _spec.loader
demo_repo = importlib.util.module_from_spec(_spec)
sys.modules["demo_repo"] = demo_repo
_spec.loader.exec_module(demo_repo)

HEX40 = re.compile(r"[0-9a-f]{40}")
ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, encoding="utf-8", errors="replace", timeout=timeout)


def _git(repo: Path, *args: str) -> str:
    out = _run(["git", *args], repo)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd)


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("demo")
    info = demo_repo.build(base / "datespan")
    repo = Path(info["repo"])
    run = _pytest(repo, "-x", "-q", info["test"])
    failure = base / "failure.txt"
    failure.write_text(run.stdout + run.stderr)
    return {**info, "repo": repo, "base": base, "pytest": run, "failure": failure}


@pytest.fixture(scope="module")
def ranking(case) -> dict:
    repo = case["repo"]
    index = _run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(repo)], repo)
    assert index.returncode == 0, f"rca index failed ({index.returncode}): {index.stderr}"
    out = _run([sys.executable, "-m", "rca_lsp", "suspects", "--repo", str(repo), "--trace", str(case["failure"]),
                "--format", "json", "--top", "0"], repo)
    assert out.returncode == 0, f"rca suspects failed ({out.returncode}): {out.stderr}"
    return json.loads(out.stdout)


# -- the demo repository -------------------------------------------------------------------------

def test_history_looks_like_a_real_project(case) -> None:
    repo = case["repo"]
    assert int(_git(repo, "rev-list", "--count", "HEAD")) == case["commits"] == 40
    assert len(set(_git(repo, "log", "--format=%an").split("\n")) - {""}) >= 3
    assert len(_git(repo, "rev-list", "--merges", "HEAD").split()) == 2
    renames = _git(repo, "log", "--format=", "--name-status", "-M", "--diff-filter=R")
    assert "datespan/ranges.py\tdatespan/periods.py" in renames
    dates = _git(repo, "log", "--format=%at").split()
    assert int(dates[0]) - int(dates[-1]) > 150 * 86400  # spread over months
    assert _git(repo, "status", "--porcelain").splitlines() == [f"?? {case['test']}"]
    # The culprit is in the middle-late part of the history, and not the newest commit.
    assert 25 <= int(_git(repo, "rev-list", "--count", case["culprit"])) <= 35
    assert case["culprit"] != _git(repo, "rev-parse", "HEAD").strip()


def test_build_is_deterministic_and_refuses_a_non_empty_directory(case, tmp_path) -> None:
    again = demo_repo.build(tmp_path / "again")
    assert again["culprit"] == case["culprit"]
    assert _git(Path(again["repo"]), "rev-parse", "HEAD") == _git(case["repo"], "rev-parse", "HEAD")
    with pytest.raises(FileExistsError):
        demo_repo.build(case["repo"])


def test_committed_tests_pass_at_head(case) -> None:
    run = _pytest(case["repo"], "-q", "--ignore", case["test"])
    assert run.returncode == 0, run.stdout[-3000:]


def test_new_test_passes_just_before_the_culprit(case) -> None:
    repo, parent = case["repo"], case["culprit"] + "^"
    tree = case["base"] / "before-culprit"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", parent], cwd=repo, env=_env(),
                             stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tree, filter="data")
        else:
            tar.extractall(tree)
    shutil.copy(repo / case["test"], tree / case["test"])
    run = _pytest(tree, "-q", case["test"])
    assert run.returncode == 0, run.stdout[-3000:]


def test_new_test_fails_in_the_culprits_function(case) -> None:
    run, repo = case["pytest"], case["repo"]
    assert run.returncode == 1, run.stdout[-3000:]
    assert "ValueError: day is out of range for month" in run.stdout
    # The raising frame: pytest ends the innermost section with "path:line: ExceptionType".
    m = re.search(r"^(datespan/[\w/]+\.py):(\d+): ValueError$", run.stdout, re.M)
    assert m, run.stdout[-3000:]
    path, line = m[1], int(m[2])
    assert path == case["path"]
    tree = ast.parse((repo / path).read_text())
    functions = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.lineno <= line <= n.end_lineno]
    assert functions == [case["function"]]
    blame = _git(repo, "blame", "--porcelain", "-L", f"{line},{line}", "HEAD", "--", path)
    assert blame.split()[0] == case["culprit"]


# -- rca on it ------------------------------------------------------------------------------------

def test_suspects_json_contract(case, ranking) -> None:
    assert {"suspects", "candidates", "timings"} <= set(ranking)
    assert ranking["candidates"] == int(_git(case["repo"], "rev-list", "--count", "HEAD"))
    assert isinstance(ranking["timings"], dict)
    assert all(isinstance(v, (int, float)) for v in ranking["timings"].values())
    suspects = ranking["suspects"]
    assert 0 < len(suspects) <= ranking["candidates"]
    for s in suspects:
        assert HEX40.fullmatch(s["commit"]), s
        assert isinstance(s["score"], float), s
        assert isinstance(s["summary"], str) and s["summary"], s
        assert isinstance(s["author"], str) and s["author"], s
        assert ISO_8601.fullmatch(s["date"]), s
        datetime.fromisoformat(s["date"].replace("Z", "+00:00"))
        assert isinstance(s["evidence"], list), s
    assert len({s["commit"] for s in suspects}) == len(suspects)
    scores = [s["score"] for s in suspects]
    assert scores == sorted(scores, reverse=True)


def test_culprit_is_ranked_in_the_top_3(case, ranking) -> None:
    ranked = [s["commit"] for s in ranking["suspects"]]
    assert case["culprit"] in ranked, "the culprit is not among the suspects"
    rank = ranked.index(case["culprit"]) + 1
    assert rank <= 3, f"the culprit {case['culprit'][:10]} is ranked #{rank}; top 3: " + "; ".join(
        s["summary"] for s in ranking["suspects"][:3])

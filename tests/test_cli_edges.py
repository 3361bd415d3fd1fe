"""Edges of the command line on real repositories and real pytest output (issue #12, items 4 and 5):
parametrised and sub-test names, traces from another project, failure titles, an empty `--since`
range, a folder that is no repository, a negative `--top`, and the demo's line that README names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _hg import HgRepoBuilder, needs_hg
from conftest import GitRepoBuilder

ROOT = Path(__file__).resolve().parents[1]
FROM_ELSEWHERE = "no frame of the trace is in this repository (is it from another project?)"

CORE = '''\
def split_at(text, separator):
    """Split text on each separator."""
    return text.split(separator)
'''
CORE_BROKEN = CORE.replace("text.split(separator)", "text.split(separator + 'x')")
TESTS = '''\
import unittest

import pytest

from splitter.core import split_at


class SplitAtTests(unittest.TestCase):
    def test_basic(self):
        for text, separator in [("a,bb,ccc,dddd", ","), ("ab", "b")]:
            with self.subTest(iterable=text, separator=separator):
                self.assertEqual(split_at(text, separator), text.split(separator))


@pytest.mark.parametrize("case", ["a/b-1.5", "x[0]"])
def test_x(case):
    assert split_at(case + ",z", ",") == [case, "z"]


def test_sub(subtests):
    for i in range(2):
        with subtests.test(msg="custom", i=i):
            assert split_at("a,b", ",") == ["a", "b"]
'''


def rca(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=300)


def run_pytest(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ among the work tree's untracked files
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # tests failed; pytest itself did not
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def splitter(tmp_path_factory) -> dict:
    """A library whose third commit broke split_at, its (committed) tests and their real output.
    Shared by the tests of this module, which only read it (and add failures in one test)."""
    git_repo = GitRepoBuilder(tmp_path_factory.mktemp("splitter") / "repo")
    shas = {"core": git_repo.commit("Add split_at", {"splitter/__init__.py": "", "splitter/core.py": CORE,
                                                     "tests/test_split.py": TESTS}, author="Alice")}
    shas["readme"] = git_repo.commit("Add README", {"README.md": "splitter\n"}, author="Bob")
    shas["culprit"] = git_repo.commit("Mark separators", {"splitter/core.py": CORE_BROKEN}, author="Carol")
    shas["docs"] = git_repo.commit("Docs", {"README.md": "splitter: split text\n"}, author="Bob")
    out = git_repo.root.parent / "out"
    out.mkdir()
    for name, node in (("subtest", "tests/test_split.py::SplitAtTests::test_basic"),
                       ("param", "tests/test_split.py::test_x"), ("subtests", "tests/test_split.py::test_sub")):
        (out / f"{name}.txt").write_text(run_pytest(git_repo.root, node))
    return {"repo": git_repo, "shas": shas, "out": out}


def _ranked(repo: Path, trace: Path) -> tuple[dict, str]:
    proc = rca("suspects", "--trace", str(trace), "--format", "json", "--top", "0", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("case, label", [("subtest", "SplitAtTests.test_basic"), ("param", "test_x"),
                                         ("subtests", "test_sub")])
def test_a_case_of_a_test_finds_what_its_test_calls(splitter, case, label):
    doc, _ = _ranked(splitter["repo"].root, splitter["out"] / f"{case}.txt")
    by_commit = {s["commit"]: [e["text"] for e in s["evidence"]] for s in doc["suspects"]}
    wanted = f"which the failing test {label} calls"
    assert any(wanted in text for text in by_commit[splitter["shas"]["culprit"]]), by_commit
    assert not any(wanted in text for text in by_commit[splitter["shas"]["readme"]])
    assert doc["warnings"] == []


def test_a_trace_from_another_project_is_ranked_with_a_warning(splitter, tmp_path):
    other = tmp_path / "other"
    (other / "otherlib").mkdir(parents=True)
    (other / "otherlib" / "__init__.py").write_text("")
    (other / "otherlib" / "parse.py").write_text("def parse(text):\n    return int(text.strip())\n")
    (other / "tests").mkdir()
    (other / "tests" / "test_other.py").write_text(
        "from otherlib.parse import parse\n\n\ndef test_parse():\n    assert parse(' 2x') == 2\n")
    trace = tmp_path / "elsewhere.txt"
    trace.write_text(run_pytest(other, "tests/test_other.py"))
    doc, stderr = _ranked(splitter["repo"].root, trace)
    assert len(doc["suspects"]) == 4 and len(doc["warnings"]) == 1
    assert doc["warnings"][0].startswith(FROM_ELSEWHERE) and "words and recency only" in doc["warnings"][0]
    text = rca("suspects", "--trace", str(trace), cwd=splitter["repo"].root)
    assert text.returncode == 0 and FROM_ELSEWHERE in text.stderr and text.stdout.startswith("#1 ")


def test_failure_titles_are_one_clean_line(splitter):
    root = splitter["repo"].root
    for case in ("param", "subtest"):
        added = rca("failures", "add", "--trace", str(splitter["out"] / f"{case}.txt"), cwd=root)
        assert added.returncode == 0, added.stderr
    listed = rca("failures", "list", "--format", "json", cwd=root)
    titles = [f["title"] for f in json.loads(listed.stdout)]
    assert titles == ["test_x[a/b-1.5]: AssertionError: assert ['a/b-1.5,z'] == ['a/b-1.5', 'z']",
                      "SplitAtTests.test_basic (iterable='a,bb,ccc,dddd', separator=','): "
                      "AssertionError: Lists differ: ['a,bb,ccc,dddd'] != ['a', 'bb', 'ccc', 'dddd']"]
    text = rca("failures", "list", cwd=root).stdout.splitlines()
    assert len(text) == 2 and text[0].startswith("#1 ") and text[0].endswith(titles[0])


def test_an_empty_since_range_is_an_error_that_says_so(splitter):
    root = splitter["repo"].root
    proc = rca("suspects", "--trace", str(splitter["out"] / "param.txt"), "--since", "HEAD", cwd=root)
    assert proc.returncode == 3 and proc.stdout == ""
    assert "rca: error: the range HEAD..HEAD is empty: no commit to rank" in proc.stderr
    narrowed = rca("suspects", "--trace", str(splitter["out"] / "param.txt"), "--since", "HEAD~1",
                   "--format", "json", cwd=root)
    assert narrowed.returncode == 0 and json.loads(narrowed.stdout)["candidates"] == 1


def test_an_empty_since_revision_is_a_usage_error_not_no_bound(splitter):
    """`--since "$GOOD"` with GOOD unset: ranking the whole history instead would hide the mistake."""
    for empty in ("", "  "):
        proc = rca("suspects", "--trace", str(splitter["out"] / "param.txt"), "--since", empty,
                   cwd=splitter["repo"].root)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "Invalid value for '--since': an empty revision" in proc.stderr


def test_no_update_without_an_index_is_an_error_not_no_suspects(tmp_path):
    repo = GitRepoBuilder(tmp_path / "repo")
    repo.commit("Add split_at", {"splitter/__init__.py": "", "splitter/core.py": CORE})
    trace = "Traceback (most recent call last):\n  File \"splitter/core.py\", line 3, in split_at\nValueError: x\n"
    proc = rca("suspects", "--trace", "-", "--no-update", cwd=repo.root, input=trace)
    assert proc.returncode == 4 and proc.stdout == ""
    assert "this repository has no index yet" in proc.stderr and "run `rca index` first" in proc.stderr
    assert rca("index", "-q", cwd=repo.root).returncode == 0
    ranked = rca("suspects", "--trace", "-", "--no-update", "--format", "json", cwd=repo.root, input=trace)
    assert ranked.returncode == 0 and json.loads(ranked.stdout)["candidates"] == 1


@needs_hg
def test_an_empty_since_range_in_mercurial(tmp_path):
    repo = HgRepoBuilder(tmp_path / "hgrepo")
    repo.commit("Add split_at", {"splitter/core.py": CORE})
    repo.commit("Mark separators", {"splitter/core.py": CORE_BROKEN})
    trace = "Traceback (most recent call last):\n  File \"splitter/core.py\", line 3, in split_at\nValueError: x\n"
    proc = rca("suspects", "--trace", "-", "--since", "HEAD", cwd=repo.root, input=trace)
    assert proc.returncode == 3 and "the range HEAD..HEAD is empty: no commit to rank" in proc.stderr


def test_a_folder_that_is_no_repository_names_what_is_supported(tmp_path, git_repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = rca("index", "--repo", str(plain))
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"rca: error: not a git or Mercurial repository (or Sapling): {plain}")
    here = rca("suspects", "--trace", "-", cwd=plain, input="ValueError: x\n")
    assert here.returncode == 3 and f"(or Sapling): {plain}" in here.stderr
    git_repo.commit("first", {"a.txt": "a\n"})
    inside = rca("index", "--repo", str(git_repo.root / ".git"))
    assert inside.returncode == 3 and "not inside a git work tree (a bare repository or a .git folder)" in inside.stderr


def test_a_negative_top_is_a_usage_error_and_zero_means_all(splitter):
    root = splitter["repo"].root
    trace = str(splitter["out"] / "param.txt")
    bad = rca("suspects", "--trace", trace, "--top", "-1", cwd=root)
    assert bad.returncode == 2 and "'--top'" in bad.stderr and bad.stdout == ""
    every = rca("suspects", "--trace", trace, "--top", "0", "--format", "json", cwd=root)
    doc = json.loads(every.stdout)
    assert every.returncode == 0 and len(doc["suspects"]) == doc["candidates"] == 4


@pytest.mark.skipif(shutil.which("rca") is None or shutil.which("bash") is None, reason="the demo runs `rca`")
def test_readme_names_the_demo_line_that_holds_the_rank(tmp_path):
    said = re.search(r"the (last|second-to-last) line[^.]*? says where the real culprit landed",
                     (ROOT / "README.md").read_text())
    assert said, "README no longer says which line of the demo gives the culprit's rank"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.splitlines()[{"last": -1, "second-to-last": -2}[said.group(1)]]
    assert re.fullmatch(r"rca ranked it #\d+ of 40 candidate commits", line), proc.stdout

"""The failure may come from the developer's own uncommitted edit, not from any commit: `rca suspects`
says so where uncommitted code (not tests) touches what the failure points at.

Found trying python-humanize as a new user: an uncommitted one-character edit in `intword` failed 36
tests, and rca ranked three innocent commits with nothing to say about the work tree. Real git,
real pytest output, the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GitRepoBuilder

OPS = '''def mean(xs):
    return sum(xs) / len(xs)


def spread(xs):
    return max(xs) - min(xs)
'''
REPORT = '''from calc.ops import mean


def summary(xs):
    return f"mean {mean(xs)}"
'''
TEST = '''from calc.report import summary


def test_summary():
    assert summary([2, 4]) == "mean 3.0"
'''
WARNING = "uncommitted changes in the work tree touch"


def _repo(root: Path) -> GitRepoBuilder:
    repo = GitRepoBuilder(root)
    repo.commit("calc: mean", {"calc/__init__.py": "", "calc/ops.py": OPS, "README.md": "calc\n"})
    repo.commit("calc: report", {"calc/report.py": REPORT, "tests/test_report.py": TEST})
    for n in range(3):
        repo.commit(f"Docs {n}", {"README.md": f"calc {n}\n"})
    return repo


def _failure(repo: GitRepoBuilder) -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_report.py"],
                          cwd=repo.root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo.root)})
    assert done.returncode == 1, done.stdout  # the edit really breaks the test
    return done.stdout


def _suspects(repo: GitRepoBuilder, failure: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"],
                          cwd=repo.root, input=failure, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) | {"stderr": done.stderr}


def test_an_uncommitted_edit_of_a_function_the_test_reaches_is_named(tmp_path):
    repo = _repo(tmp_path / "calc")
    repo.write("calc/ops.py", OPS.replace("/ len(xs)", "/ (len(xs) + 1)"))
    failure = _failure(repo)
    found = _suspects(repo, failure)
    warning = next(w for w in found["warnings"] if w.startswith(WARNING))  # before: no warning at all
    assert "mean (calc/ops.py), which the failing test test_summary reaches in 2 calls" in warning
    assert "spread" not in warning  # the edit is in mean only
    assert WARNING in found["stderr"]
    repo.git("stash", "-q")  # the same failure text, a clean work tree: the same ranking, no warning
    clean = _suspects(repo, failure)
    assert [s["commit"] for s in clean["suspects"]] == [s["commit"] for s in found["suspects"]]
    assert not [w for w in clean["warnings"] if w.startswith(WARNING)]


def test_an_uncommitted_line_a_frame_stands_on_is_named_first(tmp_path):
    repo = _repo(tmp_path / "calc")
    repo.write("calc/report.py", REPORT.replace('    return f"mean', '    assert xs[0] > 2, "too small"\n    return f"mean'))
    found = _suspects(repo, _failure(repo))
    warning = next(w for w in found["warnings"] if w.startswith(WARNING))
    assert warning.startswith(f"{WARNING} the line of frame ") and "(calc/report.py:5)" in warning
    assert not [h for h in found["hints"] if "coverage" in h]  # the trace does point at code: no coverage hint


def test_a_frame_in_a_new_uncommitted_module_is_named(tmp_path):
    repo = _repo(tmp_path / "calc")
    repo.write("calc/checks.py", "def check(xs):\n    raise ValueError('empty')\n")
    repo.write("calc/report.py", "from calc.checks import check\n" + REPORT.replace(
        '    return f"mean', '    check(xs)\n    return f"mean'))
    warning = next(w for w in _suspects(repo, _failure(repo))["warnings"] if w.startswith(WARNING))
    assert "calc/checks.py, not committed, which holds frame" in warning


def test_uncommitted_tests_and_unreached_code_say_nothing(tmp_path):
    repo = _repo(tmp_path / "calc")
    repo.commit("ops: break mean", {"calc/ops.py": OPS.replace("/ len(xs)", "/ (len(xs) + 1)")})
    repo.write("tests/test_report.py", TEST + "\n\ndef test_more():\n    assert summary([1]) == 'mean 1.0'\n")
    repo.write("calc/ops.py", OPS.replace("/ len(xs)", "/ (len(xs) + 1)").replace("max(xs) - min(xs)", "max(xs) - min(xs) + 0"))
    found = _suspects(repo, _failure(repo))  # the new test and an edit of spread, which the test never calls
    assert not [w for w in found["warnings"] if w.startswith(WARNING)]
    assert "ops: break mean" in [s["summary"] for s in found["suspects"][:2]]

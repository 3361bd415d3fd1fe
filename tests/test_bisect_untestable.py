"""`rca bisect` when the test cannot run: an uncommitted test, pytest's "could not test" exit codes,
a command that is not there. Real git and hg repositories, the real pytest, the real CLI.

Issue #12: the test ran in a clean checkout where a new, uncommitted test did not exist, pytest
exited 4 (usage error), that counted as bad, and an innocent commit was "confirmed".
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.bisect.command import parse
from rca_lsp.bisect.overlay import Overlay, WorktreeFile
from rca_lsp.bisect.runner import verdict
from rca_lsp.bisect.search import BAD, GOOD, SKIP
from tests._hg import HgRepoBuilder, hg_env, needs_hg
from tests.test_bisect import CULPRIT_PRICES, PRICES, rca

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
TEST_FILE = "tests/test_prices.py"
FAILING_TEST = '''from decimal import Decimal

from shop.prices import total


def test_thousands_separator():
    assert total(["1,234.50", "2"]) == Decimal("1236.50")
'''
PASSING_TEST = '''from shop.prices import total


def test_small_amounts():
    assert total(["2", "3"]) == 5
'''
NEEDS_MONEY = "from shop.money import CURRENCY\n" + FAILING_TEST  # collection fails before shop/money.py


# -- what a run means: pure ----------------------------------------------------------------------

def test_could_not_test_codes_are_skips_with_a_reason_and_git_bisect_run_codes_stay():
    assert [verdict(c)[0] for c in (0, 1, 2, 3, 4, 5, 124, 125)] == [GOOD, BAD, BAD, BAD, BAD, BAD, BAD, SKIP]
    assert [verdict(c, pytest=True)[0] for c in (0, 1, 2, 3, 4, 5, 6)] == [GOOD, BAD, SKIP, SKIP, SKIP, SKIP, BAD]
    assert verdict(127)[0] == verdict(126, pytest=True)[0] == SKIP
    assert verdict(127) == (SKIP, "exit 127 (command not found)")
    assert verdict(4, pytest=True)[1].startswith("pytest exit 4 (usage error")
    assert verdict(128) == (None, "") and verdict(-1)[0] is None
    assert verdict(5, unittest=True) == (SKIP, "unittest exit 5 (no tests ran)") and verdict(5)[0] == BAD
    assert parse("python3 -m unittest tests.test_x").unittest and not parse("python -m pytest unittest").unittest


@pytest.mark.parametrize("command, is_pytest, paths", [
    ("python -m pytest -x -q tests/test_x.py::test_y", True, ("tests/test_x.py",)),
    ("py.test ./tests/test_x.py::TestA::test_b[1-2] tests", True, ("tests/test_x.py", "tests")),
    ("FOO=1 .venv/bin/pytest-3 -k 'a and b' tests/../tests/test_x.py", True, ("tests/test_x.py",)),
    ("cd tests && make check", False, ("tests",)),
    ("./check.sh --fast", False, ("check.sh",)),
    ("test -e SKIP_ME && exit 125; python -c 'import tests'", False, ()),  # test's file may be missing
    # unittest's dotted label names its module (s36); the absolute and climbing paths name nothing
    ("python -m unittest tests.test_x; python /abs/tests/test_x.py ../tests/test_x.py", False, ("tests/test_x.py",)),
    ("python 'tests/test_x.py' \"unbalanced", False, ("tests/test_x.py",)),
])
def test_the_command_is_read_as_the_shell_splits_it(command, is_pytest, paths):
    known = ["tests/test_x.py", "tests/conftest.py", "check.sh", "SKIP_ME", "src/pytest.py"]
    parsed = parse(command, known)
    assert (parsed.pytest, parsed.paths) == (is_pytest, paths)


def test_laying_in_never_writes_through_a_symlink(tmp_path):
    outside, checkout = tmp_path / "outside", tmp_path / "checkout"
    outside.mkdir()
    checkout.mkdir()
    (checkout / "tests").symlink_to(outside)  # a revision that committed tests as a symlink
    (checkout / "link.py").symlink_to(outside / "victim.py")
    (outside / "victim.py").write_text("keep me\n")
    overlay = Overlay((WorktreeFile("tests/test_x.py", "untracked", b"x = 1\n", 0o644),
                       WorktreeFile("link.py", "modified", b"y = 2\n", 0o755)))
    overlay.lay(checkout)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.py"]
    assert (outside / "victim.py").read_text() == "keep me\n"
    assert (checkout / "link.py").read_bytes() == b"y = 2\n" and os.access(checkout / "link.py", os.X_OK)
    overlay.lift(checkout)
    assert not os.path.lexists(checkout / "link.py") and (outside / "victim.py").exists()


# -- end to end ----------------------------------------------------------------------------------

def history(repo, n: int = 10, culprit_at: int = 6, extra: dict[int, dict[str, str]] | None = None) -> list[str]:
    """A linear history of `n` commits; `culprit_at` breaks parse_amount; `extra` adds files at some commits."""
    shas = []
    for i in range(n):
        files = {"shop/__init__.py": "", "shop/prices.py": PRICES} if i == 0 else {f"shop/tools_{i}.py": f"K = {i}\n"}
        if i == culprit_at:
            files = {"shop/prices.py": CULPRIT_PRICES}
        files.update((extra or {}).get(i, {}))
        shas.append(repo.commit("Read European decimal commas" if i == culprit_at else f"Work item {i}", files))
    return shas


def make_repo(kind: str, tmp_path: Path):
    return HgRepoBuilder(tmp_path / "hgrepo") if kind == "hg" else GitRepoBuilder(tmp_path / "repo")


def bisect(repo, kind: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    if kind == "git":
        return rca("bisect", *args, cwd=repo.root, tmp=tmp)
    env = {**hg_env(), "TMPDIR": str(tmp)}
    return subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", *args], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=300)


def work_tree(repo, kind: str) -> tuple:
    status = repo.git("status", "--porcelain") if kind == "git" else repo.hg("status")
    return status, (repo.root / TEST_FILE).read_bytes()


@pytest.mark.parametrize("kind", ["git", pytest.param("hg", marks=needs_hg)])
@pytest.mark.parametrize("state", ["untracked", "modified"])
def test_an_uncommitted_test_is_laid_into_each_checkout_and_confirms_the_real_culprit(tmp_path, kind, state):
    repo = make_repo(kind, tmp_path)
    shas = history(repo)
    if state == "modified":  # committed in a passing version, changed in the work tree to catch the bug
        shas.append(repo.commit("Tests for total", {TEST_FILE: PASSING_TEST}))
    repo.write(TEST_FILE, FAILING_TEST)
    before = work_tree(repo, kind)
    proc = bisect(repo, kind, tmp_path, "--test", f"{PYTEST} {TEST_FILE}", "--good", shas[1], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["confirmed"] is True, out["runs"]
    assert out["worktree_files"] == [{"path": TEST_FILE, "state": state}]
    assert out["runs"][0]["exit_code"] == 1 and out["skipped"] == []
    assert work_tree(repo, kind) == before
    assert list((tmp_path / "tmp").iterdir()) == []


ASSERTING_TEST = '''from shop.prices import total


def test_thousands():
    assert total(["1,000"]) == 1000
'''


def test_the_ranking_reads_the_uncommitted_test_the_runs_had(tmp_path):
    """The failure is the uncommitted test's own assertion (no frame in the library): the ranking
    follows what that test calls, as `rca suspects` does in the work tree, and does not take the
    failure for another project's."""
    repo = make_repo("git", tmp_path)
    shas = history(repo)
    repo.write(TEST_FILE, ASSERTING_TEST)
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} {TEST_FILE}", "--good", shas[1], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["confirmed"] is True, out["runs"]
    assert out["warnings"] == [] and "another project" not in proc.stderr
    evidence = out["culprit_commit"]["evidence"]
    assert any(e["kind"] == "callee" and e["symbol"] == "parse_amount" for e in evidence), evidence
    assert out["culprit_commit"]["rank"] == 1


def test_the_text_report_says_which_work_tree_files_it_used(tmp_path):
    repo = make_repo("git", tmp_path)
    shas = history(repo)
    repo.write(TEST_FILE, FAILING_TEST)
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} {TEST_FILE}", "--good", shas[1])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"using the work tree's version of {TEST_FILE} (untracked)"
    assert lines[1].startswith(f"culprit: {shas[6][:10]}  Read European decimal commas")
    assert "confirmed: yes" in proc.stdout


@pytest.mark.parametrize("kind", ["git", pytest.param("hg", marks=needs_hg)])
def test_a_collection_error_where_the_code_is_missing_is_a_skip_not_the_culprit(tmp_path, kind):
    # The test, committed at 1, imports shop/money.py, which comes at 5; the bug comes at 6. At 1..4
    # the test cannot even be collected (pytest exit 2). A failure text without a trace gives no
    # ranking, so the search is plain bisection and its first test lands in 1..4; before the fix
    # that "bad" run led to commit 1, "confirmed".
    repo = make_repo(kind, tmp_path)
    money = {"shop/money.py": 'CURRENCY = "EUR"\n'}
    shas = history(repo, n=8, culprit_at=6, extra={1: {TEST_FILE: NEEDS_MONEY}, 5: money})
    failure = tmp_path / "failure.txt"
    failure.write_text("the thousands test fails\n")
    proc = bisect(repo, kind, tmp_path, "--test", f"{PYTEST} {TEST_FILE}", "--good", shas[0], "--trace", str(failure),
                  "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["confirmed"] is True, out["runs"]
    skips = [r for r in out["runs"] if r["result"] == "skip"]
    assert skips and all(r["exit_code"] == 2 and r["reason"].startswith("pytest exit 2 (interrupted") for r in skips)
    assert set(out["skipped"]) <= set(shas[1:5]) and out["worktree_files"] == []


CHECK_SH = "#!/bin/sh\nexit 1\n"


@pytest.mark.parametrize("command, message", [
    (f"{PYTEST} {TEST_FILE} --no-worktree-tests", f"{TEST_FILE} does not exist there"),
    (f"{PYTEST} tests/test_small.py::test_absent", "pytest exit 4 (usage error: file or test not found"),
    (f"{PYTEST} tests/test_small.py -k no_such_test", "pytest exit 5 (no tests collected)"),
    ("no-such-test-runner-h12 tests/test_small.py", "exit 127 (command not found)"),
    ("./check.sh", "exit 126 (the command is not executable)"),
])
def test_a_run_at_bad_that_cannot_test_is_an_error_that_says_why(tmp_path, command, message):
    repo = make_repo("git", tmp_path)
    history(repo, n=4, culprit_at=2)
    repo.commit("Tests", {"tests/test_small.py": PASSING_TEST, "check.sh": CHECK_SH})  # check.sh not executable
    repo.write(TEST_FILE, FAILING_TEST)  # uncommitted: with --no-worktree-tests, not there
    before = work_tree(repo, "git")
    args = ["--no-worktree-tests"] if command.endswith("--no-worktree-tests") else []
    proc = bisect(repo, "git", tmp_path, "--test", command.removesuffix(" --no-worktree-tests"), *args)
    assert proc.returncode == 7, proc.stderr
    assert "the test command could not run at BAD" in proc.stderr and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    assert work_tree(repo, "git") == before
    assert list((tmp_path / "tmp").iterdir()) == []


def test_without_good_a_test_that_exists_only_at_bad_names_the_cause(tmp_path):
    repo = make_repo("git", tmp_path)
    history(repo, n=6, culprit_at=3)
    repo.commit("Test for thousands", {TEST_FILE: FAILING_TEST})  # committed: no work-tree copy to lay in
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} {TEST_FILE}")
    assert proc.returncode == 7, proc.stderr
    assert "no good revision" in proc.stderr and "could not run at 4" in proc.stderr, proc.stderr
    assert f"{TEST_FILE} does not exist at this revision" in proc.stderr


def test_the_demo_confirms_the_real_culprit_with_its_uncommitted_test(tmp_path):
    # scripts/demo_repo.py: 40 commits, the bug in "Speed up month_span ...", and the developer's new
    # test not committed. Before the fix: pytest exit 4 at every ancestor, "no good revision".
    path = Path(__file__).resolve().parents[1] / "scripts" / "demo_repo.py"
    spec = importlib.util.spec_from_file_location("demo_repo_for_bisect", path)
    demo = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = demo
    spec.loader.exec_module(demo)
    info = demo.build(tmp_path / "datespan")
    repo = Path(info["repo"])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = rca("bisect", "--test", f"{PYTEST} -x {info['test']}", "--format", "json", cwd=repo, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == info["culprit"] and out["confirmed"] is True, out["runs"]
    assert out["worktree_files"] == [{"path": info["test"], "state": "untracked"}]
    assert list(tmp.iterdir()) == []


def test_no_good_revision_in_a_shallow_clone_says_the_clone_ends_there(tmp_path):
    """The oldest commit of a shallow clone is no root: more history may hold a good revision."""
    repo = make_repo("git", tmp_path)
    history(repo, n=6, culprit_at=1, extra={0: {TEST_FILE: FAILING_TEST}})  # fails from commit 1 on
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.root}", str(clone)], check=True)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = rca("bisect", "--test", f"{PYTEST} {TEST_FILE}", cwd=clone, tmp=tmp)
    assert proc.returncode == 7, proc.stderr
    assert "down to the oldest commit of this shallow clone" in proc.stderr and "root commit" not in proc.stderr
    assert "git fetch --deepen N, or --unshallow" in proc.stderr


def test_a_named_folders_edited_sources_are_not_laid_in_only_its_tests(tmp_path):
    """`pytest tests shop`: an uncommitted, unrelated edit of shop/prices.py laid into every revision
    would make each one the work tree's (broken) code: every run fails and a wrong culprit is
    "confirmed". The folder's test files are laid in; its sources are each revision's own."""
    repo = make_repo("git", tmp_path)
    shas = history(repo, extra={0: {TEST_FILE: FAILING_TEST}})
    repo.write("shop/prices.py", CULPRIT_PRICES + "\n\ndef unrelated():\n    return 0\n")  # an edit in progress
    repo.write("tests/test_more.py", PASSING_TEST)  # a new test of the named folder: laid in
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} tests shop", "--good", shas[1], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["confirmed"] is True, out["runs"]
    assert out["worktree_files"] == [{"path": "tests/test_more.py", "state": "untracked"}]


def test_a_redirections_target_is_the_runs_output_not_a_file_it_needs(tmp_path):
    repo = make_repo("git", tmp_path)
    shas = history(repo, n=8, extra={0: {TEST_FILE: FAILING_TEST}, 7: {"run.log": "old log\n"}})
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} {TEST_FILE} > run.log 2>&1", "--good", shas[1],
                  "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["confirmed"] is True and out["skipped"] == [], out["runs"]
    assert parse(f"{PYTEST} t.py >> a.log 2> b.log &> c.log < in.txt", ["t.py", "a.log", "b.log", "c.log",
                                                                         "in.txt"]).paths == ("t.py", "in.txt")


def test_a_good_parent_is_run_when_every_run_failed(tmp_path):
    """The culprit just after --good, with every run failing: the --good parent runs (before: it was
    taken as good without a run, which a test that fails everywhere "confirms" too)."""
    repo = make_repo("git", tmp_path)
    shas = history(repo, extra={0: {TEST_FILE: FAILING_TEST}})
    proc = bisect(repo, "git", tmp_path, "--test", f"{PYTEST} {TEST_FILE}", "--good", shas[5], "--format", "json")
    out = json.loads(proc.stdout)
    assert out["culprit"] == shas[6] and out["parents_taken_as_good"] == [], out
    assert [r["result"] for r in out["runs"] if r["commit"] == shas[5]] == ["good"], out["runs"]

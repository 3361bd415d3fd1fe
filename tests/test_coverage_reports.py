"""`rca suspects --coverage`: reports written by the real coverage.py and the real JaCoCo agent,
mapped to the repository's files and fed to retrieval's executed feature."""

from __future__ import annotations

import json
import random
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _hg import needs_hg

from rca_lsp.traces.coverage import PerTest, context_key, read_coverage
from rca_lsp.types import TestId as Tid

from conftest import GitRepoBuilder

FIXTURES = Path(__file__).parent / "fixtures"
JACOCO = FIXTURES / "jacoco"
GOCOVER = FIXTURES / "gocover"

PIPELINE = '''"""Run a program of steps, each one a module of pkg.steps loaded by its name."""

import importlib


def run(program, value):
    for name in program.split(","):
        step = importlib.import_module(f"pkg.steps.{name}")
        value = step.apply(value)
    return value
'''
INC = "def apply(value):\n    return value + 1\n"
TWICE = "def apply(value):\n    result = value * 2\n    return result\n"
NEG = "def apply(value):\n    return -value\n"
TEST = '''from pkg.pipeline import run


def test_inc_then_twice():
    assert run("inc,twice", 3) == 8
'''


def rca(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args, "--repo", str(repo)], cwd=repo,
                          capture_output=True, text=True, timeout=300)


def coverage_tool(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coverage", *args], cwd=repo, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COVERAGE_FILE": str(repo / ".coverage")})


@pytest.fixture(scope="module")
def python_project(tmp_path_factory) -> dict:
    """A package whose steps are loaded by name, a culprit commit in one step, the failing pytest
    run under the real coverage.py, and its report in every format coverage.py writes."""
    builder = GitRepoBuilder(tmp_path_factory.mktemp("py") / "repo")
    builder.write(".gitignore", ".coverage\n*.json\n*.xml\n*.info\n.rca/\n")
    builder.commit("Add the step pipeline", {"pkg/__init__.py": "", "pkg/steps/__init__.py": "",
                                             "pkg/pipeline.py": PIPELINE, "pkg/steps/inc.py": INC,
                                             "pkg/steps/twice.py": TWICE, "tests/test_pipeline.py": TEST})
    builder.commit("Add a neg step", {"pkg/steps/neg.py": NEG}, author="Bob")
    culprit = builder.commit("Reuse the product in the doubling step",
                             {"pkg/steps/twice.py": TWICE.replace("value * 2", "value * value")}, author="Carol")
    idle = builder.commit("Neg step: test twice that the run value stays an int, not a float",
                   {"pkg/steps/neg.py": "def apply(value):\n    return -int(value)\n"}, author="Dan")
    builder.commit("Pipeline: run steps named with spaces", {"pkg/pipeline.py": PIPELINE.replace(
        'pkg.steps.{name}")', 'pkg.steps.{name.strip()}")')}, author="Erin")
    root = builder.root
    run = coverage_tool(root, "run", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_pipeline.py::test_inc_then_twice")
    assert run.returncode == 1 and "assert 16 == 8" in run.stdout, run.stdout + run.stderr
    (root / "trace.txt").write_text(run.stdout)
    for fmt, name in (("json", "cov.json"), ("xml", "cov.xml"), ("lcov", "cov.info")):
        made = coverage_tool(root, fmt, "-o", name)
        assert made.returncode == 0, made.stderr
    return {"root": root, "culprit": culprit, "idle": idle}


def ranks(repo: Path, *extra: str) -> tuple[dict, subprocess.CompletedProcess]:
    proc = rca(repo, "suspects", "--trace", "trace.txt", "--top", "0", "--format", "json", "--explain", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


def position(result: dict, commit: str) -> int:
    return [s["commit"] for s in result["suspects"]].index(commit) + 1


def test_a_failure_that_points_only_at_its_test_suggests_the_tests_coverage(python_project) -> None:
    """pytest's report of a failed assert names the test alone: the ranking says a report would help,
    and says nothing once it has one."""
    from rca_lsp.suspects.retrieve import COVERAGE_HINT

    plain, proc = ranks(python_project["root"])
    covered, _ = ranks(python_project["root"], "--coverage", "cov.json")
    assert plain["hints"] == [COVERAGE_HINT] and plain["warnings"] == [] and COVERAGE_HINT not in plain["notes"]
    assert covered["hints"] == []
    text = rca(python_project["root"], "suspects", "--trace", "trace.txt")
    assert text.stdout.splitlines()[-1] == f"hint: {COVERAGE_HINT}"


@pytest.mark.parametrize("report", ["cov.json", "cov.xml", "cov.info"])
def test_a_real_coverage_py_report_raises_the_culprit_that_no_call_graph_reaches(python_project, report) -> None:
    """Without coverage the words of a newer commit to a step the test never runs (`neg`) put it
    above the culprit; the report shows the culprit's line ran and neg's did not."""
    root, culprit, idle = python_project["root"], python_project["culprit"], python_project["idle"]
    plain, _ = ranks(root)
    covered, proc = ranks(root, "--coverage", report)
    suspect = next(s for s in covered["suspects"] if s["commit"] == culprit)
    assert {"kind": "executed", "path": "pkg/steps/twice.py", "line": 2} == {
        k: e[k] for e in suspect["evidence"] if e["kind"] == "executed" for k in ("kind", "path", "line")}
    assert suspect["features"]["executed"] == 1.0
    assert next(s for s in plain["suspects"] if s["commit"] == culprit)["features"]["executed"] == 0
    assert position(plain, idle) < position(plain, culprit)
    assert position(covered, culprit) < position(covered, idle)
    assert position(covered, culprit) < position(plain, culprit)
    assert all(s["features"]["executed"] == 0 for s in covered["suspects"] if "neg" in s["summary"].lower())
    assert covered["warnings"] == [] and "coverage" not in proc.stderr


def _ranked_with_the_fixture_report(git_repo, fixture: Path, report_name: str, files: dict[str, str], twice: str,
                                    idle_change: dict[str, str], idle_message: str) -> tuple[dict, dict, str, str]:
    """A fixture's calculator committed with a doubling `twice` step, the culprit (its squaring, as
    the fixture holds it), then an idle change to a step the test never runs; ranked on the
    fixture's trace without and with its report (copied after the sources, as a run writes it).
    Returns the two rankings, the culprit and the idle commit."""
    git_repo.commit("Add the calculator and its steps",
                    {**files, twice: files[twice].replace("value * value", "value * 2")})
    culprit = git_repo.commit("Twice: reuse the product", {twice: files[twice]}, author="Carol")
    idle = git_repo.commit(idle_message, idle_change, author="Dan")
    shutil.copy(fixture / "trace.txt", git_repo.root / "trace.txt")
    git_repo.write(".gitignore", "trace.txt\n.rca/\n")
    plain, _ = ranks(git_repo.root)
    report = shutil.copy(fixture / report_name, git_repo.root.parent / report_name)
    covered, _ = ranks(git_repo.root, "--coverage", str(report))
    return plain, covered, culprit, idle


def test_a_real_jacoco_report_maps_packages_to_the_source_tree_and_raises_the_culprit(git_repo) -> None:
    """tests/fixtures/jacoco: the real agent's report of the failing CalcTest (PROVENANCE.md)."""
    files = {str(p.relative_to(JACOCO)): p.read_text() for p in (JACOCO / "src").rglob("*.java")}
    twice = "src/main/java/com/example/calc/steps/Twice.java"
    neg = "src/main/java/com/example/calc/steps/Neg.java"
    plain, covered, culprit, idle = _ranked_with_the_fixture_report(
        git_repo, JACOCO, "jacoco.xml", files, twice, {neg: files[neg].replace("cannot negate", "cannot negate the int")},
        "Neg: refuse to negate the smallest int, expected by the calc test")
    suspect = next(s for s in covered["suspects"] if s["commit"] == culprit)
    shown = [(e["path"], e["line"]) for e in suspect["evidence"] if e["kind"] == "executed"]
    assert shown == [(twice, 9)] and suspect["features"]["executed"] == 1.0
    assert next(s for s in covered["suspects"] if s["commit"] == idle)["features"]["executed"] == 0
    assert position(plain, idle) < position(plain, culprit)
    assert position(covered, culprit) < position(covered, idle)
    assert covered["warnings"] == []


def test_a_real_go_profile_raises_the_culprit_that_no_call_graph_reaches(git_repo) -> None:
    files = {str(p.relative_to(GOCOVER / "src")): p.read_text() for p in (GOCOVER / "src").rglob("*") if p.is_file()}
    steps = "steps/steps.go"
    plain, covered, culprit, idle = _ranked_with_the_fixture_report(
        git_repo, GOCOVER, "cover.out", files, steps,
        {steps: files[steps].replace("\treturn -value\n", "\treturn 0 - value\n")},
        "Neg: keep the value when it is already the smallest, as the calc test expects")
    suspect = next(s for s in covered["suspects"] if s["commit"] == culprit)
    assert [(e["path"], e["line"]) for e in suspect["evidence"] if e["kind"] == "executed"] == [(steps, 22)]
    assert next(s for s in covered["suspects"] if s["commit"] == idle)["features"]["executed"] == 0
    assert position(plain, idle) < position(plain, culprit)
    assert position(covered, culprit) < position(covered, idle)
    assert covered["warnings"] == []


def test_the_cli_exits_5_on_a_bad_report_and_warns_when_it_covers_nothing_here(git_repo) -> None:
    git_repo.commit("Start", {"lib.py": "def f():\n    return 1\n"})
    git_repo.write(".gitignore", "*.txt\n*.info\n*.xml\n.rca/\n")
    git_repo.write("trace.txt", 'Traceback (most recent call last):\n  File "lib.py", line 2, in f\nValueError: x\n')
    git_repo.write("bad.xml", "<coverage><class filename='lib.py'>")
    git_repo.write("other.info", "SF:/elsewhere/project/main.c\nDA:3,1\nend_of_record\n")
    bad = rca(git_repo.root, "suspects", "--trace", "trace.txt", "--coverage", "bad.xml")
    missing = rca(git_repo.root, "suspects", "--trace", "trace.txt", "--coverage", "nope.info")
    assert bad.returncode == 5 and bad.stdout == ""
    assert bad.stderr.startswith("rca: error: coverage report bad.xml is malformed XML: ")
    assert len(bad.stderr.splitlines()) == 1
    assert missing.returncode == 5
    assert missing.stderr == "rca: error: coverage report nope.info does not exist or is not a file\n"
    foreign, proc = ranks(git_repo.root, "--coverage", "other.info")
    warning = ("coverage report other.info (LCOV) covers no tracked file of this repository "
               "(1 file(s) with executed lines in it); ranked without coverage")
    assert foreign["warnings"] == [warning] and warning in proc.stderr
    assert len(foreign["suspects"]) == 1 and foreign["suspects"][0]["features"]["executed"] == 0


def test_blame_of_many_lines_at_once_agrees_with_git_blame_and_with_blame_line_by_line(git_repo) -> None:
    """A report names thousands of lines: retrieval blames them file by file (`blame_lines`), with
    the answers of git blame (renames followed) and of `blame`, also across an ignored commit."""
    from rca_lsp.index.ingest import update
    from rca_lsp.index.store import Index
    from rca_lsp.suspects.history import History
    from rca_lsp.vcs.git import GitRepo

    rng = random.Random(11)
    lines = [f"line {i}" for i in range(40)]
    git_repo.commit("start", {"f.txt": "\n".join(lines) + "\n"})
    hashes = []
    for step in range(40):
        op, at = rng.choice(["edit", "insert", "delete", "reflow"]), rng.randrange(len(lines))
        if op == "edit":
            lines[at] = f"edit {step}"
        elif op == "insert":
            lines[at:at] = [f"new {step}.{k}" for k in range(rng.randint(1, 4))]
        elif op == "reflow":
            lines[at:at + 3] = [f"reflow {step}.{k}" for k in range(rng.randint(1, 5))]
        elif len(lines) > 8:
            del lines[at:at + rng.randint(1, 3)]
        if step == 20:
            git_repo.git("mv", "f.txt", "g.txt")
        hashes.append(git_repo.commit(f"step {step}", {("g.txt" if step >= 20 else "f.txt"): "\n".join(lines) + "\n"}))
    repo = GitRepo(git_repo.root)
    porcelain = git_repo.git("blame", "--porcelain", "-M", "HEAD", "--", "g.txt")
    expected = {int(p[2]): p[0] for p in (r.split() for r in porcelain.splitlines())
                if len(p) >= 3 and len(p[0]) == 40 and p[1].isdigit()}
    every = set(range(1, len(lines) + 3))  # and two lines past the end, which nothing wrote
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        ids = dict(index.conn.execute("SELECT id, hash FROM commits"))
        many = History(index, repo.reachable()).blame_lines("g.txt", every)
        assert {line: ids[hit.commit_id] for line, hit in many.items()} == expected
        ignored = {hashes[25], hashes[31]}
        history = History(index, repo.reachable(), ignored)
        one_by_one = {line: history.blame("g.txt", line) for line in every}
        passed_over = History(index, repo.reachable(), ignored).blame_lines("g.txt", every)
        assert passed_over == {line: hit for line, hit in one_by_one.items() if hit is not None}
        assert {ids[many[line].commit_id] for line in many} & ignored  # what the ignored commits wrote
        assert not {ids[hit.commit_id] for hit in passed_over.values()} & ignored  # is found before them


UTIL = '''LIMIT = 3


def used(value, scale=2):
    return value * scale


def unused(value):
    return value
'''
UTIL_TEST = '''from pkg.util import used


def test_used_doubles():
    assert used(3) == 6
'''


def test_a_report_counts_what_the_test_called_not_what_importing_the_module_ran(git_repo) -> None:
    """coverage.py marks a module's top level and every `def` line as run whenever the module is
    imported. Commits that changed only those (a module constant, the header of a function the test
    never calls) are no evidence; the default argument of the function the test did call is."""
    git_repo.write(".gitignore", ".coverage\n*.json\n")
    git_repo.commit("Add util", {"pkg/__init__.py": "", "pkg/util.py": UTIL, "tests/test_util.py": UTIL_TEST})
    constant = git_repo.commit("Raise the limit", {"pkg/util.py": UTIL.replace("LIMIT = 3", "LIMIT = 4")}, author="Bob")
    header = git_repo.commit("unused takes an option", {"pkg/util.py": UTIL.replace("LIMIT = 3", "LIMIT = 4").replace(
        "def unused(value):", "def unused(value, option=None):")}, author="Carol")
    culprit = git_repo.commit("Scale by three by default", {"pkg/util.py": UTIL.replace("LIMIT = 3", "LIMIT = 4").replace(
        "def unused(value):", "def unused(value, option=None):").replace("scale=2", "scale=3")}, author="Dan")
    root = Path(git_repo.root)
    run = coverage_tool(root, "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_util.py")
    assert run.returncode == 1 and "assert 9 == 6" in run.stdout, run.stdout + run.stderr
    assert coverage_tool(root, "json", "-o", "cov.json").returncode == 0
    report = json.loads((root / "cov.json").read_text())["files"]["pkg/util.py"]["executed_lines"]
    assert {1, 4, 8} <= set(report)  # LIMIT, def used, def unused: run by the import
    (root / "trace.txt").write_text(run.stdout)
    covered, _ = ranks(root, "--coverage", "cov.json")
    by_commit = {s["commit"]: s for s in covered["suspects"]}
    assert by_commit[constant]["features"]["executed"] == 0
    assert by_commit[header]["features"]["executed"] == 0
    assert by_commit[culprit]["features"]["executed"] == 1.0
    assert position(covered, culprit) < min(position(covered, constant), position(covered, header))


TEXT = "def clean(word):\n    return word.strip().lower()\n"
CALC = "from pkg.text import clean\n\n\ndef total(words):\n    return sum(len(clean(w)) for w in words)\n"
TEXT_TESTS = '''from pkg.text import clean


def test_strip():
    assert clean(" a ") == "a"


def test_lower():
    assert clean("AB") == "ab"


class TestMixed:
    def test_both(self):
        assert clean(" Ab ") == "ab"
'''
CALC_TEST = '''from pkg.calc import total


def test_total():
    assert total([" ab ", "c"]) == 3
'''


@pytest.fixture(scope="module")
def per_test_project(tmp_path_factory) -> dict:
    """The whole suite run once under the real coverage.py with a context per test, both ways a
    user gets one: pytest-cov's `--cov-context=test` and coverage's `dynamic_context = test_function`."""
    builder = GitRepoBuilder(tmp_path_factory.mktemp("pertest") / "repo")
    builder.write(".gitignore", ".coverage*\n*.json\n*.rc\n")
    builder.commit("Add words", {"pkg/__init__.py": "", "pkg/text.py": TEXT, "pkg/calc.py": CALC,
                                 "tests/test_text.py": TEXT_TESTS, "tests/test_calc.py": CALC_TEST})
    culprit = builder.commit("Count the separator", {"pkg/calc.py": CALC.replace("for w in words)", "for w in words) + 1")},
                             author="Carol")
    idle = builder.commit("Casefold words", {"pkg/text.py": TEXT.replace("lower()", "casefold()")}, author="Dan")
    aside = builder.commit("Shout", {"pkg/shout.py": "def shout(word):\n    return word.upper() + '!'\n",
                                     "tests/test_shout.py": "from pkg.shout import shout\n\n\ndef test_shout():\n"
                                                            "    assert shout('a') == 'A!'\n"}, author="Eve")
    root = builder.root
    env = {**os.environ, "COVERAGE_FILE": str(root / ".coverage-cov")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cov=.", "--cov-context=test",
                          "--cov-report=", "tests"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 1 and "1 failed, 4 passed" in run.stdout, run.stdout + run.stderr
    (root / "trace.txt").write_text(run.stdout)
    made = subprocess.run([sys.executable, "-m", "coverage", "json", "--show-contexts", "-o", "cov-pytest.json"],
                          cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert made.returncode == 0, made.stderr
    (root / "functions.rc").write_text("[run]\ndynamic_context = test_function\n")
    env = {**os.environ, "COVERAGE_FILE": str(root / ".coverage-fn"), "COVERAGE_RCFILE": str(root / "functions.rc")}
    for args in (["run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                 ["json", "--show-contexts", "-o", "cov-functions.json"]):
        subprocess.run([sys.executable, "-m", "coverage", *args], cwd=root, capture_output=True, text=True,
                       timeout=300, env=env)
    assert (root / "cov-functions.json").is_file()
    return {"root": root, "culprit": culprit, "idle": idle, "aside": aside}


@pytest.mark.parametrize("report", ["cov-pytest.json", "cov-functions.json"])
def test_the_passing_tests_runs_lower_a_line_they_share_with_the_failing_test(per_test_project, report) -> None:
    """The failing test ran the culprit's line and the newer commit's line alike; three passing
    tests ran the newer one too. The report's contexts give the failing test's lines (not the
    suite's), the same as a report of the failing test alone, and Ochiai gives the culprit's line 1
    and the shared one 1/sqrt(1 * 4) = 0.5, which the evidence says."""
    root, culprit, idle = per_test_project["root"], per_test_project["culprit"], per_test_project["idle"]
    aside = per_test_project["aside"]
    doc = json.loads((root / report).read_text())
    assert any(len(names) > 1 for f in doc["files"].values() for names in f["contexts"].values())
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
    spectrum = read_coverage(root / report, tracked, str(root)).per_test.resolve([
        Tid("tests/test_calc.py", "test_total")])
    assert (spectrum.failing, spectrum.passing) == (1, 4)
    assert spectrum.suspicion["pkg/calc.py"][5] == 1.0 and spectrum.suspicion["pkg/text.py"][2] == 0.5
    assert 2 in spectrum.executed["pkg/text.py"]
    covered, proc = ranks(root, "--coverage", report)
    by_commit = {s["commit"]: s for s in covered["suspects"]}
    executed = {s["commit"]: s["features"]["executed"] for s in covered["suspects"] if s["features"]["executed"]}
    assert executed[culprit] == executed[idle] == 1.0 and aside not in executed
    assert any("most suspicious line 0.50" in e["text"] for e in by_commit[idle]["evidence"] if e["kind"] == "executed")
    assert any("most suspicious line 1.00" in e["text"] for e in by_commit[culprit]["evidence"] if e["kind"] == "executed")
    assert position(covered, culprit) < position(covered, idle) and covered["warnings"] == []
    assert spectrum.executed["pkg/shout.py"] == {1}  # its `def` line ran at import; its body only in a passing test
    # the same report without its contexts is read as one run: every test's lines, shout's too
    for f in doc["files"].values():
        del f["contexts"]
    (root / "suite.json").write_text(json.dumps(doc))
    assert read_coverage(root / "suite.json", tracked, str(root)).per_test is None
    suite, _ = ranks(root, "--coverage", "suite.json")
    assert next(s for s in suite["suspects"] if s["commit"] == aside)["features"]["executed"] > 0
    assert by_commit[aside]["features"]["executed"] == 0


def test_contexts_that_name_no_failing_test_leave_coverage_out_with_a_warning(per_test_project) -> None:
    root = per_test_project["root"]
    doc = json.loads((root / "cov-pytest.json").read_text())
    for f in doc["files"].values():
        f["contexts"] = {line: [n.replace("test_total", "test_other") for n in names]
                         for line, names in f["contexts"].items()}
    (root / "renamed.json").write_text(json.dumps(doc))
    covered, _ = ranks(root, "--coverage", "renamed.json")
    assert all(s["features"]["executed"] == 0 for s in covered["suspects"])
    assert covered["warnings"] == ["the coverage report's 5 test contexts name none of the trace's failing tests; "
                                   "ranked without coverage"]


@pytest.mark.parametrize("name, key", [
    ("tests/test_a.py::TestK::test_x[1-b]|run", ("test_a", "TestK", "test_x", "[1-b]")),
    ("tests/test_a.py::test_y|setup", ("test_a", None, "test_y", None)),
    ("test_a.TestK.test_x", ("test_a", "TestK", "test_x", None)),
    ("pkg.tests.test_a.test_y", ("test_a", None, "test_y", None)),
    ("test_y", (None, None, "test_y", None)),
    ("", None),
])
def test_a_context_names_its_test_as_pytest_cov_or_coverage_writes_it(name, key) -> None:
    assert context_key(name) == key


def test_a_parametrised_failing_case_is_told_from_its_passing_cases() -> None:
    """pytest-cov names each case; the trace's failing case is the failing context, its other
    cases are passing ones. coverage's function contexts name the function: all its cases fail."""
    names = ("tests/test_a.py::test_x[1]|run", "tests/test_a.py::test_x[2]|run", "test_b.test_z")
    per_test = PerTest(names, {"lib.py": {3: frozenset({0, 1}), 4: frozenset({0}), 9: frozenset({2})}})
    spectrum = per_test.resolve([Tid("tests/test_a.py", "test_x", params="[1]")])
    assert (spectrum.failing, spectrum.passing) == (1, 2)
    assert spectrum.executed == {"lib.py": {3, 4}}
    assert spectrum.suspicion["lib.py"] == {3: 1 / 2 ** 0.5, 4: 1.0}
    assert per_test.resolve([Tid("tests/test_b.py", "test_z")]).executed == {"lib.py": {9}}
    assert per_test.resolve([Tid("tests/test_c.py", "test_x")]) is None  # another module's test_x


def _covered(root: Path, out: Path) -> str:
    """The work tree's failing test run under the real coverage.py; its JSON report written to `out`;
    pytest's output returned."""
    rc = out.parent / "empty.rc"
    rc.touch()
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COVERAGE_FILE": str(out.parent / ".coverage"),
           "COVERAGE_RCFILE": str(rc)}
    ran = subprocess.run([sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=root, env=env, capture_output=True, text=True)
    assert ran.returncode == 1, ran.stdout + ran.stderr  # the test fails for real
    subprocess.run([sys.executable, "-m", "coverage", "json", "-o", str(out)], cwd=root, env=env, check=True,
                   capture_output=True)
    return ran.stdout


@pytest.mark.parametrize("vcs", ["git", pytest.param("hg", marks=needs_hg)])
def test_a_report_of_an_edited_work_tree_is_blamed_in_heads_numbering(vcs, git_repo, tmp_path) -> None:
    """The failing run was the work tree's, and its uncommitted lines moved the committed ones: the
    executed lines are blamed where HEAD has them (lines the work tree added belong to no commit),
    so the culprit's executed feature is what a run of the clean tree gives, and the evidence names
    the lines where the report saw them. In git and in Mercurial alike."""
    from _hg import HgRepoBuilder
    from conftest import ranked

    from rca_lsp import service
    from rca_lsp.vcs import open_repo

    if vcs == "hg":
        git_repo = HgRepoBuilder(tmp_path / "hgrepo")

    lib = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n\n\ndef mean(xs):\n    return total(xs) / len(xs)\n"
    test = "from lib import mean\n\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n"
    git_repo.commit("Add total and mean", {"lib.py": lib, "tests/test_lib.py": test, ".gitignore": "*.json\n.coverage\n"})
    culprit = git_repo.commit("Start the sum at one", {"lib.py": lib.replace("s = 0", "s = 1")}, author="Bob")
    git_repo.commit("Readme", {"README.md": "lib\n"})
    repo = open_repo(str(git_repo.root))
    assert type(repo).__name__ == ("GitRepo" if vcs == "git" else "HgRepo")
    clean_text = _covered(git_repo.root, tmp_path / "clean.json")
    clean = ranked(repo, clean_text, executed=service.read_coverage(repo, str(tmp_path / "clean.json"))[0])
    debug = "import logging\n\nlog = logging.getLogger(__name__)\n\n\n"  # five uncommitted lines on top
    edited = lib.replace("    s = 0\n", "    s = 1\n    log.debug('start %s', s)\n")  # HEAD's, and one more line
    (git_repo.root / "lib.py").write_text(debug + edited)
    text = _covered(git_repo.root, tmp_path / "edited.json")
    executed = service.read_coverage(repo, str(tmp_path / "edited.json"))[0]
    assert executed is not None and 7 in executed["lib.py"] and 8 in executed["lib.py"]  # lines 2 and the debug call
    result = ranked(repo, text, executed=executed)
    assert result.features[culprit]["executed"] == clean.features[culprit]["executed"] > 0
    evidence = next(e for s in result.suspects if s.commit.hash == culprit for e in s.evidence if e.kind == "executed")
    assert (evidence.path, evidence.line) == ("lib.py", 7) and "lib.py:7" in evidence.text  # s = 1, where it ran
    first = next(s for s in result.suspects if s.commit.hash != culprit and s.commit.summary == "Add total and mean")
    ran_first = [e for e in first.evidence if e.kind == "executed"]
    assert ran_first and all(e.line not in (1, 2, 3, 4, 5, 8) for e in ran_first)  # no uncommitted line is its


def test_a_report_older_than_the_files_it_covers_is_read_with_a_warning(git_repo, tmp_path) -> None:
    """A pull, a checkout or an edit after the coverage run rewrites files the report numbers: the
    report is still read, and a warning names the files written after it."""
    from rca_lsp import service
    from rca_lsp.vcs.git import GitRepo

    lib = "def total(xs):\n    s = 1\n    for x in xs:\n        s += x\n    return s\n"
    test = "from lib import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    git_repo.commit("Add total", {"lib.py": lib, "tests/test_lib.py": test, ".gitignore": "*.json\n.coverage\n"})
    repo = GitRepo(git_repo.root)
    report = tmp_path / "cov.json"
    _covered(git_repo.root, report)
    executed, _, fresh = service.read_coverage(repo, str(report))
    assert executed is not None and "lib.py" in executed and fresh == []
    later = report.stat().st_mtime + 60
    os.utime(git_repo.root / "lib.py", (later, later))
    same, _, stale = service.read_coverage(repo, str(report))
    assert same == executed
    assert stale == [f"coverage report {report} is older than 1 file(s) it covers (lib.py): they changed after the run, "
                     "so its line numbers may not be theirs; run the failing test under coverage again"]

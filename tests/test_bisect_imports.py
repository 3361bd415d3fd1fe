"""`rca bisect` where the test imports the repository's code from the user's work tree, not the checkout.

Found trying python-humanize (src layout, hatchling, a generated `_version.py`) as a new user: with
the package installed editable (`pip install -e .`, the usual development set-up) every temporary
checkout's test imported the work tree's `src/`, i.e. HEAD's code; every revision failed alike and
`rca bisect --good ...` "confirmed" the commit just after the good revision, an innocent one.
Real git, a real virtual environment with a real editable install (setuptools), the real pytest, the
real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.bisect.imports import generated_files, import_roots

INIT = "from ._version import version\n"
OPS = "def mean(xs):\n    return sum(xs) / len(xs)\n"
BROKEN = "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n"
TEST = "from calc.ops import mean\n\n\ndef test_mean():\n    assert mean([2, 4]) == 3\n"
PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "1.0"

[tool.setuptools.packages.find]
where = ["src"]
"""


def _history(root: Path, init: str = INIT) -> tuple[GitRepoBuilder, dict[str, str]]:
    """src/calc with a version module a build step writes (ignored), and one commit that breaks mean."""
    repo = GitRepoBuilder(root)
    shas = {"good": repo.commit("calc: mean", {
        "pyproject.toml": PYPROJECT, ".gitignore": "_version.py\n*.egg-info/\n", "src/calc/__init__.py": init,
        "src/calc/ops.py": OPS, "tests/test_ops.py": TEST, "README.md": "calc\n"})}
    shas["docs"] = repo.commit("Docs: usage", {"README.md": "calc\n\nmean([2, 4]) is 3\n"})
    shas["culprit"] = repo.commit("ops: count the empty case", {"src/calc/ops.py": BROKEN})
    shas["after"] = repo.commit("Docs: more", {"README.md": "calc\n\nmean([2, 4]) is 3, mean([1]) is 1\n"})
    repo.write("src/calc/_version.py", 'version = "1.0"\n')  # what the build backend generates
    return repo, shas


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment that sees this interpreter's packages (pytest, setuptools)."""
    where = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)], check=True)
    return where / "bin"


def _bisect(root: Path, tmp: Path, command: str, good: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI; `env` on top of this environment (a PYTHONPATH goes before this one's, which finds rca)."""
    full = {**os.environ, "TMPDIR": str(tmp), **env}
    if "PYTHONPATH" in env and os.environ.get("PYTHONPATH"):
        full["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + os.environ["PYTHONPATH"]
    return subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", "--test", command, "--good", good,
                           "--format", "json", "--timeout", "120"], cwd=root, env=full, capture_output=True,
                          text=True, timeout=300)


def test_an_editable_install_of_a_src_layout_is_bisected_on_the_checkouts_code(tmp_path, venv):
    repo, shas = _history(tmp_path / "calc")
    subprocess.run([str(venv / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-e", str(repo.root)], check=True, capture_output=True)
    imported = subprocess.run([str(venv / "python"), "-c", "import calc; print(calc.__file__)"], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()
    assert imported == str(repo.root / "src/calc/__init__.py")  # the work tree's code, from anywhere
    path = {"PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv.parent)}
    done = _bisect(repo.root, tmp_path, "python -m pytest -q -p no:cacheprovider tests/test_ops.py", shas["good"], path)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == shas["culprit"]  # before: the docs commit, "confirmed"
    assert outcome["confirmed"] is True
    note = next(w for w in outcome["warnings"] if "loaded the repository's code from the work tree" in w)
    assert "the checkout's src first on PYTHONPATH" in note and "src/calc/_version.py" in note
    assert (repo.root / "src/calc/_version.py").exists() and not repo.git("status", "--porcelain").strip()


def test_a_pythonpath_into_the_work_tree_is_overridden_by_the_checkouts(tmp_path):
    repo, shas = _history(tmp_path / "calc")
    done = _bisect(repo.root, tmp_path, f"{sys.executable} -m pytest -q -p no:cacheprovider tests/test_ops.py",
                   shas["good"], {"PYTHONPATH": str(repo.root / "src")})
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == shas["culprit"] and outcome["confirmed"] is True


def test_a_command_that_insists_on_the_work_tree_stops_the_bisection_saying_why(tmp_path):
    repo, shas = _history(tmp_path / "calc")
    insist = (f"{sys.executable} -c \"import sys; sys.path.insert(0, '{repo.root / 'src'}'); "
              f"from calc.ops import mean; sys.exit(0 if mean([2, 4]) == 3 else 1)\"")
    done = _bisect(repo.root, tmp_path, insist, shas["good"], {})
    assert done.returncode != 0
    assert "runs the work tree's code, not the checkout's" in done.stderr
    assert "src/calc/" in done.stderr and "every revision would test the same code" in done.stderr
    assert not repo.git("status", "--porcelain").strip()


def test_a_test_of_the_checkouts_own_code_gets_no_note(tmp_path):
    repo, shas = _history(tmp_path / "calc", init="")
    done = _bisect(repo.root, tmp_path, f"{sys.executable} -m pytest -q -p no:cacheprovider tests/test_ops.py",
                   shas["good"], {"PYTHONPATH": "src"})  # relative: the checkout's own src
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == shas["culprit"]
    assert not [w for w in outcome["warnings"] if "work tree" in w]


def test_import_roots_climb_packages_and_generated_files_stay_beside_loaded_code(tmp_path):
    for path in ("src/pkg/__init__.py", "src/pkg/sub/__init__.py", "src/pkg/sub/x.py", "src/pkg/_version.py",
                 "src/pkg/_speedups.cpython-311-x86_64-linux-gnu.so",
                 "lib/tool.py", ".venv/lib/site/dep/__init__.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x = 1\n")
    assert import_roots(str(tmp_path), ["src/pkg/sub/x.py", "lib/tool.py", "src/pkg/__init__.py"]) == ("src", "lib")
    assert import_roots(str(tmp_path), ["top.py"]) == (".",)
    generated = generated_files(str(tmp_path), ["src/pkg/_version.py", ".venv/lib/site/dep/__init__.py",
                                                "src/pkg/_speedups.cpython-311-x86_64-linux-gnu.so"],
                                ["src/pkg/__init__.py"])
    assert generated == {"src/pkg/_version.py": b"x = 1\n"}


def test_a_run_that_cannot_import_says_which_import_failed(tmp_path):
    """Before, only pytest's last line came through: `it printed: 1 error in 0.27s`."""
    repo, shas = _history(tmp_path / "calc")  # the checkout has no generated _version.py, nothing loads it
    done = _bisect(repo.root, tmp_path, f"{sys.executable} -m pytest -q -p no:cacheprovider tests/test_ops.py",
                   shas["good"], {"PYTHONPATH": "src"})
    assert done.returncode != 0
    assert "could not run at BAD" in done.stderr
    assert "ModuleNotFoundError: No module named 'calc._version'" in done.stderr, done.stderr


def test_what_a_run_printed_is_told_by_its_telling_line():
    """Maven's first [ERROR] line says what failed (its last ones are links); a run that tested nothing
    says so rather than only "the test passes"."""
    from rca_lsp.bisect.session import _last_line, _ran_no_tests

    maven = ("[INFO] Scanning for projects...\n[ERROR] Failed to execute goal surefire:3.2.5:test on project codec: "
             "No tests matching pattern \"SoundexTest#x\" were executed! -> [Help 1]\n[ERROR] \n[ERROR] To see the "
             "full stack trace of the errors, re-run Maven with the -e switch.\n[ERROR] [Help 1] http://cwiki.apache.org/x\n")
    assert _last_line(maven).endswith('No tests matching pattern "SoundexTest#x" were executed! -> [Help 1]')
    assert _last_line("E   EOFError: end\n\n1 error in 0.1s\n") == "EOFError: end ... 1 error in 0.1s"
    assert _last_line("\x1b[31msh: 1: mocha: not found\x1b[0m\n") == "sh: 1: mocha: not found"
    assert _ran_no_tests("running 0 tests\n\ntest result: ok. 0 passed; 0 failed\n") == "running 0 tests"
    assert _ran_no_tests("running 0 tests\nrunning 3 tests\n") is None  # another binary ran some
    assert _ran_no_tests("[INFO] Tests run: 0, Failures: 0, Errors: 0, Skipped: 0\n") == "Tests run: 0, Failures: 0"
    assert _ran_no_tests("  0 passing (2ms)\n") == "0 passing" and _ran_no_tests("  3 passing\n") is None


def test_a_run_that_drops_pythonpath_is_said_to_be_untraced(tmp_path):
    """tox and nox start their environments without the PYTHONPATH that carries rca's tracer: the lines
    run and the imports from the work tree went unseen, silently. (`env -u` stands for tox here.)"""
    repo, shas = _history(tmp_path / "calc", init="")
    plain = _bisect(repo.root, tmp_path, f"PYTHONPATH=src:$PYTHONPATH {sys.executable} -m pytest -q "
                    "-p no:cacheprovider tests/test_ops.py", shas["good"], {})
    assert plain.returncode == 0, plain.stderr
    assert not [w for w in json.loads(plain.stdout)["warnings"] if w.startswith("no Python process")]
    dropped = _bisect(repo.root, tmp_path, f"env -u PYTHONPATH PYTHONPATH=src {sys.executable} -m pytest -q "
                      "-p no:cacheprovider tests/test_ops.py", shas["good"], {})
    assert dropped.returncode == 0, dropped.stderr
    outcome = json.loads(dropped.stdout)
    assert outcome["culprit"] == shas["culprit"]
    assert [w for w in outcome["warnings"] if w.startswith("no Python process of the run at BAD was traced")]

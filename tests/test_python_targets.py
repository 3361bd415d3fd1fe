"""Python failing tests reach the right code: the test method that holds the failing line (many
classes share names like `test_basic`), and `x = module.Foo()` typing `x` for `x.run()`."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.vcs.git import GitRepo

LIB = '''\
class Stack:
    def run(self, text):
        return text.strip()


def shout(text):
    return text.upper()


def whisper(text):
    return text.lower()
'''

TESTS = '''\
import lib


class ShoutTests:
    def test_basic(self):
        assert lib.shout("a") == "A"


class WhisperTests:
    def test_basic(self):
        assert lib.whisper("A") == "a"
'''

TRACE = '''\
=================================== FAILURES ===================================
__________________________ WhisperTests.test_basic ____________________________

self = <tests.test_lib.WhisperTests object at 0x7f0>

    def test_basic(self):
>       assert lib.whisper("A") == "a"
E       AssertionError: assert 'A' == 'a'

tests/test_lib.py:10: AssertionError
=========================== short test summary info ============================
FAILED tests/test_lib.py::WhisperTests::test_basic - AssertionError
'''


def test_module_qualified_constructor_types_the_variable() -> None:
    facts = analyze(b"import engine\ndef f(sql):\n    stack = engine.Stack()\n    x = make()\n"
                    b"    return stack.run(sql), x.go()\n", "python")
    typed = {c.callee: c.receiver_type for c in facts.calls}
    assert typed["run"] == "Stack" and typed["go"] == ""


def test_the_failing_line_picks_the_test_method_among_same_named_ones(git_repo) -> None:
    git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    shout = git_repo.commit("Shout louder", {"lib.py": LIB.replace("text.upper()", "text.upper() + ''")},
                            author="Bob")
    whisper = git_repo.commit("Whisper softer", {"lib.py": LIB.replace("text.lower()", "text.lower() + ''")},
                              author="Carol")
    git_repo.commit("Docs", {"README": "lib\n"})
    result = ranked(GitRepo(git_repo.root), TRACE)
    order = [s.commit.hash for s in result.suspects]
    assert order.index(whisper) < order.index(shout)
    assert result.features[whisper]["code"] == 1.0 and "code" not in result.features[shout]
    suspect = next(s for s in result.suspects if s.commit.hash == whisper)
    assert any(e.text == "changed whisper (2 lines), which the failing test WhisperTests.test_basic calls"
               for e in suspect.evidence)


PIPELINE_TRACE = '''\
=================================== FAILURES ===================================
__________________________________ test_render _________________________________

    def test_render():
>       assert app.render("x") == "<x>"
E       AssertionError: assert '[x]' == '<x>'

tests/test_render.py:4: AssertionError
=========================== short test summary info ============================
FAILED tests/test_render.py::test_render - AssertionError
'''


def test_files_that_change_with_the_failing_test_raise_their_commits(git_repo) -> None:
    """`render` looks its filter up at run time: no call edge reaches filters.py, but history
    changed filters.py together with the test file twice, so a change to it is suspect."""
    app = "import importlib\n\ndef render(text):\n    return importlib.import_module('filters').run(text)\n"
    test = "import app\n\ndef test_render():\n    assert app.render('x') == '<x>'\n"
    git_repo.commit("Start", {"app.py": app, "filters.py": "def run(t):\n    return '<' + t + '>'\n",
                              "other.py": "A = 1\n", "tests/test_render.py": test})
    git_repo.commit("Filters: strip", {"filters.py": "def run(t):\n    return '<' + t.strip() + '>'\n",
                                       "tests/test_render.py": test + "\n# strip\n"})
    culprit = git_repo.commit("Filters: brackets", {"filters.py": "def run(t):\n    return '[' + t.strip() + ']'\n"},
                              author="Bob")
    other = git_repo.commit("Other", {"other.py": "A = 2\n"}, author="Carol")
    result = ranked(GitRepo(git_repo.root), PIPELINE_TRACE)
    order = [s.commit.hash for s in result.suspects]
    assert order.index(culprit) < order.index(other)  # though Other is newer
    assert result.features[culprit]["coupling"] == 1.0 and "coupling" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any(e.kind == "coupling" and e.text == "changed filters.py, which changes with the failing test's file"
               " tests/test_render.py (100% of its commits)" for e in suspect.evidence)


def test_equally_coupled_files_give_the_same_evidence_order_whatever_the_hash_seed(git_repo) -> None:
    """Two files changed with the failing test's file equally often: their commit's two coupling
    points tie, and their order once followed Python's string hashing (it changed from run to run)."""
    import json
    import os
    import subprocess
    import sys

    app = "import importlib\n\ndef render(text):\n    return importlib.import_module('filters').run(text)\n"
    test = "import app\n\ndef test_render():\n    assert app.render('x') == '<x>'\n"
    names = [f"mod_{c}.py" for c in "qwertyuiop"]
    git_repo.commit("Start", {"app.py": app, "filters.py": "def run(t):\n    return '<' + t + '>'\n",
                              "tests/test_render.py": test, **{n: "A = 1\n" for n in names}})
    git_repo.commit("Together", {"tests/test_render.py": test + "\n# 2\n", **{n: "A = 2\n" for n in names}})
    both = git_repo.commit("All of them", {n: "A = 3\n" for n in names})
    (git_repo.root / "crash.txt").write_text(PIPELINE_TRACE)
    seen = set()
    for seed in ("1", "2", "3", "4"):
        proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "crash.txt", "--format", "json",
                               "--top", "0"], cwd=git_repo.root, capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        suspect = next(s for s in json.loads(proc.stdout)["suspects"] if s["commit"] == both)
        coupling = tuple(e["text"] for e in suspect["evidence"] if e["kind"] == "coupling")
        assert len(coupling) >= 2  # evidence is capped per suspect: which ones are kept depends on the order too
        seen.add(coupling)
    assert len(seen) == 1


RUNNER_TRACE = '''\
=================================== FAILURES ===================================
___________________________ TestGrammar.test_widths ____________________________

self = <tests.test_grammar.TestGrammar testMethod=test_widths>

    def test_widths(self):
>       assert width("ab") == 2
E       AssertionError: assert 3 == 2

tests/test_grammar.py:6: AssertionError
=========================== short test summary info ============================
FAILED tests/__main__.py::TestGrammar::test_widths - AssertionError
'''


def test_a_test_a_runner_module_imports_is_found_where_its_frame_is(git_repo) -> None:
    """The id names `tests/__main__.py`, which only imports the test modules: the frame shows
    where `test_widths` is defined."""
    lib = "def width(s):\n    return len(s)\n"
    grammar = "import unittest\nfrom lib import width\n\n\nclass TestGrammar(unittest.TestCase):\n" \
              "    def test_widths(self):\n        assert width('ab') == 2\n"
    git_repo.commit("Start", {"lib.py": lib, "tests/test_grammar.py": grammar,
                              "tests/__main__.py": "import unittest\nfrom .test_grammar import *\n\nunittest.main()\n"})
    culprit = git_repo.commit("Count", {"lib.py": lib.replace("len(s)", "len(s) + 1")}, author="Bob")
    result = ranked(GitRepo(git_repo.root), RUNNER_TRACE)
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any(e.kind == "callee" and "the failing test TestGrammar.test_widths" in e.text for e in suspect.evidence)

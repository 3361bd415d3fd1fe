"""Edge tests of the sitting's Python test runners (s36): pytest's --tb=line beside an ERRORS section,
and `rca bisect` with the dotted test labels of unittest, Django's `manage.py test` and nose2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rca_lsp.bisect import command
from rca_lsp.traces import parse

# pytest 9.2.0 (Python 3.11.7), `python -m pytest -q --tb=line tests/test_extra.py::Erroring
# tests/test_extra.py::Setup`, byte for byte: a setUpClass that errs gives an ERRORS section
# (`____ ERROR at setup of Setup.test_x ____`, its `E` line only), then each failure's `E` line and its
# one `path:line: Error` line. Before: the section hid every --tb=line line, so test_error lost its
# frame in shop/discount.py and was ranked on the test's name alone.
TB_LINE_WITH_ERRORS = (
    'FE                                                                       [100%]\n'
    '==================================== ERRORS ====================================\n'
    '________________________ ERROR at setup of Setup.test_x ________________________\n'
    "E   TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'\n"
    '=================================== FAILURES ===================================\n'
    "E   TypeError: '<' not supported between instances of 'int' and 'str'\n"
    "/work/s36/pyrunners/proj/shop/discount.py:10: TypeError: '<' not supported between instances of 'int' and 'str'\n"
    '=========================== short test summary info ============================\n'
    "FAILED tests/test_extra.py::Erroring::test_error - TypeError: '<' not support...\n"
    'ERROR tests/test_extra.py::Setup::test_x - TypeError: unsupported operand typ...\n'
    '1 failed, 1 error in 0.65s\n'
)


def _by_test(text: str) -> dict[str, object]:
    return {t.test.name: t for t in parse(text) if t.test is not None}


def test_tb_line_keeps_its_lines_beside_an_errors_section():
    traces = _by_test(TB_LINE_WITH_ERRORS)
    failed = traces["test_error"]
    assert [(f.file, f.line) for f in failed.frames] == [("/work/s36/pyrunners/proj/shop/discount.py", 10)]
    assert failed.exception == "TypeError" and "not supported" in failed.message
    assert failed.test.container == "tests/test_extra.py::Erroring"
    setup = traces["test_x"]
    assert setup.exception == "TypeError" and setup.test.container == "tests/test_extra.py::Setup"
    assert len(parse(TB_LINE_WITH_ERRORS)) == 2


KNOWN = ("manage.py", "prices/__init__.py", "prices/tests.py", "prices/rules.py", "tests/__init__.py",
         "tests/test_regress.py", "tests/unit/__init__.py", "tests/unit/test_a.py", "shop/discount.py")


@pytest.mark.parametrize("text, path", [
    ("python -m unittest tests.test_regress", "tests/test_regress.py"),
    ("python -m unittest -v tests.test_regress.RegressTest.test_ten_percent", "tests/test_regress.py"),
    ("python3 -m unittest tests.unit", "tests/unit"),
    ("python manage.py test prices.tests.RulesTest.test_discounted", "prices/tests.py"),
    ("DJANGO_SETTINGS_MODULE=site.settings django-admin test prices.tests", "prices/tests.py"),
    ("python -m django test prices", "prices"),
    ("nose2 -v tests.test_regress.RegressTest", "tests/test_regress.py"),
    ("python -m nose2 tests.unit.test_a", "tests/unit/test_a.py"),
])
def test_dotted_test_labels_name_their_modules(text, path):
    assert path in command.parse(text, KNOWN).paths


@pytest.mark.parametrize("text", [
    "python tool.py shop.discount",  # a dotted word of any other program is no module
    "python -m unittest discover -s tests -p 'test_*.py'",
    "python -m unittest tests.test_missing.Case",  # no such module: nothing named beyond its package
])
def test_dotted_words_that_name_no_test_module(text):
    assert command.parse(text, KNOWN).paths in ((), ("tests",))


CODE = 'class Discount:\n    def __init__(self, percent):\n        self.percent = percent\n\n' \
       '    def apply(self, amount):\n        return amount * (100 - {rate}) / 100\n'
REGRESS = textwrap.dedent("""\
    import unittest

    from shop.discount import Discount


    class RegressTest(unittest.TestCase):
        def test_ten_percent(self):
            self.assertEqual(Discount(10).apply(100), 90)
    """)


def test_bisect_lays_in_the_new_test_module_that_unittest_names_by_its_dots(git_repo, tmp_path):
    """Before: `python -m unittest tests.test_regress` named no file, so the untracked test module was
    missing from every checkout, unittest failed to import it (exit 1) at every revision and rca said
    `no good revision: ... the test failed at 4`."""
    git_repo.commit("Add discounts", {"shop/__init__.py": "", "shop/discount.py": CODE.format(rate="self.percent"),
                                      "tests/__init__.py": ""}, author="Alice")
    git_repo.commit("Add readme", {"README.md": "# shop\n"}, author="Bob")
    culprit = git_repo.commit("Clamp discount percent",
                              {"shop/discount.py": CODE.format(rate="min(self.percent, 100) / 10")}, author="Carol")
    git_repo.commit("Docs", {"README.md": "# shop, with docs\n"}, author="Dave")
    git_repo.write("tests/test_regress.py", REGRESS)  # the new failing test, not committed yet
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", "--test", "python -m unittest tests.test_regress",
                           "--format", "json"], cwd=git_repo.root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["culprit"] == culprit and out["confirmed"] is True
    assert out["worktree_files"] == [{"path": "tests/test_regress.py", "state": "untracked"}]

"""Data-driven Python tests: a decorator makes one test method per row of data, named for the
function and the row (`test_double_1` for `@data("doubles") def double`, as asn1crypto's tests and
ddt/parameterized do). No function of the printed name exists; the frame inside `double` says which
function the test is, and the walk starts there."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.suspects.targets import _one_row_of
from rca_lsp.vcs.git import GitRepo

OPS = '''\
def double(value):
    return value * 2


def halve(value):
    return value / 2
'''

ROWS = '''\
"""Data-driven tests as asn1crypto writes them: @data names a provider, @data_decorator makes one
test method per row, named test_<function>_<row number>."""


def data(provider):
    def mark(function):
        function.provider = provider
        return function
    return mark


def data_decorator(cls):
    def generate(function, params):
        def generated_test_function(self):
            function(self, *params)
        return generated_test_function

    for name in list(vars(cls)):
        function = getattr(cls, name)
        if hasattr(function, "provider"):
            for num, params in enumerate(getattr(cls, function.provider)(), start=1):
                setattr(cls, "test_%s_%s" % (name, num), generate(function, params))
    return cls
'''

TESTS = '''\
import unittest

from calc import ops
from tests.rows import data, data_decorator


@data_decorator
class OpsTests(unittest.TestCase):
    @staticmethod
    def doubles():
        return ((1, 2), (4, 8))

    @data("doubles")
    def double(self, value, expected):
        self.assertEqual(ops.double(value), expected)
'''

# The real output of `python -m pytest tests` (pytest 9.0.3, Python 3.11.7, 2026-12-05) on these files
# with the "Squares" change below applied.
TRACE = '''\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.0.3, pluggy-1.6.0
benchmark: 5.2.3 (defaults: timer=time.perf_counter disable_gc=False min_rounds=5 min_time=0.000005 max_time=1.0 calibration_precision=10 warmup=False warmup_iterations=100000)
rootdir: /tmp/s14/dd
plugins: asyncio-1.5.0, hypothesis-6.155.2, lsp-1.0.1, benchmark-5.2.3, cov-7.1.0
asyncio: mode=Mode.STRICT, debug=False, asyncio_default_fixture_loop_scope=None, asyncio_default_test_loop_scope=function
collected 2 items

tests/test_ops.py FF                                                     [100%]

=================================== FAILURES ===================================
____________________________ OpsTests.test_double_1 ____________________________

self = <tests.test_ops.OpsTests testMethod=test_double_1>

    def generated_test_function(self):
>       function(self, *params)

tests/rows.py:15: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
tests/test_ops.py:15: in double
    self.assertEqual(ops.double(value), expected)
E   AssertionError: 1 != 2
____________________________ OpsTests.test_double_2 ____________________________

self = <tests.test_ops.OpsTests testMethod=test_double_2>

    def generated_test_function(self):
>       function(self, *params)

tests/rows.py:15: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
tests/test_ops.py:15: in double
    self.assertEqual(ops.double(value), expected)
E   AssertionError: 16 != 8
=========================== short test summary info ============================
FAILED tests/test_ops.py::OpsTests::test_double_1 - AssertionError: 1 != 2
FAILED tests/test_ops.py::OpsTests::test_double_2 - AssertionError: 16 != 8
============================== 2 failed in 0.52s ===============================
'''


def test_a_rows_name_is_the_functions_name_and_a_suffix() -> None:
    assert _one_row_of("double", "test_double_1") and _one_row_of("test_add", "test_add_0_small")
    assert not _one_row_of("double", "test_doubles") and not _one_row_of("do", "test_do_1")
    assert not _one_row_of("double", "test_halve_1")


def test_a_failing_row_is_walked_from_the_function_it_runs(git_repo) -> None:
    git_repo.commit("Add ops", {"calc/__init__.py": "", "calc/ops.py": OPS, "tests/__init__.py": "",
                                 "tests/rows.py": ROWS, "tests/test_ops.py": TESTS})
    broken = OPS.replace("return value * 2", "return value ** 2")
    assert broken != OPS
    culprit = git_repo.commit("Squares", {"calc/ops.py": broken}, author="Bob")
    other = git_repo.commit("Halve by shifting", {"calc/ops.py": broken.replace("value / 2", "value / 2.0")},
                            author="Carol")
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any("changed double" in e.text and "OpsTests.double" in e.text for e in suspect.evidence), \
        [e.text for e in suspect.evidence]

"""What `self.x` is in a Python test: `self.factory = factory.MomentFactory()` in `setUp` types
`self.factory` in every method of the class, so `self.factory.get("42")` in the test runs
`MomentFactory.get` (arrow's factory tests; `get` is too common a name to resolve untyped)."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.vcs.git import GitRepo

FACTORY = '''\
class Moment:
    def __init__(self, seconds):
        self.seconds = seconds


class MomentFactory:
    def get(self, text="0"):
        return Moment(int(text))

    def now(self):
        return Moment(0)
'''

TESTS = '''\
import unittest

from clock import factory


class GetTests(unittest.TestCase):
    def setUp(self):
        self.factory = factory.MomentFactory()

    def test_one_arg(self):
        self.assertEqual(self.factory.get("42").seconds, 42)
'''

# The real output of `python -m pytest tests` (pytest 9.0.3, Python 3.11.7, 2026-12-05) on these files
# with the "Hex moments" change below applied.
TRACE = '''\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.0.3, pluggy-1.6.0
benchmark: 5.2.3 (defaults: timer=time.perf_counter disable_gc=False min_rounds=5 min_time=0.000005 max_time=1.0 calibration_precision=10 warmup=False warmup_iterations=100000)
rootdir: /tmp/s14/sa
plugins: asyncio-1.5.0, hypothesis-6.155.2, lsp-1.0.1, benchmark-5.2.3, cov-7.1.0
asyncio: mode=Mode.STRICT, debug=False, asyncio_default_fixture_loop_scope=None, asyncio_default_test_loop_scope=function
collected 1 item

tests/test_factory.py F                                                  [100%]

=================================== FAILURES ===================================
____________________________ GetTests.test_one_arg _____________________________

self = <test_factory.GetTests testMethod=test_one_arg>

    def test_one_arg(self):
>       self.assertEqual(self.factory.get("42").seconds, 42)
E       AssertionError: 66 != 42

tests/test_factory.py:11: AssertionError
=========================== short test summary info ============================
FAILED tests/test_factory.py::GetTests::test_one_arg - AssertionError: 66 != 42
============================== 1 failed in 0.50s ===============================
'''

BROKEN = FACTORY.replace("return Moment(int(text))", "return Moment(int(text, 16))")


def test_an_attribute_set_on_self_types_it_in_every_method() -> None:
    calls = analyze(TESTS.encode(), "python").calls
    assert [(c.caller, c.callee, c.receiver_type) for c in calls if c.callee == "get"] == [
        ("GetTests.test_one_arg", "get", "MomentFactory")]
    annotated = analyze(b"class A:\n    def __init__(self):\n        self.p: Parser = make()\n"
                        b"    def go(self):\n        self.p.run()\n", "python").calls
    assert ("go", "Parser") in {(c.caller.rpartition(".")[2], c.receiver_type) for c in annotated}


def test_the_failing_test_reaches_the_method_of_what_set_up_made(git_repo) -> None:
    assert BROKEN != FACTORY
    git_repo.commit("Add the clock", {"clock/__init__.py": "", "clock/factory.py": FACTORY,
                                       "tests/test_factory.py": TESTS})
    culprit = git_repo.commit("Hex moments", {"clock/factory.py": BROKEN}, author="Bob")
    other = git_repo.commit("Now", {"clock/factory.py": BROKEN.replace("Moment(0)", "Moment(seconds=0)")},
                            author="Carol")
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any("changed MomentFactory.get" in e.text and "test_one_arg" in e.text for e in suspect.evidence), \
        [e.text for e in suspect.evidence]

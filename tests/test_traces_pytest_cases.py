"""Parametrised cases and subtests in real pytest output: every case names its test function.

A case's name carries its parameters (`test_x[a/b-1.5]`, unittest's `SplitAtTests.test_basic
(iterable='a,bb', separator=',')`, pytest's `test_sub [custom] (i=0)`); the ranking looks the
failing test up by its function, so the parser keeps the function in `name` and the case, for
display, in `params`. Real pytest runs, one per --tb mode, on a generated failing test file.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rca_lsp.traces import parse

CASES = '''\
import unittest

import pytest


def split_at(text, separator):
    return text.split(separator + "x")


class SplitAtTests(unittest.TestCase):
    def test_basic(self):
        for text, separator in [("a,bb,ccc,dddd", ","), ("ab", "b")]:
            with self.subTest(iterable=text, separator=separator):
                self.assertEqual(split_at(text, separator), text.split(separator))

    def test_msg(self):
        with self.subTest("odd case", path="a.b/c", v=1.5):
            self.assertEqual(split_at("a.b", "."), ["a", "b"])


@pytest.mark.parametrize("case", ["a/b-1.5", "x[0]", "sp ace", "q'uote", "d.o.t"])
def test_x(case):
    assert split_at(case, ",") == [case, "z"]


def test_sub(subtests):
    for i in range(2):
        with subtests.test(msg="custom", i=i):
            assert split_at("a,b", ",") == ["a", "b"]
'''

# (container's class part, function, the case as printed after it), in pytest's order
EXPECTED = [
    ("SplitAtTests", "test_basic", " (iterable='a,bb,ccc,dddd', separator=',')"),
    ("SplitAtTests", "test_basic", " (iterable='ab', separator='b')"),
    ("SplitAtTests", "test_msg", " [odd case] (path='a.b/c', v=1.5)"),
    ("", "test_x", "[a/b-1.5]"),
    ("", "test_x", "[x[0]]"),
    ("", "test_x", "[sp ace]"),
    ("", "test_x", "[q'uote]"),
    ("", "test_x", "[d.o.t]"),
    ("", "test_sub", " [custom] (i=0)"),
    ("", "test_sub", " [custom] (i=1)"),
]


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    """pytest's output on the cases in one --tb mode (each mode run once, on demand)."""
    root = tmp_path_factory.mktemp("cases")
    (root / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    seen: dict[str, str] = {}

    def run(mode: str) -> str:
        if mode not in seen:
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", mode,
                                   "test_cases.py"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 1, proc.stdout + proc.stderr  # the tests fail, pytest itself does not
            seen[mode] = proc.stdout + proc.stderr
        return seen[mode]
    return run


@pytest.mark.parametrize("mode", ["--tb=long", "--tb=short", "--tb=native", "--tb=line", "--tb=no"])
def test_every_case_names_its_test_function(output, mode):
    traces = parse(output(mode))
    got = [(t.test.container.partition("::")[2], t.test.name, t.test.params) for t in traces if t.test]
    assert got == EXPECTED
    assert all(t.test.path == "test_cases.py" for t in traces)
    assert len(traces) == len(EXPECTED)  # `FAILED ...::test_sub - contains 2 failed subtests` is no failure of its own


def test_label_keeps_the_case(output):
    traces = parse(output("--tb=short"))
    labels = [t.test.label for t in traces]
    assert labels[0] == "SplitAtTests.test_basic (iterable='a,bb,ccc,dddd', separator=',')"
    assert labels[4] == "test_x[x[0]]" and labels[5] == "test_x[sp ace]"
    assert labels[-1] == "test_sub [custom] (i=1)"

"""A traceback in a failing test's captured output joins the failure: code that catches an exception,
logs it (`logger.exception`) or prints it (`traceback.print_exc`) and returns a fallback fails the
test on an assertion whose own traceback shows only the test; the logged traceback is then the only
pointer into the code. Before, `Captured log call` / `Captured stderr call` blocks were skipped
whole, and the frame that raised never counted. Real pytest output of a real repository, the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.traces import parse

PRICES = 'from decimal import Decimal\n\n\ndef parse(text):\n    return Decimal(text.replace(",", ""))\n'
CART = '''import logging
import traceback

from shop.prices import parse

log = logging.getLogger(__name__)


def total(items):
    try:
        return sum(parse(i) for i in items)
    except Exception:
        {report}
        return None
'''
TEST = '''from decimal import Decimal

from shop.cart import total


def test_total():
    assert total(["1,234.50", "2"]) == Decimal("1236.50")
'''
REPORTS = {"log": 'log.exception("could not total %r", items)', "stderr": "traceback.print_exc()"}


def _repo(root: Path, report: str) -> tuple[GitRepoBuilder, str]:
    repo = GitRepoBuilder(root)
    repo.commit("shop", {"shop/__init__.py": "", "shop/prices.py": PRICES,
                         "shop/cart.py": CART.format(report=REPORTS[report]), "tests/test_cart.py": TEST})
    for n in range(3):
        repo.commit(f"Docs {n}", {"README.md": f"shop {n}\n"})
    culprit = repo.commit("prices: european separators", {"shop/prices.py": PRICES.replace('",", ""', '",", "."')})
    repo.commit("Docs 4", {"README.md": "shop 4\n"})
    return repo, culprit


def _pytest(repo: GitRepoBuilder) -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=repo.root,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo.root)})
    assert done.returncode == 1
    return done.stdout


@pytest.mark.parametrize("report, block", [("log", "Captured log call"), ("stderr", "Captured stderr call")])
def test_a_logged_traceback_joins_the_failure_after_the_tests_own(tmp_path, report, block):
    repo, _ = _repo(tmp_path / "shop", report)
    output = _pytest(repo)
    assert block in output and "AssertionError: assert None == Decimal('1236.50')" in output
    [trace] = parse(output)
    assert trace.exception == "AssertionError" and trace.test is not None and trace.test.name == "test_total"
    [logged] = trace.causes
    assert logged.exception == "decimal.InvalidOperation"
    assert [(Path(f.file or "").name, f.line, f.function) for f in logged.frames][0] == ("prices.py", 5, "parse")  # innermost first
    assert trace.all_frames()[0].function == "test_total"  # the test's own frames before the logged ones


def test_rca_points_at_the_line_the_logged_traceback_raised_on(tmp_path):
    repo, culprit = _repo(tmp_path / "shop", "log")
    done = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"],
                          cwd=repo.root, input=_pytest(repo), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = next(s for s in json.loads(done.stdout)["suspects"] if s["commit"] == culprit)
    assert {(e["kind"], e.get("path"), e.get("line")) for e in found["evidence"]} >= {("frame-line", "shop/prices.py", 5)}
    # before: only "changed parse, which the failing test test_total reaches in 2 calls"


def test_captured_output_without_a_traceback_adds_nothing():
    output = """=================================== FAILURES ===================================
__________________________________ test_total __________________________________

    def test_total():
>       assert total([]) == 1
E       assert 0 == 1

tests/test_cart.py:7: AssertionError
----------------------------- Captured stdout call -----------------------------
File "not/a/frame.py", line 3 is only printed text
------------------------------ Captured log call -------------------------------
WARNING  shop.cart:cart.py:12 empty cart
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - assert 0 == 1
"""
    [trace] = parse(output)
    assert trace.causes == () and [f.line for f in trace.frames] == [7]


PLUGIN = "def configure(config):\n    config.addinivalue_line('markers', 'slow: slow tests')\n"
BROKEN_PLUGIN = "def configure(config):\n    config.addinivalue_line('markers', 'slow: slow tests', 'again')\n"


def test_pytest_internalerror_lines_are_read_as_the_traceback_they_hold(tmp_path):
    """A hook that raises (a plugin's or a conftest's pytest_configure) makes pytest print its traceback
    with `INTERNALERROR> ` before every line: before, "no stack trace found"."""
    repo = GitRepoBuilder(tmp_path / "plug")
    repo.commit("plug", {"plug/__init__.py": "", "plug/hooks.py": PLUGIN, "README.md": "plug\n",
                         "conftest.py": "from plug.hooks import configure as pytest_configure\n",
                         "tests/test_x.py": "def test_x():\n    assert True\n"})
    for n in range(3):
        repo.commit(f"Docs {n}", {"README.md": f"plug {n}\n"})
    culprit = repo.commit("hooks: register twice", {"plug/hooks.py": BROKEN_PLUGIN})
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=repo.root,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo.root)})
    output = done.stdout + done.stderr
    assert done.returncode == 3 and "INTERNALERROR> Traceback (most recent call last):" in output
    [trace] = parse(output)
    assert trace.exception == "TypeError" and any(f.function == "configure" for f in trace.frames)
    ranked = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"],
                            cwd=repo.root, input=output, capture_output=True, text=True, timeout=120)
    assert ranked.returncode == 0, ranked.stderr
    first = json.loads(ranked.stdout)["suspects"][0]
    assert first["commit"] == culprit
    assert ("frame-line", "plug/hooks.py", 2) in {(e["kind"], e.get("path"), e.get("line")) for e in first["evidence"]}

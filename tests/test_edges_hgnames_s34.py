"""Edges of file names in Mercurial and of unittest's import failures, with real repositories and
the output real tools print:

- hg read file names with `decode` (each byte that is not UTF-8 as '?'), where git keeps them
  exactly: in an hg repository `caf\\xe9.py` was indexed as `caf?.py`, a trace naming it never
  reached its commits, and two names one byte apart were one. hg now reads names as git does
  (`diffparse.decode_path`), its blob ids name such a file by its bytes, and an index that kept
  the `?` is read again (migration m017).
- `python -m unittest` whose test module fails to import (`unittest.loader._FailedTest`) was
  ranked as a failing test: it gets the warning a pytest collection error gets, naming the module,
  and no coverage hint when no test ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _hg import HgRepoBuilder, needs_hg
from conftest import GitRepoBuilder
from test_edges_paths_s34 import BROKEN, CAFE, CAFE_NAME, RUNNER, WORKS, frame_paths, run_python, suspects

from rca_lsp.index.ingest import update
from rca_lsp.index.store import Index
from rca_lsp.traces import parse, resolve

ROOT = Path(__file__).resolve().parents[1]

# -- 1. hg file names that are not UTF-8 -------------------------------------------------------------

RUN_CAFE = "import os, runpy; runpy.run_path(os.fsdecode(b'caf\\xe9.py'))['g']()"


@pytest.fixture
def hg_repo(tmp_path, monkeypatch) -> HgRepoBuilder:
    for name in ("HGPLAIN", "HGPLAINEXCEPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HGRCPATH", "")  # no hgrc of the machine's user, for rca's own hg too
    return HgRepoBuilder(tmp_path / "repo")


@pytest.fixture
def hg_cafe(hg_repo) -> tuple[HgRepoBuilder, str]:
    """An hg repository whose `caf\\xe9.py` (latin-1 bytes) was broken by one commit, with a later one."""
    pytest.importorskip("hglib")
    hg_repo.commit("Add the runner", {"test_it.py": RUNNER, "other.py": "x = 1\n"})
    (hg_repo.root / os.fsdecode(CAFE)).write_bytes(WORKS.encode())
    hg_repo.commit("Add the helpers")
    (hg_repo.root / CAFE_NAME).write_bytes(BROKEN.encode())
    culprit = hg_repo.commit("Tighten the helper")
    hg_repo.commit("Unrelated", {"other.py": "x = 2\n"})
    return hg_repo, culprit


def _hg(root: Path):
    from rca_lsp.vcs.hg import HgRepo

    return HgRepo(root)


@needs_hg
def test_an_hg_trace_naming_a_non_utf8_file_reaches_its_commits(hg_cafe):
    """Python prints the name as `caf\\udce9.py`: hg's tracked files now hold that name, so the
    frames resolve to the file and the commit that broke it is the first suspect."""
    repo, culprit = hg_cafe
    assert CAFE in os.listdir(os.fsencode(repo.root))
    trace = run_python(repo.root, "-c", RUN_CAFE)
    assert 'caf\\udce9.py", line 2, in f' in trace
    backend = _hg(repo.root)
    try:
        frames = [f for t in resolve(parse(trace), backend.tracked_files()) for f in t.all_frames()]
    finally:
        backend.close()
    assert [(f.path, f.line) for f in frames if f.function in ("f", "g")] == [(CAFE_NAME, 2), (CAFE_NAME, 6)]
    doc = suspects(repo.root, trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_paths(doc, culprit) == {CAFE_NAME}


@needs_hg
def test_two_hg_names_one_byte_apart_stay_two(hg_repo):
    """`caf\\xe9.py` and `caf\\xe8.py` were both `caf?.py`: each is kept as its bytes in the index,
    each blob id reads its own file's contents, and the working directory's questions name each."""
    pytest.importorskip("hglib")
    e_acute, e_grave = os.fsdecode(b"caf\xe9.py"), os.fsdecode(b"caf\xe8.py")
    hg_repo.commit("Start", {"a.py": "a = 1\n"})
    (hg_repo.root / e_acute).write_bytes(b"def acute():\n    return 1\n")
    first = hg_repo.commit("One")
    (hg_repo.root / e_grave).write_bytes(b"def grave():\n    return 2\n")
    second = hg_repo.commit("Two")
    backend = _hg(hg_repo.root)
    try:
        with Index.open(backend.meta_dir) as index:
            update(backend, index)
        assert sorted(backend.tracked_files()) == ["a.py", e_grave, e_acute]
        heads = backend.head_blobs()
        reader = backend.blob_reader()
        assert reader.get(heads[e_acute]) == b"def acute():\n    return 1\n"
        assert reader.get(heads[e_grave]) == b"def grave():\n    return 2\n"
        logged = {item.commit.hash: item for item in backend.log(backend.reachable())}
        [change] = logged[second].changes
        assert change.path == e_grave and reader.get(change.new_blob) == b"def grave():\n    return 2\n"
        (hg_repo.root / e_acute).write_bytes(b"def acute():\n    return 3\n")
        (hg_repo.root / os.fsdecode(b"new\xff.py")).write_bytes(b"x = 1\n")
        assert backend.modified_files() == [e_acute]
        assert backend.untracked_files() == [os.fsdecode(b"new\xff.py")]
        assert backend.worktree_changes([e_acute]) == {e_acute: [(2, 1, 2, 1)]}
    finally:
        backend.close()
    conn = sqlite3.connect(Path(hg_repo.root) / ".hg" / "rca" / "index.db")
    rows = conn.execute("SELECT c.hash, f.path FROM files f JOIN commits c ON c.id = f.commit_id").fetchall()
    assert (first, b"caf\xe9.py") in rows and (second, b"caf\xe8.py") in rows
    assert sorted(p for (p,) in conn.execute("SELECT path FROM head_files")
                  if isinstance(p, bytes)) == [b"caf\xe8.py", b"caf\xe9.py"]
    conn.close()


@needs_hg
def test_an_hg_index_that_kept_question_marks_is_read_again(hg_cafe):
    """An hg index built after migration m016 still kept `caf?.py` (hg read names lossily then):
    migration m017 reads such commits again, so the name is exact without a rebuild."""
    repo, culprit = hg_cafe
    backend = _hg(repo.root)
    try:
        with Index.open(backend.meta_dir) as index:
            update(backend, index)
    finally:
        backend.close()
    db = Path(repo.root) / ".hg" / "rca" / "index.db"
    conn = sqlite3.connect(db)
    for table, columns in (("files", ("path", "old_path", "new_path")), ("head_files", ("path",))):
        for column in columns:
            conn.execute(f"UPDATE {table} SET {column} = 'caf?.py' WHERE {column} = ?", (CAFE,))
    conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm017%'")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM files WHERE path = 'caf?.py'").fetchone()[0] == 2
    conn.close()
    doc = suspects(repo.root, run_python(repo.root, "-c", RUN_CAFE))
    assert doc["suspects"][0]["commit"] == culprit and frame_paths(doc, culprit) == {CAFE_NAME}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM files WHERE path = 'caf?.py'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM files WHERE path = ?", (CAFE,)).fetchone()[0] == 2
    conn.close()


# -- 2. unittest's import failures -------------------------------------------------------------------

OPS = "def add(a, b):\n    return a + b\n"
TEST_OPS = ("import unittest\n\nfrom ops.core import add\n\n\nclass T(unittest.TestCase):\n"
            "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n")
TEST_FINE = "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertEqual(1, 1)\n"


def _unittest(root: Path, *args: str) -> str:
    out = run_python(root, "-m", "unittest", *args, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert "(unittest.loader._FailedTest" in out and "ImportError: Failed to import test module: " in out, out
    return out


@pytest.fixture
def broken_import(tmp_path) -> GitRepoBuilder:
    repo = GitRepoBuilder(tmp_path / "repo")
    repo.commit("Add ops", {"ops/__init__.py": "", "ops/core.py": OPS, "tests/__init__.py": "",
                            "tests/test_ops.py": TEST_OPS, "tests/test_fine.py": TEST_FINE})
    repo.commit("Rename add to plus", {"ops/core.py": OPS.replace("def add", "def plus")})
    return repo


def _ranked(root: Path, output: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "-", "--format", "json"], cwd=root,
                          input=output, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("args", [("tests.test_ops",), ("-v", "tests.test_ops"), ("discover", "-s", "tests", "-t", ".")],
                         ids=["by-name", "verbose", "discover-alone"])
def test_a_unittest_import_failure_is_ranked_with_a_warning_naming_the_module(broken_import, args):
    (broken_import.root / "tests" / "test_fine.py").unlink()  # only the module that fails to import
    output = _unittest(broken_import.root, *args)
    assert "Ran 1 test" in output
    doc = _ranked(broken_import.root, output)
    [warning] = doc["warnings"]
    assert warning.startswith("unittest's output is an import error, not a test failure: the tests did not run")
    assert "the trace is of the import" in warning and "\n" not in warning
    assert "test_ops (ImportError: cannot import name 'add' from 'ops.core'" in warning, warning
    assert not any("coverage" in hint for hint in doc["hints"]), doc["hints"]


def test_a_unittest_import_failure_beside_tests_that_ran_says_so(broken_import):
    output = _unittest(broken_import.root, "discover", "-s", "tests", "-t", ".")
    assert "Ran 2 tests" in output
    [warning] = _ranked(broken_import.root, output)["warnings"]
    assert warning.startswith("unittest's output holds an import error: the tests of a module that failed to "
                              "import did not run")
    assert "failed to import: tests.test_ops (ImportError: cannot import name 'add'" in warning, warning


def test_a_failing_unittest_has_no_import_warning(broken_import):
    broken_import.commit("Mend", {"tests/test_ops.py": TEST_OPS.replace("add", "plus").replace("3)", "4)")})
    output = run_python(broken_import.root, "-m", "unittest", "tests.test_ops", env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert "AssertionError: 3 != 4" in output and "_FailedTest" not in output
    assert _ranked(broken_import.root, output)["warnings"] == []

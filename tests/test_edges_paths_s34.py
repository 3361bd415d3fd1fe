"""Paths that came out wrong, each with real git repositories and the traces real tools print:

- A file name that is not UTF-8 (`caf\\xe9.py`, latin-1, committed on Linux) was indexed with `?` for
  the byte: a trace naming it (Python prints `caf\\udce9.py`, pytest the raw byte) never reached its
  commits, and two names one byte apart were one. Names are kept exactly (a BLOB in the index when
  not UTF-8) and traces reach them in every spelling; an index of an older rca is read again.
- Frames in a git submodule: its history is not the superproject's. rca says so once per submodule,
  with how to rank them there; a frame under the submodule's folder is never taken for the
  superproject's file of the same name.
- unittest running doctests (`load_tests` adding `doctest.DocTestSuite`) prints an AssertionError
  traceback around doctest's report: one trace per failing example, read as `python -m doctest`'s.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.errors import TraceError
from rca_lsp.index.ingest import update
from rca_lsp.index.store import Index
from rca_lsp.traces import parse, resolve
from rca_lsp.vcs.git import GitRepo

ROOT = Path(__file__).resolve().parents[1]


def rca(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def run_python(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """What `python args...` prints (stdout and stderr) as bytes read the way rca reads a trace file."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH")}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, timeout=120,
                          env={**clean, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def suspects(root: Path, trace: str, *extra: str) -> dict:
    (root.parent / "trace.txt").write_text(trace)
    proc = rca("suspects", "--trace", str(root.parent / "trace.txt"), "--format", "json", *extra, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def frame_paths(doc: dict, commit: str) -> set[str]:
    return {e["path"] for s in doc["suspects"] if s["commit"] == commit
            for e in s["evidence"] if e["kind"] == "frame-line"}


# -- 1. file names that are not UTF-8 ----------------------------------------------------------------

CAFE = b"caf\xe9.py"
CAFE_NAME = os.fsdecode(CAFE)  # 'caf\udce9.py', as os.listdir and Python's tracebacks have it
WORKS = "def f():\n    return 1\n\n\ndef g():\n    return f()\n"
BROKEN = "def f():\n    raise ValueError('boom')\n\n\ndef g():\n    return f()\n"
RUNNER = "import os\nimport runpy\n\n\ndef test_g():\n    runpy.run_path(os.fsdecode(b'caf\\xe9.py'))['g']()\n"


@pytest.fixture
def cafe(git_repo) -> tuple[GitRepoBuilder, str]:
    """A repository whose `caf\\xe9.py` (latin-1 bytes) was broken by one commit, with a later one."""
    git_repo.commit("Add the runner", {"test_it.py": RUNNER, "other.py": "x = 1\n"})
    git_repo.write(CAFE_NAME, WORKS)
    git_repo.commit("Add the helpers")
    git_repo.write(CAFE_NAME, BROKEN)
    culprit = git_repo.commit("Tighten the helper")
    git_repo.commit("Unrelated", {"other.py": "x = 2\n"})
    return git_repo, culprit


@pytest.mark.parametrize("how", ["python", "pytest"])
def test_a_trace_naming_a_non_utf8_file_reaches_its_commits(cafe, how):
    """Python prints the name with a surrogate escape (`caf\\udce9.py`), pytest the raw byte (read
    as U+FFFD): either way the frames resolve to the file, and its commit is the first suspect."""
    repo, culprit = cafe
    if how == "python":
        trace = run_python(repo.root, "-c", "import os, runpy; runpy.run_path(os.fsdecode(b'caf\\xe9.py'))['g']()")
        assert 'caf\\udce9.py", line 2, in f' in trace
    else:
        trace = run_python(repo.root, "-m", "pytest", "-p", "no:cacheprovider", "test_it.py")
        assert "caf\ufffd.py:2: ValueError" in trace
    frames = [f for t in resolve(parse(trace), GitRepo(repo.root).tracked_files()) for f in t.all_frames()]
    assert [(f.path, f.line) for f in frames if f.function in ("f", "g")] == [(CAFE_NAME, 2), (CAFE_NAME, 6)]
    doc = suspects(repo.root, trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_paths(doc, culprit) == {CAFE_NAME}


def test_two_names_one_byte_apart_stay_two(git_repo):
    """`caf\\xe9.py` and `caf\\xe8.py` were both indexed as `caf?.py`. Each is kept as its bytes; a
    trace reaches the one it names, and a spelling that fits both (U+FFFD) names neither."""
    e_acute, e_grave = os.fsdecode(b"caf\xe9.py"), os.fsdecode(b"caf\xe8.py")
    git_repo.commit("Start", {"a.py": "a = 1\n"})
    git_repo.write(e_acute, WORKS)
    first = git_repo.commit("One")
    git_repo.write(e_grave, WORKS)
    second = git_repo.commit("Two")
    backend = GitRepo(git_repo.root)
    with Index.open(backend.meta_dir) as index:
        update(backend, index)
    conn = sqlite3.connect(Path(backend.meta_dir) / "rca" / "index.db")
    rows = conn.execute("SELECT c.hash, f.path FROM files f JOIN commits c ON c.id = f.commit_id").fetchall()
    assert (first, b"caf\xe9.py") in rows and (second, b"caf\xe8.py") in rows
    assert sorted(p for (p,) in conn.execute("SELECT path FROM head_files")
                  if isinstance(p, bytes)) == [b"caf\xe8.py", b"caf\xe9.py"]
    tracked = backend.tracked_files()
    assert sorted(tracked) == ["a.py", e_grave, e_acute]

    def where(name: str) -> str | None:
        [trace] = resolve(parse(f'Traceback (most recent call last):\n  File "/w/{name}", line 2, in f\n'
                                "ValueError: boom\n"), tracked)
        return trace.frames[0].path

    assert where("caf\\udce9.py") == e_acute and where("caf\\udce8.py") == e_grave
    assert where("caf\ufffd.py") is None
    assert where("caf\u00e9.py") == e_acute  # the latin-1 reading, as a UTF-8 terminal shows it


def test_an_index_that_kept_question_marks_is_read_again(cafe, tmp_path):
    """An index built before kept `caf?.py`: on opening (migration m016) the commits with such a
    path are read again and HEAD's files listed again, so the name is exact without a rebuild."""
    repo, culprit = cafe
    backend = GitRepo(repo.root)
    with Index.open(backend.meta_dir) as index:
        update(backend, index)
    db = Path(backend.meta_dir) / "rca" / "index.db"
    conn = sqlite3.connect(db)
    for table, columns in (("files", ("path", "old_path", "new_path")), ("head_files", ("path",))):
        for column in columns:
            conn.execute(f"UPDATE {table} SET {column} = 'caf?.py' WHERE {column} = ?", (CAFE,))
    conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm016%'")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM files WHERE path = 'caf?.py'").fetchone()[0] == 2
    conn.close()
    trace = run_python(repo.root, "-c", "import os, runpy; runpy.run_path(os.fsdecode(b'caf\\xe9.py'))['g']()")
    doc = suspects(repo.root, trace)
    assert doc["suspects"][0]["commit"] == culprit and frame_paths(doc, culprit) == {CAFE_NAME}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM files WHERE path = 'caf?.py'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM files WHERE path = ?", (CAFE,)).fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM head_files WHERE path = ?", (CAFE,)).fetchone()[0] == 1
    conn.close()


# -- 2. frames in a git submodule ----------------------------------------------------------------------

LIB_OK = "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return f(x) * 2\n"
LIB_BAD = "def f(x):\n    return x + undefined\n\n\ndef g(x):\n    return f(x) * 2\n"
RUN_LIB = "import sys\nsys.path.insert(0, 'libs/sub')\nfrom pkg.mod import g\n\ng(1)\n"


@pytest.fixture
def superproject(tmp_path) -> dict:
    """`top` with the submodule `libs/sub` (the repository `lib`), whose pointer a commit moved to
    the lib commit that broke `f`; `top` has a `pkg/mod.py` of its own, as the submodule has."""
    lib = GitRepoBuilder(tmp_path / "lib")
    lib.commit("Lib start", {"pkg/__init__.py": "", "pkg/mod.py": LIB_OK})
    lib_good = lib.git("rev-parse", "HEAD").strip()
    top = GitRepoBuilder(tmp_path / "top")
    top.commit("Top start", {"pkg/__init__.py": "", "pkg/mod.py": LIB_OK, "run.py": RUN_LIB})
    top.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(lib.root), "libs/sub")
    top.commit("Add the lib")
    top.commit("Edit our mod", {"pkg/mod.py": LIB_OK.replace("x + 1", "x + 2")})
    lib_bad = lib.commit("Lib: use the setting", {"pkg/mod.py": LIB_BAD})
    lib.commit("Lib: docs", {"README": "lib\n"})
    sub = top.root / "libs/sub"
    subprocess.run(["git", "-c", "protocol.file.allow=always", "fetch", "-q"], cwd=sub, check=True)
    subprocess.run(["git", "checkout", "-q", "origin/main"], cwd=sub, check=True, capture_output=True)
    bump = top.commit("Bump the lib")
    trace = run_python(top.root, "run.py")
    assert '/libs/sub/pkg/mod.py", line 2, in f' in trace
    return {"top": top, "lib_good": lib_good, "lib_bad": lib_bad, "bump": bump, "trace": trace}


def test_frames_in_a_submodule_are_said_once_with_where_to_rank_them(superproject):
    top, trace = superproject["top"], superproject["trace"]
    doc = suspects(top.root, trace)
    said = [h for h in doc["hints"] if "libs/sub" in h]
    assert len(said) == 1, doc["hints"]
    [hint] = said
    assert "submodule libs/sub" in hint and "not ranked here" in hint
    assert "`rca suspects --repo libs/sub --trace TRACE`" in hint
    assert superproject["bump"][:10] in hint and f"--since {superproject['lib_good'][:10]}" in hint
    # the frames are the submodule's pkg/mod.py, never the superproject's file of that name
    assert not any(e.get("path") == "pkg/mod.py" for s in doc["suspects"] for e in s["evidence"]), doc
    proc = rca("suspects", "--trace", str(top.root.parent / "trace.txt"), cwd=top.root)
    assert proc.returncode == 0 and proc.stdout.count("submodule libs/sub") == 1, proc.stdout


def test_the_hint_ranks_the_submodule_commits_the_bump_brought_in(superproject):
    """Done as the hint says, in the submodule, from the commit the pointer moved from: the lib's
    own commit that broke `f` comes first, of the two the bump brought in."""
    top, lib_bad = superproject["top"], superproject["lib_bad"]
    [hint] = [h for h in suspects(top.root, superproject["trace"])["hints"] if "submodule" in h]
    since = re.search(r"`--since ([0-9a-f]{10})`", hint)
    assert since is not None, hint
    sub_doc = suspects(top.root, superproject["trace"], "--repo", "libs/sub", "--since", since.group(1))
    assert sub_doc["candidates"] == 2 and sub_doc["suspects"][0]["commit"] == lib_bad
    assert frame_paths(sub_doc, lib_bad) == {"pkg/mod.py"}
    assert not any("submodule" in h for h in sub_doc["hints"])


def test_resolution_keeps_submodule_frames_out_of_the_superproject(superproject):
    top = superproject["top"]
    backend = GitRepo(top.root)
    inside = backend.submodules()
    assert inside == {"libs/sub": ["libs/sub/README", "libs/sub/pkg/__init__.py", "libs/sub/pkg/mod.py"]}
    traces = resolve(parse(superproject["trace"]), backend.tracked_files(), foreign=inside["libs/sub"])
    assert [(f.function, f.path) for f in traces[0].frames] == [("f", None), ("g", None), ("<module>", "run.py")]


# -- 3. unittest running doctests -----------------------------------------------------------------------

DOC = '''\
"""Helpers with doctests."""


def add(a, b):
    """Add two numbers.

    >>> add(1, 2)
    4
    """
    return a + b


def parse(text):
    """Parse an integer.

    >>> parse("7")
    7
    >>> parse("x")
    0
    """
    return int(text)


def both():
    """Two failing examples in one docstring.

    >>> add(2, 2)
    5
    >>> add(3, 3)
    7
    """
'''

USAGE = "Using add:\n\n>>> from app.doc import add\n>>> add(1, 1)\n3\n"

LOAD_TESTS = '''\
import doctest
import os

import app.doc


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(app.doc))
    usage = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "docs", "usage.txt"))
    tests.addTests(doctest.DocFileSuite(usage, module_relative=False))
    return tests
'''

DOC_FILES = ["app/__init__.py", "app/doc.py", "docs/usage.txt", "tests/__init__.py", "tests/test_docs.py"]


@pytest.fixture(scope="module")
def doc_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unit_doctest")
    for path, text in (("app/__init__.py", ""), ("app/doc.py", DOC), ("docs/usage.txt", USAGE),
                       ("tests/__init__.py", ""), ("tests/test_docs.py", LOAD_TESTS)):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _view(trace) -> tuple:
    """What a doctest failure resolves to; the test by its last two names (`python -m doctest app/doc.py`
    names the module after the file, `doc.add`; DocTestSuite by its import, `app.doc.add`)."""
    top = trace.frames[0]
    assert trace.test is not None
    return (trace.exception, trace.message, top.path, top.line, top.function, trace.test.path,
            trace.test.name.rsplit(".", 2)[-2:], [(f.path, f.line) for f in trace.all_frames() if f.path])


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_unittest_doctest_suite_is_one_trace_per_failing_example(doc_project, verbose):
    out = run_python(doc_project, "-m", "unittest", *verbose, "tests.test_docs")
    assert "AssertionError: Failed doctest test for app.doc.add" in out and out.count("\nFAIL: ") == 4
    traces = resolve(parse(out), DOC_FILES)
    stdlib = resolve(parse(run_python(doc_project, "-m", "doctest", "app/doc.py")), DOC_FILES)
    stdlib += resolve(parse(run_python(doc_project, "-m", "doctest", "docs/usage.txt")), DOC_FILES)
    assert len(stdlib) == 5
    assert sorted(map(_view, traces), key=str) == sorted(map(_view, stdlib), key=str)
    assert sorted((t.test.path, t.frames[0].line) for t in traces) == [("app/doc.py", 7), ("app/doc.py", 18), ("app/doc.py", 27),
                                                ("app/doc.py", 29), ("docs/usage.txt", 4)]
    assert not any(t.exception == "AssertionError" for t in traces)
    assert {t.test.name for t in traces} == {"app.doc.add", "app.doc.parse", "app.doc.both", "usage.txt"}


# -- found on the way: a location whose "line" is a digit int() refuses ------------------------------

def test_a_superscript_digit_is_no_line_number(caplog):
    """`str.isdigit` holds for `³`, which `int` refuses: the Rust parser failed on such a panic
    location (test_traces_hostile's fuzzing found it) and its readings were dropped."""
    text = "thread 'main' panicked at src/main.rs:³:\nboom\n"
    with pytest.raises(TraceError):  # no location, so no trace; but no parser broke on the way
        parse(text)
    assert not [r for r in caplog.records if "parser failed" in r.getMessage()]

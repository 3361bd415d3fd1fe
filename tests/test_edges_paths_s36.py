"""Installed paths, output and index edges, each with real tools (git, python, setuptools, jq):

- The repository's package installed as an egg (setuptools' `bdist_egg`, the old `python setup.py
  install` and easy_install: `.../site-packages/mypkg-1.0-py3.11.egg/mypkg/core.py`, zipped or not)
  was library code whatever the tail: the egg's folder stood between site-packages and the package.
  Below the egg the path is read as below site-packages; another library's egg stays library code.
- JSON output with a file name that is not UTF-8 (a lone surrogate per byte): `rca suspects --format
  json` was already UTF-8 and valid (its stream wrote the surrogate as a `\\udce9` escape), but the
  document `render.to_json` returned held the surrogate, which no UTF-8 encoder takes; and `rca
  bisect --format json` on a latin-1 or cp1252 output wrote a commit message's emoji as `\\U0001f680`,
  which is no JSON. Both are JSON text any UTF-8 reader (jq) takes now.
- Worktrees of a bare repository (`git clone --bare`, `git worktree add`): each indexed its history
  from nothing, as its index was to start as a copy of the main checkout's, which a bare repository
  never has. A new one starts as a copy of the worktree's index written last.
- A partial clone (`--filter=blob:none`): versions fetched after the index was built (`git show`,
  `git checkout` of an old revision, `git backfill`) were read only when HEAD moved or by `rca index`;
  `rca suspects` ranked without them. It notices the object store changed (one directory listing)
  and reads those commits again, and says how many candidates still lack some diffs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import GitRepoBuilder, ranked

from rca_lsp.index.store import Index
from rca_lsp.render import to_json
from rca_lsp.traces import parse, resolve
from rca_lsp.vcs.git import GitRepo
from tests.test_edges_paths_s35 import frame_lines  # one definition

ROOT = Path(__file__).resolve().parents[1]
HALF_OK = "def half(x):\n    return x // 2\n"
HALF_BAD = "def half(x):\n    return x // 0\n"
SETUP = 'from setuptools import setup\n\nsetup(name="mypkg", version="1.0", packages=["mypkg"], zip_safe={zip})\n'


def rca(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def user_env() -> dict[str, str]:
    """The environment a user's program runs in: no rca or pytest settings."""
    drop = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in drop}


def suspects(cwd: Path, trace: str, *extra: str) -> dict:
    saved = cwd.parent / "trace.txt"
    saved.write_text(trace)
    proc = rca("suspects", "--trace", str(saved), "--format", "json", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# -- 1. the repository's package installed as an egg ----------------------------------------------

@pytest.fixture
def package(git_repo: GitRepoBuilder) -> tuple[GitRepoBuilder, str]:
    """A package (with its setup.py) whose `half` one commit broke, with commits around it."""
    git_repo.commit("Add the package", {"mypkg/__init__.py": "", "mypkg/core.py": HALF_OK,
                                        "setup.py": SETUP.format(zip=True), "README.md": "mypkg\n"})
    culprit = git_repo.commit("Tweak the division", {"mypkg/core.py": HALF_BAD})
    git_repo.commit("Document the package", {"README.md": "mypkg: numbers\n"})
    git_repo.commit("Add other", {"mypkg/other.py": "X = 1\n"})
    return git_repo, culprit


def egg_installed(repo: GitRepoBuilder, where: Path, zipped: bool) -> Path:
    """A virtual environment with the repository's package installed as setuptools' egg installs
    did: `bdist_egg`'s egg in site-packages, zipped or unpacked, listed in easy-install.pth. Its
    python."""
    build = where / "build"
    shutil.copytree(repo.root, build, ignore=shutil.ignore_patterns(".git"))
    (build / "setup.py").write_text(SETUP.format(zip=zipped))
    subprocess.run([sys.executable, "setup.py", "-q", "bdist_egg"], cwd=build, check=True, capture_output=True,
                   env=user_env(), timeout=120)
    [egg] = (build / "dist").glob("mypkg-1.0-*.egg")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    [site] = venv.glob("lib/python*/site-packages")
    if zipped:
        shutil.copy(egg, site / egg.name)
    else:
        with zipfile.ZipFile(egg) as archive:
            archive.extractall(site / egg.name)
    (site / "easy-install.pth").write_text(f"./{egg.name}\n")
    return venv / "bin" / "python"


@pytest.mark.parametrize("zipped", [True, False], ids=["zipped", "unpacked"])
def test_a_frame_in_an_installed_egg_names_the_packages_file(package, tmp_path, zipped):
    repo, culprit = package
    python = egg_installed(repo, tmp_path, zipped)
    proc = subprocess.run([str(python), "-c", "from mypkg.core import half; half(4)"], cwd=tmp_path,
                          capture_output=True, text=True, env=user_env(), timeout=60)
    trace = proc.stdout + proc.stderr
    assert re.search(r'site-packages/mypkg-1\.0-py3\.\d+\.egg/mypkg/core\.py", line 2, in half', trace), trace
    doc = suspects(repo.root, trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("mypkg/core.py", 2)}
    assert not doc["warnings"]


EGG_TRACE = 'Traceback (most recent call last):\n  File "{}", line 2, in half\nZeroDivisionError: x\n'


@pytest.mark.parametrize("printed, path", [
    ("/usr/lib/python3.11/site-packages/mypkg-1.0-py3.11.egg/mypkg/core.py", "mypkg/core.py"),
    ("C:\\Python311\\Lib\\site-packages\\mypkg-1.0-py3.11.egg\\mypkg\\core.py", "mypkg/core.py"),
    ("/home/u/.local/lib/python3.11/mypkg.egg/mypkg/core.py", "mypkg/core.py"),  # an egg folder on sys.path
    ("/usr/lib/python3/dist-packages/vendorlib-2.0-py3.11.egg/vendorlib/util.py", None),  # vendored here
    ("/usr/lib/python3.11/site-packages/other-1.0-py3.11.egg/other/core.py", None),  # another library
])
def test_a_path_below_an_egg_is_read_as_below_site_packages(printed, path):
    files = ["mypkg/__init__.py", "mypkg/core.py", "third_party/vendorlib/util.py", "README.md"]
    traces = resolve(parse(EGG_TRACE.format(printed)), files)
    frame = traces[0].frames[0]
    assert (frame.path, frame.external) == (path, path is None)


# -- 2. JSON output that any UTF-8 reader takes -------------------------------------------------------

CAFE = b"caf\xe9.py"  # latin-1: no UTF-8


@pytest.fixture
def latin1_named(git_repo: GitRepoBuilder) -> tuple[GitRepoBuilder, str, str]:
    """A file whose name is not UTF-8, broken by one commit; the trace Python prints for it."""
    git_repo.commit("Add the module", {os.fsdecode(CAFE): HALF_OK, "README.md": "x\n"})
    culprit = git_repo.commit("Tweak the division", {os.fsdecode(CAFE): HALF_BAD})
    git_repo.commit("Document", {"README.md": "y\n"})
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(git_repo.root)!r}); "
                           "import importlib, os; importlib.import_module(os.fsdecode(b'caf\\xe9')).half(2)"],
                          capture_output=True, text=True, env=user_env(), timeout=60)
    assert 'caf\\udce9.py", line 2, in half' in proc.stderr, proc.stderr
    return git_repo, culprit, proc.stderr


def test_suspects_json_with_a_name_not_utf8_is_strict_utf8(latin1_named, tmp_path):
    """Already so before (the stream's backslashreplace wrote `\\udce9`); kept, with jq as the reader."""
    repo, culprit, trace = latin1_named
    (tmp_path / "trace.txt").write_text(trace)
    args = [sys.executable, "-m", "rca_lsp", "suspects", "--trace", str(tmp_path / "trace.txt"), "--format", "json"]
    proc = subprocess.run(args, cwd=repo.root, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.decode("utf-8"))  # strict: no lone surrogate, no stray byte
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {(os.fsdecode(CAFE), 2)}
    if shutil.which("jq"):
        out = subprocess.run(["jq", "-r", ".suspects[0].commit"], input=proc.stdout, capture_output=True, check=True)
        assert out.stdout.decode().strip() == culprit


def test_the_suspects_document_is_utf8_text_whatever_the_stream(latin1_named):
    """`to_json` held the lone surrogate: writing the document anywhere but a backslashreplace stream
    (a file opened as UTF-8, `.encode()`) raised UnicodeEncodeError."""
    repo, culprit, trace = latin1_named
    result = ranked(GitRepo(repo.root), trace)
    text = to_json(result)
    assert "\\udce9" in text and json.loads(text.encode("utf-8"))["suspects"][0]["commit"] == culprit
    assert json.loads(text) == json.loads(to_json(result, ascii_only=True))


def test_bisect_json_on_a_latin1_output_is_json(git_repo, tmp_path):
    """`rca bisect --format json` wrote the culprit's message as it was on a latin-1 output: the
    rocket became `\\U0001f680` (no JSON escape) and é a latin-1 byte (no UTF-8). It is escaped as
    `rca suspects` escapes it there."""
    git_repo.commit("init", {"a.py": "def f():\n    return 1\n", "t.py": "from a import f\nassert f() == 1\n"})
    for i in (1, 2):
        git_repo.commit(f"note {i}", {f"n{i}.txt": f"{i}\n"})
    culprit = git_repo.commit("break f \u2713 \U0001f680 caf\u00e9", {"a.py": "def f():\n    return 2\n"})
    git_repo.commit("note 3", {"n3.txt": "3\n"})
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", "--test", f"{sys.executable} t.py",
                           "--good", "HEAD~4", "--format", "json", "--no-label"], cwd=git_repo.root,
                          capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "latin-1"})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.decode("ascii"))
    assert doc["culprit"] == culprit and doc["culprit_commit"]["summary"] == "break f \u2713 \U0001f680 caf\u00e9"


# -- 3. worktrees of a bare repository ----------------------------------------------------------------

TRACE = 'Traceback (most recent call last):\n  File "a.py", line 2, in f\n    return 2\nValueError: boom\n'


def _counts(proc: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"indexed (\d+) new commit\(s\), removed (\d+)", proc.stderr)
    assert m, proc.stderr
    return int(m.group(1)), int(m.group(2))


def test_a_second_worktree_of_a_bare_repository_starts_from_the_firsts_index(git_repo, tmp_path):
    from rca_lsp import service

    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    culprit = git_repo.commit("break f", {"a.py": "def f():\n    return 2\n"})
    for i in range(5):
        git_repo.commit(f"change {i}", {f"m/m{i}.py": f"X = {i}\n"})
    bare = tmp_path / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(git_repo.root), str(bare)], check=True, capture_output=True)
    for name, branch in (("wt1", ["main"]), ("wt2", ["-b", "feature", "main"])):
        subprocess.run(["git", "worktree", "add", "-q", str(tmp_path / name), *branch], cwd=bare, check=True,
                       capture_output=True)
    first, second = tmp_path / "wt1", tmp_path / "wt2"
    assert not service.copies_index(GitRepo(second))
    assert _counts(rca("index", cwd=first)) == (7, 0)
    assert service.copies_index(GitRepo(second))  # the editor does not ask to build it from nothing
    assert _counts(rca("index", cwd=second)) == (0, 0)  # was (7, 0): indexed from nothing
    for wt in (first, second):
        assert (bare / "worktrees" / wt.name / "rca" / "index.db").is_file()
        status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=wt, capture_output=True,
                                text=True, check=True)
        assert status.stdout == ""  # nothing of rca's in the work tree
    assert not (bare / "rca" / "index.db").exists()
    doc = suspects(second, TRACE)
    assert doc["suspects"][0]["commit"] == culprit and doc["candidates"] == 7


# -- 4. a partial clone whose missing versions arrive later ------------------------------------------

@pytest.fixture
def partial(git_repo: GitRepoBuilder, tmp_path: Path) -> tuple[Path, str]:
    """A `--filter=blob:none` clone of a repository whose f one commit broke, indexed: every commit
    older than HEAD's tree lacks some versions."""
    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n", "README": "r\n"})
    culprit = git_repo.commit("break f", {"a.py": "def f():\n    return 2\n"})
    for i in range(3):
        git_repo.commit(f"doc {i}", {"README": f"r{i}\n"})
    git_repo.git("config", "uploadpack.allowFilter", "true")
    git_repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{git_repo.root}", str(clone)],
                   check=True, capture_output=True)
    assert rca("index", cwd=clone).returncode == 0
    return clone, culprit


def _lacking(doc: dict) -> int | None:
    notes = [n for n in doc["notes"] if "indexed without some of their diffs" in n]
    m = re.match(r"(\d+) of the \d+ candidate commits", notes[0]) if notes else None
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("fetch", ["git show", "hash-object"])
def test_versions_fetched_after_indexing_are_read_by_rca_suspects(partial, fetch):
    """`git show` fetches the culprit's versions from the promisor remote (a new pack); `git
    hash-object -w` restores one as a loose object. Before, `rca suspects` kept the index as it was
    (HEAD had not moved): the culprit ranked on recency alone."""
    clone, culprit = partial
    before = suspects(clone, TRACE)
    assert before["suspects"][0]["commit"] != culprit and not frame_lines(before, culprit)
    if fetch == "git show":
        subprocess.run(["git", "show", culprit], cwd=clone, check=True, capture_output=True)
    else:
        data = b"def f():\n    return 1\n"  # the version before the culprit: the one its diff lacked
        subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=clone, input=data, check=True,
                       capture_output=True)
    after = suspects(clone, TRACE)
    assert after["suspects"][0]["commit"] == culprit
    assert frame_lines(after, culprit) == {("a.py", 2)}
    assert _lacking(before) == 5 and "git backfill" in before["notes"][-1]
    assert _lacking(after) == 4


def test_an_unchanged_object_store_costs_no_update(partial):
    """The look is one directory listing: with nothing arrived, the index is current and left alone."""
    from rca_lsp import service
    from rca_lsp.index import arrivals

    clone, _ = partial
    backend = GitRepo(clone)
    with Index.open(backend.checkout_dir) as index:
        assert arrivals.lacks_versions(index) and not arrivals.pending(backend, index)
        stamp = index.get_state("indexed_at")
    assert service.index_state(backend) == "current"
    suspects(clone, TRACE)
    with Index.open(backend.checkout_dir) as index:
        assert index.get_state("indexed_at") == stamp

"""Traces printed on another machine or layout than the checkout rca runs in, each made by really
running the program or pytest in one folder and ranked in a clone elsewhere:

- pytest run in a subfolder prints the code's frames from above it (`../src/pkg/mod.py:2: in half`):
  a leading `..` made the frame name nothing. It is read as an absolute path is (its tail).
- The repository's package installed in an environment (tox, `pip install .`, a Docker image) puts
  its frames under `.../site-packages/pkg/mod.py`, which was library code whatever the tail; the
  path below site-packages now names the tracked `src/pkg/mod.py`, and a library vendored in the
  package or a test helper of the same name does not take it.
- A trace printed before a module moved (`pkg/util/calc.py`, now `pkg/core/calc.py`) named no file,
  or another one of the same tail: such a frame is tied to the file the rename led to, whose history
  goes back through the move. A frame of a file deleted since names it still, with its history.
- pytest run in one service of a monorepo prints `app/main.py`, which every service has: rca run in
  that service's folder (or `--repo` pointed at it) reads a relative path from there first, and a
  JVM class two modules have (`com.x.Helper`) as the one under it. And a
  frame's function is no longer credited with the changes to a function of its name in another file
  of its name (`services/worker/app/main.py`).
- A Docker image with the repository at /app, whose package is `app/`: `/app/main.py` (the top
  `main.py`) was taken for `app/main.py`, its longest tracked suffix. Absolute paths are read from
  the one folder that spells more of the trace's paths as tracked files than any other.
- A Windows path in another case than the repository's (`c:\\users\\me\\proj\\src\\mypkg\\parser.py`)
  named nothing; it now names the one file it spells, case aside.
- A project folder named like a toolchain's (`src/pkg/mod/core.py`, Go's module cache being
  `pkg/mod/`) made its frames library code; only the cache's versioned modules are now.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.traces import parse, resolve

ROOT = Path(__file__).resolve().parents[1]
HALF_OK = "def half(x):\n    return x // 2\n\n\ndef double(x):\n    return x * 2\n"
HALF_BAD = "def half(x):\n    return x // 0\n\n\ndef double(x):\n    return x * 2\n"
HALF_TEST = "from pkg.mod import half\n\n\ndef test_half():\n    assert half(4) == 2\n"


def rca(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def run_python(cwd: Path, *args: str, path: Path | None = None) -> str:
    """What a failing `python args...` prints, run as a user would (no rca on its path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH")}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **({"PYTHONPATH": str(path)} if path else {}))
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def clone(repo: GitRepoBuilder, where: Path) -> Path:
    """A clone of `repo` in another folder: the checkout rca runs in, not the one that printed the trace."""
    subprocess.run(["git", "clone", "-q", str(repo.root), str(where)], check=True, capture_output=True)
    return where


def suspects(cwd: Path, trace: str, *extra: str, saved: Path | None = None) -> dict:
    """`rca suspects` run in `cwd` on `trace`, saved beside `cwd` or as `saved` (outside the repository)."""
    saved = saved or cwd.parent / "trace.txt"
    saved.write_text(trace)
    proc = rca("suspects", "--trace", str(saved), "--format", "json", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def frame_lines(doc: dict, commit: str) -> set[tuple[str, int]]:
    return {(e["path"], e["line"]) for s in doc["suspects"] if s["commit"] == commit
            for e in s["evidence"] if e["kind"] == "frame-line"}


@pytest.fixture
def src_layout(git_repo: GitRepoBuilder) -> tuple[GitRepoBuilder, str]:
    """A src-layout package whose `half` one commit broke, with commits around it."""
    git_repo.commit("Add the package", {"src/pkg/__init__.py": "", "src/pkg/mod.py": HALF_OK,
                                        "tests/test_mod.py": HALF_TEST, "README.md": "pkg\n"})
    git_repo.commit("Document the package", {"README.md": "pkg: numbers\n"})
    culprit = git_repo.commit("Tweak the division", {"src/pkg/mod.py": HALF_BAD})
    git_repo.commit("Add other", {"src/pkg/other.py": "X = 1\n"})
    return git_repo, culprit


# -- 1. pytest run in a subfolder ---------------------------------------------------------------------

def test_pytest_run_in_a_subfolder_names_the_code_from_above_it(src_layout, tmp_path):
    repo, culprit = src_layout
    trace = run_python(repo.root / "tests", "-m", "pytest", "-p", "no:cacheprovider", "--tb=short", "test_mod.py",
                       path=repo.root / "src")
    assert "../src/pkg/mod.py:2: in half" in trace
    doc = suspects(clone(repo, tmp_path / "elsewhere" / "pkg"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("src/pkg/mod.py", 2)}


def test_a_path_climbing_inside_itself_still_names_nothing():
    text = "Traceback (most recent call last):\n  File \"src/../pkg/mod.py\", line 2, in half\nValueError: x\n"
    [trace] = resolve(parse(text), ["src/pkg/mod.py", "pkg/mod.py"])
    assert trace.frames[0].path is None and trace.frames[0].external


MAIN_OK = "def handle(x):\n    return x + 1\n\n\ndef ready():\n    return True\n"
MAIN_TEST = "from app.main import handle\n\n\ndef test_handle():\n    assert handle(1) == 2\n"


@pytest.fixture
def monorepo(git_repo: GitRepoBuilder) -> tuple[GitRepoBuilder, str]:
    """Two services laid out alike (`services/*/app/main.py`), one of which a commit broke."""
    for service in ("api", "worker"):
        git_repo.commit(f"Add the {service}", {f"services/{service}/app/__init__.py": "",
                                               f"services/{service}/app/main.py": MAIN_OK})
    git_repo.commit("Test the services", {f"services/{s}/tests/test_main.py": MAIN_TEST for s in ("api", "worker")})
    culprit = git_repo.commit("Tweak the api", {"services/api/app/main.py": MAIN_OK.replace("x + 1", "x + None")})
    git_repo.commit("Tweak the worker", {"services/worker/app/main.py": MAIN_OK.replace("x + 1", "x + 2 - 1")})
    git_repo.commit("Document the services", {"README.md": "services\n"})
    return git_repo, culprit


@pytest.mark.parametrize("how", ["cwd", "--repo"])
def test_pytest_run_in_a_service_folder_is_read_from_where_rca_runs(monorepo, tmp_path, how):
    """`app/main.py` is in both services: rca run in the same service folder (or pointed at it with
    --repo) reads it from there."""
    repo, culprit = monorepo
    api = repo.root / "services" / "api"
    trace = run_python(api, "-m", "pytest", "-p", "no:cacheprovider", "--tb=short", path=api)
    assert "app/main.py:2: in handle" in trace and "tests/test_main.py:5: in test_handle" in trace
    there = clone(repo, tmp_path / "elsewhere" / "mono") / "services" / "api"
    saved = tmp_path / "trace.txt"
    doc = suspects(there, trace, saved=saved) if how == "cwd" else suspects(tmp_path, trace, "--repo", str(there),
                                                                          saved=saved)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("services/api/app/main.py", 2)}
    assert not doc["warnings"]


def test_a_function_of_the_same_name_in_a_file_of_the_same_name_is_not_the_frames(monorepo, tmp_path):
    """The frame is in the api's `main.py`: the worker's `handle`, in its own `main.py`, was changed
    by other commits, which are no evidence about the frame's function."""
    repo, culprit = monorepo
    api = repo.root / "services" / "api"
    trace = run_python(api, "-c", "from app.main import handle; handle(1)", path=api)
    assert "/services/api/app/main.py\", line 2, in handle" in trace
    doc = suspects(clone(repo, tmp_path / "elsewhere" / "mono"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    functions = {(s["summary"], e["path"]) for s in doc["suspects"] for e in s["evidence"] if e["kind"] == "frame-function"}
    assert functions == {("Add the api", "services/api/app/main.py"), ("Tweak the api", "services/api/app/main.py")}


def test_a_relative_path_from_the_root_is_read_as_before(monorepo, tmp_path):
    """At the root the same trace names no file (either service's), as it did."""
    repo, _ = monorepo
    text = "Traceback (most recent call last):\n  File \"app/main.py\", line 2, in handle\nTypeError: x\n"
    files = [p for p in repo.git("ls-files").split()]
    assert resolve(parse(text), files)[0].frames[0].path is None
    assert resolve(parse(text), files, folder="services/worker")[0].frames[0].path == "services/worker/app/main.py"


LAUNCHER = ('from app.main import serve\n\n\ndef handler(req):\n    return req["n"] / 1\n\n\n'
            'if __name__ == "__main__":\n    serve(handler, {"n": 2})\n')
SERVE = "import logging\n\n\ndef serve(handler, req):\n    return handler(req)\n"


def test_a_docker_workdir_named_like_the_package_reads_the_top_file(git_repo, tmp_path):
    """The image copies the repository to /app, whose package is `app/` too: the launcher's handler,
    which `serve` calls back, fails in `/app/main.py`, the top `main.py`, as `/app/app/main.py` is
    `app/main.py`; the longest tracked suffix of `/app/main.py` (`app/main.py`) is another file."""
    git_repo.commit("Add the app", {"main.py": LAUNCHER, "app/__init__.py": "", "app/main.py": SERVE})
    git_repo.commit("Tidy serve", {"app/main.py": SERVE.replace("handler(req)", "handler(dict(req))")})
    culprit = git_repo.commit("Halve nothing", {"main.py": LAUNCHER.replace("/ 1", "/ 0")})
    git_repo.commit("Document", {"README.md": "app\n"})
    image = tmp_path / "image" / "app"
    shutil.copytree(git_repo.root, image, ignore=shutil.ignore_patterns(".git"))
    trace = run_python(image, str(image / "main.py"))
    assert f'"{image}/main.py", line 5' in trace and f'"{image}/app/main.py", line 5' in trace
    doc = suspects(clone(git_repo, tmp_path / "elsewhere" / "app"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("main.py", 5)}


HELPER = ("package com.x;\n\npublic class Helper {\n    public static int check(int n) {\n"
          "        return n + 1;\n    }\n}\n")
MAIN = ("package com.x;\n\npublic class Main {\n    public static void main(String[] args) {\n"
        "        System.exit(Helper.check(1) == 2 ? 1 : 0);\n    }\n}\n")


@pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK")
def test_a_java_class_in_two_modules_is_the_one_of_the_module_rca_runs_in(git_repo, tmp_path):
    """Two Gradle/Maven modules each have `com.x.Helper`: a frame `at com.x.Helper.check` names
    either. rca run in the module whose program failed reads it as that module's."""
    source = "src/main/java/com/x"
    git_repo.commit("Add the modules", {f"module-a/{source}/Helper.java": HELPER, f"module-a/{source}/Main.java": MAIN,
                                        f"module-b/{source}/Helper.java": HELPER})
    culprit = git_repo.commit("Check harder", {
        f"module-a/{source}/Helper.java": HELPER.replace("return n + 1;", "throw new IllegalStateException();")})
    git_repo.commit("Tweak b's helper", {f"module-b/{source}/Helper.java": HELPER.replace("n + 1", "1 + n")})
    module = git_repo.root / "module-a"
    subprocess.run(["javac", "-d", str(tmp_path / "classes"), *map(str, (module / source).glob("*.java"))],
                   check=True, capture_output=True)
    trace = subprocess.run(["java", "-cp", str(tmp_path / "classes"), "com.x.Main"], capture_output=True,
                           text=True, timeout=120).stderr
    assert "at com.x.Helper.check(Helper.java:5)" in trace
    doc = suspects(clone(git_repo, tmp_path / "elsewhere" / "modules") / "module-a", trace, saved=tmp_path / "t.txt")
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {(f"module-a/{source}/Helper.java", 5)}


# -- 2. the package installed in an environment -----------------------------------------------------

def installed(repo: GitRepoBuilder, env: Path) -> Path:
    """The package copied where an install puts it (what pip does with the wheel of a pure package)."""
    site = env / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    shutil.copytree(repo.root / "src" / "pkg", site / "pkg")
    return site


def test_a_service_crash_in_the_installed_package_reaches_the_source(src_layout, tmp_path):
    """A Docker image that ran `pip install .`: every frame of the crash is under site-packages."""
    repo, culprit = src_layout
    site = installed(repo, tmp_path / "image" / "usr" / "local")
    trace = run_python(tmp_path, "-c", "from pkg.mod import half; half(4)", path=site)
    assert "/site-packages/pkg/mod.py\", line 2, in half" in trace
    doc = suspects(clone(repo, tmp_path / "elsewhere" / "pkg"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("src/pkg/mod.py", 2)}
    assert not doc["warnings"]


def test_tox_tests_of_the_installed_package_reach_the_source(src_layout, tmp_path):
    repo, culprit = src_layout
    site = installed(repo, repo.root / ".tox" / "py311")
    trace = run_python(repo.root, "-m", "pytest", "-p", "no:cacheprovider", "tests", path=site)
    assert ".tox/py311/lib/" in trace and "site-packages/pkg/mod.py:2: ZeroDivisionError" in trace
    doc = suspects(clone(repo, tmp_path / "elsewhere" / "pkg"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("src/pkg/mod.py", 2)}


@pytest.mark.parametrize(("printed", "files", "expected"), [
    ("/v/lib/python3.11/site-packages/pkg/mod.py", ["src/pkg/mod.py", "src/pkg/__init__.py"], "src/pkg/mod.py"),
    ("C:\\Py\\Lib\\site-packages\\pkg\\mod.py", ["pkg/mod.py", "pkg/__init__.py"], "pkg/mod.py"),
    ("/usr/lib/python3/dist-packages/tool.py", ["src/tool.py"], "src/tool.py"),
    # a library of the same name: vendored inside the package, a test helper, one of two copies
    ("/v/lib/python3.11/site-packages/six.py", ["src/pkg/_vendor/six.py", "src/pkg/_vendor/__init__.py"], None),
    ("/v/lib/python3.11/site-packages/six.py", ["tests/six.py"], None),
    ("/v/lib/python3.11/site-packages/requests/models.py",
     ["src/pkg/_vendor/requests/models.py", "src/pkg/_vendor/__init__.py"], None),
    ("/v/lib/python3.11/site-packages/requests/models.py", ["third_party/requests/models.py"], None),
    ("/v/lib/python3.11/site-packages/pkg/mod.py", ["a/pkg/mod.py", "b/pkg/mod.py"], None),
    ("/v/lib/python3.11/site-packages/pkg/mod.py", ["pkg/mod.pyi"], None),
])
def test_what_an_installed_frame_names(printed, files, expected):
    text = f"Traceback (most recent call last):\n  File \"{printed}\", line 2, in half\nValueError: x\n"
    [trace] = resolve(parse(text), files)
    assert (trace.frames[0].path, trace.frames[0].external) == (expected, expected is None)


# -- 3. a module moved since the trace was printed ------------------------------------------------------

API = "from pkg.legacy import scale\n\n\ndef run(x):\n    return scale(x) + 1\n"
PARSE_OK = "def parse(text):\n    return int(text) // 1\n"
CALC_OK = "def half(x):\n    return x // 2\n\n\ndef third(x):\n    return x // 3\n"
CALC_BAD = "def half(x):\n    return x // 0\n\n\ndef third(x):\n    return x // 3\n"


def test_a_frame_of_a_module_moved_since_reaches_it(git_repo, tmp_path):
    """CI printed the trace of an older commit; the checkout has the module under another name, and
    another `util/calc.py`, which the frame's `pkg/util/calc.py` was taken for."""
    git_repo.commit("Add calc", {"pkg/__init__.py": "", "pkg/util/__init__.py": "", "pkg/util/calc.py": CALC_OK,
                                 "tests/test_calc.py": HALF_TEST.replace("pkg.mod", "pkg.util.calc")})
    culprit = git_repo.commit("Tweak the division", {"pkg/util/calc.py": CALC_BAD})
    trace = run_python(git_repo.root, "-m", "pytest", "-p", "no:cacheprovider", "--tb=short", "tests",
                       path=git_repo.root)
    assert "pkg/util/calc.py:2: in half" in trace
    git_repo.git("mv", "pkg/util/calc.py", "pkg/core-calc.py")
    git_repo.commit("Move calc", {"tests/test_calc.py": HALF_TEST.replace("pkg.mod", "pkg.core_calc")})
    git_repo.git("mv", "pkg/core-calc.py", "pkg/core_calc.py")
    git_repo.commit("Name calc as a module", {"lib/util/calc.py": CALC_OK})
    doc = suspects(clone(git_repo, tmp_path / "elsewhere" / "calc"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("pkg/core_calc.py", 2)}


LEGACY = "def scale(x):\n    return x * 2\n\n\ndef shift(x):\n    return x + 1\n"


def test_a_frame_of_a_file_deleted_since_reaches_its_commits(git_repo, tmp_path):
    """A crash reported against an older release, in a module the checkout no longer has: the frame
    names the deleted file, and the commit that last changed its line is the first suspect."""
    git_repo.commit("Start the package", {"pkg/__init__.py": "", "README.md": "pkg\n", "pkg/util.py": "A = 0\n"})
    git_repo.commit("Add the api", {"pkg/legacy.py": LEGACY, "pkg/api.py": API})
    git_repo.commit("Document the api", {"README.md": "pkg: run\n"})
    culprit = git_repo.commit("Tune the factor", {"pkg/legacy.py": LEGACY.replace("x * 2", "x * 2 / 0")})
    git_repo.commit("Touch util", {"pkg/util.py": "A = 1\n"})
    release = clone(git_repo, tmp_path / "release")
    trace = run_python(release, "-c", "from pkg.api import run; run(1)", path=release)
    assert "/release/pkg/legacy.py\", line 2, in scale" in trace
    git_repo.commit("Inline scale", {"pkg/api.py": "def run(x):\n    return x * 2 + 1\n"}, remove=["pkg/legacy.py"])
    git_repo.commit("Touch util again", {"pkg/util.py": "A = 2\n"})
    doc = suspects(clone(git_repo, tmp_path / "elsewhere" / "pkg"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("pkg/legacy.py", 2)}


def test_an_old_path_gives_way_to_a_tracked_file_of_its_name():
    """A frame goes to the moved file only where its longest suffix names the old path: one naming a
    tracked file, or a tail the old path shares with a tracked file, keeps the file it named."""
    from rca_lsp.traces.resolve import resolve_moved

    printed = ["/ci/pkg/util/calc.py", "/ci/lib/util/calc.py", "/ci/x/util/calc.py"]
    text = "Traceback (most recent call last):\n" + "".join(f'  File "{p}", line 2, in half\n' for p in printed)
    files = ["pkg/core/calc.py", "lib/util/calc.py"]
    [trace] = resolve_moved(resolve(parse(text + "ValueError: x\n"), files), {"pkg/util/calc.py": "pkg/core/calc.py"},
                            files)
    assert {f.file: f.path for f in trace.frames} == dict(zip(printed, ["pkg/core/calc.py", "lib/util/calc.py",
                                                                          "lib/util/calc.py"]))
    files = ["pkg/core/calc.py", "a/util/calc.py", "b/util/calc.py"]  # `util/calc.py` names two files here
    [trace] = resolve_moved(resolve(parse(text + "ValueError: x\n"), files), {"pkg/util/calc.py": "pkg/core/calc.py"},
                            files)
    assert {f.file: f.path for f in trace.frames} == dict(zip(printed, ["pkg/core/calc.py", None, None]))


# -- 4. Windows paths whose case is not the repository's ----------------------------------------------

WINDOWS = """\
Traceback (most recent call last):
  File "c:\\users\\me\\proj\\src\\mypkg\\parser.py", line 2, in parse
    return int(text) // 0
ZeroDivisionError: integer division or modulo by zero
"""


def test_a_windows_path_in_another_case_names_the_file(git_repo):
    """Windows ignores case, so a trace there can spell a path in a case the repository does not
    (pytest 5.2 printed every path lower-cased): read so where no file spelt exactly matches."""
    git_repo.commit("Add the parser", {"src/MyPkg/__init__.py": "", "src/MyPkg/Parser.py": PARSE_OK, "README": "x\n"})
    culprit = git_repo.commit("Tweak the parse", {"src/MyPkg/Parser.py": PARSE_OK.replace("// 1", "// 0")})
    git_repo.commit("Document", {"README": "parser\n"})
    doc = suspects(git_repo.root, WINDOWS)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("src/MyPkg/Parser.py", 2)}


@pytest.mark.parametrize(("printed", "expected"), [
    ("C:\\proj\\A\\B.PY", "a/b.py"),
    ("C:\\proj\\a\\x.py", "a/x.py"),  # spelt exactly: that one, not a/X.py
    ("C:\\proj\\A\\x.PY", None),  # a/x.py or a/X.py
    ("/proj/A/B.PY", None),  # a POSIX path: its file system tells case apart
])
def test_which_file_a_path_in_another_case_names(printed, expected):
    text = f"Traceback (most recent call last):\n  File \"{printed}\", line 2, in f\nValueError: x\n"
    [trace] = resolve(parse(text), ["a/b.py", "a/x.py", "a/X.py"])
    assert trace.frames[0].path == expected


# -- 5. a project folder named like a toolchain's -------------------------------------------------------

def test_a_package_named_like_go_module_cache_is_the_projects(git_repo, tmp_path):
    """`src/pkg/mod/core.py` holds `/pkg/mod/`, which Go's module cache has too: the frame was library
    code. The cache holds modules at a version (`pkg/mod/github.com/x/y@v1.2.0/`), the project not."""
    git_repo.commit("Add core", {"src/pkg/__init__.py": "", "src/pkg/mod/__init__.py": "",
                                 "src/pkg/mod/core.py": HALF_OK, "README.md": "x\n"})
    culprit = git_repo.commit("Tweak the division", {"src/pkg/mod/core.py": HALF_BAD})
    git_repo.commit("Document", {"README.md": "core\n"})
    trace = run_python(tmp_path, "-c", "from pkg.mod.core import half; half(4)", path=git_repo.root / "src")
    doc = suspects(clone(git_repo, tmp_path / "elsewhere" / "core"), trace)
    assert doc["suspects"][0]["commit"] == culprit
    assert frame_lines(doc, culprit) == {("src/pkg/mod/core.py", 2)}


@pytest.mark.parametrize(("printed", "external"), [
    ("/root/go/pkg/mod/github.com/stretchr/testify@v1.8.4/assert/assertions.go", True),
    ("C:\\Users\\me\\go\\pkg\\mod\\golang.org\\x\\sync@v0.5.0\\errgroup\\errgroup.go", True),
    ("/rustc/9b00956e/library/core/src/panicking.rs", True),
    ("/home/me/.rustup/toolchains/stable/lib/rustlib/src/rust/library/std/src/panic.rs", True),
    ("/home/runner/work/p/p/pkg/mod/loader.go", False),
    ("/home/runner/work/p/p/library/core/src/index.js", False),
])
def test_which_toolchain_folders_are_library_code(printed, external):
    from rca_lsp.traces.external import path_external

    assert path_external(printed) is external

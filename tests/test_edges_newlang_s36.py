"""`rca bisect` on projects in other languages, found as a new user (thirty-sixth sitting).

- jshttp/mime-types (mocha): the temporary checkout has no `node_modules` (git ignores it), so
  `npx mocha test/test.js` stopped with `npx canceled due to missing packages` (exit 1) at every
  revision and the commit just after `--good`, which changed HISTORY.md only, was "confirmed";
  `npm test` stopped at BAD with `sh: 1: mocha: not found`, where by hand it runs. Now the work
  tree's installed dependencies are linked into the checkout (`rca_lsp.bisect.deps`), a workspace
  package pointing at the checkout's own copy.
- Any test that fails in every checkout (a build output, a generated file, a tool the checkout
  lacks) "confirmed" the commit just after `--good`, whose parent was taken as good without a run.
  Now, where every run failed, that parent runs; a failure there stops the bisection, saying so.

Real git, real npm and node (skipped where npm is missing), the real CLI.
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

from rca_lsp.bisect.command import parse
from rca_lsp.bisect.deps import find

ROOT = Path(__file__).resolve().parents[1]

needs_npm = pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None,
                               reason="needs npm and node")

ROOT_PACKAGE = {"name": "demo", "version": "1.0.0", "private": True, "workspaces": ["packages/*"],
                "scripts": {"test": "checker packages/app/test.js"}}
CORE = "exports.label = (n) => `item ${n}`;\n"
BROKEN_CORE = "exports.label = (n) => `item${n}`;\n"
APP_TEST = """const test = require('node:test');
const assert = require('node:assert');
const pad = require('leftpad');
const { label } = require('@demo/core');

test('labels are padded', () => {
  assert.strictEqual(pad(label(7), 8), '  item 7');
});
"""
LEFTPAD = "module.exports = (s, n) => ' '.repeat(Math.max(0, n - s.length)) + s;\n"
CHECKER = """#!/usr/bin/env node
const { spawnSync } = require('node:child_process');
const run = spawnSync(process.execPath, ['--test', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status === null ? 1 : run.status);
"""


def _cli(root: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def _leftpad_tarball(tmp: Path) -> Path:
    """An installed (copied, not linked) dependency with a bin, packed by the real npm."""
    src = tmp / "leftpad"
    src.mkdir()
    (src / "package.json").write_text(json.dumps({"name": "leftpad", "version": "1.0.0", "main": "index.js",
                                                  "bin": {"checker": "checker.js"}}))
    (src / "index.js").write_text(LEFTPAD)
    (src / "checker.js").write_text(CHECKER)
    os.chmod(src / "checker.js", 0o755)
    subprocess.run(["npm", "pack", "--silent"], cwd=src, check=True, capture_output=True, timeout=120)
    return src / "leftpad-1.0.0.tgz"


def _workspace(tmp: Path) -> tuple[GitRepoBuilder, dict[str, str]]:
    """An npm workspace: packages/app's test needs the workspace package @demo/core and an installed one."""
    repo = GitRepoBuilder(tmp / "demo")
    repo.write("package.json", json.dumps(ROOT_PACKAGE, indent=2) + "\n")
    repo.write(".gitignore", "node_modules/\n")
    repo.write("packages/core/package.json", json.dumps({"name": "@demo/core", "version": "1.0.0"}) + "\n")
    repo.write("packages/core/index.js", CORE)
    repo.write("packages/app/package.json", json.dumps({"name": "@demo/app", "version": "1.0.0"}) + "\n")
    repo.write("packages/app/test.js", APP_TEST)
    subprocess.run(["npm", "install", "--offline", "--no-audit", "--no-fund", "-D", str(_leftpad_tarball(tmp))],
                   cwd=repo.root, check=True, capture_output=True, timeout=120)
    shas = {"good": repo.commit("demo: core and app")}
    shas["docs"] = repo.commit("Docs", {"README.md": "demo\n"})
    shas["culprit"] = repo.commit("core: tighter labels", {"packages/core/index.js": BROKEN_CORE})
    shas["after"] = repo.commit("Docs: more", {"README.md": "demo\n\nlabels\n"})
    return repo, shas


@needs_npm
def test_a_javascript_workspace_is_bisected_with_its_installed_dependencies_and_its_own_code(tmp_path):
    repo, shas = _workspace(tmp_path)
    modules = repo.root / "node_modules"
    assert os.readlink(modules / "@demo/core") == "../../packages/core"  # npm's workspace link
    before = sorted(p.name for p in modules.iterdir())
    done = _cli(repo.root, tmp_path, "bisect", "--test", "npm test", "--good", shas["good"], "--format", "json")
    assert done.returncode == 0, done.stderr  # before: exit 7, `sh: 1: checker: not found` at BAD
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == shas["culprit"] and outcome["confirmed"] is True, outcome["runs"]
    assert any("links to the work tree's installed dependencies (node_modules)" in w for w in outcome["warnings"])
    assert sorted(p.name for p in modules.iterdir()) == before  # nothing written into the work tree's
    assert not repo.git("status", "--porcelain").strip()


@needs_npm
def test_npx_without_the_checkouts_dependencies_no_longer_confirms_the_commit_after_good(tmp_path):
    """`npx checker ...` where the checkout has no node_modules: npx refuses to install (exit 1) at every
    revision, and the docs commit after --good was confirmed."""
    repo, shas = _workspace(tmp_path)
    done = _cli(repo.root, tmp_path, "bisect", "--test", "npx --no-install checker packages/app/test.js",
                "--good", shas["good"], "--format", "json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == shas["culprit"], outcome["runs"]  # before: shas["docs"]


def test_a_test_that_fails_in_every_checkout_stops_instead_of_confirming_the_commit_after_good(tmp_path):
    """The test reads a build output that only the work tree has: it fails at every revision."""
    repo = GitRepoBuilder(tmp_path / "proj")
    good = repo.commit("proj", {".gitignore": "build/\n", "README.md": "proj\n"})
    repo.commit("Docs", {"README.md": "proj\n\nmore\n"})
    repo.commit("Docs: more", {"README.md": "proj\n\nmore\n\nand more\n"})
    repo.write("build/out.json", "{}")
    check = f"{sys.executable} -c \"import json; json.load(open('build/out.json'))\""
    assert subprocess.run(check, shell=True, cwd=repo.root).returncode == 0  # by hand, in the work tree
    done = _cli(repo.root, tmp_path, "bisect", "--test", check, "--good", good, "--format", "json")
    assert done.returncode == 7, done.stdout  # before: 0, the docs commit "confirmed"
    assert "the test fails at every revision tried, the good one too" in done.stderr
    assert f"at {good[:12]} it failed (exit 1); it printed: FileNotFoundError" in done.stderr
    assert done.stderr.count("\n") == 1


def test_only_untracked_node_modules_beside_a_tracked_package_json_are_linked(tmp_path):
    root = tmp_path / "w"
    for folder in ("node_modules/a", "node_modules/.cache/x", "node_modules/@s/b", "packages/x/node_modules/b",
                   "vendored/node_modules/c", "loose/node_modules/d", "packages/x/src"):
        (root / folder).mkdir(parents=True)
    (root / "node_modules/@s/x").symlink_to("../../packages/x")  # a workspace package
    tracked = ["package.json", "packages/x/package.json", "vendored/package.json", "vendored/node_modules/c/i.js"]
    found = find(root, tracked)
    assert found.folders == ("node_modules", "packages/x/node_modules")  # vendored: committed; loose: no package.json
    checkout = tmp_path / "c"
    (checkout / "packages/x").mkdir(parents=True)
    (checkout / "package.json").write_text("{}")
    assert found.lay(checkout) == ["node_modules"]  # packages/x has no package.json at this revision
    assert sorted(p.name for p in (checkout / "node_modules").iterdir()) == ["@s", "a"]  # no .cache
    assert os.readlink(checkout / "node_modules/a") == str(root.resolve() / "node_modules/a")
    assert os.readlink(checkout / "node_modules/@s/x") == str(checkout / "packages/x")  # the checkout's own
    assert found.lay(checkout) == []  # once


@pytest.mark.parametrize(("command", "paths"), [
    ("mvn -o -q test -Dtest=ZebraTest", ("src/test/java/org/z/ZebraTest.java",)),
    ("mvn test -Dtest=ZebraTest#testStripes,org.z.SoundexTest", ("src/test/java/org/z/ZebraTest.java",)),
    ("gradle test --tests 'org.z.ZebraTest.testStripes'", ("src/test/java/org/z/ZebraTest.java",)),
    ("gradle test --tests=ZebraTest", ("src/test/java/org/z/ZebraTest.java",)),
    ("mvn test -Dtest=other.ZebraTest", ()),  # another package
    ("mvn test -Dtest=*Test", ()), ("mvn test -Dtest=!ZebraTest", ()),
    ("mvn test -Dtest=SoundexTest", ()),  # two modules' classes of that name
])
def test_a_jvm_test_selector_names_its_class_file(command, paths):
    files = ["src/test/java/org/z/ZebraTest.java", "a/src/test/java/x/SoundexTest.java",
             "b/src/test/kotlin/y/SoundexTest.kt", "pom.xml"]
    assert parse(command, files).paths == paths


RUNNER = """import pathlib, sys
# stands in for surefire: runs the class -Dtest names, found by its file name
name = sys.argv[1].removeprefix("-Dtest=")
found = list(pathlib.Path("src/test/java").rglob(name + ".java"))
if not found:
    print(f'No tests matching pattern "{name}" were executed!')
    sys.exit(1)
expected = found[0].read_text().split('"')[1]
sys.exit(0 if pathlib.Path("src/main/java/org/z/code.txt").read_text().strip() == expected else 1)
"""


def test_an_uncommitted_jvm_test_class_named_by_dtest_is_laid_into_each_checkout(tmp_path):
    """`mvn test -Dtest=ZebraTest` with ZebraTest.java new in the work tree: every checkout lacked it, the
    runner found no such test (exit 1) at every revision, and the commit after --good was confirmed."""
    repo = GitRepoBuilder(tmp_path / "zebra")
    good = repo.commit("code", {"run.py": RUNNER, "src/main/java/org/z/code.txt": "Z160\n", "README.md": "z\n"})
    repo.commit("Docs", {"README.md": "z\n\nmore\n"})
    culprit = repo.commit("code: shorter", {"src/main/java/org/z/code.txt": "Z16\n"})
    repo.commit("Docs: more", {"README.md": "z\n\nmore\n\nmore\n"})
    repo.write("src/test/java/org/z/ZebraTest.java", 'class ZebraTest { String expected = "Z160"; }\n')
    done = _cli(repo.root, tmp_path, "bisect", "--test", f"{sys.executable} run.py -Dtest=ZebraTest", "--good", good,
                "--format", "json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["culprit"] == culprit and outcome["confirmed"] is True, outcome["runs"]
    assert outcome["worktree_files"] == [{"path": "src/test/java/org/z/ZebraTest.java", "state": "untracked"}]


# -- npm's words are names, and a revision it cannot test is a skip -------------------------------------

def test_a_tools_bare_words_name_no_folder():
    known = ["test/x.test.js", "tests/test_a.py", "check/run.sh", "package.json"]
    assert parse("npm test", known).paths == ()  # before: ("test",), every untracked test/ file laid in
    assert parse("nox -s tests", known).paths == () and parse("make check", known).paths == ()
    assert parse("npm test -- test/x.test.js", known).paths == ("test/x.test.js",)
    assert parse("pytest tests", known).paths == ("tests",)  # pytest's arguments are paths
    assert parse("npm test", known).requires == ("package.json",) and parse("make check", known).requires == ()


PKG = '{"name": "calc", "version": "1.0.0", "private": true%s}\n'
CALC = "exports.mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;\n"


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm not installed")
def test_npm_test_at_revisions_without_a_package_json_or_its_script_is_a_skip(tmp_path):
    """Without --good the search walks back past the test script (exit 1, `Missing script`, which
    counted as bad) to the root, where there is no package.json (npm exits 254, which aborted the
    bisection as a crashed test): both are revisions npm cannot test."""
    repo = GitRepoBuilder(tmp_path / "calc")
    repo.commit("README", {"README.md": "calc\n"})
    repo.commit("package", {"package.json": PKG % "", "calc.js": CALC})
    repo.commit("test script", {"package.json": PKG % ', "scripts": {"test": "node test/mean.js"}',
                                "test/mean.js": "const {mean} = require('../calc');\n"
                                                "if (mean([2, 4]) !== 3) { console.error('mean broke'); process.exit(1); }\n"})
    culprit = repo.commit("calc: count one more", {"calc.js": CALC.replace("/ xs.length", "/ (xs.length + 1)")})
    for n in range(6):
        repo.commit(f"docs {n}", {"README.md": f"calc {n}\n"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    walked = subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", "--test", "npm test"], cwd=repo.root,
                            capture_output=True, text=True, timeout=300, env=env)
    assert walked.returncode == 7 and "no good revision" in walked.stderr, walked.stderr  # before: exited with 254
    assert "could not run at 2" in walked.stderr and "package.json does not exist at this revision" in walked.stderr
    good = repo.git("rev-parse", "HEAD~9").strip()  # the package without a test script
    done = subprocess.run([sys.executable, "-m", "rca_lsp", "bisect", "--test", "npm test", "--good", good,
                           "--format", "json"], cwd=repo.root, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["culprit"] == culprit

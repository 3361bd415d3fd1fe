"""Unusual repository content: `rca index` and `rca suspects` work, or fail with one clear line.

A 10,000-file commit, a submodule, symlinks (one dangling, one to /etc/passwd), CRLF files and
files without a final newline, binary files, non-UTF-8 and odd path names (spaces, quotes, a
newline, a leading dash), an empty repository and one with only an unborn branch, and a
shallow clone (then deepened: the index must converge to a fresh build of the deeper clone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from _reliability import load

rc = load("reliability_common")

PY_TRACE = """Traceback (most recent call last):
  File "/srv/app/pkg/calc.py", line 2, in parse
    return int(s) + 1
ValueError: invalid literal for int() with base 10: 'x'
"""


def _ok(proc):
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def _index_and_query(root, trace=PY_TRACE):
    _ok(rc.rca("index", "-q", cwd=root))
    (root / "crash.txt").write_text(trace)
    proc = _ok(rc.rca("suspects", "--trace", "crash.txt", "--format", "json", "--top", "0", cwd=root))
    return json.loads(proc.stdout)


def _calc(i: int) -> dict[str, str]:
    return {"pkg/calc.py": f"def parse(s):\n    return int(s) + {i}\n"}


def test_ten_thousand_files_in_one_commit(git_repo):
    git_repo.commit("Start", _calc(1))
    for d in range(100):
        folder = git_repo.root / "gen" / f"d{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"m{f}.py").write_text(f"def f{f}():\n    return {d}\n")
    big = git_repo.commit("Vendor 10,000 files")
    git_repo.commit("Fix", _calc(2))
    doc = _index_and_query(git_repo.root)
    db = git_repo.root / ".git" / "rca" / "index.db"
    counts = rc.per_commit_counts(db)
    assert counts[big][0] == 10_000 and counts[big][2] == 10_000
    assert doc["candidates"] == 3


def test_submodule_and_symlinks(git_repo, make_git_repo):
    lib = make_git_repo("lib")
    lib.commit("Lib", {"lib.py": "def lib():\n    return 1\n"})
    git_repo.commit("Start", _calc(1))
    git_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.root), "vendor/lib")
    git_repo.commit("Add a submodule")
    os.symlink("calc.py", git_repo.root / "pkg" / "link.py")
    os.symlink("missing.py", git_repo.root / "pkg" / "dangling.py")
    os.symlink("/etc/passwd", git_repo.root / "pkg" / "passwd.py")
    git_repo.commit("Add symlinks")
    lib.commit("Lib 2", {"lib.py": "def lib():\n    return 2\n"})
    git_repo.git("-c", "protocol.file.allow=always", "submodule", "update", "-q", "--remote")
    git_repo.commit("Bump the submodule")
    trace = PY_TRACE + '  File "/srv/app/pkg/passwd.py", line 1, in x\n'
    doc = _index_and_query(git_repo.root, trace)
    assert doc["candidates"] == 4
    db = git_repo.root / ".git" / "rca" / "index.db"
    paths = {r[4] for r in rc.snapshot(db)["files"]}
    assert {"vendor/lib", "pkg/link.py", "pkg/dangling.py", "pkg/passwd.py"} <= paths


def test_crlf_no_final_newline_and_binary(git_repo):
    git_repo.commit("Start", {"pkg/calc.py": "def parse(s):\r\n    return int(s)\r\n",
                              "pkg/tail.py": "def tail():\n    return 1"})
    git_repo.commit("Edit", {"pkg/calc.py": "def parse(s):\r\n    return int(s) + 1\r\n",
                             "pkg/tail.py": "def tail():\n    return 2"})
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    git_repo.commit("Binary", {"img/logo.png": png, "pkg/blob.py": b"def x():\n\x00\x01\x02 return 1\n"})
    git_repo.commit("Binary 2", {"img/logo.png": png[::-1], "pkg/blob.py": b"\x00" * 100})
    doc = _index_and_query(git_repo.root)
    assert doc["candidates"] == 4
    db = git_repo.root / ".git" / "rca" / "index.db"
    files = rc.snapshot(db)["files"]
    binary = {r[4] for r in files if r[5]}
    assert {"img/logo.png", "pkg/blob.py"} <= binary
    frame = [s for s in doc["suspects"]
             if any(e.get("path") == "pkg/calc.py" and e["kind"] == "frame-line" for e in s["evidence"])]
    assert frame, doc  # the CRLF file's change is found at the frame's line


def test_odd_and_non_utf8_paths(git_repo):
    git_repo.commit("Start", _calc(1))
    names = [b"caf\xe9.py", "naïve.py".encode(), b"with space.py", b'quote"d.py', b"tab\tname.py",
             b"new\nline.py", b"-n1.py", b"--output=x.py", "日本.java".encode()]
    for name in names:
        with open(os.path.join(os.fsencode(git_repo.root), b"pkg", name), "wb") as fh:
            fh.write(b"def f():\n    return 1\n")
    git_repo.commit("Odd names")
    for name in names:
        with open(os.path.join(os.fsencode(git_repo.root), b"pkg", name), "ab") as fh:
            fh.write(b"\n\ndef g():\n    return 2\n")
    git_repo.git("mv", "pkg/with space.py", "pkg/renamed space.py")
    git_repo.commit("Edit odd names")
    doc = _index_and_query(git_repo.root)
    assert doc["candidates"] == 3
    db = git_repo.root / ".git" / "rca" / "index.db"
    paths = {p for r in rc.snapshot(db)["files"] for p in r[2:5] if p}
    for expected in ["pkg/naïve.py", "pkg/with space.py", "pkg/renamed space.py", 'pkg/quote"d.py',
                     "pkg/tab\tname.py", "pkg/new\nline.py", "pkg/-n1.py", "pkg/--output=x.py", "pkg/日本.java"]:
        assert expected in paths, expected
    assert b"pkg/caf\xe9.py" in paths  # not UTF-8: kept as its bytes (was `pkg/caf?.py`)
    assert not (git_repo.root / "x.py").exists() and not os.path.exists("x.py")


def test_empty_and_unborn_repositories(git_repo, make_git_repo):
    proc = rc.rca("index", cwd=git_repo.root)
    assert proc.returncode == 0 and "no commits yet" in proc.stderr
    (git_repo.root / "crash.txt").write_text(PY_TRACE)
    proc = rc.rca("suspects", "--trace", "crash.txt", cwd=git_repo.root)
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "no commits yet" in proc.stderr
    # commits exist on another branch, HEAD is an unborn orphan branch
    other = make_git_repo("other")
    other.commit("One", _calc(1))
    other.git("checkout", "-q", "--orphan", "empty")
    other.git("rm", "-rq", "--cached", ".")
    _ok(rc.rca("index", cwd=other.root))
    (other.root / "crash.txt").write_text(PY_TRACE)
    proc = rc.rca("suspects", "--trace", "crash.txt", cwd=other.root)
    assert proc.returncode != 0 and "no commits yet" in proc.stderr and "Traceback" not in proc.stderr
    # one empty commit
    empty = make_git_repo("empty")
    empty.commit("Nothing")
    doc = _index_and_query(empty.root)
    assert doc["candidates"] == 1


def test_shallow_clone_then_deepened(git_repo, tmp_path):
    for i in range(30):
        git_repo.commit(f"Change {i}", {**_calc(i), f"pkg/m{i % 3}.py": f"def f():\n    return {i}\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "10", f"file://{git_repo.root}", str(clone)], check=True)
    proc = _ok(rc.rca("index", cwd=clone))
    assert "shallow clone" in proc.stderr and proc.stderr.count("\n") == 2  # the warning and the summary
    doc = _index_and_query(clone)
    assert doc["candidates"] == 10
    subprocess.run(["git", "fetch", "-q", "--deepen", "12"], cwd=clone, check=True)
    _ok(rc.rca("index", "-q", cwd=clone))
    db = clone / ".git" / "rca" / "index.db"
    deepened = rc.snapshot(db)
    shutil.rmtree(db.parent)
    _ok(rc.rca("index", "-q", cwd=clone))
    assert rc.diff_snapshots(deepened, rc.snapshot(db)) == []
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    doc = _index_and_query(clone)
    assert doc["candidates"] == 30
    full = rc.snapshot(db)
    shutil.rmtree(db.parent)
    _ok(rc.rca("index", "-q", cwd=clone))
    assert rc.diff_snapshots(full, rc.snapshot(db)) == []

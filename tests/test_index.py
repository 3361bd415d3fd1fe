"""The index on real repositories: incremental, rewrites, corruption, symbols and blame."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys

from rca_lsp.index import Index, update
from rca_lsp.suspects.history import History
from rca_lsp.vcs.git import GitRepo

JAVA_V1 = """package p;

public class Calc {
    public int add(int a, int b) {
        return a + b;
    }

    public int mul(int a, int b) {
        return a * b;
    }
}
"""
JAVA_V2 = JAVA_V1.replace("return a * b;", "int r = a * b;\n        return r;")


def _build(repo: GitRepo):
    index = Index.open(repo.meta_dir)
    report = update(repo, index)
    return index, report


def _rows(index: Index) -> dict[str, list]:
    out = {}
    for table in ("commits", "files", "hunks", "changed_symbols", "head_files", "code_symbols", "code_calls"):
        cols = [r[1] for r in index.conn.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
        out[table] = sorted(index.conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(), key=repr)
    return out


def test_index_lives_in_the_git_dir_and_is_incremental(git_repo):
    git_repo.commit("one", {"p/Calc.java": JAVA_V1})
    repo = GitRepo(git_repo.root)
    index, report = _build(repo)
    assert report.added == 1 and index.path.parent == git_repo.root / ".git" / "rca"
    assert not (git_repo.root / "rca").exists()
    git_repo.commit("two", {"p/Calc.java": JAVA_V2})
    again = update(repo, index)
    assert (again.added, again.removed, again.reachable) == (1, 0, 2)
    assert update(repo, index).added == 0
    names = index.conn.execute(
        "SELECT qualname, kind, lines FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id"
        " WHERE c.message = 'two'").fetchall()
    assert names == [("Calc.mul", "method", 3)]
    assert index.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    index.close()


def test_rewritten_history_converges_to_a_fresh_build(git_repo, make_git_repo):
    git_repo.commit("one", {"p/Calc.java": JAVA_V1})
    git_repo.commit("two", {"p/Calc.java": JAVA_V2})
    repo = GitRepo(git_repo.root)
    index, _ = _build(repo)
    old_head = repo.head()
    git_repo.git("reset", "-q", "--hard", "HEAD~1")
    git_repo.commit("two, amended", {"p/Calc.java": JAVA_V2.replace("a + b", "b + a")})
    report = update(repo, index)
    assert (report.added, report.removed) == (1, 1)
    hashes = {h for (h,) in index.conn.execute("SELECT hash FROM commits")}
    assert old_head not in hashes and repo.head() in hashes
    incremental = _rows(index)
    index.close()
    (index.path).unlink()
    fresh, _ = _build(repo)
    assert _rows(fresh) == incremental
    fresh.close()


def test_corrupt_index_is_moved_aside_and_rebuilt(git_repo, caplog):
    git_repo.commit("one", {"a.py": "def f():\n    return 1\n"})
    repo = GitRepo(git_repo.root)
    index, _ = _build(repo)
    path = index.path
    index.close()
    path.write_bytes(b"this is not a database" * 100)
    index, report = _build(repo)
    assert report.added == 1
    assert any(p.name.startswith("index.db.corrupt-") for p in path.parent.iterdir())
    assert "moved aside" in caplog.text
    index.close()


def test_truncated_index_is_rebuilt(git_repo):
    for i in range(30):
        git_repo.commit(f"c{i}", {"a.py": "".join(f"x{j} = {i}\n" for j in range(50))})
    repo = GitRepo(git_repo.root)
    index, _ = _build(repo)
    path = index.path
    index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    index, report = _build(repo)
    assert report.added == 30
    assert index.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    index.close()


def test_blame_from_the_index_agrees_with_git_blame(git_repo):
    rng = random.Random(7)
    lines = [f"line {i}" for i in range(30)]
    git_repo.commit("start", {"f.txt": "\n".join(lines) + "\n"})
    for step in range(25):
        op = rng.choice(["edit", "insert", "delete"])
        at = rng.randrange(len(lines))
        if op == "edit":
            lines[at] = f"edit {step}"
        elif op == "insert":
            lines[at:at] = [f"new {step}.{k}" for k in range(rng.randint(1, 3))]
        elif len(lines) > 5:
            del lines[at:at + rng.randint(1, 2)]
        if step == 12:
            git_repo.git("mv", "f.txt", "g.txt")
        git_repo.commit(f"step {step}", {("g.txt" if step >= 12 else "f.txt"): "\n".join(lines) + "\n"})
    repo = GitRepo(git_repo.root)
    index, _ = _build(repo)
    history = History(index, repo.reachable())
    porcelain = git_repo.git("blame", "--porcelain", "-M", "HEAD", "--", "g.txt")
    expected = {}
    for row in porcelain.splitlines():
        parts = row.split()
        if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit():
            expected[int(parts[2])] = parts[0]
    ids = dict(index.conn.execute("SELECT id, hash FROM commits"))
    for line, sha in expected.items():
        hit = history.blame("g.txt", line)
        assert hit is not None and ids[hit.commit_id] == sha, line
    index.close()


def test_killed_index_run_leaves_whole_commits(git_repo):
    for i in range(600):
        git_repo.commit(f"c{i}", {"a.py": f"def f():\n    return {i}\n"})
    repo = GitRepo(git_repo.root)
    proc = subprocess.Popen(["python", "-m", "rca_lsp", "index", "-q", "--repo", str(git_repo.root)])
    db = git_repo.root / ".git" / "rca" / "index.db"
    conn = None
    import time
    deadline = time.time() + 30
    while time.time() < deadline:
        if db.exists():
            try:
                conn = sqlite3.connect(db)
                if conn.execute("SELECT count(*) FROM commits").fetchone()[0] > 0:
                    break
            except sqlite3.DatabaseError:
                pass
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    partial = conn.execute("SELECT count(*) FROM commits c WHERE c.files > 0 AND NOT EXISTS"
                           " (SELECT 1 FROM files f WHERE f.commit_id = c.id)").fetchone()[0]
    assert partial == 0
    conn.close()
    index, report = _build(repo)
    assert report.reachable == 600 and index.conn.execute("SELECT count(*) FROM commits").fetchone()[0] == 600
    index.close()


def test_shallow_clone_indexes_without_its_boundary_diff(git_repo, tmp_path):
    for i in range(6):
        git_repo.commit(f"c{i}", {f"f{i}.py": f"x = {i}\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{git_repo.root}", str(clone)], check=True)
    repo = GitRepo(clone)
    index, report = _build(repo)
    assert report.shallow and report.added == 3
    files = dict(index.conn.execute("SELECT message, files FROM commits"))
    assert files == {"c3": 0, "c4": 1, "c5": 1}  # the boundary's own diff would be the whole tree
    index.close()


def test_opening_the_index_imports_neither_numpy_nor_pandas_and_leaves_them_importable(git_repo):
    """sqlite-utils probes for numpy and pandas at import (a third of `rca suspects`' import time
    was numpy); the index hides them while it imports sqlite-utils, and gives them back."""
    git_repo.commit("first", {"a.py": "x = 1\n"})
    script = (
        "import sys\n"
        "from rca_lsp.index import Index, update\n"
        "from rca_lsp.vcs.git import GitRepo\n"
        "repo = GitRepo(sys.argv[1])\n"
        "index = Index.open(repo.meta_dir)\n"
        "update(repo, index)\n"
        "n = index.conn.execute('SELECT count(*) FROM commits').fetchone()[0]\n"
        "print(n, 'numpy' in sys.modules, 'pandas' in sys.modules)\n"
        "import numpy\n"
        "print(numpy.float64(1.5) + 1)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(git_repo.root)], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "1 False False"
    assert out[1] == "2.5"

"""Edges of the index on real git repositories: an empty `--repo`, linked worktrees (`git worktree
add`) on different branches, commits dated before 1970, and a NUL byte in a commit message."""

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

from rca_lsp.index.ingest import update
from rca_lsp.index.store import Index
from rca_lsp.vcs.git import GitRepo

F1 = "def f():\n    return 1\n"
F2 = "def f():\n    return 2\n"
TRACE = 'Traceback (most recent call last):\n  File "a.py", line 2, in f\n    return 2\nValueError: boom\n'


def rca(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def indexed(repo: GitRepoBuilder) -> sqlite3.Connection:
    backend = GitRepo(repo.root)
    with Index.open(backend.meta_dir) as index:
        update(backend, index)
    return sqlite3.connect(Path(backend.meta_dir) / "rca" / "index.db")


def crafted(repo: GitRepoBuilder, header: str, message: bytes, files: dict[str, str]) -> str:
    """A commit on main made by hand (`hash-object --literally`), with `files` written and staged:
    what `git commit` refuses to make (a date before 1970, a NUL in the message)."""
    for path, content in files.items():
        repo.write(path, content)
    repo.git("add", "-A")
    tree = repo.git("write-tree").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    raw = f"tree {tree}\nparent {head}\n{header}\n".encode() + message
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", "--literally", input=raw).strip()
    repo.git("update-ref", "refs/heads/main", sha)
    repo.git("reset", "-q", "--hard")
    return sha


# -- 1. an empty --repo ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("index",), ("suspects", "--trace", "t.txt"), ("failures", "list"),
                                  ("hooks", "status"), ("labels", "list"), ("model", "list"),
                                  ("bisect", "--test", "true")])
def test_an_empty_repository_path_is_a_usage_error_not_here(git_repo, args):
    """`--repo ""` (a variable that was not set) was taken as the current folder: `rca index` indexed
    whatever repository the shell was in. It is a usage error that says so, as an empty trace
    file name or revision is."""
    git_repo.commit("add f", {"a.py": F1})
    git_repo.write("t.txt", TRACE)
    for empty in ("", " "):
        proc = rca(*args, "--repo", empty, cwd=git_repo.root)
        assert proc.returncode == 2 and proc.stdout == "", proc
        assert "Invalid value for '--repo': an empty path: name the repository, or leave the option out" \
            in proc.stderr, proc.stderr
    assert not (git_repo.root / ".git" / "rca" / "index.db").exists()


# -- 2. linked worktrees ----------------------------------------------------------------------------

def _worktrees(tmp_path: Path, n: int = 6) -> tuple[GitRepoBuilder, GitRepoBuilder]:
    """main and a linked worktree on `feature`, n commits apart each way after a common root."""
    main = GitRepoBuilder(tmp_path / "repo")
    main.commit("add f", {"a.py": F1, "b.py": "def g():\n    return 1\n"})
    main.git("branch", "feature")
    main.commit("break f", {"a.py": F2})
    for i in range(1, n):
        main.commit(f"main change {i}", {f"m/m{i}.py": f"def m{i}():\n    return {i}\n"})
    wt = GitRepoBuilder.__new__(GitRepoBuilder)
    wt.root, wt.clock = tmp_path / "wt", main.clock
    main.git("worktree", "add", "-q", str(wt.root), "feature")
    for i in range(n):
        wt.commit(f"feature change {i}", {f"w/w{i}.py": f"def w{i}():\n    return {i}\n"})
    (tmp_path / "t.txt").write_text(TRACE)
    return main, wt


def _counts(proc: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"indexed (\d+) new commit\(s\), removed (\d+)", proc.stderr)
    assert m, proc.stderr
    return int(m.group(1)), int(m.group(2))


def test_switching_worktrees_does_not_index_again(tmp_path):
    """The index lived in the common .git folder, one for every worktree, and held only the commits
    of the HEAD it was last brought up to: each run in the other worktree removed this one's branch
    and indexed its own (6 and 6 here; on a long-lived branch, thousands, every time). A linked
    worktree keeps its own index, first copied from the main checkout's: only the commits between
    them are read, once."""
    main, wt = _worktrees(tmp_path)
    assert _counts(rca("index", cwd=main.root)) == (7, 0)
    assert _counts(rca("index", cwd=wt.root)) == (6, 6)  # the main index copied; its own 6 added
    assert _counts(rca("index", cwd=main.root)) == (0, 0)
    assert _counts(rca("index", cwd=wt.root)) == (0, 0)
    assert "index: 7 commit(s), current" in rca("hooks", "status", cwd=main.root).stdout  # not "behind HEAD"
    admin = Path(wt.git("rev-parse", "--absolute-git-dir").strip())
    assert (admin / "rca" / "index.db").is_file()
    assert not (main.root / ".git" / "rca" / "index.db-seed").exists()


def test_a_worktree_never_ranks_with_the_other_worktrees_index(tmp_path):
    """With `--no-update` (or an editor not set to update), a worktree ranked with whichever HEAD
    the shared index was last built for: main's answer changed after a run in the other worktree
    (its branch gone from the index: "6 commit(s) ... not indexed yet"), and a worktree never
    indexed ranked main's index as if it were its own."""
    main, wt = _worktrees(tmp_path)
    trace = str(tmp_path / "t.txt")
    assert rca("index", cwd=main.root).returncode == 0
    before = rca("suspects", "--trace", trace, "--no-update", "--format", "json", cwd=main.root)
    assert before.returncode == 0, before.stderr
    proc = rca("suspects", "--trace", trace, "--no-update", cwd=wt.root)
    assert proc.returncode == 4 and "no index yet" in proc.stderr, proc
    assert rca("index", cwd=wt.root).returncode == 0
    after = rca("suspects", "--trace", trace, "--no-update", "--format", "json", cwd=main.root)
    first, second = json.loads(before.stdout), json.loads(after.stdout)
    assert second["warnings"] == [] and second["candidates"] == first["candidates"] == 7
    assert [s["commit"] for s in second["suspects"]] == [s["commit"] for s in first["suspects"]]
    assert second["suspects"][0]["summary"] == "break f"


# -- 3. dates before 1970 ----------------------------------------------------------------------------

SIXTY, SIXTY_ONE = -315_619_200, -283_996_800  # 1960-01-01 and 1961-01-01, UTC


def test_commits_dated_before_1970_keep_their_dates(git_repo, tmp_path):
    """git prints no `%at` / `%ct` for a date before 1970 (2.39: an empty field; `git commit` refuses
    such a date, so archives imported from older systems carry them): the index kept 0, 1970-01-01,
    for both dates. They are read from the commit's own header."""
    git_repo.commit("add f", {"a.py": F1})
    old = crafted(git_repo, f"author A <a@x> {SIXTY} +0000\ncommitter A <a@x> {SIXTY_ONE} -0130\n",
                  b"break f\n", {"a.py": F2})
    epoch = crafted(git_repo, "author B <b@x> 0 +0000\ncommitter B <b@x> 0 +0000\n", b"at the epoch\n",
                    {"c.txt": "c\n"})
    conn = indexed(git_repo)
    dates = dict((h, (a, c)) for h, a, c in conn.execute("SELECT hash, author_date, commit_date FROM commits"))
    assert dates[old] == (SIXTY, SIXTY_ONE)
    assert dates[epoch] == (0, 0)
    assert conn.execute("SELECT count(*) FROM files f JOIN commits c ON c.id = f.commit_id WHERE c.hash = ?",
                        (old,)).fetchone()[0] == 1
    (tmp_path / "t.txt").write_text(TRACE)
    proc = rca("suspects", "--trace", str(tmp_path / "t.txt"), "--format", "json", cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    top = json.loads(proc.stdout)["suspects"][0]
    assert top["commit"] == old and top["date"] == "1960-01-01T00:00:00Z"


def test_an_index_that_kept_1970_for_an_older_date_is_mended(git_repo):
    """An index built before is mended on opening (migration m015): its commits dated 0 are read again."""
    git_repo.commit("add f", {"a.py": F1})
    old = crafted(git_repo, f"author A <a@x> {SIXTY} +0000\ncommitter A <a@x> {SIXTY} +0000\n", b"old\n",
                  {"a.py": F2})
    conn = indexed(git_repo)
    conn.execute("UPDATE commits SET author_date = 0, commit_date = 0 WHERE hash = ?", (old,))
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_dates_before_1970'")
    conn.commit()
    conn.close()
    conn = indexed(git_repo)
    assert conn.execute("SELECT author_date, commit_date FROM commits WHERE hash = ?", (old,)).fetchone() == (
        SIXTY, SIXTY)
    assert conn.execute("SELECT count(*) FROM commits").fetchone()[0] == 2


# -- 4. a NUL in a commit message ----------------------------------------------------------------------

@pytest.mark.parametrize("message, kept", [(b"break f\x00hidden after the NUL\nmore\n", "break f"),
                                           (b"\x00all of it hidden\n", "")])
def test_a_nul_in_a_message_keeps_the_commit_and_its_files(git_repo, tmp_path, message, kept):
    """git shows a message only up to a NUL byte (`git log`, `git show`); the commit, its files and
    hunks are indexed whole, and so is the next commit."""
    git_repo.commit("add f", {"a.py": F1})
    odd = crafted(git_repo, "author A <a@x> 1600000000 +0000\ncommitter A <a@x> 1600000000 +0000\n", message,
                  {"a.py": F2, "b.txt": "b\n"})
    after = git_repo.commit("after", {"c.py": "def h():\n    return 3\n"})
    conn = indexed(git_repo)
    rows = conn.execute("SELECT c.hash, c.message, group_concat(f.path) FROM commits c JOIN files f"
                        " ON f.commit_id = c.id GROUP BY c.id ORDER BY c.id").fetchall()
    assert [(h, m, p) for h, m, p in rows[1:]] == [(odd, kept, "a.py,b.txt"), (after, "after", "c.py")]
    assert conn.execute("SELECT count(*) FROM hunks h JOIN commits c ON c.id = h.commit_id WHERE c.hash = ?",
                        (odd,)).fetchone()[0] == 2
    (tmp_path / "t.txt").write_text(TRACE)
    proc = rca("suspects", "--trace", str(tmp_path / "t.txt"), "--format", "json", cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["suspects"][0]["commit"] == odd

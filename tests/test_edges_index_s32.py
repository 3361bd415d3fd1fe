"""Indexing unusual but real git repositories: SHA-256 object stores, control characters in
messages, dates no calendar shows, the user's own git config, GIT_DIR in the environment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.index.ingest import update
from rca_lsp.index.store import Index
from rca_lsp.vcs.git import GitRepo

TRACE = 'Traceback (most recent call last):\n  File "{path}", line 2, in f\n    return 2\nValueError: boom\n'


def rca(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def indexed(repo: GitRepoBuilder) -> sqlite3.Connection:
    backend = GitRepo(repo.root)
    with Index.open(backend.meta_dir) as index:
        update(backend, index)
    return sqlite3.connect(Path(backend.meta_dir) / "rca" / "index.db")


def with_config(monkeypatch, **settings: str) -> None:
    """Settings as a user's global config would give them, to rca's git processes too."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(settings)))
    for i, (key, value) in enumerate(settings.items()):
        monkeypatch.setenv(f"GIT_CONFIG_KEY_{i}", key.replace("__", "."))
        monkeypatch.setenv(f"GIT_CONFIG_VALUE_{i}", value)


def test_sha256_added_files_are_not_missing_objects(tmp_path):
    """In a SHA-256 repository git's null id is 64 zeros: it was taken for a blob the store lacks,
    so every added or deleted file lost its diff and was said missing, once the store lacked any blob."""
    repo = GitRepoBuilder.__new__(GitRepoBuilder)
    repo.root, repo.clock = tmp_path / "repo", 1_600_000_000
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main", "--object-format=sha256")
    repo.git("config", "user.name", "Alice")
    repo.git("config", "user.email", "alice@example.com")
    repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    repo.commit("lose", {"lost.txt": "gone\n"})
    blob = repo.git("rev-parse", "HEAD:lost.txt").strip()
    (repo.root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    repo.git("rm", "-q", "--cached", "lost.txt")
    (repo.root / "lost.txt").unlink()
    repo.git("commit", "-q", "-m", "drop lost")
    added = repo.commit("add b", {"b.py": "def g():\n    return 1\n"})
    conn = indexed(repo)
    missing = conn.execute("SELECT blob FROM missing_objects").fetchall()
    assert missing and all(b.strip("0") for (b,) in missing), missing
    hunks = conn.execute("SELECT count(*) FROM hunks h JOIN commits c ON c.id = h.commit_id WHERE c.hash = ?",
                         (added,)).fetchone()[0]
    assert hunks == 1


def test_message_with_record_separators(git_repo):
    """A message holding \\x1e (or \\x1f) at a line's start was read as the next record: every
    `rca index` stopped with exit 4 ("after 2 of 3 commits"), and a \\x1f in it let the message's
    own lines pass for a diff of a file the commit never touched; one in an author's name shifted
    the email into the date."""
    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    odd = git_repo.commit(b"unit\x1fsep\x1f\x1f\x1f\x1f\x1f\x1f\x1fmore\ndiff --git a/z.py b/z.py\n+++ b/z.py\n"
                          b"@@ -1 +1,50 @@\n", {"a.py": "def f():\n    return 2\n"})
    git_repo.commit(b"rec\n\x1erecord sep\n", {"b.txt": "x\n"}, author="Unit\x1fSep")
    conn = indexed(git_repo)
    rows = conn.execute("SELECT c.hash, c.message, f.path FROM commits c JOIN files f ON f.commit_id = c.id "
                        "ORDER BY c.id").fetchall()
    assert [r[2] for r in rows] == ["a.py", "a.py", "b.txt"]
    assert rows[1][0] == odd and rows[1][1].startswith("unit\x1fsep") and "diff --git" in rows[1][1]
    assert rows[2][1] == "rec\n\x1erecord sep"
    assert conn.execute("SELECT author, email, author_date FROM commits WHERE id = 3").fetchone() == (
        "Unit\x1fSep", "unit\x1fsep@example.com", git_repo.clock)


def test_dates_past_year_9999(git_repo):
    """A commit dated in milliseconds (year 52,000) crashed every `rca suspects`, and one past 2**63
    seconds crashed `rca index` (OverflowError): they are kept as the last date a calendar shows."""
    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    git_repo.write("a.py", "def f():\n    return 2\n")
    git_repo.git("add", "a.py")
    tree = git_repo.git("write-tree").strip()
    head = git_repo.git("rev-parse", "HEAD").strip()
    raw = (f"tree {tree}\nparent {head}\nauthor A <a@x> 1600000000000 +0000\n"
           f"committer A <a@x> 99999999999999999999999 +0000\n\nbreak f\n").encode()
    odd = git_repo.git("hash-object", "-t", "commit", "-w", "--stdin", "--literally", input=raw).strip()
    git_repo.git("update-ref", "refs/heads/main", odd)
    git_repo.git("reset", "-q", "--hard")
    (git_repo.root.parent / "t.txt").write_text(TRACE.format(path="a.py"))
    proc = rca("suspects", "--trace", str(git_repo.root.parent / "t.txt"), cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"#1   {odd[:10]}  9999-12-31")


def test_index_with_a_date_past_9999_is_mended(git_repo):
    """An index written before dates were kept in range is mended on opening (migration m014)."""
    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    conn = indexed(git_repo)
    conn.execute("UPDATE commits SET author_date = 99999999999999, commit_date = -99999999999999")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_dates_in_range'")
    conn.commit()
    conn.close()
    conn = indexed(git_repo)
    assert conn.execute("SELECT author_date, commit_date FROM commits").fetchall() == [
        (253_402_300_799, -62_135_596_800)]


def test_root_commit_and_encoding_whatever_the_users_log_config(git_repo, monkeypatch):
    """log.showRoot=false left the root commit without files; i18n.logOutputEncoding=ISO-8859-1
    turned every accented message into '?'."""
    git_repo.commit("add f café", {"a.py": "def f():\n    return 1\n", "b.py": "x = 1\n"})
    git_repo.commit("break f", {"a.py": "def f():\n    return 2\n"})
    with_config(monkeypatch, log__showRoot="false", i18n__logOutputEncoding="ISO-8859-1")
    conn = indexed(git_repo)
    rows = conn.execute("SELECT c.message, count(f.id) FROM commits c LEFT JOIN files f ON f.commit_id = c.id "
                        "GROUP BY c.id ORDER BY c.id").fetchall()
    assert rows == [("add f café", 2), ("break f", 1)]


@pytest.mark.parametrize("setting", ["diff__mnemonicPrefix", "diff__noprefix"])
def test_worktree_changes_whatever_the_users_diff_prefix(git_repo, monkeypatch, setting):
    """diff.mnemonicPrefix named each locally edited file `w/<path>`, and diff.noprefix took a
    folder `b/` for the prefix: the work tree's edits were lost, and frame lines mapped wrongly."""
    git_repo.commit("add", {"b/m.py": "def g():\n    return 1\n", "a.py": "x = 1\n"})
    git_repo.write("b/m.py", "def g():\n    y = 1\n    return 1\n")
    git_repo.write("a.py", "x = 2\n")
    with_config(monkeypatch, **{setting: "true"})
    assert GitRepo(git_repo.root).worktree_changes() == {"a.py": [(1, 1, 1, 1)], "b/m.py": [(1, 0, 2, 1)]}


def test_git_dir_in_the_environment_is_said(git_repo, tmp_path):
    """rca ignores GIT_DIR (a hook's): a separate work tree (GIT_DIR + GIT_WORK_TREE, a dotfiles
    setup) was called 'not a git or Mercurial repository', without a word of GIT_DIR."""
    git_repo.commit("add f", {"a.py": "def f():\n    return 1\n"})
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(git_repo.root), str(bare)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    proc = rca("index", cwd=work, env={"GIT_DIR": str(bare), "GIT_WORK_TREE": str(work)})
    assert proc.returncode == 3
    assert f"GIT_DIR={bare} is set, but rca ignores GIT_DIR and GIT_WORK_TREE" in proc.stderr

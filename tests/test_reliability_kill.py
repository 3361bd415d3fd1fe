"""SIGKILL `rca index` at ~50 random points over a generated 520-commit history.

After every kill the index passes PRAGMA integrity_check, holds no half-indexed commit (each
commit row has exactly the files, hunks, changed-symbol and full-text rows of an uninterrupted
build) and no orphan row, and no worker or git process is left behind. Every chain of kills
ends with a run that finishes, and that index equals the uninterrupted build row for row.
520 commits so the fork pool of parsers (used from 500 new commits) is killed too.
"""

from __future__ import annotations

from _reliability import load


def test_fifty_random_kills_leave_whole_commits_and_converge(tmp_path):
    make = load("make_synthetic_repo").make
    run_kills = load("reliability_kill").run_kills
    repo = make(520, tmp_path / "repo", seed=3)
    stats = run_kills(repo, kills=50, seed=5, min_delay=0.3, log=lambda *_: None)
    assert stats["problems"] == []
    assert stats["kills"] == 50 and stats["compared_equal"] == stats["completed_runs"] >= 2
    assert stats["mid_history"] >= 5  # the kills really land inside the history, not only at start-up


def _half_made_index(tmp_path):
    """A 30-commit repository and the path its index will have (its folder made, no file yet)."""
    repo = load("make_synthetic_repo").make(30, tmp_path / "repo", seed=3)
    db = repo / ".git" / "rca" / "index.db"
    db.parent.mkdir(parents=True)
    return repo, db


def _next_run_builds_it(repo, db) -> None:
    """`rca index` after the kill: exit 0, every commit indexed, no orphan row."""
    import subprocess
    import sys

    common = load("reliability_common")
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "index", "-q", "--repo", str(repo)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(common.per_commit_counts(db)) == 30 and common.orphans(db) == {}


def test_a_run_killed_before_its_first_migration_leaves_an_index_the_next_run_builds(tmp_path):
    # CI once killed `rca index` after it created index.db but before the schema existed; the
    # checker then failed on the missing table. Such a file is a state "before any commit".
    import sqlite3

    common = load("reliability_common")
    repo, db = _half_made_index(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert db.stat().st_size > 0 and not common.has_schema(db)
    assert common.check_consistent(db, {}) == [] and common.per_commit_counts(db) == {}
    _next_run_builds_it(repo, db)


def test_a_run_killed_between_two_migration_steps_is_checked_on_the_tables_it_has(tmp_path):
    # CI killed `rca index` after m001 (commits, files, ...) but before m002 (head_files, code_*):
    # each step is its own transaction, so that schema is legitimate; the checker once failed on
    # "no such table: head_files". The next run applies the remaining steps and builds the index.
    from sqlite_utils import Database

    from rca_lsp.index.schema import migrations

    common = load("reliability_common")
    repo, db = _half_made_index(tmp_path)
    first = Database(db)
    migrations.apply(first, stop_before="m002_code")  # what a kill after step 1 leaves
    first.close()
    assert common.has_schema(db) and "head_files" not in Database(db).table_names()
    assert common.check_consistent(db, {}) == [] and common.orphans(db) == {}
    _next_run_builds_it(repo, db)
    assert "head_files" in Database(db).table_names()

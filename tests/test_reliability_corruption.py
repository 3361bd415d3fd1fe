"""A damaged index at the command line: detected, moved aside with one line, rebuilt; never a traceback.

Damage tried: garbage bytes, truncation to a third / to the header / to one byte, an empty file,
a garbage `-wal` and `-shm` (SQLite ignores a WAL whose header or checksums fail, so the index
stays readable and the next run brings it back up to HEAD), and random 64-byte scribbles over
the file. Each through `rca index` and through `rca suspects` (which opens the index first).
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest
from _reliability import load

rc = load("reliability_common")

TRACE = """Traceback (most recent call last):
  File "/srv/app/pkg/calc.py", line 4, in twice
    return parse(s) * 2
  File "/srv/app/pkg/calc.py", line 2, in parse
    return int(s)
ValueError: invalid literal for int() with base 10: ' 2'
"""


@pytest.fixture
def indexed(git_repo):
    for i in range(25):
        git_repo.commit(f"Change {i}", {"pkg/calc.py": f"def parse(s):\n    return int(s) + {i}\n\n\n"
                                                       "def twice(s):\n    return parse(s) * 2\n",
                                        f"pkg/m{i % 4}.py": f"def f{i}():\n    return {i}\n"})
    git_repo.write("crash.txt", TRACE)
    proc = rc.rca("index", cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    db = git_repo.root / ".git" / "rca" / "index.db"
    reference = rc.snapshot(db)
    return git_repo, db, reference


def _checkpoint(db):
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _damage(db, how: str) -> None:
    _checkpoint(db)
    data = db.read_bytes()
    if how == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif how == "text":
        db.write_bytes(b"this is not a database\n" * 400)
    elif how == "third":
        db.write_bytes(data[: len(data) // 3])
    elif how == "header":
        db.write_bytes(data[:100])
    elif how == "one-byte":
        db.write_bytes(data[:1])
    elif how == "empty":
        db.write_bytes(b"")
    elif how == "zero-pages":
        db.write_bytes(data[:4096] + b"\0" * (len(data) - 4096))


def _one_clean_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) <= 1, stderr


@pytest.mark.parametrize("how", ["garbage", "text", "third", "header", "one-byte", "empty", "zero-pages"])
def test_damaged_index_is_moved_aside_and_rebuilt_by_rca_index(indexed, how):
    repo, db, reference = indexed
    _damage(db, how)
    proc = rc.rca("index", "-q", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    _one_clean_line(proc.stderr)
    if how != "empty":  # an empty file is a new index, not a damaged one
        assert "moved aside" in proc.stderr and "rebuilding" in proc.stderr
        assert any(p.name.startswith("index.db.corrupt-") for p in db.parent.iterdir())
    assert rc.integrity(db) == "ok"
    assert rc.diff_snapshots(rc.snapshot(db), reference) == []


@pytest.mark.parametrize("how", ["garbage", "third", "zero-pages"])
def test_damaged_index_under_rca_suspects(indexed, how):
    repo, db, _ = indexed
    _damage(db, how)
    proc = rc.rca("suspects", "--trace", "crash.txt", "--format", "json", "--top", "0", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "moved aside" in proc.stderr
    assert len(json.loads(proc.stdout)["suspects"]) > 0


def test_damaged_index_with_no_update_is_a_clear_message(indexed):
    repo, db, _ = indexed
    _damage(db, "garbage")
    proc = rc.rca("suspects", "--trace", "crash.txt", "--no-update", cwd=repo.root)
    assert "Traceback" not in proc.stderr and "moved aside" in proc.stderr


@pytest.mark.parametrize("part", ["-wal", "-shm"])
def test_garbage_wal_or_shm_is_survived(indexed, part):
    repo, db, reference = indexed
    # leave the last commits in the WAL only, then overwrite the WAL (or its index) with garbage
    repo.commit("Late change", {"pkg/late.py": "def late():\n    return 0\n"})
    assert rc.rca("index", "-q", cwd=repo.root).returncode == 0
    side = db.with_name(db.name + part)
    side.write_bytes(os.urandom(max(side.stat().st_size if side.exists() else 0, 32768)))
    for args in (("index", "-q"), ("suspects", "--trace", "crash.txt", "--format", "json")):
        proc = rc.rca(*args, cwd=repo.root)
        assert proc.returncode == 0, proc.stderr
        _one_clean_line(proc.stderr)
    assert rc.integrity(db) == "ok"
    shutil.rmtree(db.parent)
    assert rc.rca("index", "-q", cwd=repo.root).returncode == 0
    fresh = rc.snapshot(db)
    assert fresh["commits"] and len(fresh["commits"]) == len(reference["commits"]) + 1


def test_random_scribbles_never_give_a_traceback(indexed):
    repo, db, _ = indexed
    _checkpoint(db)
    good = db.read_bytes()
    rng = random.Random(4)
    outcomes = {"moved aside": 0, "ok": 0, "error line": 0}
    for _ in range(12):
        shutil.rmtree(db.parent)
        db.parent.mkdir()
        data = bytearray(good)
        at = rng.randrange(100, len(data) - 64)
        data[at:at + 64] = os.urandom(64)
        db.write_bytes(bytes(data))
        proc = rc.rca("suspects", "--trace", "crash.txt", "--format", "json", cwd=repo.root)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 1, 4), proc.stderr
        if proc.returncode:
            assert proc.stderr.startswith("rca: ") and len(proc.stderr.strip().splitlines()) == 1
            outcomes["error line"] += 1
        else:
            outcomes["moved aside" if "moved aside" in proc.stderr else "ok"] += 1
    assert sum(outcomes.values()) == 12

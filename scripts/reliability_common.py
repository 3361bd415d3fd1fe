"""Helpers shared by the reliability tests and scripts: index snapshots, consistency checks, processes.

An index is compared by content, never by autoincrement ids: every row is keyed by its commit's
hash (and a file row by its commit's hash and its paths), so an index built in another order,
or resumed after a kill, compares equal to a fresh build when it holds the same facts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

RCA = [sys.executable, "-m", "rca_lsp"]

_FILE_KEY = "c.hash, f.status, f.old_path, f.new_path, f.path"


def connect(db: Path) -> sqlite3.Connection:
    """A plain read-only connection, independent of rca_lsp's own code."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def snapshot(db: Path) -> dict[str, Counter]:
    """Every row of every table as a multiset, with ids replaced by commit hashes and file paths."""
    conn = connect(db)
    try:
        q = {
            "commits": "SELECT hash, parents, author, email, author_date, commit_date, message, files, added, removed"
                       " FROM commits",
            "files": f"SELECT {_FILE_KEY}, f.binary, f.old_blob, f.new_blob, f.added, f.removed"
                     " FROM files f JOIN commits c ON c.id = f.commit_id",
            "hunks": f"SELECT {_FILE_KEY}, h.old_start, h.old_len, h.new_start, h.new_len FROM hunks h"
                     " JOIN files f ON f.id = h.file_id JOIN commits c ON c.id = h.commit_id",
            "changed_symbols": f"SELECT {_FILE_KEY}, s.name, s.qualname, s.kind, s.lines FROM changed_symbols s"
                               " JOIN files f ON f.id = s.file_id JOIN commits c ON c.id = s.commit_id",
            "commit_text": "SELECT c.hash, t.message, t.symbols, t.diff FROM commit_text t"
                           " JOIN commits c ON c.id = t.rowid",
            "head_files": "SELECT path, blob FROM head_files",
            "code_blobs": "SELECT blob, language FROM code_blobs",
            "code_symbols": "SELECT blob, name, qualname, kind, start_line, end_line FROM code_symbols",
            "code_calls": "SELECT blob, caller, callee, line, receiver, receiver_type FROM code_calls",
            "code_bases": "SELECT blob, qualname, base FROM code_bases",
            "code_exports": "SELECT blob, name, qualname FROM code_exports",
            "state": "SELECT key, value FROM state WHERE key != 'indexed_at'",
            "missing_objects": "SELECT c.hash, m.path, m.blob FROM missing_objects m"
                               " JOIN commits c ON c.id = m.commit_id",
        }
        out = {name: Counter(conn.execute(sql).fetchall()) for name, sql in q.items()}
        out["orphans"] = _orphans(conn)
        return out
    finally:
        conn.close()


# rows whose commit (or file) is gone: must never exist. Keyed by the table each query reads, so
# an index killed between two migration steps (each is its own transaction) is checked on the
# tables it has, and the later ones are created by the next run.
_ORPHANS = {
    "files": "SELECT 'files', id FROM files WHERE commit_id NOT IN (SELECT id FROM commits)",
    "hunks": "SELECT 'hunks', file_id FROM hunks WHERE commit_id NOT IN (SELECT id FROM commits)"
             " OR file_id NOT IN (SELECT id FROM files)",
    "changed_symbols": "SELECT 'changed_symbols', file_id FROM changed_symbols"
                       " WHERE commit_id NOT IN (SELECT id FROM commits)",
    "commit_text": "SELECT 'commit_text', rowid FROM commit_text WHERE rowid NOT IN (SELECT id FROM commits)",
    "missing_objects": "SELECT 'missing_objects', commit_id FROM missing_objects"
                       " WHERE commit_id NOT IN (SELECT id FROM commits)",
}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def _orphans(conn: sqlite3.Connection) -> Counter:
    have = _tables(conn)
    found: Counter = Counter()
    for table, sql in _ORPHANS.items():
        if table in have:
            found.update(conn.execute(sql).fetchall())
    return found


def orphans(db: Path) -> Counter:
    conn = connect(db)
    try:
        return _orphans(conn)
    finally:
        conn.close()


def has_schema(db: Path) -> bool:
    conn = connect(db)
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'commits'").fetchone() is not None
    finally:
        conn.close()


def per_commit_counts(db: Path) -> dict[str, tuple[int, int, int, int]]:
    """hash -> (files, hunks, changed_symbols, commit_text rows) for every commit row; none before
    the schema exists (a run killed between creating the file and its first migration)."""
    if not has_schema(db):
        return {}
    conn = connect(db)
    try:
        rows = conn.execute(
            "SELECT c.hash,"
            " (SELECT count(*) FROM files f WHERE f.commit_id = c.id),"
            " (SELECT count(*) FROM hunks h WHERE h.commit_id = c.id),"
            " (SELECT count(*) FROM changed_symbols s WHERE s.commit_id = c.id),"
            " (SELECT count(*) FROM commit_text t WHERE t.rowid = c.id)"
            " FROM commits c").fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def check_consistent(db: Path, reference: dict[str, tuple[int, int, int, int]]) -> list[str]:
    """Problems of an index after a kill: integrity, half-indexed commits, orphan rows."""
    if not db.exists() or db.stat().st_size == 0:
        return []
    problems = []
    ok = integrity(db)
    if ok != "ok":
        problems.append(f"integrity_check: {ok}")
        return problems
    counts = per_commit_counts(db)
    for sha, got in counts.items():
        want = reference.get(sha)
        if want is None:
            problems.append(f"commit {sha[:10]} is not in the reference build")
        elif got != want:
            problems.append(f"commit {sha[:10]} half-indexed: {got} rows, reference {want}")
    if not has_schema(db):
        return problems  # killed before the first migration: an empty file the next run migrates
    found = orphans(db)
    if found:
        problems.append(f"{sum(found.values())} orphan rows")
    return problems


def diff_snapshots(a: dict[str, Counter], b: dict[str, Counter]) -> list[str]:
    out = []
    for table in sorted(set(a) | set(b)):
        x, y = a.get(table, Counter()), b.get(table, Counter())
        if x != y:
            extra, missing = x - y, y - x
            out.append(f"{table}: {sum(extra.values())} extra, {sum(missing.values())} missing rows"
                       f" (e.g. {next(iter(extra or missing))!r:.200})")
    return out


def processes_in(folder: Path, exclude: set[int] = frozenset()) -> list[int]:
    """Pids of live processes whose working directory is `folder` (leftover workers, git)."""
    target = str(Path(folder).resolve())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude or int(entry) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == target:
                with open(f"/proc/{entry}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                        found.append(int(entry))
        except OSError:
            continue
    return found


def wait_no_processes(folder: Path, timeout: float = 10.0) -> list[int]:
    deadline = time.time() + timeout
    while True:
        left = processes_in(folder)
        if not left or time.time() > deadline:
            return left
        time.sleep(0.05)


def kill_after(cmd: list[str], cwd: Path, delay: float) -> tuple[bool, str]:
    """Run `cmd`, SIGKILL it after `delay` s; (whether it was killed before finishing, its stderr).

    The stderr is read once no process is left in `cwd`, so what orphaned workers print counts.
    """
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_file)
        try:
            proc.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed = True
        left = wait_no_processes(cwd)
        if left:
            raise RuntimeError(f"processes left running after the kill: {left}")
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace")
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return killed, err


def rca(*args: str, cwd: Path | None = None, input: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RCA, *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout)


# --- the processes of a running `rca index` (from /proc), for the kill tests -------------------------

def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def cmdline(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().split(b"\0")
    except OSError:
        return []


def is_git(pid: int, sub: bytes) -> bool:
    argv = cmdline(pid)
    return bool(argv) and argv[0].endswith(b"git") and sub in argv


def find_worker(rca: int) -> int | None:
    """A forked parser: a Python child of the indexer that runs its own `git cat-file`."""
    return next((p for p in children(rca) if any(is_git(c, b"cat-file") for c in children(p))), None)


def find_git_log(rca: int) -> int | None:
    return next((p for p in children(rca) if is_git(p, b"log")), None)


def find_worker_reader(rca: int) -> int | None:
    """A parser worker's own `git cat-file`."""
    return next((c for p in children(rca) for c in children(p) if is_git(c, b"cat-file")), None)


def indexed_commits(db: Path) -> int:
    """Commits in an index being written by another process (0 before its first batch)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM commits").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0

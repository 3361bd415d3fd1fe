"""Open failures: traces a developer is chasing, checked against the commits that arrive or leave.

They live beside the index, in `<vcs-dir>/rca/failures.db` (a small SQLite file of their own, never
in the work tree), so rebuilding the index (a cache) never loses them. `check` ranks a set of
commits against every open failure with the same retrieval as `rca suspects` and keeps the
suspects among those commits: the hooks use it for what a pull brought and what a push sends.

`<vcs-dir>/rca/open-failures` exists while a failure is open, so that the git hook shims can tell
with one `test -e`, without starting Python, that they have nothing to report. It is a hint, kept
by `add` and `resolve` and set right again by every hook that reads the database: one present
by mistake only costs a hook its fast path; one missing is restored by the next background index.

failures.db is not a cache: a file that cannot be read raises `FailureStoreError`, whose hint says
to move it aside, never to delete it (nor the folder it shares with the index, a cache).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.errors import RcaError
from rca_lsp.index.paths import index_dir
from rca_lsp.kinds import OWNERSHIP, EvidenceKind
from rca_lsp.types import Suspect

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

MAX_TRACE_CHARS = 1_000_000
OPEN_MARKER = "open-failures"
MAX_TITLE_CHARS = 160
# A commit with only these is not reported by the hooks: who owns the code, and the failing test's
# strings (shown, but they earn no points: BENCHMARKS.md).
WEAK_EVIDENCE = OWNERSHIP | {EvidenceKind.TEST_DATA}
IDS = range(-(2**63), 2**63)  # what an SQLite INTEGER holds: a number outside it names no failure
_SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    trace TEXT NOT NULL,
    created INTEGER NOT NULL,
    head TEXT,
    resolved INTEGER
)
"""


class FailureNotFound(RcaError):
    exit_code = 2


class FailureResolved(RcaError):
    """A culprit given for a failure resolved with another: labels that contradict each other."""

    exit_code = 2


class FailureStoreError(RcaError):
    """failures.db cannot be read or written: exit 4, like the index, but never "delete it"."""

    exit_code = 4


@dataclass(frozen=True)
class Failure:
    id: int
    title: str
    trace: str
    created: int
    head: str | None
    resolved: int | None

    @property
    def open(self) -> bool:
        return self.resolved is None


@dataclass(frozen=True)
class Finding:
    """A commit of the set checked that ranks among a failure's top suspects."""

    failure: Failure
    suspect: Suspect
    candidates: int


def store_path(meta_dir: str) -> Path:
    return index_dir(meta_dir) / "failures.db"


def marker_path(meta_dir: str) -> Path:
    return index_dir(meta_dir) / OPEN_MARKER


def mark(meta_dir: str, is_open: bool) -> bool:
    """Make the marker say `is_open`; True when it said otherwise. Never raises: it is a hint."""
    path = marker_path(meta_dir)
    try:
        if is_open == path.exists():
            return False
        if is_open:
            path.touch()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _connect(meta_dir: str, create: bool) -> Iterator[sqlite3.Connection | None]:
    path = store_path(meta_dir)
    if not create and not path.exists():
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=5, isolation_level=None)
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from None
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute(_SCHEMA)
        yield conn
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from None
    finally:
        conn.close()


def _store_error(path: Path, exc: sqlite3.Error) -> FailureStoreError:
    if isinstance(exc, sqlite3.OperationalError):  # locked, read-only, I/O: the file may be sound
        return FailureStoreError(f"the failures file {path} cannot be used ({exc})",
                                 hint="try again; if it stays, check the disk and the folder's permissions")
    return FailureStoreError(f"the failures file {path} is damaged ({exc})",
                             hint="it is not a cache: move it aside (do not delete it), then record the "
                                  "failures again with `rca failures add`")


def one_line(text: str) -> str:
    """Text shown as one line of a listing: each run of line breaks, tabs and other control whitespace
    becomes one space. Runs of plain spaces stay: they may be the failure itself (`assert 'a  b' ==
    'a b'` squeezed would read as two equal strings)."""
    return re.sub(r"[^\S ]+", " ", text).strip()


def title_of(text: str) -> str:
    """A one-line name for a trace: its test (case included), exception and the message's first line."""
    try:
        from rca_lsp.traces import parse

        traces = parse(text)
    except RcaError:
        traces = []
    if traces:
        t = traces[0]
        message = next((line for line in t.message.splitlines() if line.strip()), "")
        title = f"{t.exception}: {message}".strip(": ") if message else t.exception
        if t.test is not None:
            title = f"{t.test.label}: {title}" if title else t.test.label
        return one_line(title)[:MAX_TITLE_CHARS]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "(empty)")
    return one_line(first)[:MAX_TITLE_CHARS]


def add(meta_dir: str, text: str, head: str | None = None) -> Failure:
    from rca_lsp.traces import parse

    parse(text)  # refuses text with no recognisable trace (TraceError, exit 5)
    text = text[:MAX_TRACE_CHARS]
    title = title_of(text)
    with _connect(meta_dir, create=True) as conn:
        mark(meta_dir, True)  # before the row: a hook between the two takes the slow path, harmlessly
        assert conn is not None
        cur = conn.execute("INSERT INTO failures(title, trace, created, head) VALUES (?,?,?,?)",
                           (title, text, int(time.time()), head))
        return get(meta_dir, _row_id(cur))


def _row_id(cur: sqlite3.Cursor) -> int:
    if cur.lastrowid is None:  # never after an INSERT; a row we cannot name is a failure to store it
        raise RcaError("the failure was not stored (no row id)")
    return cur.lastrowid


def _row(row) -> Failure:
    fid, title, *rest = row
    return Failure(fid, one_line(title), *rest)  # titles stored before they were kept to one line


def get(meta_dir: str, failure_id: int) -> Failure:
    with _connect(meta_dir, create=False) as conn:
        row = conn.execute("SELECT id, title, trace, created, head, resolved FROM failures WHERE id = ?",
                           (failure_id,)).fetchone() if conn and failure_id in IDS else None
    if row is None:
        raise FailureNotFound(f"no failure #{failure_id}", hint="`rca failures list --all` shows them")
    return _row(row)


def listing(meta_dir: str, include_resolved: bool = False) -> list[Failure]:
    with _connect(meta_dir, create=False) as conn:
        if conn is None:
            return []
        where = "" if include_resolved else " WHERE resolved IS NULL"
        rows = conn.execute(f"SELECT id, title, trace, created, head, resolved FROM failures{where} ORDER BY id")
        return [_row(r) for r in rows]


def has_open(meta_dir: str) -> bool:
    """Cheap enough for every hook: no parsing, one indexed query, no file created. A file that
    cannot be read raises FailureStoreError: whether failures are open is then unknown, not no."""
    with _connect(meta_dir, create=False) as conn:
        return conn is not None and conn.execute(
            "SELECT 1 FROM failures WHERE resolved IS NULL LIMIT 1").fetchone() is not None


def resolve(meta_dir: str, failure_id: int) -> Failure:
    failure = get(meta_dir, failure_id)
    if failure.open:
        with _connect(meta_dir, create=True) as conn:
            assert conn is not None
            conn.execute("UPDATE failures SET resolved = ? WHERE id = ?", (int(time.time()), failure_id))
    mark(meta_dir, has_open(meta_dir))
    return get(meta_dir, failure_id)


def check(repo: Backend, index, commits: Iterable[str], top: int, limit: int = 5) -> list[Finding]:
    """Suspects among `commits` that rank in the top `top` for an open failure (newest failures first)."""
    from rca_lsp.suspects import find_suspects
    from rca_lsp.suspects.learned import load_regression_fusion

    wanted = set(commits)
    findings: list[Finding] = []
    if not wanted:
        return findings
    for failure in reversed(listing(repo.meta_dir)[-limit:]):
        try:
            result = find_suspects(repo, index, failure.trace, top=top, regression=load_regression_fusion())
        except RcaError:
            continue
        findings.extend(Finding(failure, s, result.candidates) for s in result.suspects
                        if s.commit.hash in wanted and _pointed_at(s))
    return findings


def _pointed_at(suspect: Suspect) -> bool:
    """Ranked by what the failure says (frames, calls, words), not only by being recent."""
    return any(e.kind not in WEAK_EVIDENCE for e in suspect.evidence)

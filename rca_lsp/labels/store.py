"""The labels of one repository: (failure text, candidates with their features, culprit).

One SQLite file, `<vcs-dir>/rca/labels.db`, its schema versioned by `PRAGMA user_version` and
changed only through `_MIGRATIONS` (one transaction per step). The candidates are kept as retrieval
ranked them, with every feature the learned fusion reads (`learned.COLUMNS`), capped at
`MAX_ROWS` rows plus the culprit: enough to refit and to re-rank, small enough to pool.

A label is stored once (`identity`): the same failure text, culprit and candidates (hashes and
features) are the same case to `rca model tune` and `stats` however often they are confirmed, so
a failure resolved twice, a bisection confirmed again on the same history or an export imported
back adds nothing the second time. When, how and under which ranker it was confirmed are not part
of it; a label ranked over other history (HEAD moved, the index rebuilt by another rca) is another.

JSONL (`export_jsonl` / `read_jsonl`) is the form a team pools: one label per line, the same keys
as `Label.to_json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rca_lsp.errors import RcaError
from rca_lsp.index.paths import index_dir
from rca_lsp.records import json_kind

log = logging.getLogger(__name__)

MAX_ROWS = 500
SOURCES = ("failure", "bisect", "editor", "import")
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("""CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        created INTEGER NOT NULL,
        source TEXT NOT NULL,
        failure TEXT NOT NULL,
        culprit TEXT NOT NULL,
        head TEXT,
        ranker TEXT NOT NULL,
        rank INTEGER,
        retrieval_rank INTEGER,
        total INTEGER NOT NULL,
        candidates TEXT NOT NULL,
        runs TEXT NOT NULL DEFAULT '[]'
    )""",),
    # one row per identity; of labels stored twice before, the first is kept
    ("ALTER TABLE labels ADD COLUMN identity TEXT",
     "UPDATE labels SET identity = rca_label_identity(failure, culprit, candidates)",
     "DELETE FROM labels WHERE id NOT IN (SELECT MIN(id) FROM labels GROUP BY identity)",
     "CREATE UNIQUE INDEX labels_identity ON labels(identity)"),
)


class LabelError(RcaError):
    """A label that cannot be made or read: the caller's input, hence a usage error."""

    exit_code = 2


class LabelStoreError(RcaError):
    """labels.db cannot be read or written: exit 4, like the index, but never "delete it"."""

    exit_code = 4


@dataclass(frozen=True)
class Label:
    failure: str
    culprit: str
    candidates: tuple[tuple[str, dict[str, float]], ...]  # retrieval's order, best first
    source: str
    created: int
    head: str | None = None
    ranker: str = "retrieval"  # what ranked the suspects the user saw: retrieval or a tuned version
    rank: int | None = None  # the culprit's rank under that ranker (None: not ranked)
    retrieval_rank: int | None = None
    total: int = 0  # candidates before the cap
    runs: tuple[dict, ...] = ()  # a bisection's test runs
    id: int | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "created": self.created, "source": self.source, "failure": self.failure,
                "culprit": self.culprit, "head": self.head, "ranker": self.ranker, "rank": self.rank,
                "retrieval_rank": self.retrieval_rank, "total": self.total,
                "candidates": [[h, f] for h, f in self.candidates], "runs": list(self.runs)}

    @staticmethod
    def from_json(doc: dict) -> Label:
        if not isinstance(doc, dict):
            raise LabelError(f"not a label: {json_kind(doc)}, where an `rca labels export` line is an object")
        missing = [key for key in ("failure", "culprit", "candidates", "created") if key not in doc]
        if missing:  # said by name: "KeyError: 'candidates'" told a user nothing
            raise LabelError(f"not a label: no {', '.join(repr(key) for key in missing)} (an `rca labels export` "
                             "line has failure, culprit, candidates and created)")
        try:
            candidates = tuple((str(h), {str(k): float(v) for k, v in f.items()}) for h, f in doc["candidates"])
            return Label(str(doc["failure"]), str(doc["culprit"]), candidates, str(doc.get("source", "import")),
                         int(doc["created"]), doc.get("head"), str(doc.get("ranker", "retrieval")),
                         doc.get("rank"), doc.get("retrieval_rank"), int(doc.get("total") or len(candidates)),
                         tuple(doc.get("runs") or ()), doc.get("id"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LabelError(f"not a label: a field of the wrong kind ({exc}); candidates are [hash, "
                             "{feature: number}] pairs, created a number of seconds") from None


def store_path(meta_dir: str) -> Path:
    return index_dir(meta_dir) / "labels.db"


def identity(failure: str, culprit: str, candidates) -> str:
    """What makes two labels the same case: `candidates` as (hash, features) pairs, or their JSON."""
    pairs = json.loads(candidates) if isinstance(candidates, str) else candidates
    rows = [[h, {k: float(v) for k, v in f.items()}] for h, f in pairs]  # 1 and 1.0 alike, as on import
    doc = json.dumps([failure, culprit, rows], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(_MIGRATIONS):
        raise LabelError(f"{conn.execute('PRAGMA database_list').fetchone()[2]} is from a newer rca "
                         f"(schema {version}, this one knows {len(_MIGRATIONS)})", hint="upgrade rca-lsp")
    conn.create_function("rca_label_identity", 3, identity, deterministic=True)
    for step in range(version + 1, len(_MIGRATIONS) + 1):
        with conn:
            conn.execute("BEGIN IMMEDIATE")  # Python opens none before DDL; a second rca waits here, then skips
            if conn.execute("PRAGMA user_version").fetchone()[0] >= step:
                continue
            for sql in _MIGRATIONS[step - 1]:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {step}")


@contextlib.contextmanager
def connect(meta_dir: str, create: bool = False) -> Iterator[sqlite3.Connection | None]:
    path = store_path(meta_dir)
    if not create and not path.exists():
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=5)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        _migrate(conn)
        yield conn
    except sqlite3.DatabaseError as exc:
        raise LabelStoreError(f"the labels file {path} cannot be used ({exc})",
                              hint="it is not a cache: move it aside (do not delete it) and run again") from None
    finally:
        conn.close()


def record(meta_dir: str, label: Label) -> int:
    """The label's id: a new one, or that of the same label stored before (said as a warning)."""
    [(lid, added)] = record_all(meta_dir, [label])
    if not added:
        log.warning("this failure with culprit %s over the same candidates is already label #%d; "
                    "not recorded again", label.culprit[:10], lid)
    return lid


def record_all(meta_dir: str, labels: list[Label]) -> list[tuple[int, bool]]:
    """Stores `labels` in one transaction: all of them or, on any error, none. For each, its id and
    whether it was added: False for one already stored (or earlier in `labels`), left as it was."""
    for label in labels:
        if label.source not in SOURCES:
            raise LabelError(f"unknown label source {label.source!r}")
    out = []
    with connect(meta_dir, create=True) as conn:
        assert conn is not None
        with conn:
            for label in labels:
                doc = label.to_json()
                key = identity(label.failure, label.culprit, label.candidates)
                cur = conn.execute(
                    "INSERT INTO labels(created, source, failure, culprit, head, ranker, rank, retrieval_rank,"
                    " total, candidates, runs, identity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(identity) DO NOTHING",
                    (label.created, label.source, label.failure, label.culprit, label.head, label.ranker,
                     label.rank, label.retrieval_rank, label.total,
                     json.dumps(doc["candidates"], separators=(",", ":")),
                     json.dumps(doc["runs"], separators=(",", ":")), key))
                if not cur.rowcount:
                    out.append((conn.execute("SELECT id FROM labels WHERE identity = ?", (key,)).fetchone()[0],
                                False))
                elif cur.lastrowid is None:  # never after an INSERT
                    raise LabelError("the label was not stored (no row id)")
                else:
                    out.append((cur.lastrowid, True))
    return out


_COLUMNS = "id, created, source, failure, culprit, head, ranker, rank, retrieval_rank, total, candidates, runs"


def _label(row: tuple) -> Label:
    lid, created, source, failure, culprit, head, ranker, rank, rrank, total, cands, runs = row
    return Label(failure, culprit, tuple((h, f) for h, f in json.loads(cands)), source, created, head,
                 ranker, rank, rrank, total, tuple(json.loads(runs)), lid)


def listing(meta_dir: str) -> list[Label]:
    with connect(meta_dir) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_COLUMNS} FROM labels ORDER BY id").fetchall()
    return [_label(row) for row in rows]


def remove(meta_dir: str, label_id: int) -> Label:
    """Delete one label (a culprit confirmed by mistake) and return it; LabelError if there is none."""
    with connect(meta_dir) as conn:
        row = None
        if conn is not None:
            with conn:
                row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", (label_id,)).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))
    if row is None:
        raise LabelError(f"no label #{label_id}", hint="`rca labels list` shows their numbers")
    return _label(row)


def culprits_of(meta_dir: str, failure: str) -> list[tuple[int, str]]:
    """(label id, culprit) of the labels of this failure text, oldest first, however confirmed."""
    with connect(meta_dir) as conn:
        if conn is None:
            return []
        return conn.execute("SELECT id, culprit FROM labels WHERE failure = ? ORDER BY id", (failure,)).fetchall()


def export_jsonl(labels: list[Label], out: IO[str]) -> int:
    for label in labels:
        out.write(json.dumps(label.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n")
    return len(labels)


def read_jsonl(path: Path, text: str | None = None) -> list[Label]:
    """Labels from a JSONL file (an export, or several pooled), or from `text` read elsewhere (stdin,
    named `path`); a bad line is named by its number."""
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
    except OSError as exc:
        raise LabelError(f"cannot read labels from {path}: {exc.strerror or exc}") from None
    labels = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise LabelError(f"{path}:{n}: not JSON ({exc})") from None
        try:
            labels.append(Label.from_json(doc))
        except LabelError as exc:
            raise LabelError(f"{path}:{n}: {exc}") from None
    return labels

"""The questions retrieval and the hooks ask the index, one named function each.

No SQL on the index's tables lives outside `rca_lsp.index`: a schema change is made here and in
`schema`, and nowhere else. Each function returns plain tuples or dicts in the order SQLite gives
them; retrieval's ranking depends on that order (ties), so a query is changed only with the
dev-split figures checked.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from rca_lsp.index.paths import index_path
from rca_lsp.types import Commit

if TYPE_CHECKING:
    from rca_lsp.index.store import Index

FileRow = tuple[int, int, str, "str | None"]  # commit id, file id, status, old path
HunkRow = tuple[int, int, int, int, int]  # old start, old length, new start, new length, layout only (0/1)
SymbolRow = tuple[str, str, str, str, str, int, int]  # path, language, name, qualname, kind, start, end
CallRow = tuple[str, str, int, str, str]  # caller, callee, line, receiver, receiver type


# -- file names ------------------------------------------------------------------------------------
# A name is kept exactly: as text when it is UTF-8 (nearly always), else as its bytes, a BLOB (the
# backends hand it over with each byte that is not UTF-8 as a lone surrogate, `diffparse.decode_path`,
# which SQLite's text cannot hold). A BLOB never equals a text, so two names differ in the index
# whenever they differ on disk; `caf\xe9.py` was once kept as `caf?.py` (migration m016).

def stored_path(path: str) -> str | bytes:
    """`path` as the index keeps it."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape")
    return path


def read_path(value: str | bytes) -> str:
    """A name the index kept (`stored_path`) as the backends give it."""
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


def _named(rows: list, column: int = 0) -> list:
    """`rows` with the name in `column` read back (`read_path`); a row of text (or no) name is left as it is."""
    return [(*r[:column], read_path(r[column]), *r[column + 1:]) if isinstance(r[column], bytes) else r for r in rows]


# -- commits ----------------------------------------------------------------------------------

def commit_ids(index: Index) -> dict[str, int]:
    """Every indexed commit's hash -> its row id."""
    return dict(index.conn.execute("SELECT hash, id FROM commits"))


def commit(index: Index, commit_id: int) -> Commit:
    row = index.conn.execute(
        "SELECT hash, parents, author, email, author_date, commit_date, message FROM commits WHERE id = ?",
        (commit_id,)).fetchone()
    return Commit(row[0], tuple(row[1].split()), row[2], row[3], row[4], row[5], row[6])


def commit_dates(index: Index) -> dict[int, int]:
    return dict(index.conn.execute("SELECT id, commit_date FROM commits"))


def commit_authors(index: Index) -> list[tuple[int, str, str]]:
    """(commit id, author name, email) of every indexed commit."""
    return index.conn.execute("SELECT id, author, email FROM commits").fetchall()


# -- files and hunks --------------------------------------------------------------------------

def changes_to(index: Index, path: str) -> list[FileRow]:
    """The file changes whose new path is `path`, in any indexed commit."""
    return _named(index.conn.execute(
        "SELECT commit_id, id, status, old_path FROM files WHERE new_path = ?", (stored_path(path),)).fetchall(), 3)


def hunks_of(index: Index, file_id: int) -> list[HunkRow]:
    """One file change's zero-context hunks, top to bottom of the new version; the last field is 1
    where the hunk only changed layout (diffparse.layout_only)."""
    return index.conn.execute(
        "SELECT old_start, old_len, new_start, new_len, layout FROM hunks WHERE file_id = ? ORDER BY new_start",
        (file_id,)).fetchall()


def commits_touching(index: Index, path: str) -> list[int]:
    """Commits with a change whose `path` (new path, or old for a deletion) is `path`."""
    return [c for (c,) in index.conn.execute("SELECT DISTINCT commit_id FROM files WHERE path = ?",
                                             (stored_path(path),))]


def paths_of(index: Index, commit_id: int) -> list[str]:
    return [read_path(p) for (p,) in index.conn.execute("SELECT path FROM files WHERE commit_id = ?", (commit_id,))]


def lines_added(index: Index, commit_id: int) -> list[tuple[str, int]]:
    """(path, lines added) of each file the commit changed."""
    return _named(index.conn.execute("SELECT path, added FROM files WHERE commit_id = ?", (commit_id,)).fetchall())


def versions_of(index: Index, path: str) -> list[tuple[int, str | None, str | None]]:
    """(commit id, old blob, new blob) of every change whose `path` is `path`: for a submodule's
    folder, the commits its pointer moved from and to."""
    return index.conn.execute("SELECT commit_id, old_blob, new_blob FROM files WHERE path = ?",
                              (stored_path(path),)).fetchall()


def renames(index: Index) -> list[tuple[int, str, str | None]]:
    """(commit id, old path, new path) of every rename in an indexed commit, and (commit id, path,
    None) of every deletion."""
    return [(c, read_path(old), read_path(new) if new is not None else None) for c, old, new in index.conn.execute(
        "SELECT commit_id, old_path, new_path FROM files WHERE status = 'R' OR status = 'D'")]


def files_per_commit(index: Index) -> dict[int, int]:
    """Whole-table aggregates: cheaper than thousands of bound ids."""
    return dict(index.conn.execute("SELECT commit_id, COUNT(*) FROM files GROUP BY commit_id"))


def lines_per_commit(index: Index) -> dict[int, int]:
    return dict(index.conn.execute("SELECT commit_id, SUM(old_len + new_len) FROM hunks GROUP BY commit_id"))


def authorship_of(index: Index, path: str) -> list[tuple[int, int, str, str, int]]:
    """(commit id, lines changed, author, email, author date) of every change to `path`."""
    return index.conn.execute(
        "SELECT f.commit_id, f.added + f.removed, c.author, c.email, c.author_date"
        " FROM files f JOIN commits c ON c.id = f.commit_id WHERE f.new_path = ?", (stored_path(path),)).fetchall()


def symbol_changes(index: Index, qualname: str) -> list[tuple[int, int, str]]:
    """(commit id, lines changed, path) of every indexed change to a symbol named `qualname`."""
    return _named(index.conn.execute(
        "SELECT cs.commit_id, cs.lines, f.path FROM changed_symbols cs JOIN files f ON f.id = cs.file_id"
        " WHERE cs.qualname = ?", (qualname,)).fetchall(), 2)


# -- the text of commits (full-text search) ------------------------------------------------------

def text_matches(index: Index, query: str, column_weights: tuple[float, ...], limit: int) -> dict[int, float]:
    """commit id -> BM25 score (higher is better) of the best `limit` commits for an FTS5 `query`;
    empty when SQLite cannot read the query."""
    weights = ", ".join(str(w) for w in column_weights)
    try:
        rows = index.conn.execute(
            f"SELECT rowid, -bm25(commit_text, {weights}) FROM commit_text WHERE commit_text MATCH ?"
            f" ORDER BY bm25(commit_text, {weights}) LIMIT ?", (query, limit)).fetchall()
    except sqlite3.OperationalError:
        return {}
    return {rowid: score for rowid, score in rows}


def commit_words(index: Index, commit_id: int) -> tuple[str, str, str] | None:
    """The commit's message, changed symbol names and diff text, as full-text search indexed them."""
    return index.conn.execute(
        "SELECT message, symbols, diff FROM commit_text WHERE rowid = ?", (commit_id,)).fetchone()


# -- HEAD's code --------------------------------------------------------------------------------

def head_blobs(index: Index) -> dict[str, str]:
    """HEAD's files: path -> blob id."""
    return dict(_named(index.conn.execute("SELECT path, blob FROM head_files").fetchall()))


def head_symbols(index: Index) -> list[SymbolRow]:
    return _named(index.conn.execute(
        "SELECT h.path, b.language, s.name, s.qualname, s.kind, s.start_line, s.end_line FROM head_files h"
        " JOIN code_blobs b ON b.blob = h.blob JOIN code_symbols s ON s.blob = h.blob").fetchall())


def head_bases(index: Index) -> list[tuple[str, str, str]]:
    """(path, class qualname, base as written) of HEAD's classes, in source order."""
    return _named(index.conn.execute(
        "SELECT h.path, c.qualname, c.base FROM head_files h JOIN code_bases c ON c.blob = h.blob"
        " ORDER BY c.rowid").fetchall())


def head_defaults(index: Index) -> dict[str, str]:
    """path -> the function a HEAD JS/TS module exports as its default."""
    return dict(_named(index.conn.execute(
        "SELECT h.path, e.qualname FROM head_files h JOIN code_exports e ON e.blob = h.blob"
        " WHERE e.name = 'default'").fetchall()))


def calls_in(index: Index, blob: str) -> list[CallRow]:
    return index.conn.execute(
        "SELECT caller, callee, line, receiver, receiver_type FROM code_calls WHERE blob = ?", (blob,)).fetchall()


# -- a read-only look for the hooks --------------------------------------------------------------

def peek(meta_dir: str, timeout: float = 2.0) -> tuple[set[str], str | None] | None:
    """Hashes in the index and the head it was built for; None without a readable index.

    Plain sqlite3, read-only, no migration: a hook with nothing to do must cost a few tens of
    milliseconds, and must never write."""
    path = index_path(meta_dir)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        try:
            hashes = {row[0] for row in conn.execute("SELECT hash FROM commits")}
            row = conn.execute("SELECT value FROM state WHERE key = 'head'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return hashes, row[0] if row else None

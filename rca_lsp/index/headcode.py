"""Symbols and call sites of the HEAD tree, for the call graph that follows a failing test.

Stored per blob, so a new HEAD re-parses only the files that changed. The work tree's own edits
(the new failing test, say) are parsed at query time, on top of this.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rca_lsp.index.queries import stored_path
from rca_lsp.index.store import Index

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

MAX_BYTES = 2_000_000


def refresh_head_code(repo: Backend, index: Index) -> int:
    from rca_lsp.code.calls import analyze
    from rca_lsp.code.languages import is_copied_code, language_for_path

    files: dict[str, str] = {}
    languages: dict[str, str] = {}
    for path, blob in repo.head_blobs().items():
        language = language_for_path(path)
        if language and not is_copied_code(path):
            files[path], languages[path] = blob, language
    known = {row[0] for row in index.conn.execute("SELECT blob FROM code_blobs")}
    todo = sorted({(b, languages[p]) for p, b in files.items() if b not in known})
    reader = repo.blob_reader() if todo else None
    try:
        for start in range(0, len(todo), 200):
            with index.write() as conn:
                for blob, language in todo[start:start + 200]:
                    data = reader.get(blob) if reader else None
                    syms, calls, bases, default = [], [], {}, ""
                    if data is not None and len(data) <= MAX_BYTES:
                        facts = analyze(data, language)
                        syms, calls, bases, default = facts.symbols, facts.calls, facts.bases, facts.default
                    conn.execute("INSERT OR IGNORE INTO code_blobs(blob, language) VALUES (?, ?)", (blob, language))
                    conn.executemany(
                        "INSERT INTO code_symbols(blob, name, qualname, kind, start_line, end_line) VALUES (?,?,?,?,?,?)",
                        [(blob, s.name, s.qualname, s.kind, s.start_line, s.end_line) for s in syms])
                    conn.executemany(
                        "INSERT INTO code_calls(blob, caller, callee, line, receiver, receiver_type) VALUES (?,?,?,?,?,?)",
                        [(blob, c.caller, c.callee, c.line, c.receiver, c.receiver_type) for c in calls])
                    conn.executemany("INSERT INTO code_bases(blob, qualname, base) VALUES (?,?,?)",
                                     [(blob, q, b) for q, names in bases.items() for b in names])
                    if default:
                        conn.execute("INSERT INTO code_exports(blob, name, qualname) VALUES (?, 'default', ?)",
                                     (blob, default))
    finally:
        if reader:
            reader.close()
    with index.write() as conn:
        conn.execute("DELETE FROM head_files")
        conn.executemany("INSERT INTO head_files(path, blob) VALUES (?, ?)",
                         [(stored_path(path), blob) for path, blob in sorted(files.items())])
        conn.execute("DELETE FROM code_symbols WHERE blob NOT IN (SELECT blob FROM head_files)")
        conn.execute("DELETE FROM code_calls WHERE blob NOT IN (SELECT blob FROM head_files)")
        conn.execute("DELETE FROM code_bases WHERE blob NOT IN (SELECT blob FROM head_files)")
        conn.execute("DELETE FROM code_exports WHERE blob NOT IN (SELECT blob FROM head_files)")
        conn.execute("DELETE FROM code_blobs WHERE blob NOT IN (SELECT blob FROM head_files)")
    return len(files)

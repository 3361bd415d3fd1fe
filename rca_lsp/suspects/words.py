"""Words of the failure matched against commit messages, changed symbol names and diffs (BM25).

The failure's words are the test's name and class, the exception and its message, and the names
of in-repository frame functions, split like identifiers (`testLang747` -> lang, 747).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rca_lsp.index import queries
from rca_lsp.index.store import Index
from rca_lsp.text import STOPWORDS, words
from rca_lsp.types import Trace

MAX_TERMS = 40
COLUMN_WEIGHTS = (3.0, 2.0, 1.0)  # message, symbols, diff


def failure_words(traces: list[Trace]) -> list[str]:
    counts: Counter[str] = Counter()
    for trace in traces:
        parts = [trace.exception.rsplit(".", 1)[-1], trace.message[:400]]
        if trace.test:
            parts += [trace.test.name, trace.test.container.rsplit(".", 1)[-1].split("::")[-1]]
        parts += [f.function or "" for f in trace.all_frames() if f.path and not f.external]
        for part in parts:
            counts.update(w for w in words(part) if w not in STOPWORDS and len(w) > 1)
    return [w for w, _ in counts.most_common(MAX_TERMS)]


def match(index: Index, terms: list[str], limit: int = 500) -> dict[int, float]:
    """commit id -> BM25 score (higher is better) for the best `limit` commits."""
    if not terms:
        return {}
    return queries.text_matches(index, any_of(terms), COLUMN_WEIGHTS, limit)


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of `terms`, each quoted as one phrase."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms)


def matched_terms(index: Index, commit_id: int, terms: Sequence[str], message: bool = True) -> list[str]:
    """The words of `terms` that this commit's message (unless `message` is False), changed names
    or diff contain, in query order."""
    row = queries.commit_words(index, commit_id)
    if row is None:
        return []
    present = set(" ".join(row if message else row[1:]).split())
    return [t for t in terms if t in present]

"""Tree-sitter queries, one ``queries/<lang>.scm`` package data file per language.

Why queries rather than a Python walk over every node: on commons-lang (626
Java files, 203k lines, 1.5M nodes; parsing alone ~0.5-0.8 s) one pass of the
full query costs ~0.25 s, a bare TreeCursor walk ~0.2 s and a walk that checks
node types ~0.3 s, before any extraction work. At equal cost the queries keep
the per-language knowledge declarative in the .scm files, yield only the nodes
we want, and the symbols-only variant skips call patterns in C, not in Python.
scripts/bench_code.py times the whole layer on a real tree.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

from rca_lsp.code.languages import QUERY_FILES, language_object

log = logging.getLogger(__name__)

# Patterns whose text mentions one of these captures are kept in the symbols-only query.
_SYMBOL_CAPTURES = ("@def.", "@scope")


def query_source(language: str) -> str:
    """The text of the language's .scm files, one after the other ("" when there is none)."""
    parts = []
    for name in QUERY_FILES.get(language, ()):
        try:
            parts.append(resources.files("rca_lsp.code").joinpath("queries", f"{name}.scm").read_text("utf-8"))
        except (FileNotFoundError, OSError) as exc:
            log.warning("no query file %s.scm for %s: %s", name, language, exc)
            return ""
    return "\n".join(parts)


@lru_cache(maxsize=None)
def query_for(language: str, symbols_only: bool = False) -> Any | None:
    """The compiled query for ``language``; with ``symbols_only``, definition patterns alone."""
    lang = language_object(language)
    source = query_source(language)
    if lang is None or not source:
        return None
    from tree_sitter import Query

    try:
        query = Query(lang, source)
    except Exception as exc:  # a grammar version whose node names moved
        log.warning("query for %s does not compile: %s", language, exc)
        return None
    if symbols_only:
        for i in range(query.pattern_count):
            pattern = source[query.start_byte_for_pattern(i) : query.end_byte_for_pattern(i)]
            if not any(capture in pattern for capture in _SYMBOL_CAPTURES):
                query.disable_pattern(i)
    return query


def matches(tree: Any, language: str, symbols_only: bool = False) -> Iterator[dict[str, list[Any]]]:
    """Each match of the language's query on ``tree``, as capture name -> nodes."""
    query = query_for(language, symbols_only)
    if query is None:
        return iter(())
    from tree_sitter import QueryCursor

    return (captures for _, captures in QueryCursor(query).matches(tree.root_node))

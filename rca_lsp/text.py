"""Words out of code and prose, the same way for the index and for queries.

Identifiers are split on case and digits (`createInteger` -> create, integer; `LANG747` -> lang, 747)
so that a test named `testLang747` finds a commit message "LANG-747: fix createInteger".
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

STOPWORDS = frozenset("""
a an and are as at be but by for from has have if in into is it its not of on or that the this to was
were will with test tests testing assert asserts true false null none self this void new return public
private protected static final class def int string java org com junit expected actual but was get set
""".split())


def split_identifier(word: str) -> list[str]:
    return [p.lower() for p in _PARTS.findall(word)]


def words(text: str, limit: int | None = None) -> list[str]:
    """Lower-case word parts of every identifier and number in `text`, in order, with duplicates."""
    out: list[str] = []
    for match in _IDENT.finditer(text):
        token = match.group(0)
        parts = split_identifier(token) if not token.isdigit() else [token]
        if len(parts) > 1:
            out.append(token.lower())
        out.extend(parts)
        if limit is not None and len(out) >= limit:
            break
    return out


def searchable(text: str, limit: int = 4000) -> str:
    """Text for the full-text index: the words, identifiers split, as one string."""
    return " ".join(words(text, limit))

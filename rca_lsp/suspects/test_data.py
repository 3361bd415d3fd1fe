"""Words of the failing test's data: the string literals of the test method, as evidence.

When a test's subject is data (a source snippet, an HTML or JSON document, a date pattern, a
command line), the words inside its strings name what the code under test handles: a string
`"<table><tr>"` points at the code that handles tables, `"--label"` at option parsing. The
failure's own words (`words`) never see them: they come from names and messages. Here the
strings of the failing test method are parsed out with tree-sitter (any language whose grammar
is loaded: Java, Python, JavaScript, Go, ...), split into words like identifiers, and matched with
BM25 against candidates' changed symbol names and diffs (not their messages: data names code).
The failure's own words are left out (the words feature counts them already). On the dev split
the strings mostly repeat what other features find, and a fitted weight lowered the held-out
figures (BENCHMARKS.md), so retrieval shows this as evidence and gives it weight 0.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rca_lsp.code.languages import language_for_path
from rca_lsp.code.parse import parse, text
from rca_lsp.index import queries
from rca_lsp.index.store import Index
from rca_lsp.kinds import EvidenceKind
from rca_lsp.suspects.code_view import CodeView
from rca_lsp.suspects.targets import TargetFinder
from rca_lsp.suspects.words import any_of, matched_terms
from rca_lsp.text import STOPWORDS, words
from rca_lsp.types import Evidence, Trace

log = logging.getLogger(__name__)

BlobReader = Callable[[str], "bytes | None"]  # HEAD's blob id -> its content (None: not in the store)

MAX_TERMS = 40
MAX_SHOWN = 6  # matched words named in the evidence
MAX_STRINGS = 200  # a generated test with thousands of literals says little per literal
COLUMN_WEIGHTS = (0.0, 2.0, 1.0)  # message, symbols, diff: data names code, not prose
# A string node's content children, by grammar; a string without them (C's char, Go's raw string
# in older grammars) is read whole, quotes stripped.
STRING_NODES = frozenset({"string", "string_literal", "text_block", "template_string", "raw_string_literal",
                          "interpreted_string_literal"})
CONTENT_NODES = frozenset({"string_content", "string_fragment", "multiline_string_fragment",
                           "interpreted_string_literal_content", "raw_string_literal_content"})
_QUOTED = re.compile(r"[A-Za-z0-9]{0,3}(\"\"\"|'''|\"|'|`)(.*)\1", re.S)  # a prefix: r, b, f, L, u8
EMBEDDED = frozenset({"interpolation", "template_substitution"})  # code inside a string: f"{x}", `${x}`


@dataclass(frozen=True)
class FailingTestData:
    """The failing tests' strings and the words taken from them, most frequent first, and each
    failing test method's own code (what the tuned scorer reads: rca_lsp/ranker/inputs.py)."""

    strings: tuple[str, ...]
    terms: tuple[str, ...]
    code: tuple[str, ...] = ()

    def source_of(self, term: str) -> str | None:
        """The first string that holds `term`, for people to read."""
        return next((s for s in self.strings if term in words(s)), None)


def _string_text(node: Any) -> str:
    parts = [text(c) for c in node.children if c.type in CONTENT_NODES]
    if parts or any(c.type in EMBEDDED for c in node.children):
        return "".join(parts)
    value = text(node)
    quoted = _QUOTED.fullmatch(value)
    return quoted.group(2) if quoted else value


def string_literals(source: bytes, language: str, start_line: int, end_line: int) -> list[str]:
    """The text of each string literal on lines start_line..end_line, in source order."""
    tree = parse(source, language)
    return _strings_in(tree, start_line, end_line) if tree is not None else []


def _strings_in(tree: Any, start_line: int, end_line: int) -> list[str]:
    out: list[str] = []
    stack = [tree.root_node]
    while stack and len(out) < MAX_STRINGS:
        node = stack.pop()
        if node.end_point[0] + 1 < start_line or node.start_point[0] + 1 > end_line:
            continue
        if node.type in STRING_NODES:
            value = _string_text(node)
            if value.strip():
                out.append(value)
            stack.extend(reversed([c for c in node.children if c.type in EMBEDDED]))
            continue
        stack.extend(reversed(node.children))
    return out


def data_words(strings: list[str], exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Words of the strings, most frequent first: identifier parts of two letters or more, not
    numbers (a date or a count in test data matches every diff that has one), not stopwords."""
    counts: Counter[str] = Counter()
    for value in strings:
        counts.update(w for w in words(value) if len(w) > 1 and not w.isdigit() and w not in STOPWORDS
                      and w not in exclude)
    return [w for w, _ in counts.most_common(MAX_TERMS)]


def _source(view: CodeView, read_blob: BlobReader, path: str) -> bytes | None:
    if path in view.live:
        try:
            return (view.root / path).read_bytes()
        except OSError as exc:
            log.debug("cannot read %s: %s", path, exc)
            return None
    blob = view.blob_of(path)
    return read_blob(blob) if blob else None


def failing_tests(view: CodeView, traces: list[Trace], read_blob: BlobReader) -> list[tuple[str, bytes, str, int, int]]:
    """(path, source, language, first line, last line) of each trace's failing test method, found by
    retrieval's TargetFinder (work tree first, else HEAD). Each file is read once: a whole suite
    failing is thousands of traces in a few files."""
    finder = TargetFinder(view)
    sources: dict[str, bytes | None] = {}
    out = []
    for trace in traces:
        found = finder.locate(trace)
        language = language_for_path(found.path) if found else None
        if found is None or language is None:
            continue
        if found.path not in sources:
            sources[found.path] = _source(view, read_blob, found.path)
        source = sources[found.path]
        if source:
            out.append((found.path, source, language, found.symbol.start_line, found.symbol.end_line))
    return out


def failing_test_data(view: CodeView, traces: list[Trace], read_blob: BlobReader,
                      exclude: set[str] | frozenset[str] = frozenset()) -> FailingTestData:
    """The strings of the failing tests and their words, less `exclude` (the failure's words), and
    the tests' code (each method once). Each file is parsed once."""
    tests = failing_tests(view, traces, read_blob)
    trees: dict[str, Any] = {}
    strings: list[str] = []
    for path, source, language, start, end in tests:
        if path not in trees:
            trees[path] = parse(source, language)
        if trees[path] is not None:
            strings.extend(_strings_in(trees[path], start, end))
    code = tuple(dict.fromkeys("\n".join(source.decode("utf-8", "replace").split("\n")[start - 1:end])
                               for _, source, _, start, end in tests))
    return FailingTestData(tuple(strings), tuple(data_words(strings, exclude)), code)


def data_matches(index: Index, terms: tuple[str, ...], limit: int = 500) -> dict[int, float]:
    """commit id -> BM25 score of the test data's words in changed names and diffs."""
    if not terms:
        return {}
    return queries.text_matches(index, "{symbols diff} : (" + any_of(terms) + ")", COLUMN_WEIGHTS, limit)


def _shown(value: str, limit: int = 40) -> str:
    flat = " ".join(value.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


def data_evidence(index: Index, commit_id: int, value: float, data: FailingTestData) -> Evidence | None:
    """Which words of which test strings the commit's changed names or diff contain."""
    found = matched_terms(index, commit_id, data.terms, message=False)[:MAX_SHOWN]
    if not found:
        return None
    sources = list(dict.fromkeys(s for s in map(data.source_of, found) if s))[:2]
    return Evidence(EvidenceKind.TEST_DATA, value, f"its changed names or diff share words of the failing test's"
                    f" strings ({', '.join(map(_shown, sources))}): {', '.join(found)}")

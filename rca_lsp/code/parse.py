"""Parsing with size caps, and the few node helpers every extractor shares.

Files over the caps are generated or vendored code (parsers, minified bundles,
test fixtures); parsing them costs more than their symbols are worth, so they
yield nothing rather than slowing the whole index down.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rca_lsp.code.languages import parser_for

log = logging.getLogger(__name__)

MAX_BYTES = 2_000_000
MAX_LINES = 50_000

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_SPACE = re.compile(r"\s+")
_BREAK = re.compile(r"\s*\n\s*")

# Node types that wrap a type name without being one: pointers, generics, arrays...
_TYPE_WRAPPERS = frozenset(
    {
        "generic_type",
        "pointer_type",
        "reference_type",
        "type_annotation",
        "type",
        "annotated_type",
        "nullable_type",
        "type_descriptor",
        "parenthesized_type",
        "unary_expression",
    }
)


def too_big(source: bytes) -> bool:
    """True when ``source`` is over the byte or line cap."""
    return len(source) > MAX_BYTES or source.count(b"\n") >= MAX_LINES


def parse(source: bytes, language: str) -> Any | None:
    """The tree of ``source``, or None when it is empty, too big or the language unsupported."""
    if not source or too_big(source):
        return None
    parser = parser_for(language)
    if parser is None:
        return None
    try:
        return parser.parse(source)
    except Exception as exc:  # defensive: tree-sitter raises only on misuse
        log.warning("tree-sitter failed on a %s file: %s", language, exc)
        return None


def text(node: Any) -> str:
    """The node's source text, tolerant of invalid UTF-8."""
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def start_line(node: Any) -> int:
    return node.start_point[0] + 1


def end_line(node: Any) -> int:
    """1-based last line; a node ending at column 0 ends on the line before."""
    row, column = node.end_point
    if column == 0 and row > node.start_point[0]:
        return row
    return row + 1


def last_identifier(value: str) -> str:
    """The last identifier-looking word of ``value`` ("" if none)."""
    found = _IDENT.findall(value)
    return found[-1] if found else ""


def short_text(node: Any, limit: int = 80) -> str:
    """Whitespace-collapsed text of ``node``; its last identifier when that is ``limit`` or longer."""
    if node.end_byte - node.start_byte >= 4 * limit:
        return last_identifier(text(node))
    value = text(node)
    if len(value) < limit and value.isidentifier():
        return value  # the common case, without regular expressions
    value = _SPACE.sub(" ", _BREAK.sub("", value)).strip()
    if value and len(value) < limit:
        return value
    return last_identifier(value or text(node))


def type_name(node: Any) -> str:
    """The simple name of a type node: ``Map`` for ``java.util.Map<K, V>``, ``S`` for ``*S``."""
    for _ in range(8):
        kind = node.type
        if kind in ("array_type", "slice_type"):
            element = node.child_by_field_name("element") or node.named_child(0)
            return type_name(element) + "[]" if element is not None else ""
        if kind in _TYPE_WRAPPERS:
            inner = node.child_by_field_name("type") or node.child_by_field_name("argument")
            inner = inner or node.child_by_field_name("operand") or node.named_child(0)
            if inner is None:
                return ""
            node = inner
            continue
        return last_identifier(text(node).split("<", 1)[0].split("[", 1)[0])
    return ""


def is_type_like(name: str) -> bool:
    """Looks like a class name: starts uppercase and is not an ALL_CAPS constant (``A`` is a type)."""
    return bool(name) and name[0].isupper() and (len(name) == 1 or not name.isupper())

"""Parsing with size caps, and the few node helpers every extractor shares.

Files over the caps are generated or vendored code (parsers, minified bundles,
test fixtures); parsing them costs more than their symbols are worth, so they
yield nothing rather than slowing the whole index down.
"""

from __future__ import annotations

import logging
import re
from itertools import accumulate
from typing import Any, Sequence

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


def parse(source: bytes, language: str, previous: tuple[bytes, Any] | None = None,
          hunks: Sequence[tuple[int, int, int, int]] | None = None) -> Any | None:
    """The tree of ``source``, or None when it is empty, too big or the language unsupported.

    ``previous``: another version of the file in the same language, with its tree, which this parse
    consumes (the tree is edited). tree-sitter then reads again only what the edits say changed and
    reuses the rest: the same tree as a parse from nothing, many times faster for a commit's change
    to a file (BENCHMARKS.md, "Index"). ``hunks`` (old start, old length, new start, new length, in
    lines, as a zero-context diff numbers them) between ``previous``'s source and this one give one
    edit each, once the lines between them are found equal in both; otherwise, or without them, one
    edit spans all that lies between the two versions' common start and common end."""
    if not source or too_big(source):
        return None
    parser = parser_for(language)
    if parser is None:
        return None
    if previous is not None:
        old_source, old_tree = previous
        try:
            for edit in (hunks is not None and _hunk_edits(old_source, source, hunks)) or [_edit(old_source, source)]:
                old_tree.edit(**edit)
            return parser.parse(source, old_tree)
        except Exception as exc:  # defensive: tree-sitter raises only on misuse; parse from nothing
            log.warning("tree-sitter failed to reparse a %s file: %s", language, exc)
    try:
        return parser.parse(source)
    except Exception as exc:  # defensive: tree-sitter raises only on misuse
        log.warning("tree-sitter failed on a %s file: %s", language, exc)
        return None


def _line_starts(source: bytes) -> list[int]:
    """The offset each line starts at (lines end at `\\n`; one more after a last `\\n`), at C speed."""
    return [0, *accumulate(map((1).__add__, map(len, source.split(b"\n"))))][:-1]


def _hunk_edits(old: bytes, new: bytes, hunks: Sequence[tuple[int, int, int, int]]) -> list[dict[str, Any]]:
    """One edit per hunk, the last first (so that each one's offsets still hold when it is made), or
    [] when the lines between the hunks are not the same bytes in both versions (a diff made with a
    textconv driver, or of other versions): the hunks do not describe these two sources."""
    old_lines, new_lines = _line_starts(old), _line_starts(new)

    def at(starts: list[int], source: bytes, line: int) -> tuple[int, tuple[int, int]]:
        """Where 1-based `line` starts: its offset and point (the end of the source past its last line)."""
        if 0 < line <= len(starts):
            return starts[line - 1], (line - 1, 0)
        return len(source), (len(starts) - 1, len(source) - starts[-1])

    spans = []
    for old_start, old_len, new_start, new_len in sorted(hunks):
        first_old = old_start + (old_len == 0)  # `-N,0`: the lines go after line N
        first_new = new_start + (new_len == 0)
        spans.append((at(old_lines, old, first_old), at(old_lines, old, first_old + old_len),
                      at(new_lines, new, first_new)[0], at(new_lines, new, first_new + new_len)[0]))
    kept_old = kept_new = 0
    for (start_old, _), (end_old, _), start_new, end_new in spans:
        if start_old < kept_old or start_new < kept_new or old[kept_old:start_old] != new[kept_new:start_new]:
            return []
        kept_old, kept_new = end_old, end_new
    if old[kept_old:] != new[kept_new:]:
        return []
    edits = []
    for (start_old, (row, column)), (end_old, end_point), start_new, end_new in reversed(spans):
        breaks = new.count(b"\n", start_new, end_new)
        end_column = end_new - new.rfind(b"\n", start_new, end_new) - 1 if breaks else column + end_new - start_new
        edits.append({"start_byte": start_old, "old_end_byte": end_old, "new_end_byte": start_old + end_new - start_new,
                      "start_point": (row, column), "old_end_point": end_point,
                      "new_end_point": (row + breaks, end_column)})
    return edits


def _edit(old: bytes, new: bytes) -> dict[str, Any]:
    """The edit that turns ``old`` into ``new`` as one span: the bytes between their common prefix and
    their common suffix (the two never overlap), with tree-sitter's byte offsets and (row, column) points."""
    limit = min(len(old), len(new))
    low, high = 0, limit  # the longest common prefix, by halving (each comparison a memcmp)
    while low < high:
        mid = (low + high + 1) // 2
        if old[low:mid] == new[low:mid]:
            low = mid
        else:
            high = mid - 1
    start = low
    low, high = 0, limit - start  # the longest common suffix not reaching into the prefix
    while low < high:
        mid = (low + high + 1) // 2
        if old[len(old) - mid:len(old) - low] == new[len(new) - mid:len(new) - low]:
            low = mid
        else:
            high = mid - 1
    old_end, new_end = len(old) - low, len(new) - low
    return {"start_byte": start, "old_end_byte": old_end, "new_end_byte": new_end,
            "start_point": _point(old, start), "old_end_point": _point(old, old_end),
            "new_end_point": _point(new, new_end)}


def _point(source: bytes, offset: int) -> tuple[int, int]:
    """tree-sitter's (row, column in bytes) of a byte offset."""
    return source.count(b"\n", 0, offset), offset - (source.rfind(b"\n", 0, offset) + 1)


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

"""The nesting of definitions in one file: symbols with qualnames, plus byte spans.

Query matches give flat definitions; sorting them by position and sweeping
with a stack recovers the nesting that dotted qualnames need (Outer.Inner.m).
The byte-span index is kept so that call sites and declarations can be
attributed to their enclosing symbol exactly, even when two methods share a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from rca_lsp.code.parse import end_line, start_line, text, type_name
from rca_lsp.code.spans import SpanIndex
from rca_lsp.types import Symbol

_CONSTRUCTOR_NAMES = frozenset({"__init__", "constructor"})
_CLASSLIKE = frozenset({"class", "scope"})
# (parent, grandparent) node types of bodies whose methods belong to no named class: Java
# anonymous classes. Their methods are attributed to the enclosing method (as are lambdas
# everywhere). The methods of a Java enum constant's body are the enum's own: `State.process`
# in `IN_BODY { boolean process(..) {..} }` overrides the enum's `process`, and a call on a
# `State` runs it, so it shares that qualname as overloads do.
_ANONYMOUS_BODIES = frozenset({("class_body", "object_creation_expression")})
_QUALIFIED = frozenset({"qualified_identifier", "scoped_identifier"})
_STRINGS = frozenset({"string", "template_string"})  # names that are titles: JS test callbacks, dict keys


@dataclass
class Definition:
    """A definition (or a qualname-only scope such as a Rust impl) with byte and line spans."""

    name: str
    kind: str  # class | function | method | constructor | scope
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    name_byte: int
    owner: str = ""
    qualname: str = ""
    parent: int = -1

    @property
    def is_symbol(self) -> bool:
        return self.kind != "scope"


@dataclass
class Outline:
    definitions: list[Definition]
    index: SpanIndex  # over inclusive byte spans of `definitions`
    symbols: list[Symbol]

    def enclosing(self, byte: int) -> int:
        """Index of the innermost definition (or scope) around ``byte``, or -1."""
        return self.index.at(byte)

    def caller(self, byte: int) -> str:
        """Qualname of the innermost symbol (not scope) around ``byte``; "" at module level."""
        i = self.index.at(byte)
        while i >= 0 and not self.definitions[i].is_symbol:
            i = self.definitions[i].parent
        return self.definitions[i].qualname if i >= 0 else ""

    def enclosing_class(self, byte: int) -> int:
        """Index of the innermost class or scope around ``byte``, or -1."""
        i = self.index.at(byte)
        while i >= 0 and self.definitions[i].kind not in _CLASSLIKE:
            i = self.definitions[i].parent
        return i


def _split_name(node: Any) -> tuple[str, str]:
    """(owner, name) of a definition's name node: C++ ``A::B::f`` gives ("B", "f")."""
    owner = ""
    for _ in range(8):
        if node.type not in _QUALIFIED:
            break
        scope = node.child_by_field_name("scope") or node.child_by_field_name("path")
        inner = node.child_by_field_name("name")
        if inner is None:
            break
        owner = type_name(scope) if scope is not None else owner
        node = inner
    return owner, _unquoted(node) if node.type in _STRINGS else text(node)


def _unquoted(node: Any) -> str:
    """A string literal's text without its quotes: a JS test's title (`it("loads a \"map\"")`)."""
    raw = text(node)
    if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in "'\"`":
        return raw
    return raw[1:-1].replace("\\" + raw[0], raw[0])


COMPUTED = "${}"  # what a test title shows of an expression: `it(path.basename(f), ..)`, `${name}`


def test_title(node: Any) -> str:
    """A JS test's title as written: a string's text, a template's with each substitution as
    COMPUTED, and COMPUTED alone for any other expression (a title made in a loop). A title with
    COMPUTED or a Jest table placeholder (`%i`, `$a`) is a pattern of the titles the runner prints."""
    if node.type == "string":
        return _unquoted(node)
    if node.type == "template_string":
        return re.sub(r"\$\{[^}]*\}", COMPUTED, _unquoted(node))
    return COMPUTED


def _is_anonymous_member(node: Any) -> bool:
    parent = node.parent
    grand = parent.parent if parent is not None else None
    return grand is not None and (parent.type, grand.type) in _ANONYMOUS_BODIES


def _definition(captures: dict[str, list[Any]]) -> Definition | None:
    """The Definition a match describes, or None for matches that are not definitions."""
    for key, nodes in captures.items():
        if key.startswith("def.") or key == "scope":
            node, kind = nodes[0], key[4:] if key != "scope" else "scope"
            break
    else:
        return None
    name_node = (captures.get("name") or captures.get("scope.name") or [None])[0]
    if name_node is None or _is_anonymous_member(node):
        return None
    owner, name = _split_name(name_node)
    if node.type == "call_expression" and kind != "scope":  # a test callback, named by its title
        name = test_title(name_node)
    if kind == "scope" and name_node.type not in _STRINGS:
        name = type_name(name_node)
    if "owner" in captures:
        owner = type_name(captures["owner"][0])
    if not name:
        return None
    return Definition(
        name=name,
        kind=kind,
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        start_line=start_line(node),
        end_line=end_line(node),
        name_byte=name_node.start_byte,
        owner=owner,
    )


def _dedupe(definitions: Iterable[Definition]) -> list[Definition]:
    """One definition per name node, the widest (a decorated def over its bare def), and of two
    as wide the one that names an owner (a JS prototype's method over the plain assignment)."""
    best: dict[tuple[int, bool], Definition] = {}
    for d in definitions:
        key = (d.name_byte, d.kind == "scope")
        kept = best.get(key)
        if kept is None or (d.end_byte - d.start_byte, bool(d.owner)) > (kept.end_byte - kept.start_byte,
                                                                          bool(kept.owner)):
            best[key] = d
    return sorted(best.values(), key=lambda d: (d.start_byte, -d.end_byte))


def _kind(d: Definition, parent: Definition | None) -> str:
    """Refine the query's kind: functions in classes are methods, __init__ is a constructor."""
    kind = d.kind
    in_class = parent is not None and parent.kind in _CLASSLIKE
    if kind == "function" and (in_class or d.owner):
        kind = "method"
    class_name = parent.name if parent is not None and in_class else d.owner
    if kind == "method" and (d.name in _CONSTRUCTOR_NAMES or d.name in (d.owner, class_name)):
        kind = "constructor"
    return kind


def build_outline(match_captures: Iterable[dict[str, list[Any]]]) -> Outline:
    """The outline of one file from its query matches (non-definition matches are ignored)."""
    definitions = _dedupe(d for d in map(_definition, match_captures) if d is not None)
    index = SpanIndex([(d.start_byte, d.end_byte - 1) for d in definitions])
    for i, d in enumerate(definitions):
        d.parent = index.parent[i]
        parent = definitions[d.parent] if d.parent >= 0 else None
        d.kind = _kind(d, parent)
        prefix = parent.qualname if parent is not None else ""
        if d.owner and not (parent is not None and parent.name == d.owner):
            prefix = f"{prefix}.{d.owner}" if prefix else d.owner
        d.qualname = f"{prefix}.{d.name}" if prefix else d.name
    symbols = [
        Symbol(d.name, d.qualname, d.kind, d.start_line, d.end_line) for d in definitions if d.is_symbol
    ]
    return Outline(definitions, index, symbols)

"""Call sites of a file, each attributed to its enclosing symbol, and whole-file facts.

One parse and one query pass give symbols, calls, typed declarations and
supertypes together (``analyze``), because the call graph needs all of them
for every file and parsing dominates the cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rca_lsp.code.outline import Outline, build_outline
from rca_lsp.code.parse import is_type_like, parse, short_text, start_line, text, type_name
from rca_lsp.code.queries import matches
from rca_lsp.code.receivers import Declarations, PythonImports, ReceiverTyper, ScriptImports, StaticImports
from rca_lsp.code.resolve import MODULE_ITSELF
from rca_lsp.types import Call, Symbol

log = logging.getLogger(__name__)

_CALL_KEYS = ("call.name", "new.type", "call.ref", "call.ctor", "ref.type", "ref.arg")


@dataclass
class FileFacts:
    """Everything the call graph keeps about one file."""

    language: str
    symbols: list[Symbol] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    bases: dict[str, list[str]] = field(default_factory=dict)  # class qualname -> supertypes, in order
    default: str = ""  # the function a JS/TS module exports as its default (`module.exports = f`), if any


def calls(source: bytes, language: str) -> list[Call]:
    """Every call site in ``source`` in document order ([] when it cannot be parsed)."""
    return analyze(source, language).calls


def analyze(source: bytes, language: str) -> FileFacts:
    """Symbols, calls and supertypes of ``source`` from a single parse."""
    tree = parse(source, language)
    if tree is None:
        return FileFacts(language)
    defs, call_matches, decl_matches, base_matches, import_matches, python_import_matches = [], [], [], [], [], []
    script_import_matches, exports = [], []
    for captures in matches(tree, language):
        if "export.default" in captures:
            exports.append(text(captures["export.default"][0]))
        elif "import.from" in captures or "import.module" in captures:
            python_import_matches.append(captures)
        elif "import.source" in captures:
            script_import_matches.append(captures)
        elif any(key in captures for key in _CALL_KEYS):
            call_matches.append(captures)
        elif "decl.name" in captures:
            decl_matches.append(captures)
        elif "base.of" in captures:
            base_matches.append(captures)
        elif "import.static" in captures:
            import_matches.append(captures)
        else:
            defs.append(captures)
    outline = build_outline(defs)
    bases = _bases(outline, base_matches)
    statics = StaticImports(outline, tree, import_matches) if import_matches else None
    python_imports = PythonImports(outline, python_import_matches) if python_import_matches else None
    script_imports = ScriptImports(outline, script_import_matches, _member_definitions(defs)) \
        if script_import_matches else None
    typer = ReceiverTyper(outline, language, Declarations(outline, language, decl_matches), bases, statics,
                          python_imports, script_imports)
    found = [c for c in (_call(m, outline, typer) for m in call_matches) if c is not None]
    found.sort(key=lambda pair: pair[0])
    return FileFacts(language, outline.symbols, [c for _, c in found], bases, _default(outline, exports))


def _member_definitions(defs: list[dict[str, list[Any]]]) -> set[int]:
    """Where the names of definitions made on an object start (JS `picomatch.parse = (..) => ..`):
    such a definition binds no local name, so it hides no import of that name."""
    return {node.start_byte for captures in defs for node in captures.get("name", [])
            if node.parent is not None and node.parent.type == "member_expression"}


def _default(outline: Outline, exported: list[str]) -> str:
    """The function a module exports as its default, when the file defines it: the last export
    wins, and a top-level definition before a nested one (`module.exports = function f(..)` is
    also a function `exports` around `exports.f`, which holds the body's lines)."""
    for name in reversed(exported):
        found = sorted((s.qualname.count("."), s.qualname) for s in outline.symbols
                       if s.kind == "function" and s.name == name)
        if found:
            return found[0][1]
    return ""


def _bases(outline: Outline, base_matches: list[dict[str, list[Any]]]) -> dict[str, list[str]]:
    """Class qualname -> simple names of its supertypes, in source order."""
    by_name_byte = {d.name_byte: d.qualname for d in outline.definitions if d.kind == "class"}
    pairs: list[tuple[str, int, str]] = []
    for captures in base_matches:
        qualname = by_name_byte.get(captures["base.of"][0].start_byte)
        node = captures["base.type"][0]
        name = type_name(node)
        if qualname and name:
            pairs.append((qualname, node.start_byte, name))
    out: dict[str, list[str]] = {}
    for qualname, _, name in sorted(pairs):
        if name not in out.setdefault(qualname, []):
            out[qualname].append(name)
    return out


def _call(captures: dict[str, list[Any]], outline: Outline, typer: ReceiverTyper) -> tuple[int, Call] | None:
    """One Call from one match, keyed by byte offset for ordering."""
    if "call.name" in captures:
        return _plain_call(captures, outline, typer)
    if "new.type" in captures:
        node = captures["new.type"][0]
        name = type_name(node)
        if not name:
            return None
        return node.start_byte, Call(outline.caller(node.start_byte), name, start_line(node), "", name)
    if "call.ref" in captures:
        return _method_reference(captures["call.ref"][0], outline, typer)
    if "ref.arg" in captures:
        return _argument_reference(captures, outline, typer)
    if "ref.type" in captures:
        return _class_reference(captures["ref.type"][0], outline)
    return _constructor_invocation(captures["call.ctor"][0], outline, typer)


def _plain_call(
    captures: dict[str, list[Any]], outline: Outline, typer: ReceiverTyper
) -> tuple[int, Call] | None:
    name_node = captures["call.name"][0]
    if name_node.type in ("template_function", "generic_function"):  # f<T>(...)
        inner = name_node.child_by_field_name("name") or name_node.child_by_field_name("function")
        name_node = inner or name_node
    callee = text(name_node)
    if not callee or not callee.replace("$", "_").replace("#", "_").isidentifier():
        return None
    byte = name_node.start_byte
    receiver_node = (captures.get("call.receiver") or [None])[0]
    receiver, receiver_type = "", ""
    if receiver_node is not None:
        receiver = short_text(receiver_node)
        receiver_type = typer.infer(receiver_node, receiver, byte)
        module = typer.script_imports.receiver(receiver) if typer.script_imports is not None else None
        receiver = module or receiver  # `loader.load()` on `require("./loader")`: the module's stem
    elif typer.language == "python" and is_type_like(callee):
        receiver_type = callee  # Foo(...) constructs a Foo
    elif typer.python_imports is not None and (imported := typer.python_imports.module_of(callee)):
        receiver, callee = imported  # `from m import f as g; g(x)` runs m's f
    elif typer.script_imports is not None and (imported := typer.script_imports.module_of(callee)):
        receiver, callee = imported  # `const {f: g} = require("./m"); g(x)` runs m's f
    elif typer.script_imports is not None and (module := typer.script_imports.receiver(callee)):
        receiver, receiver_type = module, MODULE_ITSELF  # `const m = require("./m"); m(x)` calls the module
    else:
        receiver_type = typer.bare(callee)  # a Java static import names the class
    return byte, Call(outline.caller(byte), callee, start_line(name_node), receiver, receiver_type)


def _argument_reference(
    captures: dict[str, list[Any]], outline: Outline, typer: ReceiverTyper
) -> tuple[int, Call] | None:
    """A function handed over as an argument, which the callee calls (a callback; Python and Go):
    kept where the file says what it is, a top-level function or class of the file, a from-imported
    name, or a member of an imported module or of a class (`errors.Check`, `Foo.parse`). A
    plain local or parameter (`f(x, data)`) is left out: nothing says it is a function."""
    node = captures["ref.arg"][0]
    name, byte = text(node), node.start_byte
    imports = typer.python_imports
    receiver_node = (captures.get("ref.receiver") or [None])[0]
    if receiver_node is not None:
        receiver = text(receiver_node)
        if not (imports is not None and imports.imported(receiver)) and not is_type_like(receiver):
            return None
        return byte, Call(outline.caller(byte), name, start_line(node), receiver,
                          typer.infer(receiver_node, receiver, byte))
    imported = imports.module_of(name) if imports is not None else None
    if imported is not None:
        module, real = imported
        receiver_type = real if is_type_like(real) else ""
        return byte, Call(outline.caller(byte), real, start_line(node), "" if receiver_type else module,
                          receiver_type)
    own = next((s for s in outline.symbols if s.qualname == name), None)
    if own is None:
        return None
    return byte, Call(outline.caller(byte), name, start_line(node), "", name if own.kind == "class" else "")


def _class_reference(node: Any, outline: Outline) -> tuple[int, Call] | None:
    """``Foo.class`` or ``"pkg.Foo"`` hands a class to code that may construct it by reflection
    (a serializer, a runner, ``Class.forName``): a call of Foo's constructors, like ``new Foo``."""
    name = type_name(node) if node.type != "string_fragment" else text(node).rpartition(".")[2]
    if not is_type_like(name) or not name.isidentifier():
        return None  # int.class, void.class
    return node.start_byte, Call(outline.caller(node.start_byte), name, start_line(node), "", name)


def _method_reference(node: Any, outline: Outline, typer: ReceiverTyper) -> tuple[int, Call] | None:
    """Java ``Foo::bar`` calls bar on Foo; ``Foo::new`` constructs a Foo."""
    named = node.named_children
    if not named:
        return None
    target, byte = named[0], node.start_byte
    if node.children[-1].type == "new":
        name = type_name(target)
        return (byte, Call(outline.caller(byte), name, start_line(node), "", name)) if name else None
    if len(named) < 2:
        return None
    receiver = short_text(target)
    receiver_type = typer.infer(target, receiver, byte)
    return byte, Call(outline.caller(byte), text(named[-1]), start_line(named[-1]), receiver, receiver_type)


def _constructor_invocation(node: Any, outline: Outline, typer: ReceiverTyper) -> tuple[int, Call] | None:
    """Java ``this(...)`` calls a sibling constructor, ``super(...)`` the superclass's."""
    byte = node.start_byte
    word = text(node)
    name = typer.class_name(byte) if word == "this" else typer.super_name(byte)
    if not name:
        return None
    return byte, Call(outline.caller(byte), name, start_line(node), word, name)

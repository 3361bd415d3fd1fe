"""What type a call's receiver has, when the file itself says so.

The call graph resolves ``sb.append(x)`` far better knowing ``sb`` is a
``StrBuilder``: of the hundreds of ``append`` methods in a repository, one
class's are the likely target. We only read declarations in the same file
(locals, parameters, fields, ``var x = new Foo()``), ``this``/``self``, and
the convention that a capitalised receiver is a class (static calls), which
holds for Java, JS/TS, Python, C++ and Rust but not Go (exported names).
"""

from __future__ import annotations

from typing import Any, Iterable

from rca_lsp.code.languages import known_extensions
from rca_lsp.code.outline import Outline
from rca_lsp.code.parse import is_type_like, last_identifier, text, type_name

_SELF_WORDS: dict[str, frozenset[str]] = {
    "java": frozenset({"this"}),
    "python": frozenset({"self", "cls"}),
    "javascript": frozenset({"this"}),
    "typescript": frozenset({"this"}),
    "tsx": frozenset({"this"}),
    "cpp": frozenset({"this", "*this"}),
    "rust": frozenset({"self", "Self"}),
}
_SUPER_WORDS = frozenset({"super", "super()"})
_NAME_NODES = frozenset({"identifier", "type_identifier", "namespace_identifier", "field_identifier"})
_MEMBER_NODES = frozenset(
    {"field_access", "member_expression", "attribute", "field_expression", "selector_expression"}
)
_PATH_NODES = frozenset({"scoped_identifier", "qualified_identifier", "scoped_type_identifier"})
_NEW_NODES = {"object_creation_expression": "type", "new_expression": "constructor"}
# Languages where a capitalised name does not mean "a class".
_NO_CASE_RULE = frozenset({"go", "c"})


class Declarations:
    """Typed names declared in one file, grouped by the definition they are declared in."""

    def __init__(self, outline: Outline, language: str, decl_matches: Iterable[dict[str, list[Any]]]) -> None:
        self.outline = outline
        self.by_owner: dict[int, dict[str, list[tuple[int, str]]]] = {}
        for captures in decl_matches:
            self._add(captures, language)
        for names in self.by_owner.values():
            for entries in names.values():
                entries.sort()

    def _add(self, captures: dict[str, list[Any]], language: str) -> None:
        name_node = captures["decl.name"][0]
        type_node = captures["decl.type"][0]
        declared = type_name(type_node)
        if declared == "var" and "decl.value" in captures:
            value = captures["decl.value"][0]
            field = _NEW_NODES.get(value.type)
            declared = type_name(value.child_by_field_name(field)) if field else ""
        if not declared or declared in ("var", "auto", "let"):
            return
        if language == "python" and type_node.type == "identifier" and not is_type_like(declared):
            return  # x = make() says nothing; x = Foo() does
        owner = self.outline.enclosing(name_node.start_byte)
        if name_node.parent is not None and name_node.parent.type == "attribute":  # `self.x = Foo()`: the class's
            owner = self.outline.enclosing_class(name_node.start_byte)
        names = self.by_owner.setdefault(owner, {})
        names.setdefault(text(name_node), []).append((name_node.start_byte, declared))

    def lookup(self, name: str, byte: int, start: int | None = None) -> str:
        """The declared type of ``name`` as seen at ``byte``: innermost definition first."""
        i = self.outline.enclosing(byte) if start is None else start
        definitions = self.outline.definitions
        while True:
            entries = self.by_owner.get(i, {}).get(name)
            if entries:
                before = [t for b, t in entries if b <= byte]
                return before[-1] if before else entries[0][1]
            if i < 0:
                return ""
            i = definitions[i].parent


class StaticImports:
    """Java's static imports: the class a bare call ``isBlank(s)`` is made on.

    ``import static a.b.StringUtils.isBlank`` names the class of ``isBlank``. A ``.*`` import names
    it for every bare call the file does not define itself, when exactly one such import is of the
    file's own project (its package's first two parts, ``org.apache``): ``org.junit.Assert.*``
    in the same test is a library, never the code under test.
    """

    def __init__(self, outline: Outline, tree: Any, import_matches: Iterable[dict[str, list[Any]]]) -> None:
        self.members: dict[str, str] = {}
        project = _package_root(tree)
        everything: list[str] = []
        for captures in import_matches:
            path = text(captures["import.static"][0]).replace(" ", "")
            if "import.all" in captures:
                if project and path.startswith(project + "."):
                    everything.append(last_identifier(path))
            else:
                owner, _, member = path.rpartition(".")
                self.members[member] = last_identifier(owner)
        self.defined = {s.name for s in outline.symbols}
        self.everything = everything[0] if len(everything) == 1 else ""

    def owner(self, callee: str) -> str:
        if callee in self.members:
            return self.members[callee]
        return self.everything if callee not in self.defined else ""


class PythonImports:
    """Python's imports: the module a bare call runs, and which names are modules.

    `from M import f [as g]`: the call `g(...)` becomes `f` on a receiver named for M's last part
    (`from ._main import main` -> `_main`), which the resolver's step 3 finds by file stem or
    folder. A name the file itself defines hides the import, as in Python. `import a.b [as c]` and
    `from . import x` bind modules, so `c.f` or `x.f` handed over as an argument names a function.
    """

    def __init__(self, outline: Outline, import_matches: Iterable[dict[str, list[Any]]]) -> None:
        self.names: dict[str, tuple[str, str]] = {}  # local name -> (module's last part, imported name)
        self.modules: set[str] = set()  # local names bound to modules
        for captures in import_matches:
            alias = text(captures["import.alias"][0]) if "import.alias" in captures else ""
            if "import.module" in captures:
                dotted = text(captures["import.module"][0]).replace(" ", "")
                self.modules.add(alias or dotted.partition(".")[0])
                continue
            module = text(captures["import.from"][0]).replace(" ", "").strip(".").rpartition(".")[2]
            name = text(captures["import.name"][0]).rpartition(".")[2]
            if not name.isidentifier():
                continue
            if module.isidentifier():
                self.names[alias or name] = (module, name)
            else:
                self.modules.add(alias or name)
        for symbol in outline.symbols:
            if "." not in symbol.qualname:
                self.names.pop(symbol.name, None)
                self.modules.discard(symbol.name)

    def module_of(self, local: str) -> tuple[str, str] | None:
        """(module part, the imported name) of a from-imported `local`, else None."""
        return self.names.get(local)

    def imported(self, local: str) -> bool:
        return local in self.names or local in self.modules


class ScriptImports:
    """JavaScript/TypeScript module bindings: which names are modules, and what a bare call runs.

    `const m = require("./lib/loader")` (or `import m from`, `import * as m from`) binds `m` to a
    module, so `m.load()` is a call into that module, not a static call on a class named `m` (`R`,
    `Yaml`: the capitalised-name rule does not apply), made on a receiver named for the module's
    file (`loader`), which the resolver's step 3 finds by stem. `const {load: read} =
    require("./loader")` or `import {load as read}` makes `read(...)` the module's `load`.
    """

    def __init__(self, outline: Outline, import_matches: Iterable[dict[str, list[Any]]],
                 member_definitions: frozenset[int] | set[int] = frozenset()) -> None:
        self.modules: dict[str, str] = {}  # local name -> the module's file stem ("" when none)
        self.names: dict[str, tuple[str, str]] = {}  # local name -> (module's stem, its member)
        for captures in import_matches:
            module = _module_stem(text(captures["import.source"][0]))
            if "import.binding" in captures:
                self.modules[text(captures["import.binding"][0])] = module
            elif "import.member" in captures:
                member = text(captures["import.member"][0])
                local = text(captures["import.alias"][0]) if "import.alias" in captures else member
                module = module or _folder_module(text(captures["import.source"][0]))
                if module and member.isidentifier():
                    self.names[local] = (module, member)
        for d in outline.definitions:  # the file's own definition hides the import; `obj.f = ..` binds no `f`
            if d.is_symbol and "." not in d.qualname and d.name_byte not in member_definitions:
                self.names.pop(d.name, None)
                self.modules.pop(d.name, None)

    def module_of(self, local: str) -> tuple[str, str] | None:
        """(module stem, member) that a bare call of `local` runs, else None."""
        return self.names.get(local)

    def receiver(self, local: str) -> str | None:
        """The receiver to name for a call on `local`: its module's stem ("" keeps the name as
        written), or None when `local` is not a module binding."""
        return self.modules.get(local)


def _folder_module(source: str) -> str:
    """The module a folder's import names: `require("..")`, `from "../.."` load the package's entry,
    its `index` file where package.json names no other (then the member is found by name). So a
    `const {isMatch} = require("..")` in a test is the package's isMatch, never a same-named helper
    of another test file in the same folder."""
    bare = source.strip("'\"`")
    return "index" if bare and set(bare) <= {".", "/"} else ""


def _module_stem(source: str) -> str:
    """`"./lib/loader.js"` -> `loader`; a folder or package root (`".."`, `"."`) -> ""."""
    last = source.strip("'\"`").rstrip("/").rpartition("/")[2]
    stem, dot, extension = last.rpartition(".")
    if dot and stem and ("." + extension in known_extensions() or extension == "json"):
        last = stem
    return last if last.replace("-", "_").isidentifier() else ""


def _package_root(tree: Any) -> str:
    """The first two parts of a Java file's package (``org.apache``), or ""."""
    for node in tree.root_node.children:
        if node.type == "package_declaration":
            name = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
            parts = text(name).replace(" ", "").split(".") if name is not None else []
            return ".".join(parts[:2]) if len(parts) >= 2 else ""
        if node.type in ("class_declaration", "interface_declaration", "enum_declaration"):
            break
    return ""


class ReceiverTyper:
    """Infers ``Call.receiver_type`` from a receiver node, per language."""

    def __init__(
        self, outline: Outline, language: str, decls: Declarations, bases: dict[str, list[str]],
        statics: StaticImports | None = None, python_imports: PythonImports | None = None,
        script_imports: ScriptImports | None = None,
    ) -> None:
        self.outline = outline
        self.language = language
        self.decls = decls
        self.bases = bases
        self.statics = statics
        self.python_imports = python_imports
        self.script_imports = script_imports
        self.self_words = _SELF_WORDS.get(language, frozenset())

    def bare(self, callee: str) -> str:
        """The type a call without receiver is made on, when a static import says it, else ""."""
        return self.statics.owner(callee) if self.statics is not None else ""

    def class_name(self, byte: int) -> str:
        """The class whose code is at ``byte``: Go/C++ out-of-line owners count."""
        definitions = self.outline.definitions
        i = self.outline.enclosing(byte)
        while i >= 0:
            d = definitions[i]
            if d.owner:
                return d.owner
            if d.kind in ("class", "scope"):
                return d.name
            i = d.parent
        return ""

    def super_name(self, byte: int) -> str:
        """The first declared supertype of the class at ``byte``, or ""."""
        i = self.outline.enclosing_class(byte)
        if i < 0:
            return ""
        found = self.bases.get(self.outline.definitions[i].qualname)
        return found[0] if found else ""

    def infer(self, receiver: Any, receiver_text: str, byte: int) -> str:
        """The receiver's type name, or "" when the file does not say."""
        if receiver_text in self.self_words:
            return self.class_name(byte)
        if receiver_text in _SUPER_WORDS:
            return self.super_name(byte)
        kind = receiver.type
        if kind in _NAME_NODES:
            if self.script_imports is not None and self.script_imports.receiver(receiver_text) is not None:
                return ""  # a module, not a class
            found = self.decls.lookup(receiver_text, byte)
            return found or (receiver_text if self._class_like(receiver_text) else "")
        if kind in _MEMBER_NODES:
            return self._member(receiver, receiver_text, byte)
        if kind in _PATH_NODES:
            last = last_identifier(receiver_text)
            return last if self._class_like(last) else ""
        if kind in _NEW_NODES:
            return type_name(receiver.child_by_field_name(_NEW_NODES[kind]) or receiver)
        if kind == "call" and self.language == "python":  # Foo(...).bar()
            function = receiver.child_by_field_name("function")
            name = text(function) if function is not None and function.type == "identifier" else ""
            return name if is_type_like(name) else ""
        return ""

    def _class_like(self, name: str) -> bool:
        return self.language not in _NO_CASE_RULE and is_type_like(name)

    def _member(self, receiver: Any, receiver_text: str, byte: int) -> str:
        """``this.field`` -> the field's type; ``pkg.Outer.Inner`` -> ``Inner``."""
        head, _, last = receiver_text.rpartition(".")
        if head in self.self_words:
            owner = self.outline.enclosing_class(byte)
            found = self.decls.lookup(last, byte, start=owner) if owner >= 0 else ""
            if found:
                return found
        if last.isidentifier() and self._class_like(last) and all(p.isidentifier() for p in head.split(".")):
            return last
        return ""

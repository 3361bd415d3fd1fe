"""Best-effort resolution of a call's short callee name to symbols of the repository.

We have no type checker, so each call resolves by the strongest evidence the
file gives, in this order, and stops at the first step that finds anything:

1. ``receiver_type`` known (a declared local/field/parameter, ``this``/``self``,
   a capitalised class name, ``new Foo``, ``Foo.class``, a Java static import; a bare
   call tries step 2 first, as Java's own and inherited members hide static imports):
   methods named ``callee`` in classes of that name (the caller's file first) and,
   each 1/n, their overrides in subtypes down to ``SUBTYPE_DEPTH`` levels
   (class-hierarchy analysis; a Go interface's subtypes are the types whose methods
   include all of its own, since Go declares no ``implements``), else in the nearest
   supertypes (3 levels). ``new Foo``/``Foo(...)``
   resolves to Foo's constructors, else the class itself, else a function Foo
   (a JavaScript constructor function, whose prototype's methods are Foo's). A known type with
   no such member in the repository (``String.valueOf``) resolves to nothing, unless it
   forwards unknown members (a Python ``__getattr__``): then by name, as in step 4.
2. No receiver: lexical scope in the caller's file (``A.m.inner``, then
   ``A.helper``, then ``helper``), then the caller's supertypes, then any
   same-named symbol in the same file, then same-named top-level functions in
   the same directory (a Go package, a Python package).
3. A receiver of unknown type that names a module or package (``fmt.Println``,
   ``utils.helper()``): top-level functions named ``callee`` in files whose
   stem or directory is that name. A JS/TS module binding called as a function
   (``m(x)`` on ``m = require("./m")``: ``receiver_type`` ``MODULE_ITSELF``) runs
   the module's top-level function of that name, else the function it exports as
   its default, else what step 4 finds.
4. Otherwise every same-named symbol in the repository, each weighted 1/n,
   and nothing when there are more than ``MAX_AMBIGUOUS`` of them.

Common names (``COMMON_NAMES``, and any ``assert*``/``test*`` helper) are
resolved by steps 1-3 only, never by step 4: ``x.get()`` with an unknown ``x`` matches hundreds
of unrelated ``get`` methods and would drown the real callees.
Candidates are (path, qualname) pairs; Java overloads share a qualname and so
count once. Among several candidates, those in the caller's own file win.
"""

from __future__ import annotations

from collections import defaultdict
from posixpath import basename, dirname, splitext
from typing import Iterable, Iterator

from rca_lsp.types import Call, Symbol

Target = tuple[str, str]  # (path, qualname)

MAX_AMBIGUOUS = 12
SUBTYPE_DEPTH = 3  # levels of subtypes whose overrides a typed call may run
COMMON_NAMES = frozenset(
    """get set put add append remove clear contains containsKey size length isEmpty iterator next hasNext
    toString equals hashCode compareTo clone valueOf of copy close open run call apply accept test
    format print println printf write read flush join split trim replace substring charAt indexOf
    __init__ __new__ __str__ __repr__ __eq__ __hash__ __len__ __iter__ __next__ __enter__ __exit__
    __getitem__ __setitem__ __contains__ __call__ super len str int float list dict isinstance
    getattr setattr hasattr range map filter keys values items update pop push then catch resolve
    New Error Errorf String Len Close Printf Println Sprintf new default from into unwrap expect
    clone init main""".split()
)
_CTOR_NAMES = ("__init__", "constructor", "new")
MODULE_ITSELF = "<module>"  # the receiver type of a call of a module itself (`m(x)` on `m = require("./m")`)
# Members that make a class answer any attribute (Python): a call of a member it lacks goes to whatever
# they hand it on to (TinyDB's `__getattr__` forwards `db.remove(..)` to its default Table).
_FORWARDS = ("__getattr__", "__getattribute__")


def is_common(name: str) -> bool:
    """Names too common to resolve without a receiver type or lexical scope."""
    return name in COMMON_NAMES or name.startswith(("assert", "test", "Test"))


class Resolver:
    """Name indexes over every symbol of the graph, and the resolution rules above."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Target]] = defaultdict(list)
        self.by_member: dict[tuple[str, str], list[Target]] = defaultdict(list)
        self.classes: dict[str, list[Target]] = defaultdict(list)
        self.qualnames: dict[str, set[str]] = defaultdict(set)  # path -> qualnames
        self.bases: dict[Target, list[str]] = {}
        self.subtypes: dict[str, list[Target]] = defaultdict(list)  # base simple name -> classes
        self.top_level: dict[str, list[str]] = defaultdict(list)  # name -> paths with it at top level
        self.defaults: dict[str, list[Target]] = defaultdict(list)  # a binding's name -> modules' default exports
        self.interfaces: dict[Target, frozenset[str]] = {}  # a Go interface -> the names of its methods
        self._implemented: dict[tuple[str, str], list[Target]] = {}  # (interface, method) -> implementations

    def remove_file(self, path: str) -> None:
        """Forget one file's symbols (linear in the index; replacing files is rare)."""
        known = self.qualnames.pop(path, set())
        for name in _binding_names(path):
            self.defaults[name] = [t for t in self.defaults.get(name, []) if t[0] != path]
        self._implemented.clear()
        for qualname in known:
            self.interfaces.pop((path, qualname), None)
        for qualname in known:
            name = qualname.rpartition(".")[2]
            owner = qualname.rpartition(".")[0]
            _drop(self.by_name, name, (path, qualname))
            if owner:
                _drop(self.by_member, (owner.rpartition(".")[2], name), (path, qualname))
            else:
                _drop(self.top_level, name, path)
            _drop(self.classes, name, (path, qualname))
            for base in self.bases.pop((path, qualname), []):
                _drop(self.subtypes, base, (path, qualname))

    def add_file(self, path: str, symbols: Iterable[Symbol], bases: dict[str, list[str]], default: str = "") -> None:
        """Index one file's symbols (overloads sharing a qualname are indexed once) and the function
        it exports as its default."""
        if path in self.qualnames:
            self.remove_file(path)
        known = self.qualnames[path]
        if default:
            for name in _binding_names(path):
                self.defaults[name].append((path, default))
        for s in symbols:
            if s.qualname in known:
                continue
            known.add(s.qualname)
            target = (path, s.qualname)
            self.by_name[s.name].append(target)
            owner = s.qualname.rpartition(".")[0]
            if owner:
                self.by_member[(owner.rpartition(".")[2], s.name)].append(target)
            else:
                self.top_level[s.name].append(path)
            if s.kind == "class":
                self.classes[s.name].append(target)
        for qualname, names in bases.items():
            self.bases[(path, qualname)] = names
            for base in names:
                self.subtypes[base].append((path, qualname))
        if path.endswith(".go"):
            self._implemented.clear()
            self.interfaces.update(_go_interfaces(path, symbols))

    def resolve(self, path: str, caller: str, call: Call) -> list[tuple[Target, float]]:
        """Candidate targets of ``call`` made in ``caller`` of ``path``, with confidence factors."""
        if call.receiver_type == MODULE_ITSELF:
            modules = self._module(call.receiver, call.callee) or self._default(call.receiver)
            return _spread(modules, path) if modules else self._by_name(call.callee)
        if call.receiver_type:
            if not call.receiver and call.callee != call.receiver_type:
                found = self._lexical(path, caller, call.callee)  # a bare call a static import types:
                if found:  # the class's own and inherited members come first, as in Java
                    return found
            return self._typed_call(call.receiver_type, call.callee, path)
        if not call.receiver or call.receiver in ("this", "self"):
            found = self._lexical(path, caller, call.callee)
            if found:
                return found
        else:
            in_module = self._module(call.receiver, call.callee)
            if in_module:
                return _spread(in_module, path)
        return self._by_name(call.callee)

    def _by_name(self, callee: str, common: bool = False) -> list[tuple[Target, float]]:
        """Step 4: every symbol so named, unless the name is common (and not allowed) or too ambiguous."""
        if is_common(callee) and not common:
            return []
        candidates = self.by_name.get(callee, [])
        if len(candidates) > MAX_AMBIGUOUS:
            return []
        return [(t, 1.0 / len(candidates)) for t in candidates]

    def typed_call(self, type_name: str, callee: str, path: str) -> list[tuple[Target, float]]:
        """A call of ``callee`` on an object of ``type_name`` (step 1)."""
        return self._typed_call(type_name, callee, path)

    def inherits(self, type_name: str, owner: str) -> bool:
        """Whether ``type_name`` is ``owner`` or extends it (4 levels up, by simple names)."""
        return bool(owner) and any(owner in level for level in self._supertypes(type_name))

    def _supertypes(self, type_name: str, levels: int = 4) -> Iterator[list[str]]:
        """``[type_name]``, then its direct supertypes, theirs, ... (simple names, each once)."""
        seen: set[str] = set()
        level = [type_name]
        for _ in range(levels + 1):
            yield level
            seen.update(level)
            level = [b for name in level for t in self.classes.get(name, []) for b in self.bases.get(t, [])]
            level = [b for b in dict.fromkeys(level) if b not in seen]
            if not level:
                break

    def _typed_call(self, type_name: str, callee: str, path: str) -> list[tuple[Target, float]]:
        """A call on a receiver of a known type: the type's own member (the one in the caller's file
        when several classes share the name), and every override in its subtypes, each 1/n of them:
        which one runs depends on the object, so all of them may (class-hierarchy analysis)."""
        own = self.by_member.get((type_name, callee), []) if callee != type_name else []
        if not own:
            typed = self._typed(type_name, callee)
            if not typed and callee != type_name and any(self._has_member(type_name, hook) for hook in _FORWARDS):
                return self._by_name(callee, common=True)  # `__getattr__` hands the call on: to what, only names say
            return _spread(typed, path)
        found = dict(_spread(own, path))
        overrides = self._overrides(type_name, callee)
        for target in overrides:
            found[target] = max(found.get(target, 0.0), 1.0 / len(overrides))
        return sorted(found.items())

    def _typed(self, type_name: str, callee: str) -> list[Target]:
        """Members named ``callee`` of classes named ``type_name``, plus their overrides in
        subtypes (an interface method has no body: its implementations run), else the nearest
        supertypes' members: a constructor call, an inherited member, or (`_lexical`) a call on
        the caller's own supertypes."""
        if callee == type_name:
            for ctor in (type_name, *_CTOR_NAMES):
                found = self.by_member.get((type_name, ctor))
                if found:
                    return found
            # No class so named: a JS constructor function (`function _Set() {..}`; `new _Set()`).
            return self.classes.get(type_name) or [(p, type_name) for p in self.top_level.get(type_name, [])]
        own = self.by_member.get((type_name, callee), [])
        if own:
            return own + self._overrides(type_name, callee)
        for level in self._supertypes(type_name, levels=3):
            found = [t for name in level for t in self.by_member.get((name, callee), [])]
            if found:
                return found
        return []

    def _overrides(self, type_name: str, callee: str) -> list[Target]:
        """Members named ``callee`` of the classes that extend ``type_name``, directly or through
        up to ``SUBTYPE_DEPTH`` levels (an interface, its abstract base, the concrete classes)."""
        out: list[Target] = self._implementations(type_name, callee) if self.interfaces else []
        seen = {type_name}
        level = [type_name]
        for _ in range(SUBTYPE_DEPTH):
            below: list[str] = []
            for name in level:
                for path, qualname in self.subtypes.get(name, []):
                    member = f"{qualname}.{callee}"
                    if member in self.qualnames.get(path, ()):
                        out.append((path, member))
                    simple = qualname.rpartition(".")[2]
                    if simple not in seen:
                        seen.add(simple)
                        below.append(simple)
            level = below
        return list(dict.fromkeys(out))

    def _implementations(self, type_name: str, callee: str) -> list[Target]:
        """Go: the methods named ``callee`` of the types that implement the interface ``type_name``,
        those whose own or promoted (embedded) methods include every method of the interface and
        of the interfaces it embeds."""
        key = (type_name, callee)
        found = self._implemented.get(key)
        if found is not None:
            return found
        methods: set[str] = set()
        for level in self._supertypes(type_name):
            for name in level:
                for target in self.classes.get(name, []):
                    methods |= self.interfaces.get(target, frozenset())
        found = []
        if callee in methods:
            for path, qualname in self.by_name.get(callee, []):
                owner = qualname.rpartition(".")[0]
                if (path.endswith(".go") and owner and owner != type_name and (path, owner) not in self.interfaces
                        and all(self._has_member(owner, m) for m in methods)):
                    found.append((path, qualname))
        self._implemented[key] = found
        return found

    def _has_member(self, type_name: str, member: str) -> bool:
        """Whether ``type_name`` or a type it embeds (extends) has a method ``member``."""
        return any((name, member) in self.by_member for level in self._supertypes(type_name) for name in level)

    def _lexical(self, path: str, caller: str, callee: str) -> list[tuple[Target, float]]:
        """Steps 2: enclosing scopes, supertypes, same file, same directory."""
        known = self.qualnames.get(path, set())
        prefix = caller
        while prefix:
            candidate = f"{prefix}.{callee}"
            if candidate in known:
                return [((path, candidate), 1.0)]
            if (path, prefix) in self.bases:
                inherited = self._typed(prefix.rpartition(".")[2], callee)
                if inherited:
                    return _spread(inherited, path)
            prefix = prefix.rpartition(".")[0]
        if callee in known:
            return [((path, callee), 1.0)]
        same_file = [t for t in self.by_name.get(callee, []) if t[0] == path]
        if same_file:
            return _spread(same_file, path)
        folder = dirname(path)
        same_dir = [(p, callee) for p in self.top_level.get(callee, []) if dirname(p) == folder]
        return _spread(same_dir, path)

    def _module(self, receiver: str, callee: str) -> list[Target]:
        """Step 3: ``pkg.Func()`` / ``module.func()`` by file stem or directory name."""
        module = receiver.rpartition(".")[2]
        if not module.isidentifier():
            return []
        return [
            (p, callee)
            for p in self.top_level.get(callee, [])
            if splitext(basename(p))[0] == module or basename(dirname(p)) == module
        ]

    def _default(self, receiver: str) -> list[Target]:
        """The function a module exports as its default: `require("./snippet")` names snippet.js,
        `require("./lib")` lib/index.js."""
        return list(self.defaults.get(receiver, []))


def _binding_names(path: str) -> tuple[str, ...]:
    """The names under which a module binding can run a file's default export: its stem
    (`require("./snippet")`), and for an index file its folder's (`require("./lib")`)."""
    stem = splitext(basename(path))[0]
    return (stem, basename(dirname(path))) if stem == "index" and dirname(path) else (stem,)


def _go_interfaces(path: str, symbols: Iterable[Symbol]) -> dict[Target, frozenset[str]]:
    """The interfaces of a Go file and their methods' names: a type whose methods lie inside its
    own declaration (a struct's methods are declared outside it; an interface's inside)."""
    listed = list(symbols)
    members: dict[str, list[Symbol]] = defaultdict(list)
    for s in listed:
        owner = s.qualname.rpartition(".")[0]
        if owner:
            members[owner].append(s)
    out: dict[Target, frozenset[str]] = {}
    for c in listed:
        if c.kind == "class":
            inside = frozenset(s.name for s in members.get(c.qualname, [])
                               if c.start_line <= s.start_line <= s.end_line <= c.end_line)
            if inside:
                out[(path, c.qualname)] = inside
    return out


def _drop(index: dict, key: object, value: object) -> None:
    values = index.get(key)
    if values and value in values:
        values.remove(value)
        if not values:
            del index[key]


def _spread(targets: list[Target], path: str) -> list[tuple[Target, float]]:
    """Same-file candidates if any; otherwise all, each weighted 1/n."""
    if not targets:
        return []
    local = [t for t in targets if t[0] == path]
    chosen = local or targets
    return [(t, 1.0 / len(chosen)) for t in chosen]

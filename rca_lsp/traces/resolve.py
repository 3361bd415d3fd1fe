"""Tie frames and failing tests to the repository's tracked files, by name only.

Pure string work: nothing is opened or read, and a printed path that climbs (`..`) is
never resolved. Every suffix of every tracked path is indexed once, so a frame costs a
few dictionary lookups: the printed path's longest suffix that names exactly one
tracked file wins; a suffix shared by several files stops the search (ambiguous).

    /home/u/proj/src/pkg/a.py   -> src/pkg/a.py       (absolute: a tracked path is its tail)
    pkg/a.py, ./src/lib.rs       -> src/pkg/a.py, ...  (relative: may be a tail of a tracked path)
    org.x.Foo$Inner + Foo.java   -> .../org/x/Foo.java (JVM: package directories must match)
    tests.test_a.TestC           -> tests/test_a.py    (Python module of a test container)

A file name that is not UTF-8 is tracked as os.fsdecode gives it, each such byte a lone surrogate
(`caf\\udce9.py` for latin-1 `caf\\xe9.py`). A trace spells it as Python's traceback does (the escape
`caf\\udce9.py`), with the raw byte (pytest; read as U+FFFD) or decoded as latin-1 (`café.py`): each
spelling names the file when it names no other. Files of `foreign` repositories (a git submodule's,
under its folder) are indexed too, so the longest suffix can name one: a frame there resolves to
nothing here, never to this repository's file of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rca_lsp.traces.external import is_external
from rca_lsp.types import Frame, TestId, Trace

_AMBIGUOUS = ""
_JVM_EXTENSIONS = (".java", ".kt", ".kts", ".scala", ".groovy")
_SOURCE_EXTENSIONS = (".py", ".java", ".kt", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rs",
                      ".c", ".cc", ".cpp", ".h", ".hpp", ".rb", ".scala", ".groovy")
_DRIVE = re.compile(r"[A-Za-z]:/")
_MAX_COMPONENTS = 64
_ESCAPED_BYTE = re.compile(r"\\u(dc[89a-f][0-9a-f])", re.IGNORECASE)  # Python's `\\udce9` for byte 0xE9
_LONE_BYTE = re.compile("[\udc80-\udcff]")


def _components(path: str) -> list[str] | None:
    comps = [c for c in str(path).replace("\\", "/").split("/") if c and c != "."]
    return None if not comps or ".." in comps else comps


def _add(suffixes: dict[str, str], comps: list[str], path: str) -> None:
    for k in range(len(comps)):
        key = "/".join(comps[k:])
        suffixes[key] = path if suffixes.get(key, path) == path else _AMBIGUOUS


def spellings(path: str) -> tuple[str, ...]:
    """How a trace may print a name holding bytes that are not UTF-8 (lone surrogates), besides
    Python's escape: the raw byte read as U+FFFD, and the byte read as latin-1."""
    if path.isascii() or not _LONE_BYTE.search(path):
        return ()
    return (_LONE_BYTE.sub("\ufffd", path), _LONE_BYTE.sub(lambda m: chr(ord(m.group()) - 0xDC00), path))


class PathIndex:
    """Every component-wise suffix of the tracked paths -> the one path it names (or ambiguous)."""

    def __init__(self, files: Sequence[str], foreign: Sequence[str] = ()) -> None:
        self.paths: set[str] = set()
        self.suffixes: dict[str, str] = {}
        self.foreign: set[str] = set()
        spelled: dict[str, str] = {}
        for raw, theirs in [(f, False) for f in files] + [(f, True) for f in foreign]:
            comps = _components(raw)
            if comps is None:
                continue
            path = "/".join(comps)
            self.paths.add(path)
            if theirs:
                self.foreign.add(path)
            _add(self.suffixes, comps, path)
            for other in spellings(path):
                _add(spelled, other.split("/"), path)
        for key, path in spelled.items():  # a name as printed wins over another's spelling
            self.suffixes.setdefault(key, path)

    def own(self, path: str | None) -> str | None:
        """`path`, unless it is another repository's (`foreign`)."""
        return None if path in self.foreign else path

    def lookup(self, comps: list[str], absolute: bool) -> str | None:
        """The tracked file a printed path (split in components) names, if exactly one."""
        for k in range(min(len(comps), _MAX_COMPONENTS), 0, -1):
            key = "/".join(comps[-k:])
            hit = self.suffixes.get(key)
            if hit is None:
                continue
            if key in self.paths:
                return key
            if hit == _AMBIGUOUS:
                return None
            if hit.count("/") == key.count("/"):
                return hit  # a tracked path whole, in another spelling (`spellings`)
            if k >= 2 or (k == len(comps) and not absolute):
                return hit
            return None
        return None

    def names_several(self, comps: list[str]) -> bool:
        """Whether the longest suffix of `comps` that the repository knows names several files."""
        for k in range(min(len(comps), _MAX_COMPONENTS), 0, -1):
            hit = self.suffixes.get("/".join(comps[-k:]))
            if hit is not None:
                return hit == _AMBIGUOUS
        return False

    def basename(self, name: str) -> str | None:
        hit = self.suffixes.get(name)
        return hit or None


def split_path(printed: str) -> tuple[list[str], bool] | None:
    """Components of a printed path and whether it is absolute; None when it cannot name a file."""
    p = printed.strip().replace("\\", "/")
    if not p or p.startswith("<") or "\x00" in p:
        return None
    scheme, sep, rest = p.partition("://")
    if sep and len(scheme) > 1 and scheme.replace("-", "").replace("+", "").isalpha():
        if scheme == "file":
            p = rest
        elif scheme.startswith("webpack"):
            p = rest.lstrip("/")
        else:  # http://host:port/static/x.js: the part after the host, as a relative path
            p = rest.partition("/")[2]
        p = p.split("?", 1)[0].split("#", 1)[0]
    absolute = p.startswith("/") or bool(_DRIVE.match(p)) or p.startswith("~")
    if _DRIVE.match(p):
        p = p[2:]
    comps = [c for c in p.split("/") if c and c != "."]
    if not comps or ".." in comps or (comps[0].startswith("~") and len(comps) == 1):
        return None
    return comps, absolute


def _ends_with(path: str, suffix: str) -> bool:
    return path == suffix or path.endswith("/" + suffix)


def _jvm_path(index: PathIndex, module: str, file: str | None) -> str | None:
    """`org.x.Foo` + `Foo.java` -> a tracked path ending in org/x/Foo.java (Kotlin: Foo.kt, FooKt)."""
    package, _, cls = module.rpartition(".")
    outer = cls.split("$", 1)[0]
    names = [file] if file and file.endswith(_JVM_EXTENSIONS) else []
    if not names and outer:
        names = [outer[:-2] + ".kt"] if outer.endswith("Kt") else []
        names += [outer + ext for ext in _JVM_EXTENSIONS]
    dirs = package.split(".") if package else []
    for name in names:
        hit = index.lookup(dirs + [name], absolute=False) if dirs else index.basename(name)
        if hit and _ends_with(hit, "/".join(dirs + [name])):
            return hit
        if hit is None and not name.endswith(".java"):  # Kotlin/Scala files may sit anywhere
            hit = index.basename(name)
            if hit:
                return hit
    return None


def _python_module(index: PathIndex, dotted: str) -> str | None:
    """`tests.test_a.TestC` -> tests/test_a.py, trying shorter prefixes for class names."""
    parts = [p for p in dotted.split(".") if p]
    for n in range(len(parts), 0, -1):
        for tail in (".py", "/__init__.py"):
            comps = parts[: n - 1] + [parts[n - 1] + tail] if tail == ".py" else parts[:n] + ["__init__.py"]
            hit = index.lookup(comps, absolute=False)
            if hit and _ends_with(hit, "/".join(comps)):
                return hit
    return None


def _is_jvm_frame(frame: Frame) -> bool:
    """A frame naming a JVM class (`org.x.Foo`) and at most a bare source file name."""
    module, file = frame.module or "", frame.file or ""
    if "." not in module or "::" in module or "/" in module or "/" in file:
        return False
    return not file or file.endswith(_JVM_EXTENSIONS) or file == "SourceFile"


def _lookup(index: PathIndex, printed: str | None) -> str | None:
    """The indexed file (this repository's or a foreign one's) a printed path names, or None. Python
    prints a byte of a name that is not UTF-8 as `\\udce9`: read first as that byte, then as written."""
    if not printed:
        return None
    unescaped = _ESCAPED_BYTE.sub(lambda m: chr(int(m.group(1), 16)), printed) if "\\" in printed else printed
    for spelling in dict.fromkeys((unescaped, printed)):
        split = split_path(spelling)
        hit = index.lookup(*split) if split else None
        if hit:
            return hit
    return None


def resolve_path(index: PathIndex, printed: str | None) -> str | None:
    """The tracked file a printed path names, or None."""
    return index.own(_lookup(index, printed))


def frame_path(index: PathIndex, frame: Frame) -> str | None:
    """The indexed file (this repository's or a foreign one's) a frame is in, or None."""
    if _is_jvm_frame(frame):
        return _jvm_path(index, frame.module or "", frame.file)
    return None if is_external(frame) else _lookup(index, frame.file)


def resolve_frame(index: PathIndex, frame: Frame) -> Frame:
    """Set `path`, and `external` when the frame is library code or names no tracked file."""
    path = index.own(frame_path(index, frame))
    return replace(frame, path=path, external=path is None)


def resolve_test(index: PathIndex, test: TestId, frames: tuple[Frame, ...]) -> TestId:
    """The failing test's file: its printed path, its container as a path, class or module, or its frame."""
    path = resolve_path(index, test.path)
    container = test.container.split("::", 1)[0]
    if path is None and ("/" in container or "\\" in container or container.endswith(_SOURCE_EXTENSIONS)):
        path = resolve_path(index, container)
    if path is None and "." in container and " " not in container and "/" not in container:
        path = index.own(_jvm_path(index, container, None) or _python_module(index, container))
    if path is None:
        own = [f for f in frames if f.function == test.name and f.path]
        path = own[-1].path if own else None
    return replace(test, path=path)


def resolve_trace(index: PathIndex, trace: Trace) -> Trace:
    frames = tuple(resolve_frame(index, f) for f in trace.frames)
    causes = tuple(resolve_trace(index, c) for c in trace.causes)
    test = trace.test
    if test is not None:
        test = resolve_test(index, test, frames + tuple(f for c in causes for f in c.all_frames()))
    return replace(trace, frames=frames, causes=causes, test=test)


def resolve_all(traces: list[Trace], files: Sequence[str], foreign: Sequence[str] = ()) -> list[Trace]:
    """Resolve every trace against one index of `files` (and of `foreign` files, which no frame resolves to)."""
    return resolve_foreign(traces, files, foreign)[0]


def resolve_foreign(traces: list[Trace], files: Sequence[str], foreign: Sequence[str]) -> tuple[list[Trace], list[str]]:
    """`traces` resolved as `resolve_all` does, and the `foreign` file each frame is in, in order,
    for those in one: both from one index of the files."""
    index = PathIndex(files, foreign)
    hits = (frame_path(index, f) for t in traces for f in t.all_frames()) if index.foreign else iter(())
    return [resolve_trace(index, t) for t in traces], [p for p in hits if p is not None and p in index.foreign]

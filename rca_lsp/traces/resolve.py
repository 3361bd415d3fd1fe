"""Tie frames and failing tests to the repository's tracked files, by name only.

Pure string work: nothing is opened or read. A printed path that climbs inside itself
(`a/../b.py`) is never resolved; leading `..` (pytest run in a subfolder prints `../src/pkg/a.py`)
say only that the path starts above where it was printed, so it is read as an absolute path is.
Every suffix of every tracked path is indexed once, so a frame costs a few dictionary lookups:
the printed path's longest suffix that names exactly one tracked file wins; a suffix shared by
several files stops the search (ambiguous).

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from itertools import dropwhile, islice

from rca_lsp.traces.external import is_external
from rca_lsp.types import Frame, TestId, Trace

_AMBIGUOUS = ""
_JVM_EXTENSIONS = (".java", ".kt", ".kts", ".scala", ".groovy")
_SOURCE_EXTENSIONS = (".py", ".java", ".kt", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rs",
                      ".c", ".cc", ".cpp", ".h", ".hpp", ".rb", ".scala", ".groovy")
_DRIVE = re.compile(r"[A-Za-z]:/")
_MAX_COMPONENTS = 64
_MAX_ROOTED = 1000  # distinct printed paths read for the folder a trace's paths start at
_ESCAPED_BYTE = re.compile(r"\\u(dc[89a-f][0-9a-f])", re.IGNORECASE)  # Python's `\\udce9` for byte 0xE9
_LONE_BYTE = re.compile("[\udc80-\udcff]")
_INSTALLED = re.compile(r"(?:^|(?<=/))(?:(?:site|dist)-packages|[^/]+\.egg)/")  # below an egg, as below site-packages
_COMPILED = {".js": (".ts", ".tsx"), ".mjs": (".mts", ".ts"), ".cjs": (".cts", ".ts"), ".jsx": (".tsx",)}
_BUILD_FOLDERS = {"dist", "build", "lib", "out", "esm", "cjs", "es", "dist-cjs", "dist-esm"}
_VENDORED = {"vendor", "vendored", "_vendor", "third_party", "thirdparty", "third-party", "external", "extern"}


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

    def __init__(self, files: Sequence[str], foreign: Sequence[str] = (), folder: str = "") -> None:
        self.folder = "/".join(_components(folder) or [])
        self._folded: tuple[PathIndex, dict[str, str | None]] | None = None
        self._here: PathIndex | None = None  # the files under `folder`, indexed on first use
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
        """The tracked file a printed path (split in components) names, if exactly one; a relative
        path (or a JVM class's) first from `folder` (where rca runs: pytest run there printed
        `app/main.py`), and among the files under it where several share its tail."""
        here = f"{self.folder}/{'/'.join(comps)}" if self.folder and not absolute else ""
        if here in self.paths:
            return here
        for k in range(min(len(comps), _MAX_COMPONENTS), 0, -1):
            key = "/".join(comps[-k:])
            hit = self.suffixes.get(key)
            if hit is None:
                continue
            if key in self.paths:
                return key
            if hit == _AMBIGUOUS:
                return self._under_folder().lookup(comps, absolute) if here else None
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

    def _under_folder(self) -> PathIndex:
        if self._here is None:
            self._here = PathIndex([p for p in self.paths if p.startswith(self.folder + "/")])
        return self._here

    def lookup_folded(self, comps: list[str], absolute: bool) -> str | None:
        """`lookup` ignoring case, for a path printed on Windows, whose file system ignores it: a
        checkout there keeps a file's old case through a rename that changed only its case."""
        if self._folded is None:
            spelt: dict[str, list[str]] = {}
            for path in sorted(self.paths):
                spelt.setdefault(path.casefold(), []).append(path)
            self._folded = (PathIndex(list(spelt), folder=self.folder.casefold()),
                            {key: paths[0] if len(paths) == 1 else None for key, paths in spelt.items()})
        index, original = self._folded
        hit = index.lookup([c.casefold() for c in comps], absolute)
        return original.get(hit) if hit else None


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
    climbs = len(comps) - len(list(dropwhile(lambda c: c == "..", comps)))
    comps = comps[climbs:]  # pytest run in a subfolder prints `../src/pkg/mod.py`: a path from an unknown root
    if not comps or ".." in comps or (comps[0].startswith("~") and len(comps) == 1):
        return None
    return comps, absolute or climbs > 0


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
    split = split_path(printed) if "\\" in printed or _DRIVE.match(printed) else None
    return (index.lookup_folded(*split) if split else None) or _compiled_from(index, printed)


def _compiled_from(index: PathIndex, printed: str) -> str | None:
    """The TypeScript source of JavaScript that tsc wrote to an ignored build folder and ran without
    source maps: `dist/src/cart.js` or `dist/cart.js` is `src/cart.ts`. The line is the compiled
    file's, near the source's (tsc keeps statements on their lines, less the types it drops)."""
    split = split_path(printed) if printed.endswith(tuple(_COMPILED)) else None
    if split is None:
        return None
    comps, absolute = split
    stem, _, ext = comps[-1].rpartition(".")
    build = max((k for k, c in enumerate(comps[:-1]) if c in _BUILD_FOLDERS), default=None)
    for source_ext in _COMPILED["." + ext]:
        ts = comps[:-1] + [stem + source_ext]
        tries = [ts] if build is None else [ts, ts[:build] + ["src"] + ts[build + 1:], ts[:build] + ts[build + 1:]]
        for comps_ts in tries:
            hit = index.lookup(comps_ts, absolute) if len(comps_ts) > 1 or not absolute else None
            if hit and hit.endswith(source_ext):
                return hit
    return None


def resolve_path(index: PathIndex, printed: str | None) -> str | None:
    """The tracked file a printed path names, or None."""
    return index.own(_lookup(index, printed))


def _installed(index: PathIndex, printed: str | None) -> str | None:
    """The tracked file of the repository's own package installed in an environment (tox, `pip install
    .`, a Docker image, an egg: `site-packages/mypkg-1.0-py3.11.egg/mypkg/core.py`). Below site-packages a path starts at a top-level package (`pkg/mod.py`), so it
    must be a tracked file's whole tail from a folder that is no package (`src/pkg/mod.py`; a lone
    module only from the top or `src/`): a library vendored in the package (`pkg/_vendor/six.py`) or
    in a folder for copies of libraries (`third_party/requests/models.py`) is not it."""
    below = _INSTALLED.split((printed or "").replace("\\", "/"))
    split = split_path(below[-1]) if len(below) > 1 else None
    hit = index.lookup(split[0], absolute=False) if split else None
    tail = "/".join(split[0]) if split else ""
    if not hit or not _ends_with(hit, tail):
        return None
    top = hit[:len(hit) - len(tail)]
    if f"{top}__init__.py" in index.paths or _VENDORED.intersection(top.split("/")):
        return None
    return hit if tail.count("/") or top in ("", "src/") else None


def frame_path(index: PathIndex, frame: Frame) -> str | None:
    """The indexed file (this repository's or a foreign one's) a frame is in, or None."""
    if _is_jvm_frame(frame):
        return _jvm_path(index, frame.module or "", frame.file)
    return _installed(index, frame.file) if is_external(frame) else _lookup(index, frame.file)


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


def resolve_all(traces: list[Trace], files: Sequence[str], foreign: Sequence[str] = (), folder: str = ""
                ) -> list[Trace]:
    """Resolve every trace against one index of `files` (and of `foreign` files, which no frame resolves to)."""
    return resolve_foreign(traces, files, foreign, folder)[0]


def resolve_foreign(traces: list[Trace], files: Sequence[str], foreign: Sequence[str], folder: str = ""
                    ) -> tuple[list[Trace], list[str]]:
    """`traces` resolved as `resolve_all` does, and the `foreign` file each frame is in, in order,
    for those in one: both from one index of the files."""
    index = PathIndex(files, foreign, folder)
    hits = (frame_path(index, f) for t in traces for f in t.all_frames()) if index.foreign else iter(())
    resolved = _rooted(index, [resolve_trace(index, t) for t in traces])
    return resolved, [p for p in hits if p is not None and p in index.foreign]


def _roots(index: PathIndex, frames: Sequence[Frame]) -> Counter[tuple[str, ...]]:
    """For each folder an absolute path of `frames` may start the checkout at, how many of their
    paths (each once) it spells as a tracked path: the runner's checkout, a Docker WORKDIR."""
    counts: Counter[tuple[str, ...]] = Counter()
    printed = dict.fromkeys(f.file for f in frames if f.file and not is_external(f) and not _is_jvm_frame(f))
    for split in filter(None, map(split_path, islice(printed, _MAX_ROOTED))):
        comps, absolute = split
        counts.update(tuple(comps[:k]) for k in range(len(comps)) if absolute and "/".join(comps[k:]) in index.paths)
    return counts


def _rooted(index: PathIndex, traces: list[Trace]) -> list[Trace]:
    """`traces` with each absolute path read from the one folder that spells more of them as tracked
    paths than any other: `/app/main.py` is the top's `main.py` where `/app/app/main.py` is
    `app/main.py`, though `app/main.py` is its longest tracked suffix."""
    ranked = _roots(index, [f for t in traces for f in t.all_frames()]).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return traces
    below = lru_cache(maxsize=None)(lambda printed: _below(index, ranked[0][0], printed))
    return [_each_frame(t, lambda f: _from_root(below, f)) for t in traces]


def _from_root(below: Callable[[str], str | None], frame: Frame) -> Frame:
    path = below(frame.file) if frame.file and not is_external(frame) and not _is_jvm_frame(frame) else None
    return replace(frame, path=path, external=False) if path else frame


def _below(index: PathIndex, root: tuple[str, ...], printed: str) -> str | None:
    """The tracked file an absolute `printed` path is, read from `root`."""
    split = split_path(printed)
    if not split or not split[1] or tuple(split[0][:len(root)]) != root:
        return None
    path = index.own("/".join(split[0][len(root):]))
    return path if path in index.paths else None


def _each_frame(trace: Trace, change: Callable[[Frame], Frame]) -> Trace:
    """`trace` with `change` made to each of its frames and its causes' frames."""
    return replace(trace, frames=tuple(map(change, trace.frames)),
                   causes=tuple(_each_frame(c, change) for c in trace.causes))


def resolve_moved(traces: list[Trace], moves: dict[str, str], files: Sequence[str]) -> list[Trace]:
    """`traces` with each frame in a path renamed since (`moves`: old path -> the tracked path it
    became) tied to the file it is now: a trace printed before a move. A frame is in an old path
    where that names more of it (a longer tail) than any tracked file (`files`) does."""
    if not moves:
        return traces
    index = PathIndex(sorted(moves))
    tracked_ending = lru_cache(maxsize=None)(lambda ending: any(f"/{f}".endswith(ending) for f in files))
    moved = lru_cache(maxsize=None)(lambda frame: _moved_path(index, moves, tracked_ending, frame))

    def follow(frame: Frame) -> Frame:  # frames that differ only in where they are share one answer
        path = moved(replace(frame, index=0, raw="", line=None))
        return replace(frame, path=path, external=False) if path else frame

    return [_each_frame(t, follow) for t in traces]


def _moved_path(index: PathIndex, moves: dict[str, str], tracked_ending: Callable[[str], bool],
                frame: Frame) -> str | None:
    """The file a frame's old path became, where that path names more of the frame than its file."""
    old = frame_path(index, frame)
    if old not in moves:
        return None
    printed = _printed(frame)
    shared = _tail(printed, old)
    if not shared or (frame.path and shared <= _tail(printed, frame.path)):
        return None
    return None if tracked_ending("/" + "/".join(printed[-shared:])) else moves[old]  # a tracked file names as much


def _printed(frame: Frame) -> list[str]:
    """The components of the path a frame prints; a JVM frame's from its package and file."""
    if _is_jvm_frame(frame):
        package, _, cls = (frame.module or "").rpartition(".")
        name = frame.file if (frame.file or "").endswith(_JVM_EXTENSIONS) else cls.split("$", 1)[0] + ".java"
        return package.split(".") + [name or ""] if package else []
    split = split_path(frame.file) if frame.file else None
    return split[0] if split else []


def _tail(comps: list[str], path: str) -> int:
    """How many last components a printed path and a tracked one share."""
    pairs = zip(reversed(comps), reversed(path.split("/")))
    return next((k for k, (a, b) in enumerate(pairs) if a != b), min(len(comps), path.count("/") + 1))

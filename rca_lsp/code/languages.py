"""Which tree-sitter grammar reads which file, loaded only when first needed.

Grammars come from per-language wheels (tree-sitter-java, tree-sitter-python, ...).
Java and Python are required; every other grammar is optional, and a missing one
means "language not supported" (``None``), never an exception: a repository in a
language we cannot parse still gets commit-level ranking, just no symbols.
"""

from __future__ import annotations

import importlib
import logging
import threading
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

# language -> (module, function returning the grammar pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "java": ("tree_sitter_java", "language"),
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "rust": ("tree_sitter_rust", "language"),
}

# The .scm file each language's queries live in (TSX shares TypeScript's).
# The queries/<name>.scm files of each language, read in order: JavaScript and TypeScript share
# ecmascript.scm and add what only their grammar has.
QUERY_FILES: dict[str, tuple[str, ...]] = {lang: (lang,) for lang in _GRAMMARS}
QUERY_FILES["javascript"] = ("ecmascript", "javascript")
QUERY_FILES["typescript"] = QUERY_FILES["tsx"] = ("ecmascript", "typescript")

_EXTENSIONS: dict[str, str] = {
    ".java": "java",
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".c": "c",
    ".h": "c",  # C++ headers parse well enough with the C grammar's error recovery
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".rs": "rust",
}


def known_extensions() -> frozenset[str]:
    """Every extension we map, whether or not its grammar is installed."""
    return frozenset(_EXTENSIONS)


def language_for_path(path: str) -> str | None:
    """The language of ``path`` by extension, or None when unknown or its grammar is missing."""
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    language = _EXTENSIONS.get(suffix)
    if language is None or language_object(language) is None:
        return None
    return language


# Folders and names of code that is built or copied in, not written here (GitHub Linguist's
# vendored and generated rules): a committed bundle repeats every function of the library under
# its own or minified names, so a walk into it splits its weight with copies no commit edits.
COPIED_DIRS = frozenset({"node_modules", "dist", "vendor", "bower_components"})


def is_copied_code(path: str) -> bool:
    """Whether ``path`` is a bundle, a minified file or a vendored dependency (`dist/x.js`,
    `x.min.js`, `node_modules/..`, `vendor/..`), whose symbols the call graph leaves out."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1].lower()
    return any(p in COPIED_DIRS for p in parts[:-1]) or ".min." in name or name.endswith("-min.js")


def supported_languages() -> list[str]:
    """The languages whose grammar is importable here, for reports and `--version` style output."""
    return [lang for lang in _GRAMMARS if language_object(lang) is not None]


@lru_cache(maxsize=None)
def language_object(language: str) -> Any | None:
    """The tree-sitter ``Language`` for ``language``, or None if its wheel is not installed.

    Cached for the process: building a Language is cheap but not free, and it is
    immutable, so every thread may share it.
    """
    spec = _GRAMMARS.get(language)
    if spec is None:
        return None
    module_name, function = spec
    try:
        from tree_sitter import Language

        module = importlib.import_module(module_name)
        return Language(getattr(module, function)())
    except Exception as exc:  # ImportError, ABI mismatch (ValueError), missing symbol
        log.debug("grammar for %s unavailable: %s", language, exc)
        return None


_local = threading.local()


def parser_for(language: str) -> Any | None:
    """A ``Parser`` for ``language``, cached per thread (parsers are not thread-safe)."""
    cache: dict[str, Any] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(language)
    if parser is None:
        lang = language_object(language)
        if lang is None:
            return None
        from tree_sitter import Parser

        parser = cache[language] = Parser(lang)
    return parser

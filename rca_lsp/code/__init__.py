"""Source code as tree-sitter sees it: symbols, call sites and a call graph.

    languages  which grammar reads which file (optional grammars load lazily)
    symbols    functions/methods/classes of one file version; which ones hunks touched
    calls      call sites with caller, callee, receiver and receiver type
    graph      a call graph over the work tree, to follow a failing test into its callees

Importing this package loads no grammar; the first parse of a language does.
"""

from __future__ import annotations

from rca_lsp.code.calls import FileFacts, analyze, calls
from rca_lsp.code.graph import CallGraph, source_files
from rca_lsp.code.languages import language_for_path, parser_for, supported_languages
from rca_lsp.code.symbols import SymbolIndex, hunk_ranges, symbols, touched

__all__ = [
    "CallGraph",
    "FileFacts",
    "SymbolIndex",
    "analyze",
    "calls",
    "hunk_ranges",
    "language_for_path",
    "parser_for",
    "source_files",
    "supported_languages",
    "symbols",
    "touched",
]

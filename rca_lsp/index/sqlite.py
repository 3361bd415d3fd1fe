"""sqlite-utils, imported without the optional libraries it looks for.

`sqlite_utils.db` imports numpy and pandas when they are installed, only to map their scalar types
to column types on insert. The index inserts neither, and the imports cost every command's start:
numpy alone was a third of `rca suspects`' import time here (BENCHMARKS.md, "Time per case"), and
pandas, on a machine that has it, costs more. A name set to None in `sys.modules` makes its import
raise ImportError, which sqlite-utils takes for "not installed"; the names are given back at once,
so a later `import numpy` (the ranker's) works as usual. Where either is already imported, nothing
is hidden. The index is imported at start-up, before any worker thread that could import numpy.
"""

from __future__ import annotations

import sys

OPTIONAL = ("numpy", "pandas")


def _import_without_optional() -> None:
    hidden = [name for name in OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


_import_without_optional()

from sqlite_utils import Database  # noqa: E402
from sqlite_utils.migrations import Migrations  # noqa: E402

__all__ = ["Database", "Migrations"]

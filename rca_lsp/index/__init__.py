"""The per-repository SQLite index: schema, storage, incremental ingest, and the queries on it.

Everything that knows the index's tables or files is in this package: `store` opens it, `schema`
migrates it, `ingest` fills it, `queries` answers retrieval and the hooks, `paths` names its folder.
`Index` and `update` load lazily, so `paths` and the hooks' read-only look cost no sqlite-utils or
tree-sitter import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rca_lsp.index.ingest import IngestReport, update
    from rca_lsp.index.store import Index

__all__ = ["Index", "IngestReport", "update"]


def __getattr__(name: str) -> Any:
    if name == "Index":
        from rca_lsp.index.store import Index

        return Index
    if name in ("IngestReport", "update"):
        from rca_lsp.index import ingest

        return getattr(ingest, name)
    raise AttributeError(f"module 'rca_lsp.index' has no attribute {name!r}")

"""The per-repository SQLite index: schema, storage and incremental ingest."""

from rca_lsp.index.ingest import IngestReport, update
from rca_lsp.index.store import Index

__all__ = ["Index", "IngestReport", "update"]

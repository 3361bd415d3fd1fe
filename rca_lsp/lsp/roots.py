"""A repository's root as the client names it.

git and Mercurial name a work tree by its resolved path (`git rev-parse --show-toplevel`). An editor
that opened it through a symlink (`/tmp/link` -> `/tmp/real/repo`) knows only its own path: what the
server sends it on the resolved one (diagnostics, document links, the locations of an answer) is
on files it never opened, and never shown. What the server sends goes on the client's paths; what
the client sends is resolved where it is compared (`folders.findings_at`, `repo_for`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pygls.uris import from_fs_path, to_fs_path


def fs_path(uri: str) -> str | None:
    """pygls's `to_fs_path`, but a %-escaped byte that is not UTF-8 (`caf%E9.py`, a latin-1 file
    name) is read as os.fsdecode reads it (`caf\\udce9.py`), not as U+FFFD: the path opens."""
    path = to_fs_path(uri)
    if path and "\ufffd" in path and os.sep == "/":
        parts = urlsplit(uri)
        if parts.netloc in ("", "localhost"):
            return unquote(parts.path, errors="surrogateescape")
    return path


def path_uri(path: str) -> str:
    """pygls's `from_fs_path`, which quotes the path as strict UTF-8: a file name that is not
    (its bytes kept as lone surrogates, `caf\\udce9.py`) is quoted byte for byte, `caf%E9.py`."""
    try:
        return from_fs_path(path) or Path(path).as_uri()
    except UnicodeEncodeError:
        return Path(path).as_uri()


def client_root(repo_root: str, uri: str | None, folders: list[str]) -> str:
    """The folder, as the client names it, that is `repo_root`: the nearest one above the
    document `uri` (the request's) that resolves to it, else above a workspace folder; else
    `repo_root` itself."""
    try:
        real = Path(repo_root).resolve()
    except (OSError, RuntimeError):
        return repo_root
    path = fs_path(uri) if uri and uri.startswith("file:") else None
    starts = ([Path(path).parent] if path else []) + [Path(f) for f in folders]
    for start in starts:
        for folder in (start, *start.parents):
            try:
                if folder.resolve() == real:
                    return str(folder)
            except (OSError, RuntimeError):  # a loop of symlinks, a folder gone: not this one
                break
    return repo_root

"""Where a request's things are: the workspace folders, the repository of a document, the folder
a trace's relative paths are read from, and the suspects' markers on a file.

A document belongs to the innermost workspace folder holding it, else to its own folder; the
repository found there is kept open for the session (`Repositories`), dropped once its folder is
gone, and a folder that is no repository is asked again next time (it may have become one). What
the client sends is resolved where it is compared: an editor may name a folder through a symlink
(`roots`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rca_lsp.errors import RepositoryError
from rca_lsp.lsp.findings import Findings, Marker
from rca_lsp.lsp.roots import fs_path

if TYPE_CHECKING:
    from pygls.workspace import Workspace

log = logging.getLogger(__name__)


def workspace_roots(workspace: Workspace) -> list[str]:
    """The workspace folders' paths; the root path of a client that sends no folders."""
    folders = [fs_path(f.uri) for f in workspace.folders.values()]
    if not folders and workspace.root_path:
        folders = [workspace.root_path]
    return [f for f in folders if f]


class Repositories:
    """The repositories opened this session, by the folder they were asked for."""

    def __init__(self) -> None:
        self._kept: dict[str, Any] = {}

    def find(self, uri: str | None, roots: list[str]):
        """The repository of a document (its workspace folder, else its own folder), else of the
        first workspace folder that is one."""
        from rca_lsp.vcs import open_repo

        path = fs_path(uri) if uri and uri.startswith("file:") else None
        candidates = []
        if path:
            inside = [r for r in roots if Path(path).resolve().is_relative_to(Path(r).resolve())]
            candidates = sorted(inside, key=len, reverse=True) + [str(Path(path).parent)]
        candidates += roots
        for candidate in candidates:
            kept = self._kept.get(candidate)
            if kept is not None and not Path(kept.root).is_dir():  # moved or deleted while the server ran:
                del self._kept[candidate]  # not "no index yet" and an offer to index a folder that is gone
            if candidate not in self._kept:  # only repositories are kept: a folder may become one
                try:
                    self._kept[candidate] = open_repo(candidate)
                except RepositoryError as exc:
                    log.info("%s: %s", candidate, exc)
                    continue
            return self._kept[candidate]
        where = ", ".join(candidates) or "no workspace folder is open"
        raise RepositoryError(f"no git or Mercurial repository found ({where})",
                              hint="open a folder inside a git or Mercurial work tree")


def trace_folder(uri: str | None, repo_root: str, roots: list[str]) -> str:
    """The workspace folder a trace is read from (pytest run in its terminal prints paths from
    there): the one holding the trace's document, else the only one inside the repository, else
    the repository's root. Opened at `services/api` of a monorepo, `app/main.py` is that service's."""
    root = Path(repo_root).resolve()
    inside = [r for r in roots if Path(r).resolve().is_relative_to(root)]
    path = fs_path(uri) if uri and uri.startswith("file:") else None
    holding = [r for r in inside if path and Path(path).resolve().is_relative_to(Path(r).resolve())]
    if holding:
        return max(holding, key=lambda r: len(Path(r).resolve().parts))
    return inside[0] if len(inside) == 1 else repo_root


def findings_at(findings: Mapping[str, Findings], uri: str) -> tuple[Findings, str] | None:
    """The findings of the innermost repository holding the file `uri` (a file of a nested
    repository or submodule is not the outer one's), and the file's path in it."""
    path = fs_path(uri)
    if not path:
        return None
    full = Path(path).resolve()
    inside = [(Path(root).resolve(), found) for root, found in findings.items()
              if full.is_relative_to(Path(root).resolve())]
    if not inside:
        return None
    top, found = max(inside, key=lambda item: len(item[0].parts))
    return found, full.relative_to(top).as_posix()


def markers_at(findings: Mapping[str, Findings], uri: str, line: int | None = None) -> list[Marker]:
    """The markers on the file `uri` (on `line`, 1-based, when given)."""
    at = findings_at(findings, uri)
    if at is None:
        return []
    return [m for m in at[0].markers_in(at[1]) if line is None or m.line == line]

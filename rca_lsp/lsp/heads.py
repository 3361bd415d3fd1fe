"""Where HEAD is, read from the VCS's own files, and whether it moved since the suspects were ranked.

A branch switch, a commit, a pull, a rebase or a reset moves HEAD: the suspects shown were ranked
on the history before it, and some of them may no longer be in it. The server notes HEAD when it
ranks (`read_head`) and reads it again every `POLL_S` seconds while suspects are shown (`Watch`).
No git or hg process in the usual case: git's HEAD file in the checkout's own git directory, the
ref it names (a loose file, else `packed-refs`); Mercurial's and Sapling's `dirstate`, whose first
bytes are the working directory's parent (after the `dirstate-v2` marker in the v2 format). Where
the files say nothing certain (reftable, a ref chain too long, an unreadable file) the backend's own
`head()` answers, at most once per `FALLBACK_S` seconds for a repository.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.lsp import convert

if TYPE_CHECKING:
    from rca_lsp.lsp.server import RcaServer
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

POLL_S = 1.5  # how often a repository with suspects shown has its HEAD read (a few small file reads)
FALLBACK_S = 10.0  # how often a repository whose files cannot tell has its backend asked instead
NULL_NODE = "0" * 40
_HASH = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_DIRSTATE_V2 = b"dirstate-v2\n"


def git_head(checkout_dir: str, common_dir: str) -> str | None:
    """The commit HEAD names, from the files alone; None where they cannot tell."""
    try:
        value = (Path(checkout_dir) / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
        for _ in range(5):  # HEAD -> refs/heads/main; a symbolic ref to a symbolic ref is rare
            if _HASH.match(value):
                return value
            if not value.startswith("ref:"):
                return None
            ref = value[4:].strip()
            if not ref.startswith("refs/") or ".." in ref:
                return None
            value = _loose_ref(ref, checkout_dir, common_dir) or _packed_ref(ref, common_dir) or ""
            if not value:  # an unborn branch (no commit yet), unless the refs are in a reftable
                return NULL_NODE if ref.startswith("refs/heads/") and not _reftable(common_dir) else None
    except OSError as exc:
        log.debug("reading HEAD of %s: %s", checkout_dir, exc)
    return None


def _loose_ref(ref: str, checkout_dir: str, common_dir: str) -> str | None:
    for folder in dict.fromkeys((checkout_dir, common_dir)):  # a linked worktree's own refs, then the shared
        try:
            return (Path(folder) / ref).read_text(encoding="utf-8", errors="replace").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return None


def _packed_ref(ref: str, common_dir: str) -> str | None:
    try:
        text = (Path(common_dir) / "packed-refs").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[1] == ref and _HASH.match(parts[0]):
            return parts[0]
    return None


def _reftable(common_dir: str) -> bool:
    """Whether refs live in a reftable (git 2.45+): then the files above say nothing."""
    return (Path(common_dir) / "reftable").is_dir()


def hg_head(meta_dir: str) -> str | None:
    """The working directory's first parent from `dirstate` (v1: its first 20 bytes; v2: after the
    marker, padded to 32); the null node in a repository with no commit checked out."""
    try:
        with open(Path(meta_dir) / "dirstate", "rb") as f:
            data = f.read(len(_DIRSTATE_V2) + 32)
    except FileNotFoundError:
        return NULL_NODE  # a new repository has no dirstate yet
    except OSError as exc:
        log.debug("reading %s/dirstate: %s", meta_dir, exc)
        return None
    node = data[len(_DIRSTATE_V2):len(_DIRSTATE_V2) + 20] if data.startswith(_DIRSTATE_V2) else data[:20]
    return node.hex() if len(node) == 20 else None


def read_head(repo: Backend) -> str | None:
    """HEAD's commit from the files (None: they cannot tell), the null node for no commit."""
    if repo.kind == "git":
        return git_head(repo.checkout_dir, repo.meta_dir)
    return hg_head(repo.checkout_dir)


@dataclass
class Watched:
    repo: Backend
    asked: float = 0.0  # when the backend was last asked, where the files could not tell


class Watch:
    """The repositories whose suspects are shown, read every `POLL_S` seconds while any are."""

    def __init__(self) -> None:
        self.watched: dict[str, Watched] = {}  # repository root -> ...
        self.task: asyncio.Task | None = None

    def watch(self, root: str, repo: Backend) -> None:
        self.watched.setdefault(root, Watched(repo)).repo = repo

    def current(self, root: str) -> str | None:
        """Where HEAD is now for `root` (None: unknown, or not watched); blocking, a few file reads."""
        watched = self.watched.get(root)
        if watched is None:
            return None
        head = read_head(watched.repo)
        if head is None and time.monotonic() - watched.asked >= FALLBACK_S:
            watched.asked = time.monotonic()
            head = _backend_head(watched.repo)
        return head

    def start(self, ls: RcaServer) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(follow(ls))


def ranked_at(repo: Backend) -> str | None:
    """HEAD when a ranking begins: the files, else the backend (blocking)."""
    return read_head(repo) or _backend_head(repo)


async def follow(ls: RcaServer, poll: float | None = None) -> None:
    """Marks the suspects shown stale when HEAD moves (and fresh again when it comes back):
    diagnostics republished, code lenses refreshed, and one message for each move."""
    while not ls.stopping:
        await asyncio.sleep(POLL_S if poll is None else poll)
        for root in list(ls.watch.watched):
            try:
                now = await asyncio.to_thread(ls.watch.current, root)
            except Exception:  # never the end of the watch
                log.exception("reading HEAD of %s", root)
                continue
            findings = ls.findings.get(root)
            if ls.stopping or findings is None or findings.head is None or now is None:
                continue
            moved = None if now == findings.head else now
            if moved == findings.moved_to:
                continue
            findings.moved_to = moved
            ls.publish(findings)
            if moved is not None:
                ls.show(f"rca: the suspects shown were {convert.moved_note(findings)}; some may no longer be in "
                        "the history. Find suspects again (or click “rank again” on a frame line's lens).")


def _backend_head(repo: Backend) -> str | None:
    try:
        return repo.head() or NULL_NODE
    except Exception as exc:  # a repository gone or broken: nothing to compare with, nothing said
        log.info("reading HEAD of %s: %s", repo.root, exc)
        return None

"""What a Mercurial pull brought, as Mercurial tells it: the changesets of its changegroups.

The index cannot say it: what it lacked after a pull is also what was committed here and never
indexed, what came while rca was uninstalled, or the user's own commits a `pull --rebase` rewrote.
`rca hooks install` adds, for Mercurial (not Sapling), one more hgrc entry:

    [hooks]
    changegroup.rca-lsp = /path/to/python -c '<rca_lsp.hooks.HOOK_CODE>' hg changegroup

Mercurial runs it once per changegroup added, after the transaction, before the command's
post-hooks, with HG_NODE the first changeset added and HG_NODE_LAST the last: one changegroup is
added in one run, so its changesets are the revisions from the one to the other. From a pull or
`hg unbundle` (HG_SOURCE; not a strip, which re-adds a rebase's survivors, nor a push received), it
appends `HG_NODE HG_NODE_LAST` to `<vcs-dir>/rca/hg-arrived` and starts no hg: a line written and
the hook is done, whatever goes wrong said in the hooks' log only.

post-pull takes the lines: the changesets among them that the working directory's parent reaches
arrived, and are checked; the others (`hg pull` without `-u`) wait in the file, one per line, for
the `hg update` that brings them in (post-update checks them then). A post-pull with nothing to
check (no failure open, hooks off) drops the file: its commits must not be reported by a later pull.
An older install, without the entry, is checked as before (what the index lacked).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rca_lsp.index.paths import index_dir

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

FILE = "hg-arrived"
HOOK = "changegroup"
SOURCES = ("pull", "unbundle")
CHECKED_BY = ("post-pull", "post-update")  # the hooks that check what was recorded
MAX_BYTES = 256 << 10  # about 3000 lines: changesets pulled and never checked out are dropped, oldest first
_NODE = re.compile(r"^[0-9a-f]{40}$")


def record(meta_dir: str, environ: Mapping[str, str]) -> str | None:
    """The changegroup hook's work: the line appended, or None where the changegroup came from
    elsewhere (a strip, a push received) or the variables are not changeset ids."""
    first = environ.get("HG_NODE", "")
    last = environ.get("HG_NODE_LAST") or first
    if environ.get("HG_SOURCE") not in SOURCES or not (_NODE.match(first) and _NODE.match(last)):
        return None
    line = f"{first} {last}\n"
    _append(meta_dir, [line])
    return line.strip()


def _append(meta_dir: str, lines: list[str]) -> None:
    folder = index_dir(meta_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    try:
        if path.stat().st_size > MAX_BYTES:
            keep = path.read_bytes()[-MAX_BYTES // 2:]
            path.write_bytes(keep[keep.find(b"\n") + 1:])
    except FileNotFoundError:
        pass
    with open(path, "a", encoding="ascii") as fh:  # appends of a line or two: no lock needed
        fh.write("".join(lines))


def take(meta_dir: str) -> list[tuple[str, str]]:
    """The (first, last) lines recorded, taken: moved aside first, so that a changegroup recorded
    meanwhile starts a new file instead of being lost."""
    path = index_dir(meta_dir) / FILE
    taking = path.with_name(f"{FILE}.{os.getpid()}")
    if not path.is_file():  # none recorded (or something else in its place, which the hook's log names)
        return []
    try:
        os.replace(path, taking)
    except FileNotFoundError:
        return []
    try:
        text = taking.read_text(encoding="ascii", errors="replace")
    finally:
        taking.unlink(missing_ok=True)
    pairs = (line.split() for line in text.splitlines())
    return [(p[0], p[1]) for p in pairs if len(p) == 2 and _NODE.match(p[0]) and _NODE.match(p[1])]


def drop(meta_dir: str) -> None:
    try:
        (index_dir(meta_dir) / FILE).unlink(missing_ok=True)
    except OSError:
        pass  # a read-only folder: the next post-pull with failures open takes them


def installed(repo: Backend) -> bool:
    """Whether this repository records its changegroups (an install before this entry did not)."""
    if repo.kind != "hg":
        return False
    try:
        return repo.config(f"hooks.{HOOK}.rca-lsp") is not None
    except Exception:  # a config that cannot be read: checked as before
        return False


def arrived(repo: Backend) -> tuple[set[str], set[str]]:
    """(the changesets pulled that the working directory's parent reaches, those it does not yet),
    the recorded lines taken; the second kept for the update that reaches them."""
    changesets = _changesets(repo, take(repo.meta_dir))
    if not changesets:
        return set(), set()
    reached = changesets & set(repo.reachable())
    waiting = changesets - reached
    if waiting:
        _append(repo.meta_dir, [f"{node} {node}\n" for node in sorted(waiting)])
    return reached, waiting


def _changesets(repo: Backend, spans: Iterable[tuple[str, str]]) -> set[str]:
    """The changesets of each span that still exist (one stripped since takes its span's rest with it)."""
    spans = list(dict.fromkeys(spans))
    span_of = getattr(repo, "span", None)  # HgRepo's
    if span_of is None or not spans:
        return set()
    from rca_lsp.errors import RcaError

    try:
        return set(span_of(spans))
    except RcaError:  # one span names a changeset gone: each on its own
        found: set[str] = set()
        for span in spans:
            try:
                found.update(span_of([span]))
            except RcaError:
                continue
        return found

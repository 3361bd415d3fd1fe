"""The Mercurial (and Sapling) answers to the questions beyond indexing: the commit graph of a
bisection, what a push sends, a commit as people read it, a commit's patch for the ranker.

Mixed into `HgRepo`; every command goes through its command server (`run`). Revsets are built
only from full changeset hashes, checked first, so no argument can change a revset's meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rca_lsp.errors import RepositoryError
from rca_lsp.vcs.diffparse import decode

NULL = "0" * 40
_NODE = re.compile(r"^[0-9a-f]{40}$")
_ABBREVIATED = re.compile(r"^[0-9a-f]{4,40}$")
# One record, fields \x1f-separated; the user and the description, which may hold \x1f, come last,
# parted by the node again (no user name can hold its own changeset's hash).
_SHOW = r"{node}\x1f{p1node} {p2node}\x1f{date|date}\x1f{author}\x1f{node}\x1f{desc}"


def _node(rev: str) -> str:
    if not isinstance(rev, str) or not _NODE.match(rev):
        raise RepositoryError(f"not a changeset hash: {str(rev)[:80]!r}")
    return rev


def _changeset(rev: str) -> str:
    """A full or abbreviated changeset hash, as `hg -r` takes it."""
    if not isinstance(rev, str) or not _ABBREVIATED.match(rev):
        raise RepositoryError(f"not a changeset hash: {str(rev)[:80]!r}")
    return rev


class HgHistory:
    """History questions of an `HgRepo`."""

    def run(self, *args: str | bytes, ok: tuple[int, ...] = (0,)) -> bytes:
        raise NotImplementedError  # HgRepo's command server

    def _nodes(self, spec: str, template: str = "{node}\n") -> list[str]:
        return decode(self.run("log", "-r", spec, "-T", template)).splitlines()

    # -- the commit graph --------------------------------------------------------------------
    def range_parents(self, bad: str, goods: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        """Ancestors of `bad` and of no good one, newest first (revision numbers are topological)."""
        goods = [_node(g) for g in goods]
        spec = f"reverse(only({_node(bad)}, {' + '.join(goods)}))" if goods else f"reverse(::{_node(bad)})"
        graph = []
        for line in self._nodes(spec, "{node} {p1node} {p2node}\n"):
            node, *parents = line.split()
            graph.append((node, tuple(p for p in parents if p != NULL)))
        return graph

    def first_parents(self, rev: str) -> list[str]:
        return self._nodes(f"reverse(_firstancestors({_node(rev)}))")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return bool(self._nodes(f"{_node(ancestor)} and ::{_node(descendant)}"))

    def outgoing(self, pushes: Iterable[tuple[str, str]] = ()) -> set[str]:
        """The draft ancestors of the working directory's parent: what `hg push` would publish.
        (hg's pre-push hook names no revisions; `pushes` is for git's.)"""
        return set(self._nodes("draft() and ::."))

    # -- commit contents ---------------------------------------------------------------------
    def show_commit(self, sha: str) -> str:
        """Like `git show --stat -p --format=fuller`: header, indented message, stat, git-style patch."""
        node = _changeset(sha)
        fields = decode(self.run("log", "-r", node, "-l", "1", "-T", _SHOW)).split("\x1f", 3)
        if len(fields) < 4 or f"\x1f{fields[0]}\x1f" not in fields[3]:
            raise RepositoryError(f"unknown revision {sha!r}")
        full, parents, date, rest = fields
        author, message = rest.split(f"\x1f{full}\x1f", 1)
        lines = [f"commit {full}"]
        p1, p2 = parents.split()
        if p2 != NULL:
            lines.append(f"Merge: {p1[:12]} {p2[:12]}")
        lines += [f"Author:     {author}", f"AuthorDate: {date}", ""]
        lines += [f"    {line}".rstrip() for line in message.splitlines()]
        stat = decode(self.run("diff", "--git", "--stat", "-c", full))
        return "\n".join(lines) + "\n---\n" + stat + "\n" + decode(self.commit_diff(full))

    def commit_diff(self, sha: str, context: int = 3) -> bytes:
        """The changeset's git-style patch against its first parent, with `context` lines."""
        return self.run("diff", "--git", "-U", str(int(context)), "-c", _changeset(sha))

    def has_changesets(self) -> bool:
        """Whether the repository holds any changeset (`head()` is None as well at the null revision)."""
        return bool(self._nodes("tip - null"))

    # -- what git has and hg has not -----------------------------------------------------------
    def shallow_boundary(self) -> set[str]:
        return set()

    def hooks_dir(self) -> str | None:
        """None: hg and sl hooks are entries of the repository's hgrc, not files in a folder."""
        return None

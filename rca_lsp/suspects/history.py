"""The candidate window and the history look-ups retrieval needs, all answered from the index.

`History` knows which indexed commits are reachable from HEAD (and after `--since`), their
topological position (0 = HEAD), and can blame a line at HEAD by tracking it back through the
indexed zero-context hunks: no git process per frame, and the same answer for git and hg. A hunk
that only changed layout (a brace moved, spaces dropped: `diffparse.layout_only`) is looked through,
as `git blame -w` and the commits of `blame.ignoreRevsFile` are: its lines belong to the commit
that wrote their code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from rca_lsp.index import queries
from rca_lsp.index.store import Index
from rca_lsp.types import Commit

log = logging.getLogger(__name__)

MAX_STEPS = 5000


@dataclass(frozen=True)
class BlameHit:
    commit_id: int
    path: str  # the path the line had in that commit
    line: int  # the line number in that commit's version
    hunk_start: int
    hunk_len: int


class History:
    def __init__(self, index: Index, reachable: list[str], ignore_revs: set[str] | None = None) -> None:
        self.index = index
        ids = queries.commit_ids(index)
        self.position: dict[int, int] = {}
        for pos, sha in enumerate(reachable):
            cid = ids.get(sha)
            if cid is not None:
                self.position[cid] = pos
        self.missing = sum(1 for sha in reachable if sha not in ids)
        self.ignored = {ids[s] for s in (ignore_revs or ()) if s in ids}
        self._file_rows: dict[str, list[tuple[int, int, str, str | None, int]]] = {}

    @property
    def candidates(self) -> int:
        return len(self.position)

    def commit(self, commit_id: int) -> Commit:
        return queries.commit(self.index, commit_id)

    def _rows_for(self, path: str) -> list[tuple[int, int, str, str | None, int]]:
        """(position, file_id, status, old_path, commit_id) of reachable changes whose new path is `path`."""
        rows = self._file_rows.get(path)
        if rows is None:
            found = queries.changes_to(self.index, path)
            rows = sorted((self.position[c], fid, st, old, c) for c, fid, st, old in found if c in self.position)
            self._file_rows[path] = rows
        return rows

    def file_commits(self, path: str, limit: int = 20) -> list[int]:
        """Reachable commits that changed `path` (following renames back), newest first."""
        out: list[int] = []
        seen_paths: set[str] = set()
        after = -1
        current: str | None = path
        while current and current not in seen_paths and len(seen_paths) < limit:
            path = current
            seen_paths.add(path)
            renamed = None
            for pos, _fid, status, old_path, commit_id in self._rows_for(path):
                if pos <= after:
                    continue
                out.append(commit_id)
                if status == "R" and old_path and old_path != path:
                    renamed, after = old_path, pos
                    break
            current = renamed
        return out

    def _hunks(self, file_id: int) -> list[queries.HunkRow]:
        return queries.hunks_of(self.index, file_id)

    def blame(self, path: str, line: int) -> BlameHit | None:
        """The reachable commit that last changed `line` of `path` at HEAD, tracking renames."""
        after, steps = -1, 0
        while steps < MAX_STEPS:
            rows = [r for r in self._rows_for(path) if r[0] > after]
            if not rows:
                return None
            for pos, file_id, status, old_path, commit_id in rows:
                steps += 1
                hunks = self._hunks(file_id)
                hit = _hunk_at(hunks, line)
                if hit is not None:
                    if _owns(hit, commit_id in self.ignored):
                        return BlameHit(commit_id, path, line, hit[2], hit[3])
                    line = hit[0] + min(line - hit[2], hit[1] - 1)
                else:
                    line = line_before(hunks, line)
                if status in ("R", "C") and old_path and old_path != path:
                    path, after = old_path, pos
                    break
                if status == "A":
                    return None
            else:
                return None
        return None

    def blame_lines(self, path: str, lines: set[int]) -> dict[int, BlameHit]:
        """`blame` of many lines of one file: each change's hunks are read once for all of them.

        A coverage report names thousands of lines of files changed in hundreds of commits: line by
        line that was one query per line per commit walked (20 s for 2,000 lines of
        more-itertools); the answers are the same."""
        found: dict[int, BlameHit] = {}
        pending = sorted((line, line) for line in lines if line > 0)  # (line now, line at HEAD)
        after, steps = -1, 0
        while pending and steps < MAX_STEPS:
            rows = [r for r in self._rows_for(path) if r[0] > after]
            renamed = False
            for pos, file_id, status, old_path, commit_id in rows:
                steps += 1
                pending = _walk_back(self._hunks(file_id), pending, commit_id, commit_id in self.ignored, path, found)
                if not pending or status == "A":
                    return found
                if status in ("R", "C") and old_path and old_path != path:
                    path, after, renamed = old_path, pos, True
                    break
            if not renamed:
                return found
        return found


def _walk_back(hunks: list[queries.HunkRow], pending: list[tuple[int, int]], commit_id: int,
               ignored: bool, path: str, found: dict[int, BlameHit]) -> list[tuple[int, int]]:
    """One change for all pending lines (sorted): those it wrote are found, the others move to their
    number before it. The merge of sorted lines and sorted hunks gives what `_hunk_at` and `_shift`
    give line by line."""
    out: list[tuple[int, int]] = []
    j, delta = 0, 0
    for line, head in pending:
        while j < len(hunks):
            old_start, old_len, new_start, new_len, _ = hunks[j]
            if (new_start + new_len - 1 if new_len else new_start) >= line:
                break
            delta += old_len - new_len
            j += 1
        hit = hunks[j] if j < len(hunks) and hunks[j][3] and hunks[j][2] <= line else None
        if hit is None:
            out.append((line + delta, head))
        elif _owns(hit, ignored):
            found[head] = BlameHit(commit_id, path, line, hit[2], hit[3])
        else:
            out.append((hit[0] + min(line - hit[2], hit[1] - 1), head))
    out.sort()
    return out


def _owns(hunk: Sequence[int], ignored: bool) -> bool:
    """Whether the change whose `hunk` (old start, old length, new start, new length, layout) holds a
    line wrote it: yes unless the change is an ignore-revs one or the hunk only moves layout, and
    always where the hunk only adds (there is no line before it to look through to)."""
    return (not ignored and not hunk[4]) or hunk[1] == 0


def _hunk_at(hunks: Sequence[tuple[int, ...]], line: int) -> tuple[int, ...] | None:
    for h in hunks:
        if h[3] and h[2] <= line <= h[2] + h[3] - 1:
            return h
    return None


def line_before(hunks: Sequence[tuple[int, ...]], line: int) -> int:
    """The line's number before the change, given it was not itself changed."""
    delta = 0
    for old_start, old_len, new_start, new_len, *_ in hunks:
        end = new_start + new_len - 1 if new_len else new_start
        if end < line:
            delta += old_len - new_len
        else:
            break
    return line + delta


def at_head(lines: set[int], hunks: list[tuple[int, int, int, int]] | None) -> dict[int, int]:
    """Each of the work tree's `lines` of a file as HEAD numbers it (`hunks`: the work tree's
    uncommitted changes to it, `Backend.worktree_changes`), HEAD line -> work-tree line; lines that
    are themselves uncommitted are left out: no commit wrote them."""
    if not hunks:
        return {n: n for n in lines}
    return {line_before(hunks, n): n for n in sorted(lines) if _hunk_at(hunks, n) is None}

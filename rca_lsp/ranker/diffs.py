"""A candidate's change as text for the model: its hunks, the ones nearest the evidence first.

One patch with three lines of context per candidate (only the top K of retrieval reach here), from
the repository's backend (`commit_diff`: git, hg or sl alike), the hash checked first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Evidence
from rca_lsp.vcs.base import Backend

_HASH = re.compile(r"^[0-9a-f]{7,64}$")
_HUNK = re.compile(r"^@@+ [^@]*?\+(\d+)(?:,(\d+))? @@+")
MAX_DIFF_BYTES = 4 * 1024 * 1024
_COMMENTS = ("# ", "#!", "// ", "/*", "* ", "*/")  # lines that are a comment alone (compact)


@dataclass(frozen=True)
class DiffHunk:
    path: str
    new_start: int
    new_len: int
    text: str  # the @@ header line and the hunk's lines


def show(repo: Backend, commit: str) -> str:
    """The commit's patch (at most MAX_DIFF_BYTES of it) from `repo`, a backend."""
    if not isinstance(commit, str) or not _HASH.match(commit):
        raise ValueError(f"not a commit hash: {commit!r}")
    return repo.commit_diff(commit, context=3)[:MAX_DIFF_BYTES].decode("utf-8", errors="replace")


def hunks(repo: Backend, commit: str, evidence: tuple[Evidence, ...]) -> list[DiffHunk]:
    """The commit's hunks, those nearest `evidence` first: what the model reads of a candidate."""
    return order(parse(show(repo, commit)), evidence)


def parse(diff: str) -> list[DiffHunk]:
    hunks: list[DiffHunk] = []
    body: list[str] = []
    path, header, start, length = "", "", 0, 0

    def flush() -> None:
        if header:
            hunks.append(DiffHunk(path, start, length, "\n".join([header, *body])))

    for line in diff.split("\n"):
        if line.startswith("diff --"):
            flush()
            header, body = "", []
            path = line.split(" b/", 1)[-1] if " b/" in line else line.split()[-1]
        elif line.startswith("+++ ") and not line.startswith("+++ /dev/null"):
            path = line[6:] if line.startswith("+++ b/") else line[4:]
        elif (m := _HUNK.match(line)) is not None:
            flush()
            header, body = line, []
            start, length = int(m.group(1)), int(m.group(2) or 1)
        elif header and line[:1] in ("+", "-", " ") and not line.startswith(("--- ", "+++ ")):
            body.append(line)
    flush()
    return hunks


def compact(h: DiffHunk) -> str:
    """The hunk as the tuned scorer reads it: a short header (new start line and the section git
    names), then its changed lines alone, blank and comment-only ones dropped, dedented together.
    Context lines and common indentation spent most of a 96-token budget before any added line."""
    lines = h.text.split("\n")
    section = lines[0].rsplit("@@", 1)[-1].strip() if lines[0].startswith("@@") else ""
    body = [ln for ln in lines[1:] if ln[:1] in ("+", "-") and ln[1:].strip()
            and not ln[1:].lstrip().startswith(_COMMENTS)]
    indent = min((len(ln) - 1 - len(ln[1:].lstrip()) for ln in body), default=0)
    return "\n".join([f"@@ {h.new_start} {section}".rstrip(), *(ln[0] + ln[1 + indent:] for ln in body)])


def order(hunks: list[DiffHunk], evidence: tuple[Evidence, ...]) -> list[DiffHunk]:
    """Hunks of the evidence's files first, nearest the evidence's lines, then naming its symbols."""
    paths = {e.path for e in evidence if e.path}
    lines: dict[str, list[int]] = {}
    for e in evidence:
        if e.path and e.line:
            lines.setdefault(e.path, []).append(e.line)
    names = {e.symbol.rsplit(".", 1)[-1] for e in evidence if e.symbol}

    def key(item: tuple[int, DiffHunk]) -> tuple:
        i, h = item
        near = min((0 if h.new_start <= ln < h.new_start + max(h.new_len, 1) else
                    min(abs(ln - h.new_start), abs(ln - h.new_start - h.new_len)) for ln in lines.get(h.path, [])),
                   default=10**6)
        named = any(n and n in h.text for n in names)
        return (h.path not in paths, near, not named, is_test_path(h.path), i)

    return [h for _, h in sorted(enumerate(hunks), key=key)]

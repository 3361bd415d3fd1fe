"""Who owns a file: CODEOWNERS, OWNERS files and authorship history.

Meta's retrieval raises a candidate written by an owner of the failing code: owners know it,
change it most, and break it most. Three sources, all kept, each with its own share:
- CODEOWNERS, the first of `.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS` (where GitHub
  and GitLab look): the last matching line's owners, each 1 / (owners on the line);
- OWNERS files, the nearest folder's first (with its `per-file` lines), then its parents' unless
  `set noparent` / `no_parent_owners`, each 1 / (owners there), halved per folder inherited;
- history, from the index: each author's share of the lines changed in the file, older changes
  counting half per year, so a repository without owner files still has owners.
Owner files are read from HEAD's committed content through the backend (git or hg alike): an
uncommitted edit to CODEOWNERS is not ownership yet.

Owners meet commit authors by exact email, or `@user` (and Kubernetes' bare user names) against
the email's local part or the author's name, compared without case and punctuation. Teams
(`@org/team`) and GitLab roles cannot be expanded here and are ignored.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from rca_lsp.errors import RcaError
from rca_lsp.index import queries
from rca_lsp.kinds import EvidenceKind, Feature
from rca_lsp.suspects.history import History
from rca_lsp.suspects.owner_files import (
    OwnersFile,
    codeowners_match,
    parse_codeowners,
    parse_owners,
    per_file_owners,
)
from rca_lsp.suspects.targets import Target
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Evidence, Ownership, Trace

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_OWNER_FILE_BYTES = 1 << 20
INHERIT_DECAY = 0.5  # each folder an OWNERS file is inherited through halves its owners' share
HALF_LIFE_DAYS = 365  # a change this much older than the file's newest counts half
LINES_CAP = 500  # lines one change counts at most: a mass reformat is not ownership
MIN_SHARE = 0.1
TOP_AUTHORS = 3
FRAME_DECAY = 0.5  # the k-th file of the trace counts 1 / (1 + 0.5 k), as frames do in retrieval


class Owners:
    """Owners of files of one repository at HEAD; owner files are read once, history per file."""

    def __init__(self, repo: Backend, history: History, tracked: Iterable[str]) -> None:
        self._history = history
        self._cache: dict[str, tuple[Ownership, ...]] = {}
        wanted = [p for p in tracked if p in CODEOWNERS_PATHS or p.rsplit("/", 1)[-1] == "OWNERS"]
        texts = _read_head(repo, wanted) if wanted else {}
        source = next((p for p in CODEOWNERS_PATHS if p in texts), None)
        self._codeowners_source = source
        self._rules = parse_codeowners(texts[source], source) if source else []
        self._owners_files: dict[str, tuple[str, OwnersFile]] = {}
        for path, text in texts.items():
            if path.rsplit("/", 1)[-1] == "OWNERS":
                folder = path.rsplit("/", 1)[0] if "/" in path else ""
                self._owners_files[folder] = (path, parse_owners(text, path))

    def of(self, path: str) -> tuple[Ownership, ...]:
        found = self._cache.get(path)
        if found is None:
            found = (*self._from_codeowners(path), *self._from_owners_files(path), *self._from_history(path))
            self._cache[path] = found
        return found

    def _from_codeowners(self, path: str) -> list[Ownership]:
        rule = codeowners_match(self._rules, path)
        if rule is None or not rule.owners:
            return []
        share = 1.0 / len(rule.owners)
        source = f"{self._codeowners_source} line {rule.line}: {rule.text}"
        return [Ownership(path, owner, share, source) for owner in rule.owners]

    def _from_owners_files(self, path: str) -> list[Ownership]:
        out: list[Ownership] = []
        parts = path.split("/")[:-1]
        depth = 0
        for cut in range(len(parts), -1, -1):
            folder = "/".join(parts[:cut])
            entry = self._owners_files.get(folder)
            if entry is None:
                continue
            source, owners_file = entry
            relative = path[len(folder) + 1:] if folder else path
            names = tuple(dict.fromkeys((*per_file_owners(owners_file, relative), *owners_file.owners)))
            for owner in names:
                out.append(Ownership(path, owner, INHERIT_DECAY ** depth / len(names), f"OWNERS file {source}"))
            depth += 1
            if owners_file.noparent:
                break
        return out

    def _from_history(self, path: str) -> list[Ownership]:
        rows = queries.authorship_of(self._history.index, path)
        rows = [r for r in rows if r[0] in self._history.position]
        if not rows:
            return []
        newest = max(r[4] for r in rows)
        weight: dict[str, float] = defaultdict(float)
        names: dict[str, str] = {}
        for _, lines, name, email, date in rows:
            key = (email or name).lower()
            weight[key] += min(max(lines or 0, 1), LINES_CAP) * 0.5 ** ((newest - date) / (HALF_LIFE_DAYS * 86400))
            names.setdefault(key, name)
        total = sum(weight.values())
        ranked = sorted(weight.items(), key=lambda kv: -kv[1])[:TOP_AUTHORS]
        return [Ownership(path, key, w / total, f"history: {w / total:.0%} of its changed lines, recent ones"
                          f" counting more", names[key]) for key, w in ranked if w / total >= MIN_SHARE]


def _read_head(repo: Backend, paths: list[str]) -> dict[str, str]:
    """Committed contents of `paths` at HEAD; a file that cannot be read is skipped with a warning."""
    out: dict[str, str] = {}
    try:
        blobs = repo.head_blobs()
        reader = repo.blob_reader()
    except RcaError as exc:
        log.warning("owner files not read: %s", exc)
        return out
    try:
        for path in paths:
            blob = blobs.get(path)
            if blob is None:
                continue  # not committed yet
            data = reader.get(blob)
            if data is None or len(data) > MAX_OWNER_FILE_BYTES:
                log.warning("%s: %s; not read", path, "unreadable" if data is None else "over 1 MiB")
                continue
            out[path] = data.decode("utf-8", errors="replace")
    finally:
        reader.close()
    return out


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _local_part(email: str) -> str:
    local, _, domain = email.partition("@")
    if domain == "users.noreply.github.com":  # 12345+alice@users.noreply.github.com
        return local.rsplit("+", 1)[-1]
    return local.split("+", 1)[0]


def is_author(owner: str, name: str, email: str) -> bool:
    """Whether the owner as written names this commit author."""
    email = (email or "").lower()
    if not owner.startswith("@") and "@" in owner:
        return bool(email) and owner.lower() == email
    if owner.startswith("@@") or "/" in owner:
        return False  # a GitLab role or a team: its members are not known here
    handle = _plain(owner.lstrip("@"))
    return bool(handle) and handle in {_plain(_local_part(email)), _plain(name or "")}


def failing_files(traces: list[Trace], targets: list[Target]) -> dict[str, float]:
    """The failing code's files, weighted: in-repository frames' files (inner ones more) and the
    files of what the failing test reaches (by the target's weight); test files are not counted."""
    out: dict[str, float] = {}
    for trace in traces:
        for frame in trace.all_frames():
            if frame.external or not frame.path or is_test_path(frame.path) or frame.path in out:
                continue
            out[frame.path] = 1.0 / (1.0 + FRAME_DECAY * len(out))
    for target in targets:
        if not is_test_path(target.path):
            out[target.path] = max(out.get(target.path, 0.0), min(target.weight, 1.0))
    return out


def is_declared(own: Ownership) -> bool:
    """Ownership written down (CODEOWNERS, OWNERS) rather than read from history."""
    return not own.source.startswith("history")


def owner_points(owners: Owners, history: History, failing: dict[str, float]
                 ) -> Iterator[tuple[Feature, int, float, Evidence]]:
    """(feature, commit, value, evidence) for every candidate whose author owns failing code: the
    value is the file's weight times the owner's share, the best over the failing files. The owner
    files' owners give feature `owner`, history's `authorship`: separate features, because history
    owns nearly every candidate of a small team (see BENCHMARKS.md) and owner files do not."""
    authors: dict[tuple[str, str], list[int]] = defaultdict(list)
    for commit_id, name, email in queries.commit_authors(history.index):
        if commit_id in history.position:
            authors[(name or "", email or "")].append(commit_id)
    best: dict[tuple[Feature, tuple[str, str]], tuple[float, Ownership]] = {}
    for path, weight in failing.items():
        for own in owners.of(path):
            feature = Feature.OWNER if is_declared(own) else Feature.AUTHORSHIP
            value = weight * own.share
            for ident in authors:
                if value > best.get((feature, ident), (0.0, None))[0] and is_author(own.owner, *ident):
                    best[(feature, ident)] = (value, own)
    for (feature, ident), (value, own) in best.items():
        kind = EvidenceKind.OWNER if feature is Feature.OWNER else EvidenceKind.AUTHORSHIP
        evidence = Evidence(kind, value, f"its author {ident[0] or ident[1]} owns {own.path} ({own.source})", own.path)
        for commit_id in authors[ident]:
            yield feature, commit_id, value, evidence

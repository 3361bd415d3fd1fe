"""The frame lines of the latest suspects follow the edits made in the editor.

A code lens, diagnostic or hover sits on the line a trace's frame names. Lines typed or deleted
above it move that line; without this, the next code-lens request put the lens (and the hover)
back on the old line number, beside other code. Each incremental change of a document with
markers moves the markers below it by the lines it adds less those it removes; a marker on a line
the change rewrites stays on the change's first line. A change that replaces the whole document
names no range, so it moves nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rca_lsp.lsp.findings import Findings, Marker
from rca_lsp.lsp.roots import fs_path

_LINE_END = re.compile(r"\r\n|\r|\n")


def moved_line(line: int, start: tuple[int, int], end: tuple[int, int], text: str) -> int:
    """Where the 0-based `line` is after replacing the span `start`..`end` ((line, column), 0-based)
    with `text`."""
    added = len(_LINE_END.findall(text))
    if line < start[0]:
        return line
    below = line > end[0] or (line == end[0] and end[1] == 0 and (end[0] > start[0] or start[1] == 0))
    if below:  # after the span (one that ends at its column 0 leaves the line itself untouched)
        return line + added - (end[0] - start[0])
    return start[0]  # rewritten by the change: on its first line


def follow(findings: Findings, path: str, changes: Sequence[Any]) -> bool:
    """Moves the markers of `path` (repository-relative) through the document's `changes`, in order;
    whether any moved."""
    markers = findings.markers.get(path)
    if not markers:
        return False
    lines = {line: line for line in markers}  # original line -> where it is now (1-based)
    for change in changes:
        span = getattr(change, "range", None)
        if span is None:
            continue
        start, end = (span.start.line, span.start.character), (span.end.line, span.end.character)
        lines = {first: moved_line(now - 1, start, end, change.text) + 1 for first, now in lines.items()}
    if all(first == now for first, now in lines.items()):
        return False
    moved: dict[int, Marker] = {}
    for first, marker in sorted(markers.items()):
        moved.setdefault(lines[first], dataclasses.replace(marker, line=lines[first]))
    findings.markers[path] = moved
    return True


def follow_document(found: Mapping[str, Findings], uri: str, changes: Sequence[Any]) -> Findings | None:
    """The findings whose markers on the file `uri` moved with `changes` (the innermost repository
    holding it, as `folders.markers_at` reads them), else None."""
    path = fs_path(uri) if uri.startswith("file:") else None
    if not path:
        return None
    full = Path(path).resolve()
    inside = [(Path(root).resolve(), f) for root, f in found.items() if full.is_relative_to(Path(root).resolve())]
    if not inside:
        return None
    top, findings = max(inside, key=lambda item: len(item[0].parts))
    return findings if follow(findings, full.relative_to(top).as_posix(), changes) else None

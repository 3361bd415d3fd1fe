"""The one place core types become LSP types (and the JSON the clients' commands receive).

Pure functions of their arguments: no server, no I/O. Lines are 1-based in the core and
0-based in LSP; the conversion happens here and nowhere else.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from rca_lsp.errors import TraceError
from rca_lsp.lsp.findings import Findings, Marker, TraceLine
from rca_lsp.lsp.roots import path_uri as _uri
from rca_lsp.records import clip, iso_date, suspect_dict
from rca_lsp.types import Suspect

SOURCE = "rca"
SHOW_COMMIT = "rca.showCommit"
RANK_AGAIN = "rca.rankAgain"


def path_uri(root: str, path: str) -> str:
    return _uri(str(Path(root) / path))


def ago(seconds: int, now: float | None = None) -> str:
    delta = max(0, int((time.time() if now is None else now) - seconds))
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if delta >= size:
            n = delta // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def title(s: Suspect, now: float | None = None) -> str:
    """suspect #1 a1b2c3d 'Refactor number parsing' (alice, 3 days ago)"""
    c = s.commit
    summary = clip(c.summary, 72)
    return f"suspect #{s.rank} {c.hash[:7]} '{summary}' ({c.author}, {ago(c.author_date, now)})"


def json_text(value: Any, limit: int = 200) -> str:
    """A client's value as the client wrote it (JSON: `null`, `true`, `"x"`), cut to a readable length."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def range_lines(span: dict) -> tuple[int, int]:
    """The first and last line of a client's LSP range; a selection that ends at column 0 leaves
    that line out."""
    try:
        start, end = span["start"], span["end"]
        first, last, column = int(start["line"]), int(end["line"]), int(end.get("character", 0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TraceError(f"invalid range {json_text(span)}: expected a start and an end, each with a line") from exc
    if first < 0 or last < first:
        raise TraceError(f"invalid range {json_text(span)}: lines count from 0, and the end may not come "
                         "before the start")
    return first, last - 1 if last > first and column == 0 else last


def _line_range(line: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line - 1, 0), lsp.Position(line, 0))


def frame_numbers(marker: Marker) -> str:
    """`frame 2 of the trace`; a line that 17 failures of one parametrized test pass through said once
    with their count (it was `frame 1, 1, 1, ... of the trace`)."""
    numbers = list(dict.fromkeys(f.index + 1 for f in marker.frames))
    text = f"frame {', '.join(map(str, numbers))} of the trace"
    return text if len(marker.frames) == len(numbers) else f"{text}, {len(marker.frames)} times"


EDITED = "uncommitted change on this line: the failure may come from it, not from a commit"


def _short(node: str) -> str:
    return "no commit" if not node.strip("0") else node[:7]


def moved_note(findings: Findings | None) -> str | None:
    """`ranked before HEAD moved (a1b2c3d → e4f5a6b)` where HEAD moved since the ranking, else None."""
    if findings is None or findings.moved_to is None or findings.head is None:
        return None
    return f"ranked before HEAD moved ({_short(findings.head)} → {_short(findings.moved_to)})"


def lsp_code_lenses(markers: list[Marker], findings: Findings | None, now: float | None = None) -> list[lsp.CodeLens]:
    """Each marker's lens; where HEAD moved since the ranking, a lens before it says so and ranks again."""
    note = moved_note(findings)
    lenses = []
    for marker in markers:
        lens = lsp_code_lens(marker, now)
        if lens is None:
            continue
        if note and findings is not None:
            lenses.append(lsp.CodeLens(range=lens.range, command=lsp.Command(
                title=f"{note}: rank again", command=RANK_AGAIN, arguments=[{"root": findings.root}])))
        lenses.append(lens)
    return lenses


def lsp_code_lens(marker: Marker, now: float | None = None) -> lsp.CodeLens | None:
    if marker.suspect is None:
        return None
    text = title(marker.suspect, now) + ("" if marker.direct else " — no evidence on this line")
    text = f"{EDITED} · best commit: {text}" if marker.edited else text
    return lsp.CodeLens(range=lsp.Range(lsp.Position(marker.line - 1, 0), lsp.Position(marker.line - 1, 0)),
                        command=lsp.Command(title=text, command=SHOW_COMMIT, arguments=[marker.suspect.commit.hash]))


def lsp_diagnostic(marker: Marker, now: float | None = None, moved: str | None = None) -> lsp.Diagnostic | None:
    """`moved`: the note that HEAD moved since the ranking, said first (find suspects again)."""
    if marker.suspect is None:
        return None
    frames = frame_numbers(marker)
    message = title(marker.suspect, now)
    if not marker.direct:
        message += " — no evidence on this line"
    if marker.edited:  # said where the user looks, not only in a message that scrolls away
        message = f"{EDITED} (stash it and run the test again to tell) · best commit: {message}"
    if moved:
        message = f"{moved}: find suspects again · {message}"
    severity = lsp.DiagnosticSeverity.Warning if marker.edited else lsp.DiagnosticSeverity.Information
    return lsp.Diagnostic(range=_line_range(marker.line), message=f"{message} [{frames}]",
                          severity=severity, source=SOURCE,
                          code=marker.suspect.commit.hash[:10], data={"commit": marker.suspect.commit.hash})


def lsp_hover(marker: Marker, now: float | None = None, moved: str | None = None) -> lsp.Hover:
    lines = [f"**rca**: {frame_numbers(marker)} (`{marker.frames[0].raw}`)", ""]
    if moved:
        lines += [f"**{moved[0].upper()}{moved[1:]}**: the suspects below may no longer be in the history; "
                  "find suspects again (or the lens *rank again*).", ""]
    if marker.edited:
        lines += [f"**{EDITED[0].upper()}{EDITED[1:]}** (stash it and run the test again to tell).", ""]
    shown = marker.touching[:5] or ((marker.suspect,) if marker.suspect else ())
    if not marker.touching:
        lines += ["No suspect has evidence on this line; the overall best:", ""]
    for s in shown:
        lines.append(f"- **{title(s, now)}** — score {s.score:.3f}, {iso_date(s.commit.author_date)[:10]}")
        for e in s.evidence:
            if e.path in (None, marker.path):
                lines.append(f"  - {e.text}")
    return lsp.Hover(contents=lsp.MarkupContent(lsp.MarkupKind.Markdown, "\n".join(lines)),
                     range=_line_range(marker.line))


def lsp_document_link(root: str, where: TraceLine) -> lsp.DocumentLink:
    frame = where.frame
    target = f"{path_uri(root, frame.path or '')}#L{frame.line}"
    return lsp.DocumentLink(range=lsp.Range(lsp.Position(where.line, where.start), lsp.Position(where.line, where.end)),
                            target=target, tooltip=f"{frame.path}:{frame.line}")


def suspect_location(findings: Findings, s: Suspect) -> dict | None:
    """Where a suspect points in the work tree: in the file of its strongest evidence with a path,
    a frame line its evidence names, else the first line its evidence there names (a function it
    changed has none, the lines it last changed in it do), else the file's first frame line, else
    1; with no such evidence, frame 1's file. (It was line 1 where a function it changed came first
    and the lines it changed in it later.)"""
    located = [e for e in s.evidence if e.path]
    if located:
        path = located[0].path or ""
        return {"uri": path_uri(findings.client_root, path), "path": path, "line": _line_of(findings, s, path)}
    for frame in findings.frames():
        if frame.path and not frame.external:
            return {"uri": path_uri(findings.client_root, frame.path), "path": frame.path, "line": frame.line or 1}
    return None


def _line_of(findings: Findings, s: Suspect, path: str) -> int:
    markers = findings.markers_in(path)
    lines = [e.line for e in s.evidence if e.path == path and e.line]
    frames = {e.frame for e in s.evidence if e.path == path and e.frame}
    on_frame = next((m.line for m in markers if m.line in lines or any(f.index + 1 in frames for f in m.frames)), None)
    return on_frame or (lines[0] if lines else None) or (markers[0].line if markers else 1)


def suspects_payload(findings: Findings, now: float | None = None) -> dict:
    """What `rca.suspects` returns: the JSON contract of `rca suspects --format json`, plus titles,
    locations and the frames for quick picks and quickfix lists."""
    result = findings.result
    suspects = []
    for s in result.suspects:
        row = suspect_dict(s)
        row["title"] = title(s, now)
        row["short"] = s.commit.hash[:7]
        row["ago"] = ago(s.commit.author_date, now)
        row["location"] = suspect_location(findings, s)
        suspects.append(row)
    frames = [{"uri": path_uri(findings.client_root, f.path), "path": f.path, "line": f.line, "frame": f.index + 1,
               "text": f.raw} for f in findings.frames() if f.path and f.line and not f.external]
    return {"root": findings.client_root, "suspects": suspects, "candidates": result.candidates, "frames": frames,
            "timings": {k: round(v, 4) for k, v in result.timings.items()}, "warnings": list(result.warnings), "notes": list(result.notes),
            "hints": list(result.hints)}


def stage_payload(findings: Findings, seq: int, stage: str, final: bool, skipped: str | None = None,
                  now: float | None = None) -> dict:
    """`suspects_payload` with the stage it is (`rca/suspects` and the answer of `rca.suspects`)."""
    payload = suspects_payload(findings, now) | {"seq": seq, "stage": stage, "final": final}
    if skipped:
        payload["skipped"] = skipped
    return payload

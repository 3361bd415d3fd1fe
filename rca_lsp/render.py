"""Suspects as text for people and as the JSON contract for programs (see ARCHITECTURE.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from rca_lsp.suspects import Result
from rca_lsp.types import Evidence, Suspect


def iso_date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def evidence_dict(e: Evidence) -> dict:
    out = {"kind": e.kind, "weight": round(e.weight, 4), "text": e.text}
    for key in ("path", "line", "symbol", "frame"):
        value = getattr(e, key)
        if value is not None:
            out[key] = value
    return out


def suspect_dict(s: Suspect) -> dict:
    return {"commit": s.commit.hash, "score": s.score, "rank": s.rank, "summary": s.commit.summary,
            "author": s.commit.author, "email": s.commit.email, "date": iso_date(s.commit.author_date),
            "evidence": [evidence_dict(e) for e in s.evidence]}


def to_json(result: Result) -> str:
    suspects = []
    for s in result.suspects:
        row = suspect_dict(s)
        if s.commit.hash in result.features:
            row["features"] = result.features[s.commit.hash]
        suspects.append(row)
    return json.dumps({
        "suspects": suspects,
        "candidates": result.candidates,
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "warnings": result.warnings,
    }, indent=2, ensure_ascii=False)


def to_text(result: Result) -> str:
    lines = []
    for s in result.suspects:
        c = s.commit
        lines.append(f"#{s.rank:<3} {c.hash[:10]}  {iso_date(c.author_date)[:10]}  {c.author[:24]:<24}  "
                     f"{c.summary[:72]}  (score {s.score:.3f})")
        for e in s.evidence:
            lines.append(f"       - {e.text}")
    if not result.suspects:
        lines.append("no suspects: no commit of the candidate window is indexed")
    lines.append(f"{len(result.suspects)} of {result.candidates} candidate commits shown "
                 f"in {result.timings.get('total', 0.0):.2f} s")
    return "\n".join(lines)

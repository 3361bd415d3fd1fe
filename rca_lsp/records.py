"""The JSON forms of the core's types, shared by every front end's output (the contract in README.md).

`rca suspects --format json`, `rca bisect --format json` and the server's `rca.suspects` answer
write a suspect, a piece of evidence and a date the same way; each front end keeps only the
rendering of its own document around them.
"""

from __future__ import annotations

from datetime import datetime, timezone

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


def json_kind(value: object) -> str:
    """A value's JSON type as a person reading the JSON calls it ("an object", "a number", "null"):
    what a message says a setting or a manifest field was, where another was wanted."""
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in ((dict, "an object"), (list, "an array"), (str, "a string"), ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__

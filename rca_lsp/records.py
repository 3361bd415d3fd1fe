"""The JSON forms of the core's types, shared by every front end's output (the contract in README.md).

`rca suspects --format json`, `rca bisect --format json` and the server's `rca.suspects` answer
write a suspect, a piece of evidence and a date the same way; each front end keeps only the
rendering of its own document around them, written by `json_text`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from rca_lsp.types import Evidence, Suspect


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(doc: object, ascii_only: bool = False) -> str:
    """`doc` as the JSON text of an output: UTF-8 where the output takes any character, every other
    character escaped (\\uXXXX) with `ascii_only`, for one whose encoding cannot hold them (a
    latin-1 or cp1252 stream: there a `\\U0001f680` escape of a commit message's rocket is no JSON).
    A file name that is not UTF-8 is kept with a lone surrogate per byte (`caf\\udce9.py`), which no
    UTF-8 text can hold: it is written as its JSON escape, `\\udce9`, so the text is UTF-8 that
    `json.loads` reads back as the same name and a strict reader (jq) takes."""
    text = json.dumps(doc, indent=2, ensure_ascii=ascii_only)
    return text if ascii_only else _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked (`Fix rounding (#3` would name another PR)."""
    return text if len(text) <= width else text[:width - 1] + "…"


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

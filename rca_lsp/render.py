"""`rca suspects` output: text for people and the JSON document for programs (contract in README.md).

The forms of a suspect and its evidence inside it are `rca_lsp.records`', shared with `rca bisect`
and the server.
"""

from __future__ import annotations

import codecs
from typing import IO

from rca_lsp.kinds import CONTEXT, SCORED
from rca_lsp.records import clip, iso_date, json_text, suspect_dict
from rca_lsp.suspects import Result

EXPLAINED = tuple(str(f) for f in SCORED + CONTEXT)  # the features `--explain` gives, in this order


def explained(values: dict[str, float]) -> dict[str, float]:
    """Every feature, 0 where a suspect has none (retrieval keeps only those it has): a fixed set of
    keys for a program to read; any other value after them."""
    return {**{name: values.get(name, 0.0) for name in EXPLAINED}, **values}


def to_json(result: Result, ascii_only: bool = False) -> str:
    """The JSON document; `ascii_only` escapes every other character (\\uXXXX), for an output whose
    encoding cannot hold them: the same document once parsed."""
    suspects = []
    for s in result.suspects:
        row = suspect_dict(s)
        if s.commit.hash in result.features:
            row["features"] = explained(result.features[s.commit.hash])
        suspects.append(row)
    return json_text({
        "suspects": suspects,
        "candidates": result.candidates,
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "warnings": result.warnings,
        "notes": result.notes,
        "hints": result.hints,
    }, ascii_only)


def utf8_output(stream: IO[str] | None) -> bool:
    """Whether `stream` takes any character. JSON for one that does not (PYTHONIOENCODING=latin-1, a
    cp1252 console) is written with \\u escapes: the same document, where replacing what the encoding
    lacks would change the data and a \\U escape would not be JSON."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False


def to_text(result: Result) -> str:
    lines = []
    for s in result.suspects:
        c = s.commit
        lines.append(f"#{s.rank:<3} {c.hash[:10]}  {iso_date(c.author_date)[:10]}  {c.author[:24]:<24}  "
                     f"{clip(c.summary, 72)}  (score {s.score:.3f})")
        for e in s.evidence:
            lines.append(f"       - {e.text}")
        if c.hash in result.features:  # --explain: the values that are not 0 (the JSON has them all)
            values = explained(result.features[c.hash])
            lines.append("       features: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items() if v))
    if not result.suspects:
        lines.append("no suspects: no commit of the candidate window is indexed")
    lines.append(f"{len(result.suspects)} of {result.candidates} candidate commits shown "
                 f"in {result.timings.get('total', 0.0):.2f} s")
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"hint: {hint}" for hint in result.hints]
    return "\n".join(lines)

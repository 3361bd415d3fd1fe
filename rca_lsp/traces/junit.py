"""JUnit XML reports (Surefire, Gradle, pytest --junitxml, jest-junit, go-junit-report).

Each `<testcase>` with a `<failure>` or `<error>` becomes one trace named after its
`classname` and `name`; the element's text is parsed as a trace of its own (Java,
Python, pytest...) for the frames. The XML is parsed with the standard library, and a
document declaring a DOCTYPE or entities is refused outright, so no entity expansion
can ever happen. A report that does not parse is skipped: the other parsers still
read the traces inside it as plain text.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from rca_lsp.traces.base import Found, split_params
from rca_lsp.types import TestId, Trace

logger = logging.getLogger(__name__)

REFUSED = "JUnit XML declaring a DOCTYPE or entities is refused"
_MAX_REPORTS = 1000
_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass
class Result:
    found: list[Found] = field(default_factory=list)
    note: str | None = None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _chunk(raw: str, pos: int) -> tuple[int, int] | None:
    """Offsets of the next XML report whose first <testcase> is at or after `pos`."""
    first = raw.find("<testcase", pos)
    if first < 0:
        return None
    for tag in ("testsuites", "testsuite"):
        start = raw.rfind(f"<{tag}", pos, first)
        if start < 0 or (tag == "testsuite" and raw.startswith("<testsuites", start)):
            continue
        close = raw.find(f"</{tag}>", first)
        if close >= 0:
            return start, close + len(tag) + 3
    close = raw.find("</testcase>", first)
    return (first, close + len("</testcase>")) if close >= 0 else None


def _trace(case: ET.Element, outcome: ET.Element, inner: Callable[[str], list[Trace]]) -> Trace:
    text = outcome.text or ""
    parsed = inner(text) if text.strip() else []
    best = next((t for t in parsed if t.frames), parsed[0] if parsed else None)
    kind = outcome.get("type") or ""
    message = outcome.get("message") or ""
    name, params = split_params(case.get("name") or "")
    test = TestId(container=case.get("classname") or "", name=name, path=case.get("file") or None, params=params)
    if best is None:
        return Trace("junit", kind or _local(outcome.tag), message or text.strip(), (), test=test)
    return Trace("junit", best.exception or kind, best.message or message, best.frames, test=test,
                 causes=best.causes, truncated=best.truncated)


def _report(xml: str, inner: Callable[[str], list[Trace]]) -> list[Trace]:
    try:
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError, UnicodeError) as exc:
        logger.info("JUnit XML did not parse (%s); reading its text instead", exc)
        return []
    traces = []
    for case in root.iter():
        if _local(case.tag) != "testcase":
            continue
        for outcome in case:
            if _local(outcome.tag) in ("failure", "error"):
                traces.append(_trace(case, outcome, inner))
    return traces


def find(raw: str, inner: Callable[[str], list[Trace]]) -> Result:
    """Failures of every JUnit XML report in `raw` (colour codes and CRs already removed)."""
    if _DECLARATION.search(raw):
        logger.warning("%s", REFUSED)
        return Result(note=REFUSED)
    result = Result()
    pos = line = 0
    for _ in range(_MAX_REPORTS):
        span = _chunk(raw, pos)
        if span is None:
            break
        start, end = span
        start_line = line + raw.count("\n", pos, start)
        line = start_line + raw.count("\n", start, end)
        traces = _report(raw[start:end], inner)
        if traces:
            result.found.append(Found(start_line, line, tuple(traces)))
        pos = end
    return result

"""The lines a failing test ran, read from the coverage report a build tool already writes.

`rca bisect` traces the failing run itself (`rca_lsp.bisect.coverage`); a user whose CI or IDE
already ran the failing test under coverage hands that report to `rca suspects --coverage FILE`
instead, and retrieval's *executed* feature is the same. The format is told from the content, not
the file name:

    JaCoCo XML        <report>: package name + sourcefile name, lines with ci > 0
    Cobertura XML     <coverage>: <source> roots + class filename, lines with hits > 0
                      (coverage.py `coverage xml`, Istanbul, gcovr, Gradle/Maven plugins)
    LCOV              SF:<path>, DA:<line>,<hits> with hits > 0 (coverage.py `coverage lcov`,
                      Istanbul, geninfo, cargo-llvm-cov)
    coverage.py JSON  `coverage json`: files -> executed_lines

Report paths are absolute, relative to some source root, or (JaCoCo) package directories; each is
mapped to the repository's tracked files by its longest suffix that names exactly one of them
(`rca_lsp.traces.resolve`). A path that names none (a generated file, another checkout) or several
is counted and left out, never fatal. A file that is no report at all is a TraceError. XML that
declares entities is refused, so no entity is ever expanded; JaCoCo's own DOCTYPE (an external DTD
that is never fetched) is the one declaration let through.
"""

from __future__ import annotations

import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rca_lsp.errors import TraceError
from rca_lsp.traces.resolve import PathIndex, split_path

log = logging.getLogger(__name__)

MAX_REPORT_BYTES = 512 * 1024 * 1024
_JACOCO_DOCTYPE = re.compile(r'<!DOCTYPE\s+report\s+PUBLIC\s+"[^"<>\[\]]*"\s+"[^"<>\[\]]*"\s*>')
_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)

Raw = tuple[list[str], set[int]]  # the paths a report entry may mean (best first), its executed lines


@dataclass(frozen=True)
class Coverage:
    """Executed lines per tracked, repository-relative path, and what could not be mapped."""

    format: str
    lines: dict[str, frozenset[int]]
    files: int  # entries of the report with at least one executed line
    unmatched: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()

    def executed(self) -> dict[str, set[int]]:
        """The shape retrieval takes (`find_suspects(executed=...)`)."""
        return {path: set(lines) for path, lines in self.lines.items()}

    def warnings(self, name: str) -> list[str]:
        """What the user should know: files left out, or a report that covers nothing here."""
        out = []
        if not self.lines:
            out.append(f"coverage report {name} ({self.format}) covers no tracked file of this repository "
                       f"({self.files} file(s) with executed lines in it); ranked without coverage")
        for label, paths in (("not tracked here", self.unmatched), ("ambiguous", self.ambiguous)):
            if paths and self.lines:
                shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
                out.append(f"coverage report {name}: {len(paths)} file(s) {label}, left out: {shown}")
        return out


def read_coverage(path: str | os.PathLike, tracked: Sequence[str], root: str | None = None) -> Coverage:
    """The report at `path`, mapped to `tracked` (paths relative to `root`, the repository's top).

    Raises TraceError naming the file and the problem when it is missing, empty or no report."""
    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise TraceError(f"coverage report {name} does not exist or is not a file")
    with open(p, "rb") as fh:
        data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise TraceError(f"coverage report {name} is over {MAX_REPORT_BYTES // (1024 * 1024)} MB")
    return parse_coverage(data.decode("utf-8", errors="replace"), tracked, root, name)


def parse_coverage(text: str, tracked: Sequence[str], root: str | None = None, name: str = "-") -> Coverage:
    """The executed lines of a report's text; see the module docstring for the formats."""
    kind, entries = _entries(text.lstrip("\ufeff \t\r\n"), name)
    return _map(kind, entries, tracked, root)


def _entries(text: str, name: str) -> tuple[str, list[Raw]]:
    if not text.strip():
        raise TraceError(f"coverage report {name} is empty")
    if text.startswith("{"):
        return "coverage.py JSON", _coverage_json(text, name)
    if text.startswith("<"):
        return _xml(text, name)
    if re.match(r"(?:TN|SF):", text):
        return "LCOV", list(_lcov(text))
    raise TraceError(f"coverage report {name} is not a coverage report: expected JaCoCo XML, Cobertura XML, "
                     "LCOV or coverage.py JSON")


def _coverage_json(text: str, name: str) -> list[Raw]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TraceError(f"coverage report {name} is malformed JSON: {exc}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("executed_lines"), list)
                                              for v in files.values()):
        raise TraceError(f"coverage report {name} is JSON but not coverage.py's (`coverage json`): "
                         "no files -> executed_lines")
    return [([str(path)], {n for n in entry["executed_lines"] if type(n) is int})
            for path, entry in files.items()]


def _xml(text: str, name: str) -> tuple[str, list[Raw]]:
    body = _JACOCO_DOCTYPE.sub("", text, count=1)
    if _DECLARATION.search(body):
        raise TraceError(f"coverage report {name}: XML declaring a DOCTYPE or entities is refused")
    try:
        tree = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TraceError(f"coverage report {name} is malformed XML: {exc}") from None
    if tree.tag == "report":
        return "JaCoCo XML", list(_jacoco(tree))
    if tree.tag == "coverage":
        return "Cobertura XML", list(_cobertura(tree))
    raise TraceError(f"coverage report {name} is XML but neither JaCoCo (<report>) nor Cobertura (<coverage>): "
                     f"<{tree.tag}>")


def _jacoco(tree: ET.Element) -> Iterator[Raw]:
    for package in tree.iter("package"):
        folder = (package.get("name") or "").strip("/")
        for source in package.iter("sourcefile"):
            lines = {_count(line.get("nr")) for line in source.iter("line") if _count(line.get("ci")) > 0}
            file = source.get("name") or ""
            paths = [f"{folder}/{file}"] if folder else []
            # a .java file sits in its package's folders; Kotlin, Groovy or Scala files may sit anywhere
            yield paths + ([file] if not paths or not file.endswith(".java") else []), lines


def _cobertura(tree: ET.Element) -> Iterator[Raw]:
    roots = [(s.text or "").strip() for s in tree.iter("source") if (s.text or "").strip()]
    merged: dict[str, set[int]] = {}
    for cls in tree.iter("class"):
        lines = merged.setdefault(cls.get("filename") or "", set())
        lines.update(_count(line.get("number")) for line in cls.iter("line") if _count(line.get("hits")) > 0)
    for file, lines in merged.items():
        yield [os.path.join(r, file) for r in roots] + [file], lines


def _lcov(text: str) -> Iterator[Raw]:
    path: str | None = None
    lines: set[int] = set()
    for raw in text.splitlines():
        tag, _, value = raw.strip().partition(":")
        if tag == "SF":
            path, lines = value.strip(), set()
        elif tag == "DA" and path is not None:
            parts = value.split(",")
            if len(parts) >= 2 and parts[0].strip().isdigit() and _count(parts[1]) > 0:
                lines.add(int(parts[0]))
        elif raw.strip() == "end_of_record" and path is not None:
            yield [path], lines
            path = None
    if path is not None:  # a report cut short: what it holds still counts
        yield [path], lines


def _count(value: str | None) -> int:
    """A count or line number as a report writes it; 0 for anything else."""
    try:
        return int(float(value or 0))
    except (ValueError, OverflowError):
        return 0


def _map(kind: str, entries: list[Raw], tracked: Sequence[str], root: str | None) -> Coverage:
    index = PathIndex(tracked)
    tops = sorted({os.path.normpath(root), os.path.realpath(root)}) if root else []
    lines: dict[str, set[int]] = {}
    unmatched: list[str] = []
    ambiguous: list[str] = []
    files = 0
    for candidates, numbers in entries:
        executed = {n for n in numbers if n > 0}
        if not executed:
            continue
        files += 1
        hit, why = _locate(index, candidates, tops)
        if hit is None:
            (ambiguous if why == "ambiguous" else unmatched).append(candidates[-1])
            continue
        lines.setdefault(hit, set()).update(executed)
    log.info("coverage (%s): %d file(s) with executed lines, %d mapped, %d not tracked, %d ambiguous",
             kind, files, files - len(unmatched) - len(ambiguous), len(unmatched), len(ambiguous))
    return Coverage(kind, {p: frozenset(v) for p, v in sorted(lines.items())}, files, tuple(unmatched),
                    tuple(ambiguous))


def _locate(index: PathIndex, candidates: list[str], tops: list[str]) -> tuple[str | None, str]:
    """The tracked file the first candidate that names one names; else why none did. Pure string
    work: a path the report names is never opened nor looked up on disk."""
    why = "unmatched"
    for printed in candidates:
        for top in tops if os.path.isabs(printed) else ():
            rel = os.path.relpath(os.path.normpath(printed), top).replace(os.sep, "/")
            if rel in index.paths:
                return rel, ""
        split = split_path(printed)
        if split is None:
            continue
        hit = index.lookup(*split)
        if hit is not None:
            return hit, ""
        if index.names_several(split[0]):
            why = "ambiguous"
    return None, why


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
    coverage.py JSON  `coverage json`: files -> executed_lines; with `--show-contexts`, the tests
                      that ran each line (below)
    Go profile        `go test -coverprofile`: `mode:` then `import/path/file.go:l.c,l.c stmts count`,
                      every line of a block with count > 0 (the line a block merely ends on, at
                      its first column, is not the block's)

A coverage.py JSON report with a context per test (`pytest --cov=. --cov-context=test` then
`coverage json --show-contexts`, or coverage's own `dynamic_context = test_function`) holds the
whole suite's run: which tests ran each line. The failing tests are then those contexts that name
a test of the trace, their lines are the executed ones, and each line is weighted by how much more
the failing tests ran it than the passing ones (Ochiai's suspiciousness, `PerTest.resolve`), as in
spectrum-based fault localisation.

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
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rca_lsp.errors import TraceError
from rca_lsp.traces.base import split_params
from rca_lsp.traces.resolve import PathIndex, split_path
from rca_lsp.types import TestId

log = logging.getLogger(__name__)

MAX_REPORT_BYTES = 512 * 1024 * 1024
_JACOCO_DOCTYPE = re.compile(r'<!DOCTYPE\s+report\s+PUBLIC\s+"[^"<>\[\]]*"\s+"[^"<>\[\]]*"\s*>')
_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)

Raw = tuple[list[str], set[int]]  # the paths a report entry may mean (best first), its executed lines
Contexts = dict[int, list[str]]  # line -> the contexts (tests; "": none) that ran it, as the report names them


@dataclass(frozen=True)
class Spectrum:
    """What the failing tests ran, from a report with a context per test (`PerTest.resolve`)."""

    executed: dict[str, set[int]]  # lines some failing test ran
    suspicion: dict[str, dict[int, float]]  # Ochiai of each of those lines, 0..1
    failing: int  # contexts that name a failing test
    passing: int  # the other contexts


@dataclass(frozen=True)
class PerTest:
    """Which tests (contexts, by index into `names`) ran each line, per tracked path, and the lines
    that ran outside any test (the empty context: imports, collection)."""

    names: tuple[str, ...]
    lines: dict[str, dict[int, frozenset[int]]]
    imported: dict[str, frozenset[int]] = field(default_factory=dict)

    def resolve(self, tests: Sequence[TestId]) -> Spectrum | None:
        """The failing tests' lines and their suspiciousness; None where no context names one of
        `tests`. The lines that ran outside any test are executed too, as in a report of the
        failing test alone: a `def` line runs once, when its module is imported, never in a test's
        context, and retrieval keeps the header of a function whose body ran (`run_by_the_test`).
        Ochiai: ef / sqrt(F * (ef + ep)), with ef and ep the failing and passing contexts that ran
        the line and F the failing contexts: 1 for a line every failing test ran and no passing
        one, less the more passing tests ran it too."""
        wanted = [w for w in (_test_key(t) for t in tests) if w is not None]
        failing = {i for i, name in enumerate(self.names)
                   if (key := context_key(name)) is not None and any(_same_test(key, w) for w in wanted)}
        if not failing:
            return None
        executed: dict[str, set[int]] = {path: set(lines) for path, lines in self.imported.items()}
        suspicion: dict[str, dict[int, float]] = {}
        for path, by_line in self.lines.items():
            for line, ran in by_line.items():
                ef = len(ran & failing)
                if ef:
                    executed.setdefault(path, set()).add(line)
                    suspicion.setdefault(path, {})[line] = ef / math.sqrt(len(failing) * len(ran))
        return Spectrum(executed, suspicion, len(failing), len(self.names) - len(failing))


TestKey = tuple[str | None, str | None, str, str | None]  # module stem, class, function, parameters


def context_key(name: str) -> TestKey | None:
    """A context as (module stem, class, function, parameters or None): pytest-cov's node ids
    (`tests/test_a.py::TestK::test_x[1]|run`) and coverage's `test_function` names
    (`test_a.TestK.test_x`, `pkg.tests.test_a.test_y`: a class is told by its capital)."""
    head, bar, phase = name.rpartition("|")
    if bar and phase in ("run", "setup", "teardown"):
        name = head
    if not name:
        return None
    if "::" in name:
        parts = name.split("::")
        func, params = split_params(parts[-1])
        cls = parts[-2] if len(parts) >= 3 else None
        return _stem(parts[0]), cls, func, params or None
    parts = name.split(".")
    func = parts[-1]
    if len(parts) >= 3 and parts[-2][:1].isupper():
        return parts[-3], parts[-2], func, None
    return (parts[-2] if len(parts) >= 2 else None), None, func, None


def _test_key(test: TestId) -> TestKey | None:
    container = test.container
    if "::" in container:
        file, _, cls = container.partition("::")
        return _stem(file), cls.rpartition("::")[2] or None, test.name, test.params.strip() or None
    if "/" in container or "\\" in container or container.endswith(".py"):
        return _stem(container), None, test.name, test.params.strip() or None
    key = context_key(f"{container}.{test.name}")
    return None if key is None else (key[0], key[1], key[2], test.params.strip() or None)


def _same_test(context: TestKey, test: TestKey) -> bool:
    """The same function of the same class and module; the same case where both name one."""
    return (context[2] == test[2] and context[1] == test[1]
            and (context[0] is None or test[0] is None or context[0] == test[0])
            and (context[3] is None or test[3] is None or context[3] == test[3]))


def _stem(path: str) -> str:
    name = path.replace("\\", "/").rpartition("/")[2]
    return name[:-3] if name.endswith(".py") else name


@dataclass(frozen=True)
class Coverage:
    """Executed lines per tracked, repository-relative path, and what could not be mapped."""

    format: str
    lines: dict[str, frozenset[int]]
    files: int  # entries of the report with at least one executed line
    unmatched: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()
    per_test: PerTest | None = None  # the tests that ran each line, where the report names them

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


JACOCO_EXEC = b"\x01\xc0\xc0"  # an exec file's first block: the header, then its magic number 0xC0C0


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
    if data.startswith(b"SQLite format 3\x00"):  # what `coverage run` writes (.coverage), not a report
        raise TraceError(f"coverage report {name} is coverage.py's data file, not a report: write one with "
                         "`coverage json -o coverage.json` and give that")
    if data.startswith(JACOCO_EXEC):  # what the JaCoCo agent writes (jacoco.exec), not a report
        raise TraceError(f"coverage report {name} is JaCoCo's execution data, not a report: write the XML report "
                         "with `mvn jacoco:report` (target/site/jacoco/jacoco.xml), Gradle's jacocoTestReport, or "
                         "`jacococli report <exec> --classfiles <dir> --xml jacoco.xml`, and give that")
    return parse_coverage(data.decode("utf-8", errors="replace"), tracked, root, name)


def parse_coverage(text: str, tracked: Sequence[str], root: str | None = None, name: str = "-") -> Coverage:
    """The executed lines of a report's text; see the module docstring for the formats."""
    contexts: list[Contexts] = []
    kind, entries = _entries(text.lstrip("\ufeff \t\r\n"), name, contexts)
    return _map(kind, entries, tracked, root, contexts)


def _entries(text: str, name: str, contexts: list[Contexts]) -> tuple[str, list[Raw]]:
    if not text.strip():
        raise TraceError(f"coverage report {name} is empty")
    if text.startswith("{"):
        return "coverage.py JSON", _coverage_json(text, name, contexts)
    if text.startswith("<"):
        return _xml(text, name)
    if re.match(r"(?:TN|SF):", text):
        return "LCOV", list(_lcov(text))
    if re.match(r"mode: (?:set|count|atomic)\s", text):
        return "Go coverage profile", list(_go_profile(text))
    raise TraceError(f"coverage report {name} is not a coverage report: expected JaCoCo XML, Cobertura XML, "
                     "LCOV, coverage.py JSON or a Go coverage profile")


def _coverage_json(text: str, name: str, contexts: list[Contexts]) -> list[Raw]:
    """The entries; each one's contexts (`--show-contexts`) appended to `contexts`, in order."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TraceError(f"coverage report {name} is malformed JSON: {exc}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("executed_lines"), list)
                                              for v in files.values()):
        raise TraceError(f"coverage report {name} is JSON but not coverage.py's (`coverage json`): "
                         "no files -> executed_lines")
    entries: list[Raw] = []
    for path, entry in files.items():
        entries.append(([str(path)], {n for n in entry["executed_lines"] if type(n) is int}))
        shown = entry.get("contexts")
        contexts.append({int(line): [c for c in names if isinstance(c, str)]
                         for line, names in shown.items() if str(line).isdigit() and isinstance(names, list)}
                        if isinstance(shown, dict) else {})
    return entries


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


_GO_BLOCK = re.compile(r"(.+):(\d+)\.(\d+),(\d+)\.(\d+) \d+ (\d+)")


def _go_profile(text: str) -> Iterator[Raw]:
    merged: dict[str, set[int]] = {}
    for raw in text.splitlines()[1:]:
        m = _GO_BLOCK.fullmatch(raw.strip())
        if m is None:
            continue
        path, start, end, end_col, count = m.group(1), int(m.group(2)), int(m.group(4)), int(m.group(5)), int(m.group(6))
        lines = merged.setdefault(path, set())
        if count > 0 and 0 < start <= end:
            last = end if end_col > 1 or end == start else end - 1  # `}` at the start of the block's end line
            lines.update(range(start, min(last, start + 100_000) + 1))
    for path, lines in merged.items():
        yield [path], lines


def _count(value: str | None) -> int:
    """A count or line number as a report writes it; 0 for anything else."""
    try:
        return int(float(value or 0))
    except (ValueError, OverflowError):
        return 0


def _map(kind: str, entries: list[Raw], tracked: Sequence[str], root: str | None,
         contexts: list[Contexts]) -> Coverage:
    index = PathIndex(tracked)
    tops = sorted({os.path.normpath(root), os.path.realpath(root)}) if root else []
    lines: dict[str, set[int]] = {}
    unmatched: list[str] = []
    ambiguous: list[str] = []
    names: dict[str, int] = {}
    ran: dict[str, dict[int, set[int]]] = {}
    imported: dict[str, set[int]] = {}
    files = 0
    for i, (candidates, numbers) in enumerate(entries):
        executed = {n for n in numbers if n > 0}
        if not executed:
            continue
        files += 1
        hit, why = _locate(index, candidates, tops)
        if hit is None:
            (ambiguous if why == "ambiguous" else unmatched).append(candidates[-1])
            continue
        lines.setdefault(hit, set()).update(executed)
        for line, tests in (contexts[i] if i < len(contexts) else {}).items():
            if line not in executed:
                continue
            if "" in tests:
                imported.setdefault(hit, set()).add(line)
            if any(tests):
                ran.setdefault(hit, {}).setdefault(line, set()).update(
                    names.setdefault(t, len(names)) for t in tests if t)
    log.info("coverage (%s): %d file(s) with executed lines, %d mapped, %d not tracked, %d ambiguous",
             kind, files, files - len(unmatched) - len(ambiguous), len(unmatched), len(ambiguous))
    per_test = (PerTest(tuple(names), {p: {n: frozenset(t) for n, t in by.items()} for p, by in ran.items()},
                        {p: frozenset(v) for p, v in imported.items()})
                if names else None)
    return Coverage(kind, {p: frozenset(v) for p, v in sorted(lines.items())}, files, tuple(unmatched),
                    tuple(ambiguous), per_test)


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


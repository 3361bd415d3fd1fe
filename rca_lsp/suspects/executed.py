"""The executed feature: commits that last changed lines the failing run executed (`rca bisect`'s
traced window, or the failing tests' own contexts of a coverage report: `rca suspects --coverage`).
Retrieval adds its points (`retrieve.find_suspects`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.code.languages import language_for_path
from rca_lsp.index import queries
from rca_lsp.kinds import EvidenceKind
from rca_lsp.suspects.code_view import CodeView
from rca_lsp.suspects.history import History, at_head
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Evidence, Trace

if TYPE_CHECKING:
    from rca_lsp.traces.coverage import PerTest


def run_by_the_test(view: CodeView, path: str, lines: set[int], head: dict[int, int] | None = None) -> set[int]:
    """The executed lines of a Python file that ran because the test called something: those of
    functions whose body ran, their header (decorators, the `def` line with its defaults, which
    the call used) included. A module's top level, class bodies and the headers of functions that
    never ran run when the module is imported, and coverage counts them for every test that imports
    it: they say the module was loaded, not what the test ran. Other languages' lines are kept.
    The lines are the work tree's; with `head` (`at_head` of them: the work tree's edits to the
    file) the answer is in HEAD's numbering, as the index's functions are."""
    head = head if head is not None else {n: n for n in lines}
    if language_for_path(path) != "python":
        return set(head)
    functions = [s for s in view.symbols(path) if s.kind in ("function", "method", "constructor")]
    if not functions:
        return set(head)
    work_headers = _header_lines(view.root / path, lines)
    headers = {h for h, n in head.items() if n in work_headers}
    lines = set(head)
    ordered = sorted(lines)
    kept: set[int] = set()
    for s in functions:
        span = ordered[bisect_left(ordered, s.start_line):bisect_right(ordered, s.end_line)]
        if any(n not in headers for n in span):
            kept.update(span)
    return kept


def _header_lines(file: Path, lines: set[int]) -> set[int]:
    """Which of `lines` of a Python file are decorators, `def` or `class` lines (read from the work
    tree, whose lines the report numbers)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {n for n in lines if 0 < n <= len(text) and text[n - 1].lstrip().startswith(_HEADERS)}


_HEADERS = ("@", "def ", "async def ", "class ")


def executed_points(history: History, executed: dict[str, set[int]], view: CodeView | None,
                    suspicion: dict[str, dict[int, float]] | None = None,
                    worktree: dict[str, list[tuple[int, int, int, int]]] | None = None
                    ) -> Iterator[tuple[int, float, Evidence]]:
    """Commits that last changed lines the failing run executed (blame of each such line; with a
    `view`, in Python only the lines `run_by_the_test` keeps): half a point for any, the other half
    by the share of the code lines it added that ran. With the passing tests' runs too
    (`suspicion`: each line's Ochiai, rca_lsp.traces.coverage.PerTest) the evidence names the
    commit's most suspicious line first; the value is not scaled by it: on the training data
    (BENCHMARKS.md) a seeded culprit's line ran in many passing tests too, and scaling by Ochiai
    ranked no better than the failing tests' lines alone. `worktree`: the work tree's uncommitted
    changes to files the report numbers (the run was the work tree's); blame walks back from HEAD's
    numbering, and the evidence names the work tree's lines, where the report saw them."""
    owned: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for path in sorted(executed):
        if is_test_path(path):
            continue
        hunks = (worktree or {}).get(path)
        work = at_head(executed[path], hunks)  # HEAD line -> the work tree's
        ran = run_by_the_test(view, path, executed[path], work) if view is not None else set(work)
        for line, hit in sorted(history.blame_lines(path, ran).items()):
            owned[hit.commit_id].append((path, work[line]))
    for commit_id, lines in owned.items():
        if suspicion is not None:
            lines.sort(key=lambda pl: -suspicion.get(pl[0], {}).get(pl[1], 0.0))
        where = ", ".join(f"{p}:{n}" for p, n in lines[:3]) + (f" and {len(lines) - 3} more" if len(lines) > 3 else "")
        path, line = lines[0]
        added = sum(a for p, a in queries.lines_added(history.index, commit_id) if not is_test_path(p))
        value = 0.5 + 0.5 * min(1.0, len(lines) / max(added, 1))  # a commit that ran in full: a mass edit ran in part
        note = ""
        if suspicion is not None:
            top = suspicion.get(path, {}).get(line, 0.0)
            note = f"; its most suspicious line {top:.2f} (Ochiai over the failing and passing tests' runs)"
        yield commit_id, value, Evidence(
            EvidenceKind.EXECUTED, value, f"{len(lines)} line{'s' if len(lines) > 1 else ''} it last changed ran in the failing"
            f" test ({where}){note}", path, line)


def spectrum(per_test: PerTest, traces: list[Trace], warnings: list[str]
             ) -> tuple[dict[str, set[int]], dict[str, dict[int, float]]] | None:
    """The executed lines and their suspiciousness from the contexts that name the trace's failing
    tests; None, with a warning, when no context names one."""
    found = per_test.resolve([t.test for t in traces if t.test is not None])
    if found is None:
        warnings.append(f"the coverage report's {len(per_test.names)} test contexts name none of the trace's "
                        "failing tests; ranked without coverage")
        return None
    return found.executed, found.suspicion

"""Logical coupling: the code that changes together with the failing test's file.

A failing test often names nothing the call graph can follow: its assertion fires in the test,
and the code it exercises sits behind a pipeline or dynamic dispatch (`sqlparse.format` runs
filters chosen at run time). The history still knows what that test is about: the commits that
changed the test file also changed the code it tests. A source file's coupling to a test file is
the share of the test file's commits (those of at most `MAX_FILES` files: a mass edit couples
nothing) that also changed it; a candidate gets the best coupling among the files it changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from rca_lsp.index import queries
from rca_lsp.kinds import EvidenceKind
from rca_lsp.suspects.history import History
from rca_lsp.testpaths import is_test_path
from rca_lsp.types import Evidence, Trace

MAX_FILES = 20  # a commit changing more files says little about which of them a test is about
MIN_COMMITS = 2  # a coupling seen once is a coincidence
TEST_DECAY = 0.5  # the k-th failing test file counts 1 / (1 + 0.5 k)


def failing_test_files(traces: list[Trace], tracked: set[str]) -> dict[str, float]:
    """The failing tests' files, first named first: the test's own path, then test-file frames."""
    out: dict[str, float] = {}
    for trace in traces:
        paths = [trace.test.path] if trace.test and trace.test.path else []
        paths += [f.path for f in trace.all_frames() if f.path and not f.external]
        for path in paths:
            if path and path in tracked and is_test_path(path) and path not in out:
                out[path] = 1.0 / (1.0 + TEST_DECAY * len(out))
    return out


def coupled_files(history: History, tests: dict[str, float]) -> dict[str, tuple[float, str, float]]:
    """Source file -> (coupling weighted by its test file's rank, that test file, the plain share)."""
    best: dict[str, tuple[float, str, float]] = {}
    for test, weight in tests.items():
        commits = queries.commits_touching(history.index, test)
        together: Counter[str] = Counter()
        counted = 0
        for commit_id in commits:
            paths = queries.paths_of(history.index, commit_id)
            if len(paths) > MAX_FILES:
                continue
            counted += 1
            together.update(p for p in sorted(set(paths)) if not is_test_path(p))  # sorted: the same evidence order on every run
        for path, n in together.items():
            value = weight * n / counted
            if n >= MIN_COMMITS and value > best.get(path, (0.0,))[0]:
                best[path] = (value, test, n / counted)
    return best


def coupling_points(history: History, coupled: dict[str, tuple[float, str, float]]
                    ) -> Iterator[tuple[int, float, Evidence]]:
    """(commit, value, evidence) for every candidate that changed a file coupled to a failing test."""
    for path, (value, test, share) in coupled.items():
        for commit_id in queries.commits_touching(history.index, path):
            if commit_id in history.position:
                yield commit_id, value, Evidence(
                    EvidenceKind.COUPLING, value, f"changed {path}, which changes with the failing test's file {test}"
                    f" ({share:.0%} of its commits)", path)

"""pytest's collection errors: output in which no test ran because a test module failed to import.

pytest prints a section `ERROR collecting tests/test_ops.py` for each test module it could not
collect (for an import: `ImportError while importing test module ...`, the import's traceback and
its `E   ModuleNotFoundError: ...` line), `ERROR tests/test_ops.py` in its summary and, unless told
to go on, `Interrupted: 1 error during collection` (exit 2). The traceback parses as any other and
is ranked, but it is the import's, not a failing test's: `collection_warnings` says so, naming
each module and its error, so that nobody reads the ranking as that of a failing test.

`python -m unittest` reports a test module that failed to import as a test of its own that erred,
`ERROR: test_ops (unittest.loader._FailedTest.test_ops)`, then `ImportError: Failed to import test
module: test_ops` and the import's traceback: `import_errors` reads these, and the same warning
names them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rca_lsp.traces.base import exception_line
from rca_lsp.traces.clean import make_doc

_HEADER = re.compile(r"_{2,} ERROR collecting (?P<module>\S(?:.*\S)?) _{2,}")
_SECTION_END = re.compile(r"_{2,} .* _{2,}|={3,}( .* ={3,})?")
_DURING = re.compile(r"\b\d+ errors? during collection\b")
_SUMMARY = re.compile(r"ERROR (?P<module>\S+\.py)(?: - (?P<why>.+))?")
_INTERRUPTED = re.compile(r"Interrupted: \d+ errors? during collection")
_RAN = re.compile(r"\b\d+ (?:passed|failed)\b")  # --continue-on-collection-errors: the other tests ran
SHOWN = 3  # modules named in the warning; more are counted
MESSAGE = 100  # characters of each module's error
_FAILED_IMPORT = re.compile(r"ImportError: Failed to import test module: (?P<module>\S+)")
_UNITTEST_END = re.compile(r"={20,}|-{20,}|Ran \d+ tests? in .*")  # a unittest report's end
_UNITTEST_RAN = re.compile(r"\bRan (?P<tests>\d+) tests? in ")
NO_RUN = ("pytest's output is a collection error, not a test failure",  # how the warning starts where no test ran
          "unittest's output is an import error, not a test failure")


def collection_errors(text: str) -> list[tuple[str, str | None]]:
    """(test module, its error as `Type: message`, or None where the output does not give it) for
    each module pytest failed to collect, in the output's order; empty for any other text."""
    if "ERROR collecting" not in text and "during collection" not in text:
        return []  # the usual case, without cleaning the text again
    lines = make_doc(text).plain
    found = _sections(lines, _HEADER, _SECTION_END)
    if not found and any(_DURING.search(line) for line in lines):  # no sections: --tb=no, or the summary alone
        for line in lines:
            summary = _SUMMARY.fullmatch(line.strip())
            if summary is not None:
                found.setdefault(summary["module"], summary["why"])
    return list(found.items())


def import_errors(text: str) -> list[tuple[str, str | None]]:
    """(test module, its error as `Type: message`, or None where the output does not give it) for
    each module `python -m unittest` failed to import, in the output's order; empty for any other text."""
    if "Failed to import test module: " not in text:
        return []
    return list(_sections(make_doc(text).plain, _FAILED_IMPORT, _UNITTEST_END).items())


def _sections(lines: Sequence[str], header: re.Pattern[str], end: re.Pattern[str]) -> dict[str, str | None]:
    """Test module -> the last exception line (`Type: message`) of its section, for each line that
    `header` matches (its group "module"), the section running to a line `end` matches."""
    found: dict[str, str | None] = {}
    for i, line in enumerate(lines):
        start = header.fullmatch(line.strip())
        if start is None:
            continue
        error = None
        for later in lines[i + 1:]:
            if end.fullmatch(later.strip()):
                break
            exc = exception_line(later, strict=True)
            if exc is not None:
                error = f"{exc[0]}: {exc[1]}" if exc[1] else exc[0]
        found.setdefault(start["module"], error)
    return found


def _short(error: str) -> str:
    return error if len(error) <= MESSAGE else error[:MESSAGE - 3].rstrip() + "..."


def _failed(errors: list[tuple[str, str | None]]) -> str:
    named = [f"{module} ({_short(error)})" if error else module for module, error in errors[:SHOWN]]
    return ", ".join(named) + (f" and {len(errors) - SHOWN} more" if len(errors) > SHOWN else "")


def collection_warnings(text: str) -> list[str]:
    """The one warning for a pytest collection error, or a unittest import error, in `text` (none
    for any other text)."""
    errors = collection_errors(text)
    if not errors:
        return _unittest_warnings(text)
    if _INTERRUPTED.search(text) or not _RAN.search(text):
        return [f"{NO_RUN[0]}: the tests did not run, so the trace "
                f"is of the import; failed to import: {_failed(errors)}"]
    return [f"pytest's output holds a collection error: the tests of a module that failed to import did not run, "
            f"so its trace is of the import, not of a failing test; failed to import: {_failed(errors)}"]


def _unittest_warnings(text: str) -> list[str]:
    errors = import_errors(text)
    if not errors:
        return []
    ran = [int(m["tests"]) for m in _UNITTEST_RAN.finditer(text)]
    if not ran or sum(ran) <= len(errors):  # each module that failed to import counts as one test run
        return [f"{NO_RUN[1]}: the tests did not run, so the trace "
                f"is of the import; failed to import: {_failed(errors)}"]
    return [f"unittest's output holds an import error: the tests of a module that failed to import did not run, "
            f"so its trace is of the import, not of a failing test; failed to import: {_failed(errors)}"]

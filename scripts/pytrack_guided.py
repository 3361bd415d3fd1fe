"""Coverage-guided candidates for the training-data builder (pytrack_cases.COVERAGE_GUIDED, set by
scripts/dataset_build.py): which tests run each library line at a window's end, so that only lines
old passing tests run are seeded, each tried on those tests alone. Standard library only (the
coverage run itself is pytest-cov's, in the repository's test venv).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytrack_candidates import is_library_file
from pytrack_git import checkout, run_git
from pytrack_pytest import Coverage, covering_tests

if TYPE_CHECKING:
    from pytrack_cases import RepoSpec

MAX_TARGETS = 200  # more covering tests than this: their files are run instead
MANY_TARGETS = 20  # more covering tests than this: they get a whole suite's CPU time


def guided_targets(spec: RepoSpec, work: Path, end: str, base: str | None,
                   passed_end: set[str], python: Path) -> dict[tuple[str, int], list[str]] | None:
    """(end path, end line) -> the tests to try a mutation of that library line on: those that run
    it (covering_tests at `end`), pass at `end`, and whose test function is already in its file at
    `base` (when given). Lines without such a test are left out. None (the unguided rule) where
    coverage could not be measured."""
    checkout(work, end)
    covered: Coverage | None = covering_tests(python, work, spec)
    if covered is None:
        print(f"  {spec.name}: coverage could not be measured; candidates are tried unguided", file=sys.stderr,
              flush=True)
        return None
    texts: dict[tuple[str, str], str] = {}
    known: dict[str, bool] = {}

    def text(rev: str, path: str) -> str:
        if (rev, path) not in texts:
            shown = run_git(["show", f"{rev}:{path}"], cwd=work, check=False)
            texts[(rev, path)] = shown.stdout if shown.returncode == 0 else ""
        return texts[(rev, path)]

    def existed(nodeid: str) -> bool:
        """Passes at the end, and its function is in its file at the base; or its file does not
        define it at all (lark's tests/__main__.py imports its test classes): the ground-truth
        runs then decide."""
        if nodeid not in known:
            path = nodeid.split("::", 1)[0]
            define = f"def {nodeid.split('::')[-1].split('[', 1)[0]}("
            known[nodeid] = nodeid in passed_end and (base is None or define in text(base, path)
                                                      or define not in text(end, path))
        return known[nodeid]

    result: dict[tuple[str, int], list[str]] = {}
    for key, tests in covered.items():
        if is_library_file(spec, key[0]):
            kept = sorted(t for t in tests if existed(t))
            if kept:
                result[key] = kept
    return result

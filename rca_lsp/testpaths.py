"""Which repository paths hold tests: one rule for retrieval, the model's diff order and the benchmarks.

A test file's change is weak evidence (the failing test is usually the newest change to it) and a
test frame is where a failure is seen, not caused; so every part of rca that tells test code from
code under test asks here. The rule is by path alone (folders named test/tests/testing/spec/
__tests__, and the file-name conventions of Python, Go, Java/Kotlin/Scala/C#, JavaScript/TypeScript),
so it needs no file content and gives the same answer at every revision.
"""

from __future__ import annotations

import re

_TEST_PATH = re.compile(r"(^|/)(tests?|testing|spec|__tests__)(/|$)|(^|/)test_[^/]*\.py$|_test\.(py|go)$"
                        r"|Tests?\.(java|kt|scala|cs)$|(^|/)Test[A-Z][^/]*\.java$|\.(test|spec)\.[jt]sx?$")


def is_test_path(path: str) -> bool:
    """True for a repository path (POSIX, relative) that holds tests."""
    return bool(_TEST_PATH.search(path))

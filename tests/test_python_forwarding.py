"""A class that forwards what it lacks (`__getattr__`, as TinyDB's database hands unknown calls to its
default table): `db.remove(..)` on a `db: Database` has no member `remove` to resolve to, and by
its name it is `Table.remove`, which the walk now reaches."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.code.graph import CallGraph
from rca_lsp.vcs.git import GitRepo

DATABASE = '''\
"""A small document store whose database hands unknown calls to its default table (as TinyDB does)."""


class Table:
    def __init__(self):
        self._docs = []

    def insert(self, doc):
        self._docs.append(doc)

    def remove(self, key, value):
        self._docs = [d for d in self._docs if d.get(key) != value]

    def count(self, key, value):
        return sum(1 for d in self._docs if d.get(key) == value)

    def __len__(self):
        return len(self._docs)


class Database:
    def __init__(self):
        self._default = Table()

    def __getattr__(self, name):
        """Forward all unknown attribute calls to the default table."""
        return getattr(self._default, name)

    def __len__(self):
        return len(self._default)
'''

INIT = '''\
from store.database import Database, Table

__all__ = ["Database", "Table"]
'''

TESTS = '''\
import pytest

from store import Database


@pytest.fixture
def db() -> Database:
    db = Database()
    for char in "abb":
        db.insert({"char": char})
    return db


def test_remove(db: Database):
    db.remove("char", "b")
    assert len(db) == 1
    assert db.count("char", "a") == 1
'''

# The real output of `python -m pytest tests` (pytest 9.0.3, Python 3.11.7, 2026-12-05) on these files
# with the "Keep what matches" change below applied.
TRACE = '''\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.0.3, pluggy-1.6.0
benchmark: 5.2.3 (defaults: timer=time.perf_counter disable_gc=False min_rounds=5 min_time=0.000005 max_time=1.0 calibration_precision=10 warmup=False warmup_iterations=100000)
rootdir: /tmp/s14/ga
plugins: asyncio-1.5.0, hypothesis-6.155.2, lsp-1.0.1, benchmark-5.2.3, cov-7.1.0
asyncio: mode=Mode.STRICT, debug=False, asyncio_default_fixture_loop_scope=None, asyncio_default_test_loop_scope=function
collected 1 item

tests/test_database.py F                                                 [100%]

=================================== FAILURES ===================================
_________________________________ test_remove __________________________________

db = <store.database.Database object at 0x7ff4217d8d50>

    def test_remove(db: Database):
        db.remove("char", "b")
>       assert len(db) == 1
E       assert 2 == 1
E        +  where 2 = len(<store.database.Database object at 0x7ff4217d8d50>)

tests/test_database.py:16: AssertionError
=========================== short test summary info ============================
FAILED tests/test_database.py::test_remove - assert 2 == 1
============================== 1 failed in 0.62s ===============================
'''

BROKEN = DATABASE.replace("if d.get(key) != value]", "if d.get(key) == value]")


def test_a_call_a_class_forwards_resolves_by_name() -> None:
    graph = CallGraph.build([("store/database.py", DATABASE.encode()), ("tests/test_database.py", TESTS.encode())])
    reached = graph.callees("tests/test_database.py", "test_remove", hops=1)
    assert reached[("store/database.py", "Table.remove")] == 1.0  # the only `remove`
    assert reached[("store/database.py", "Table.count")] == 1.0
    assert ("store/database.py", "Table.insert") not in reached  # the fixture's, not the test's


def test_the_failing_test_reaches_the_forwarded_method_that_broke(git_repo) -> None:
    assert BROKEN != DATABASE
    git_repo.commit("Add the store", {"store/__init__.py": INIT, "store/database.py": DATABASE,
                                       "tests/test_database.py": TESTS})
    culprit = git_repo.commit("Keep what matches", {"store/database.py": BROKEN}, author="Bob")
    docs = git_repo.commit("Docs", {"README.md": "store\n"}, author="Carol")
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[docs]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any("changed Table.remove" in e.text and "test_remove" in e.text for e in suspect.evidence), \
        [e.text for e in suspect.evidence]

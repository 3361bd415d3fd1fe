"""The Python track's repositories (scripts/pytrack_cases.py): what a repository's cases need, and the
five libraries the benchmark pins. The training-data builder's are in scripts/dataset_repos.json."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepoSpec:
    name: str
    upstream: str
    head: str  # pinned upstream commit: windows are chosen on its first-parent history
    packages: tuple[str, ...]  # folders of the library's code, or single-module files (`parse.py`)
    since: str  # windows start after this date (code that runs on this Python)
    windows: int = 3  # windows that must give cases; conflicting or barren ones are replaced
    pytest_args: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()  # pip requirements of its tests besides pytest (never the library itself)
    dist: str = ""  # a distribution whose metadata alone the test venv gets (a library that reads its version from it)

    @property
    def since_cutoff(self) -> str:
        """`since` as git reads it the same at any hour: midnight UTC. A bare date (`--since=2013-05-20`)
        takes the current time of day, so which commits of that day count, and with them the
        seeded draw of windows, depended on when the builder ran. A `since` with a time of its own
        ("2020-01-01 14:00:00 +0000") is taken as it is."""
        return self.since if ":" in self.since else f"{self.since} 00:00:00 +0000"


REPOS = [
    RepoSpec("more-itertools", "more-itertools/more-itertools", "2fe1b2eeb9d75f994113fe3ac76d14b6bcd6fb10",
             ("more_itertools",), "2020-01-01"),
    RepoSpec("boltons", "mahmoud/boltons", "967864f89791509f9eb36b22b4579d36b72a6df2",
             ("boltons",), "2019-01-01"),  # before: few tests pass on 3.11 (ABCs from `collections`)
    RepoSpec("sqlparse", "andialbrecht/sqlparse", "60cdc649726bf1bc4f1b336050560b336da715ec",
             ("sqlparse",), "2017-01-01"),
    RepoSpec("cachetools", "tkem/cachetools", "28d4506f2a49d781ffbcecb095fa7aba5bb80aff",
             ("src/cachetools", "cachetools"), "2016-01-01", pytest_args=("-o", "pythonpath=src")),
    RepoSpec("toolz", "pytoolz/toolz", "568c2b8393973cd172a466546c9d95779c452438",
             ("toolz", "tlz"), "2018-01-01", windows=3),  # before 2018 the suite fails to collect on 3.11
]

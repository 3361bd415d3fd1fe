#!/usr/bin/env python3
"""Build a small, realistic git repository with one regression buried in its history.

The repository holds `datespan`, a pure-Python library of inclusive date ranges (spans,
calendar periods, parsing, business days, formatting) with a pytest suite, developed over
40 commits by four people between September 2023 and March 2024: features, refactors, a
module rename (`ranges` -> `periods`), docs, two merged feature branches and tests.

Commit 30 of 40, "Speed up month_span with a table of month lengths", replaces
`calendar.monthrange` by a table and a `year % 4` leap-year rule, which forgets that
century years are leap years only when divisible by 400: `month_span(2100, 2)` (and so
`parse_span("2100-02")`) raises `ValueError: day is out of range for month` on the line
that commit wrote. The committed tests only try 2023 and 2024, so they all pass. Ten more
commits follow on other parts of the code. Finally the work tree gets a new, uncommitted
test file, `tests/test_leap_years.py`, as a developer who just reproduced the bug would
have it; it fails.

Everything is generated from the data below, without network access, and is
deterministic: the same content and the same commit hashes on every run.

    python scripts/demo_repo.py                       # in a new temporary directory
    python scripts/demo_repo.py /tmp/datespan         # that directory must be new or empty
    python scripts/demo_repo.py --print-culprit DIR   # one JSON object: repo, culprit, test, ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------

PEOPLE = {
    "maya": ("Maya Okafor", "maya.okafor@example.com", "+0100"),
    "tomas": ("Tomás Herrera", "tomas.herrera@example.net", "-0300"),
    "priya": ("Priya Raman", "priya@example.org", "+0530"),
    "jonas": ("Jonas Lindqvist", "jonas.lindqvist@example.se", "+0100"),
}

CULPRIT_SUMMARY = "Speed up month_span with a table of month lengths"
NEW_TEST = "tests/test_leap_years.py"
NEW_TEST_NODE = NEW_TEST + "::test_parse_february_of_a_century_year"
CULPRIT_PATH = "datespan/periods.py"
CULPRIT_FUNCTION = "month_span"


# ---------------------------------------------------------------------------------------
# Operations on the work tree, and the steps of the history
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class W:
    """Write a whole file."""
    path: str
    text: str


@dataclass(frozen=True)
class A:
    """Append to a file."""
    path: str
    text: str


@dataclass(frozen=True)
class E:
    """Replace the one occurrence of `old` in a file by `new`."""
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class MV:
    """git mv."""
    old: str
    new: str


@dataclass(frozen=True)
class Commit:
    who: str
    when: str  # "YYYY-MM-DD HH:MM:SS", in the author's time zone
    message: str
    ops: tuple = ()


@dataclass(frozen=True)
class Branch:
    """Create a branch at HEAD and switch to it."""
    name: str


@dataclass(frozen=True)
class Switch:
    name: str


@dataclass(frozen=True)
class Merge:
    branch: str
    who: str
    when: str
    message: str
    delete: bool = True


@dataclass
class Built:
    repo: Path
    commits: list[str] = field(default_factory=list)
    culprit: str = ""


INIT_DOC = '''\
"""datespan: inclusive ranges of calendar dates.

    >>> from datespan import parse_span
    >>> q1 = parse_span("2024-Q1")
    >>> q1.days, q1.end
    (91, datetime.date(2024, 3, 31))

A Span holds both of its ends; see the README for the forms parse_span reads.
"""'''


def _init_py(version: str, exports: dict[str, list[str]]) -> str:
    """datespan/__init__.py re-exporting `exports` (module -> names)."""
    lines = [INIT_DOC if exports else '"""datespan: inclusive ranges of calendar dates."""', ""]
    names: list[str] = []
    for module in sorted(exports):
        items = sorted(exports[module], key=lambda n: (not n[0].isupper(), n))
        names.extend(items)
        lines.append(f"from datespan.{module} import {', '.join(items)}")
    lines += ["", f'__version__ = "{version}"']
    if names:
        lines += ["", "__all__ = ["]
        lines += [f'    "{n}",' for n in sorted(names, key=lambda n: (not n[0].isupper(), n))]
        lines.append("]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# File contents
# ---------------------------------------------------------------------------------------

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "datespan"
version = "0.1.0"
description = "Inclusive ranges of calendar dates: parse, split, count business days, print."
readme = "README.md"
requires-python = ">=3.9"
license = { text = "MIT" }
authors = [{ name = "Maya Okafor" }]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
'''

GITIGNORE = '''\
__pycache__/
*.py[cod]
.pytest_cache/
.venv/
build/
dist/
*.egg-info/
'''

README_INTRO = '''\
# datespan

Inclusive ranges of calendar dates for Python 3.9+, with no dependencies.

    >>> from datetime import date
    >>> from datespan import Span
    >>> Span(date(2024, 3, 1), date(2024, 3, 31)).days
    31
'''

README_EARLY = README_INTRO + '''
Early days: the API may still change.
'''

README_SYNTAX = '''
## Span syntax

`parse_span` reads the forms people type:

| Text                             | Span                                          |
|----------------------------------|-----------------------------------------------|
| `2024`                           | 1 January to 31 December 2024                 |
| `2024-Q2`                        | 1 April to 30 June 2024                       |
| `2024-03`                        | the whole of March 2024                       |
| `2024-03-05`                     | that one day                                  |
| `today`, `yesterday`, `tomorrow` | one day, relative to today                    |
| `FROM..TO`                       | any two of the above, e.g. `2024-01..2024-Q2` |

Both ends are included: `2024-03-01..2024-03-31` is 31 days long.
'''

README_BUSINESS = '''
## Business days

    >>> from datespan import WorkCalendar, fixed_holidays, parse_span
    >>> cal = WorkCalendar(holidays=fixed_holidays([2024], [(1, 1), (12, 25)]))
    >>> cal.count(parse_span("2024-12"))
    21
    >>> cal.add_business_days(date(2024, 12, 20), 3)
    datetime.date(2024, 12, 26)

`weekend=` takes the weekday numbers (Monday is 0) that are not busines days,
for calendars where the weekend is Friday and Saturday: `WorkCalendar(weekend=[4, 5])`.
'''

README_CONTRIBUTING = '''
## Contributing

Run the tests with `python -m pytest`. Please add a test with every fix.
'''

ERRORS = '''\
"""Exceptions raised by datespan."""


class DatespanError(Exception):
    """Base class of every datespan error."""


class InvalidSpan(DatespanError, ValueError):
    """A span whose end comes before its start."""


class ParseError(DatespanError, ValueError):
    """Text that does not describe a date or a span."""
'''

SPAN = '''\
"""Span: an inclusive range of calendar dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterator

from datespan.errors import InvalidSpan

ONE_DAY = timedelta(days=1)


class Span:
    """Every day from ``start`` to ``end``, both included."""

    __slots__ = ("start", "end")

    def __init__(self, start: date, end: date) -> None:
        if end < start:
            raise InvalidSpan(f"span ends ({end}) before it starts ({start})")
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Span({self.start.isoformat()}, {self.end.isoformat()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return (self.start, self.end) == (other.start, other.end)

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    @property
    def days(self) -> int:
        """How many days the span holds, both ends included."""
        return (self.end - self.start).days + 1

    def __len__(self) -> int:
        return self.days

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __iter__(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY
'''

SPAN_OVERLAPS = '''
    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one day."""
        return self.start <= other.end and other.start <= self.end

    def intersection(self, other: Span) -> Span | None:
        """The days in both spans, or None when they do not overlap."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        if start > end:
            return None
        return Span(start, end)
'''

SPAN_UNION = '''
    def union(self, other: Span) -> Span:
        """One span covering both; they must overlap or touch."""
        touching = self.end + ONE_DAY == other.start or other.end + ONE_DAY == self.start
        if not (touching or self.overlaps(other)):
            raise InvalidSpan(f"{self!r} and {other!r} neither overlap nor touch")
        return Span(min(self.start, other.start), max(self.end, other.end))
'''

SPAN_SHIFT = '''\
    def shift(self, days: int) -> Span:
        """As many days, moved ``days`` later (earlier when negative)."""
        delta = timedelta(days=days)
        return Span(self.start + delta, self.end + delta)

'''

MERGE_SPANS = '''

def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Coalesce overlapping and adjacent spans: the result is sorted and disjoint."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1].end + ONE_DAY:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged
'''

TEST_SPAN = '''\
from datetime import date

import pytest

from datespan.errors import InvalidSpan
from datespan.span import Span


def test_days_counts_both_ends():
    assert Span(date(2024, 3, 1), date(2024, 3, 31)).days == 31
    assert Span(date(2024, 3, 5), date(2024, 3, 5)).days == 1


def test_end_before_start_is_rejected():
    with pytest.raises(InvalidSpan):
        Span(date(2024, 3, 5), date(2024, 3, 4))


def test_contains_is_inclusive():
    span = Span(date(2024, 3, 1), date(2024, 3, 31))
    assert date(2024, 3, 1) in span
    assert date(2024, 3, 31) in span
    assert date(2024, 4, 1) not in span


def test_iteration_yields_every_day():
    days = list(Span(date(2023, 12, 30), date(2024, 1, 2)))
    assert days == [date(2023, 12, 30), date(2023, 12, 31), date(2024, 1, 1), date(2024, 1, 2)]
'''

TEST_SPAN_OVERLAPS = '''

def test_overlaps():
    march = Span(date(2024, 3, 1), date(2024, 3, 31))
    assert march.overlaps(Span(date(2024, 3, 31), date(2024, 4, 2)))
    assert not march.overlaps(Span(date(2024, 4, 1), date(2024, 4, 2)))


def test_intersection():
    march = Span(date(2024, 3, 1), date(2024, 3, 31))
    late_feb = Span(date(2024, 2, 20), date(2024, 3, 3))
    assert march.intersection(late_feb) == Span(date(2024, 3, 1), date(2024, 3, 3))
    assert march.intersection(Span(date(2024, 4, 1), date(2024, 4, 2))) is None
'''

TEST_SPAN_UNION = '''

def test_union_of_adjacent_spans():
    left = Span(date(2024, 3, 1), date(2024, 3, 10))
    right = Span(date(2024, 3, 11), date(2024, 3, 20))
    assert left.union(right) == Span(date(2024, 3, 1), date(2024, 3, 20))
    with pytest.raises(InvalidSpan):
        left.union(Span(date(2024, 3, 12), date(2024, 3, 20)))
'''

TEST_MERGE_SPANS = '''

def test_merge_spans():
    spans = [
        Span(date(2024, 3, 10), date(2024, 3, 12)),
        Span(date(2024, 3, 1), date(2024, 3, 4)),
        Span(date(2024, 3, 5), date(2024, 3, 6)),
        Span(date(2024, 3, 11), date(2024, 3, 20)),
    ]
    assert merge_spans(spans) == [
        Span(date(2024, 3, 1), date(2024, 3, 6)),
        Span(date(2024, 3, 10), date(2024, 3, 20)),
    ]
'''

TEST_SPAN_SHIFT = '''

def test_shift():
    span = Span(date(2024, 2, 28), date(2024, 3, 1))
    assert span.shift(2) == Span(date(2024, 3, 1), date(2024, 3, 3))
    assert span.shift(-28).days == span.days
'''

TEST_SPAN_DATETIMES = '''

def test_contains_accepts_datetimes():
    span = Span(date(2024, 3, 1), date(2024, 3, 31))
    assert datetime(2024, 3, 31, 23, 59) in span
    assert datetime(2024, 4, 1, 0, 0) not in span
'''

RANGES = '''\
"""Calendar periods as spans: months, quarters and years."""

from __future__ import annotations

import calendar
from datetime import date

from datespan.span import Span


def month_span(year: int, month: int) -> Span:
    """The whole of one calendar month."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    last = calendar.monthrange(year, month)[1]
    return Span(date(year, month, 1), date(year, month, last))


def quarter_span(year: int, quarter: int) -> Span:
    """Quarter 1 runs from January to March."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1..4, not {quarter}")
    first = 3 * quarter - 2
    return Span(date(year, first, 1), month_span(year, first + 2).end)


def year_span(year: int) -> Span:
    """1 January to 31 December."""
    return Span(date(year, 1, 1), date(year, 12, 31))
'''

WEEK_SPAN = '''\
def week_span(year: int, week: int) -> Span:
    """ISO week ``week`` of ``year``, Monday to Sunday."""
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None
    return Span(monday, monday + timedelta(days=6))


'''

MONTHS_IN = '''

def months_in(span: Span) -> list[Span]:
    """``span`` cut at month boundaries; the first and the last piece may be part months."""
    pieces = []
    start = span.start
    while start <= span.end:
        end = min(month_span(start.year, start.month).end, span.end)
        pieces.append(Span(start, end))
        start = end + timedelta(days=1)
    return pieces
'''

FISCAL_YEAR = '''

def fiscal_year_span(year: int, start_month: int = 4) -> Span:
    """The fiscal year that starts on the 1st of ``start_month``, named after the year it ends in.

    With the default (April), fiscal 2024 runs from 1 April 2023 to 31 March 2024;
    ``start_month=10`` gives the US federal fiscal year, ``start_month=1`` the calendar year.
    """
    if not 1 <= start_month <= 12:
        raise ValueError(f"start_month must be 1..12, not {start_month}")
    if start_month == 1:
        return year_span(year)
    return Span(date(year - 1, start_month, 1), month_span(year, start_month - 1).end)
'''

MONTH_SPAN_BEFORE = '''\
import calendar
from datetime import date, timedelta

from datespan.span import Span


def month_span(year: int, month: int) -> Span:
    """The whole of one calendar month."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    last = calendar.monthrange(year, month)[1]
    return Span(date(year, month, 1), date(year, month, last))
'''

# The regression: `year % 4` is not the Gregorian rule (1900 and 2100 are not leap years).
MONTH_SPAN_AFTER = '''\
from datetime import date, timedelta

from datespan.span import Span

# Days in each month, February as in a leap year (see _month_length).
_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_length(year: int, month: int) -> int:
    if month == 2 and year % 4:
        return 28
    return _MONTH_LENGTHS[month - 1]


def month_span(year: int, month: int) -> Span:
    """The whole of one calendar month."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    return Span(date(year, month, 1), date(year, month, _month_length(year, month)))
'''

TEST_RANGES = '''\
from datetime import date

import pytest

from datespan.ranges import month_span, quarter_span, year_span
from datespan.span import Span


def test_month_span_knows_month_lengths():
    assert month_span(2024, 1).days == 31
    assert month_span(2024, 4).days == 30
    assert month_span(2023, 2).days == 28
    assert month_span(2024, 2).days == 29


def test_month_span_rejects_month_13():
    with pytest.raises(ValueError):
        month_span(2024, 13)


def test_quarter_span():
    assert quarter_span(2024, 1) == Span(date(2024, 1, 1), date(2024, 3, 31))
    assert quarter_span(2024, 4) == Span(date(2024, 10, 1), date(2024, 12, 31))


def test_year_span():
    assert year_span(2023).days == 365
    assert year_span(2024).days == 366
'''

TEST_WEEK_SPAN = '''

def test_week_span_is_monday_to_sunday():
    span = week_span(2024, 9)
    assert span == Span(date(2024, 2, 26), date(2024, 3, 3))
    assert span.start.weekday() == 0
'''

TEST_MONTHS_IN = '''

def test_months_in_cuts_at_month_boundaries():
    pieces = months_in(Span(date(2024, 1, 20), date(2024, 3, 5)))
    assert pieces == [
        Span(date(2024, 1, 20), date(2024, 1, 31)),
        month_span(2024, 2),
        Span(date(2024, 3, 1), date(2024, 3, 5)),
    ]
'''

TEST_FISCAL_YEAR = '''

def test_fiscal_year_starting_in_april():
    assert fiscal_year_span(2024) == Span(date(2023, 4, 1), date(2024, 3, 31))
    assert fiscal_year_span(2024, start_month=1) == year_span(2024)


def test_fiscal_year_starting_in_october():
    span = fiscal_year_span(2024, start_month=10)
    assert span == Span(date(2023, 10, 1), date(2024, 9, 30))
    assert span.days == 366
'''

PARSE = '''\
"""Reading dates from the short forms people type."""

from __future__ import annotations

import re
from datetime import date, timedelta

from datespan.errors import ParseError

_DAY = re.compile(r"(\\d{4})-(\\d{2})-(\\d{2})")
_RELATIVE = {"today": 0, "yesterday": -1, "tomorrow": 1}


def parse_date(text: str, today: date | None = None) -> date:
    """One day: ``2024-03-05``, ``today``, ``yesterday`` or ``tomorrow``."""
    text = text.strip()
    m = _DAY.fullmatch(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise ParseError(f"{text!r} is not a date: {exc}") from None
    offset = _RELATIVE.get(text.lower())
    if offset is not None:
        return (today or date.today()) + timedelta(days=offset)
    raise ParseError(f"cannot read a date from {text!r}")
'''

PARSE_SPAN = '''

def parse_span(text: str, today: date | None = None) -> Span:
    """A span: ``2024``, ``2024-Q1``, ``2024-03``, one day, or ``FROM..TO``.

    Both ends of ``FROM..TO`` may be any of the other forms: ``2024-01..2024-Q2``
    runs from 1 January to 30 June.
    """
    text = text.strip()
    if ".." in text:
        left, _, right = text.partition("..")
        start = parse_span(left, today).start
        end = parse_span(right, today).end
        if end < start:
            raise ParseError(f"{text!r} ends before it starts")
        return Span(start, end)
    m = _YEAR.fullmatch(text)
    if m:
        return year_span(int(m[1]))
    m = _QUARTER.fullmatch(text)
    if m:
        return quarter_span(int(m[1]), int(m[2]))
    m = _MONTH.fullmatch(text)
    if m:
        return month_span(int(m[1]), int(m[2]))
    day = parse_date(text, today)
    return Span(day, day)
'''

TEST_PARSE = '''\
from datetime import date

import pytest

from datespan.errors import ParseError
from datespan.parse import parse_date

TODAY = date(2024, 3, 5)


def test_parse_iso_date():
    assert parse_date("2024-03-05") == date(2024, 3, 5)
    assert parse_date("  2024-03-05\\n") == date(2024, 3, 5)


def test_parse_relative_dates():
    assert parse_date("today", today=TODAY) == TODAY
    assert parse_date("Yesterday", today=TODAY) == date(2024, 3, 4)
    assert parse_date("tomorrow", today=TODAY) == date(2024, 3, 6)


@pytest.mark.parametrize("text", ["2024-02-30", "5 March", "", "2024-3-5"])
def test_parse_date_rejects(text):
    with pytest.raises(ParseError):
        parse_date(text)
'''

TEST_PARSE_SPAN = '''

@pytest.mark.parametrize("text, expected", [
    ("2024", Span(date(2024, 1, 1), date(2024, 12, 31))),
    ("2024-Q2", Span(date(2024, 4, 1), date(2024, 6, 30))),
    ("2024-02", Span(date(2024, 2, 1), date(2024, 2, 29))),
    ("2024-03-05", Span(date(2024, 3, 5), date(2024, 3, 5))),
])
def test_parse_span_forms(text, expected):
    assert parse_span(text) == expected


def test_parse_span_range():
    assert parse_span("2024-01..2024-Q2") == Span(date(2024, 1, 1), date(2024, 6, 30))
    assert parse_span("yesterday..tomorrow", today=TODAY).days == 3
    with pytest.raises(ParseError):
        parse_span("2024-03..2024-02")
'''

FORMATTING = '''\
"""Spans as short text for people: "5 Mar 2024", "3-7 Mar 2024"."""

from __future__ import annotations

from datetime import date

from datespan.span import Span

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def _day(day: date, year: bool = True) -> str:
    text = f"{day.day} {MONTHS[day.month - 1][:3]}"
    return f"{text} {day.year}" if year else text


def humanize(span: Span) -> str:
    """The shortest usual way to write ``span``."""
    start, end = span.start, span.end
    if start == end:
        return _day(start)
    if start.month == end.month:
        return f"{start.day}-{_day(end)}"
    if start.year == end.year:
        return f"{_day(start, year=False)} - {_day(end)}"
    return f"{_day(start)} - {_day(end)}"
'''

ISO = '''

def iso(span: Span) -> str:
    """The form ``parse_span`` reads back: ``2024-03-01..2024-03-31``, one date for one day."""
    if span.start == span.end:
        return span.start.isoformat()
    return f"{span.start.isoformat()}..{span.end.isoformat()}"
'''

TEST_FORMATTING = '''\
from datetime import date

from datespan.formatting import humanize
from datespan.span import Span


def test_one_day():
    assert humanize(Span(date(2024, 3, 5), date(2024, 3, 5))) == "5 Mar 2024"


def test_within_one_month():
    assert humanize(Span(date(2024, 3, 3), date(2024, 3, 7))) == "3-7 Mar 2024"


def test_across_months_and_years():
    assert humanize(Span(date(2024, 2, 28), date(2024, 3, 2))) == "28 Feb - 2 Mar 2024"
    assert humanize(Span(date(2023, 12, 30), date(2024, 1, 2))) == "30 Dec 2023 - 2 Jan 2024"
'''

TEST_FORMATTING_MONTH = '''

def test_whole_month():
    assert humanize(Span(date(2024, 2, 1), date(2024, 2, 29))) == "February 2024"
'''

TEST_FORMATTING_QUARTER = '''

def test_whole_quarter_and_year():
    assert humanize(quarter_span(2024, 1)) == "Q1 2024"
    assert humanize(year_span(2023)) == "2023"
'''

TEST_FORMATTING_YEARS = '''

def test_same_month_in_different_years():
    span = Span(date(2023, 3, 5), date(2024, 3, 7))
    assert humanize(span) == "5 Mar 2023 - 7 Mar 2024"
'''

TEST_FORMATTING_ISO = '''

def test_iso_round_trips_through_parse_span():
    span = Span(date(2024, 2, 26), date(2024, 3, 3))
    assert iso(span) == "2024-02-26..2024-03-03"
    assert parse_span(iso(span)) == span
    assert iso(Span(date(2024, 3, 5), date(2024, 3, 5))) == "2024-03-05"
'''

BUSINESS = '''\
"""Business days: weekdays that are not holidays."""

from __future__ import annotations

from datetime import date
from typing import Iterable

from datespan.span import Span

SATURDAY, SUNDAY = 5, 6
WEEKEND = frozenset({SATURDAY, SUNDAY})


class WorkCalendar:
    """Which days are working days: not Saturday or Sunday, and not a holiday."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in WEEKEND and day not in self.holidays

    def business_days(self, span: Span) -> list[date]:
        """The business days of ``span``, in order."""
        return [day for day in span if self.is_business_day(day)]
'''

ADD_BUSINESS_DAYS = '''
    def add_business_days(self, day: date, n: int) -> date:
        """The day ``n`` business days after ``day`` (before it when ``n`` is negative)."""
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_business_day(day):
                remaining -= 1
        return day
'''

FIXED_HOLIDAYS = '''

def fixed_holidays(years: Iterable[int], dates: Iterable[tuple[int, int]]) -> list[date]:
    """Holidays on the same (month, day) every year, e.g. ``[(1, 1), (12, 25)]``."""
    dates = list(dates)
    return [date(year, month, day) for year in years for month, day in dates]
'''

TEST_BUSINESS = '''\
from datetime import date

from datespan.business import WorkCalendar
from datespan.span import Span

CHRISTMAS = date(2024, 12, 25)


def test_weekends_and_holidays_are_not_business_days():
    cal = WorkCalendar(holidays=[CHRISTMAS])
    assert cal.is_business_day(date(2024, 12, 24))
    assert not cal.is_business_day(CHRISTMAS)
    assert not cal.is_business_day(date(2024, 12, 28))  # a Saturday


def test_business_days_in_a_span():
    cal = WorkCalendar(holidays=[CHRISTMAS])
    week = Span(date(2024, 12, 23), date(2024, 12, 29))
    assert cal.business_days(week) == [
        date(2024, 12, 23), date(2024, 12, 24), date(2024, 12, 26), date(2024, 12, 27),
    ]
'''

TEST_ADD_BUSINESS_DAYS = '''

def test_add_business_days_skips_weekends_and_holidays():
    cal = WorkCalendar(holidays=[CHRISTMAS])
    assert cal.add_business_days(date(2024, 12, 20), 3) == date(2024, 12, 26)
    assert cal.add_business_days(date(2024, 12, 26), -2) == date(2024, 12, 23)
    assert cal.add_business_days(date(2024, 12, 20), 0) == date(2024, 12, 20)
'''

TEST_COUNT = '''

def test_count():
    cal = WorkCalendar()
    assert cal.count(Span(date(2024, 2, 1), date(2024, 2, 29))) == 21
'''

TEST_WEEKEND = '''

def test_custom_weekend():
    cal = WorkCalendar(weekend=[4, 5])  # Friday and Saturday
    assert not cal.is_business_day(date(2024, 3, 8))
    assert cal.is_business_day(date(2024, 3, 10))
'''

TEST_FIXED_HOLIDAYS = '''

def test_fixed_holidays():
    days = fixed_holidays([2024, 2025], [(1, 1), (12, 25)])
    assert days == [date(2024, 1, 1), date(2024, 12, 25), date(2025, 1, 1), date(2025, 12, 25)]
'''

TEST_NEXT_BUSINESS_DAY = '''

def test_next_business_day():
    cal = WorkCalendar(holidays=[CHRISTMAS])
    assert cal.next_business_day(date(2024, 12, 24)) == date(2024, 12, 24)
    assert cal.next_business_day(CHRISTMAS) == date(2024, 12, 26)
    assert cal.next_business_day(date(2024, 12, 28)) == date(2024, 12, 30)
'''

CHANGELOG_020 = '''\
# Changelog

## 0.2.0 (2023-11-08)

- `WorkCalendar`: business days, adding and counting them (Priya Raman).
- `Span.union` and `Span.shift`.
- `parse_span` reads ISO weeks (`2024-W09`); month 13 is a `ParseError`.
- `humanize` prints whole months as "March 2024".

## 0.1.0 (2023-09-26)

- `Span`, month, quarter and year spans, `parse_date` and `parse_span`.
'''

CHANGELOG_030 = '''\
## 0.3.0 (2024-03-05)

- `months_in` cuts a span at month boundaries; `fiscal_year_span`.
- `humanize` prints whole quarters and years; `iso` writes what `parse_span` reads.
- `WorkCalendar(weekend=...)` and `fixed_holidays`.
- `parse_span` accepts lowercase `q` and `w`; `parse_date` reads `now`.
- `Span` membership accepts datetimes.
- Faster `month_span`.
- The `datespan.ranges` module is now `datespan.periods`.

'''

BENCH = '''\
"""Timings of the hot paths: python benchmarks/bench_periods.py"""

from __future__ import annotations

import timeit
from datetime import date

from datespan import Span, humanize, months_in, parse_span

DECADE = Span(date(2014, 1, 1), date(2023, 12, 31))

CASES = {
    "months_in(decade)": lambda: months_in(DECADE),
    "parse_span('2024-03')": lambda: parse_span("2024-03"),
    "parse_span('2024-01..2024-Q2')": lambda: parse_span("2024-01..2024-Q2"),
    "humanize(march)": lambda: humanize(Span(date(2024, 3, 1), date(2024, 3, 31))),
}


def main() -> None:
    for name, fn in CASES.items():
        runs, total = timeit.Timer(fn).autorange()
        print(f"{name:34} {total / runs * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
'''

CI = '''\
name: tests

on: [push, pull_request]

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.9", "3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - run: pip install pytest
      - run: python -m pytest -q
'''

# The developer's new, uncommitted test that reproduces the bug report.
LEAP_YEAR_TEST = '''\
"""Century years are leap years only when divisible by 400 (issue #57)."""

from datetime import date

import pytest

from datespan import Span, month_span, parse_span


def test_parse_february_of_a_century_year():
    assert parse_span("2100-02") == Span(date(2100, 2, 1), date(2100, 2, 28))


@pytest.mark.parametrize("year, days", [(1900, 28), (2000, 29), (2023, 28), (2024, 29), (2100, 28)])
def test_february_length(year, days):
    assert month_span(year, 2).days == days
'''

EXPORTS_5 = {"errors": ["DatespanError", "InvalidSpan", "ParseError"],
             "ranges": ["month_span", "quarter_span", "year_span"], "span": ["Span"]}
EXPORTS_7 = {**EXPORTS_5, "parse": ["parse_date", "parse_span"]}
EXPORTS_9 = {**EXPORTS_7, "formatting": ["humanize"]}
EXPORTS_10 = {**EXPORTS_9, "span": ["Span", "merge_spans"]}
EXPORTS_12 = {**EXPORTS_10, "ranges": ["month_span", "quarter_span", "week_span", "year_span"]}
EXPORTS_19 = {**EXPORTS_12, "business": ["WorkCalendar"]}
EXPORTS_20 = {k: v for k, v in EXPORTS_19.items() if k != "ranges"} | {"periods": EXPORTS_12["ranges"]}
EXPORTS_22 = {**EXPORTS_20, "periods": EXPORTS_20["periods"] + ["months_in"]}
EXPORTS_27 = {**EXPORTS_22, "business": ["WorkCalendar", "fixed_holidays"]}
EXPORTS_29 = {**EXPORTS_27, "periods": EXPORTS_27["periods"] + ["fiscal_year_span"]}
EXPORTS_35 = {**EXPORTS_29, "formatting": ["humanize", "iso"]}


# ---------------------------------------------------------------------------------------
# The history
# ---------------------------------------------------------------------------------------

HISTORY = (
    Commit("maya", "2023-09-04 10:12:41", "Initial commit: project skeleton", (
        W("pyproject.toml", PYPROJECT), W(".gitignore", GITIGNORE), W("README.md", README_EARLY),
        W("datespan/__init__.py", _init_py("0.1.0", {})), W("datespan/errors.py", ERRORS))),
    Commit("maya", "2023-09-05 16:40:03", "Add Span, an inclusive range of dates\n\n"
           "Both ends are included, as people mean them: March is 1..31, not 1..32.\n", (
        W("datespan/span.py", SPAN), W("tests/test_span.py", TEST_SPAN))),
    Commit("maya", "2023-09-07 09:05:55", "Add Span.overlaps() and Span.intersection()", (
        A("datespan/span.py", SPAN_OVERLAPS), A("tests/test_span.py", TEST_SPAN_OVERLAPS))),
    Commit("tomas", "2023-09-12 14:22:10", "Add month, quarter and year spans\n\n"
           "month_span(2024, 2) is 1 to 29 February; quarter 1 is January to March.\n", (
        W("datespan/ranges.py", RANGES), W("tests/test_ranges.py", TEST_RANGES))),
    Commit("maya", "2023-09-13 11:47:29", "Export Span and the period helpers from the package", (
        W("datespan/__init__.py", _init_py("0.1.0", EXPORTS_5)),)),
    Commit("tomas", "2023-09-20 18:03:44", "Add parse_date for ISO dates and today/yesterday/tomorrow", (
        W("datespan/parse.py", PARSE), W("tests/test_parse.py", TEST_PARSE))),
    Commit("tomas", "2023-09-21 15:31:08", "parse: read spans (years, quarters, months, FROM..TO)\n\n"
           "parse_span('2024-01..2024-Q2') runs from the start of the left form to the\n"
           "end of the right one.\n", (
        E("datespan/parse.py", '"""Reading dates from', '"""Reading dates and spans from'),
        E("datespan/parse.py", "from datespan.errors import ParseError\n",
          "from datespan.errors import ParseError\n"
          "from datespan.ranges import month_span, quarter_span, year_span\n"
          "from datespan.span import Span\n"),
        E("datespan/parse.py", '_DAY = re.compile(r"(\\d{4})-(\\d{2})-(\\d{2})")\n',
          '_DAY = re.compile(r"(\\d{4})-(\\d{2})-(\\d{2})")\n'
          '_MONTH = re.compile(r"(\\d{4})-(\\d{2})")\n'
          '_QUARTER = re.compile(r"(\\d{4})-Q([1-4])")\n'
          '_YEAR = re.compile(r"(\\d{4})")\n'),
        A("datespan/parse.py", PARSE_SPAN),
        E("tests/test_parse.py", "from datespan.parse import parse_date\n",
          "from datespan.parse import parse_date, parse_span\nfrom datespan.span import Span\n"),
        A("tests/test_parse.py", TEST_PARSE_SPAN),
        W("datespan/__init__.py", _init_py("0.1.0", EXPORTS_7)))),
    Commit("maya", "2023-09-26 20:15:37", "README: document the span syntax", (
        W("README.md", README_INTRO + README_SYNTAX),)),
    Commit("jonas", "2023-10-03 13:58:02", "Add humanize() for short, readable spans", (
        W("datespan/formatting.py", FORMATTING), W("tests/test_formatting.py", TEST_FORMATTING),
        W("datespan/__init__.py", _init_py("0.1.0", EXPORTS_9)))),
    Commit("maya", "2023-10-04 08:44:19", "Add Span.union and merge_spans for overlapping or adjacent spans", (
        E("datespan/span.py", "from typing import Iterator\n", "from typing import Iterable, Iterator\n"),
        A("datespan/span.py", SPAN_UNION + MERGE_SPANS),
        E("tests/test_span.py", "from datespan.span import Span\n", "from datespan.span import Span, merge_spans\n"),
        A("tests/test_span.py", TEST_SPAN_UNION + TEST_MERGE_SPANS),
        W("datespan/__init__.py", _init_py("0.1.0", EXPORTS_10)))),
    Commit("jonas", "2023-10-10 17:26:51", "humanize: print whole months as 'March 2024'", (
        E("datespan/formatting.py", '"3-7 Mar 2024"."""', '"3-7 Mar 2024", "March 2024"."""'),
        E("datespan/formatting.py", "from datespan.span import Span\n",
          "from datespan.ranges import month_span\nfrom datespan.span import Span\n"),
        E("datespan/formatting.py", "    if start == end:\n",
          "    if start.day == 1 and span == month_span(start.year, start.month):\n"
          "        return f\"{MONTHS[start.month - 1]} {start.year}\"\n"
          "    if start == end:\n"),
        A("tests/test_formatting.py", TEST_FORMATTING_MONTH))),
    Commit("tomas", "2023-10-17 19:09:33", "Add ISO week spans (2024-W09)", (
        E("datespan/ranges.py", "months, quarters and years", "months, quarters, ISO weeks and years"),
        E("datespan/ranges.py", "from datetime import date\n", "from datetime import date, timedelta\n"),
        E("datespan/ranges.py", "def year_span(", WEEK_SPAN + "def year_span("),
        E("datespan/parse.py", '_QUARTER = re.compile(r"(\\d{4})-Q([1-4])")\n',
          '_QUARTER = re.compile(r"(\\d{4})-Q([1-4])")\n_WEEK = re.compile(r"(\\d{4})-W(\\d{2})")\n'),
        E("datespan/parse.py", "``2024-03``, one day", "``2024-03``, ``2024-W09``, one day"),
        E("datespan/parse.py", "    m = _MONTH.fullmatch(text)\n",
          "    m = _WEEK.fullmatch(text)\n"
          "    if m:\n"
          "        try:\n"
          "            return week_span(int(m[1]), int(m[2]))\n"
          "        except ValueError as exc:\n"
          "            raise ParseError(str(exc)) from None\n"
          "    m = _MONTH.fullmatch(text)\n"),
        E("datespan/parse.py", "import month_span, quarter_span, year_span",
          "import month_span, quarter_span, week_span, year_span"),
        E("tests/test_ranges.py", "import month_span, quarter_span, year_span",
          "import month_span, quarter_span, week_span, year_span"),
        A("tests/test_ranges.py", TEST_WEEK_SPAN),
        E("tests/test_parse.py", '    ("2024-03-05", Span',
          '    ("2024-W09", Span(date(2024, 2, 26), date(2024, 3, 3))),\n    ("2024-03-05", Span'),
        E("README.md", "| `2024-03-05`  ",
          "| `2024-W09`                       | ISO week 9: 26 February to 3 March 2024       |\n"
          "| `2024-03-05`  "),
        W("datespan/__init__.py", _init_py("0.1.0", EXPORTS_12)))),
    Commit("maya", "2023-10-18 10:31:26", "Reject month 13 with a ParseError, not a bare ValueError\n\n"
           "parse_span('2024-13') leaked month_span's ValueError, which callers catching\n"
           "ParseError did not expect.\n", (
        E("datespan/parse.py", "        return month_span(int(m[1]), int(m[2]))\n",
          "        month = int(m[2])\n"
          "        if not 1 <= month <= 12:\n"
          "            raise ParseError(f\"{text!r}: there is no month {month}\")\n"
          "        return month_span(int(m[1]), month)\n"),
        A("tests/test_parse.py", '''

def test_parse_span_rejects_month_13():
    with pytest.raises(ParseError, match="no month 13"):
        parse_span("2024-13")
'''))),
    Branch("business-days"),
    Commit("priya", "2023-10-24 21:14:05", "Add WorkCalendar with business day checks", (
        W("datespan/business.py", BUSINESS), W("tests/test_business.py", TEST_BUSINESS))),
    Commit("priya", "2023-10-26 20:02:48", "WorkCalendar.add_business_days", (
        E("datespan/business.py", "from datetime import date\n", "from datetime import date, timedelta\n"),
        A("datespan/business.py", ADD_BUSINESS_DAYS), A("tests/test_business.py", TEST_ADD_BUSINESS_DAYS))),
    Switch("main"),
    Commit("maya", "2023-10-30 12:18:40", "Add Span.shift", (
        E("datespan/span.py", "\n\ndef merge_spans(", "\n" + SPAN_SHIFT + "\ndef merge_spans("),
        A("tests/test_span.py", TEST_SPAN_SHIFT))),
    Switch("business-days"),
    Commit("priya", "2023-11-02 19:40:12", "Count the business days in a span", (
        E("datespan/business.py",
          "        return [day for day in span if self.is_business_day(day)]\n",
          "        return [day for day in span if self.is_business_day(day)]\n\n"
          "    def count(self, span: Span) -> int:\n"
          "        \"\"\"How many business days ``span`` holds.\"\"\"\n"
          "        return sum(1 for day in span if self.is_business_day(day))\n"),
        A("tests/test_business.py", TEST_COUNT))),
    Switch("main"),
    Merge("business-days", "maya", "2023-11-06 09:30:00", "Merge branch 'business-days'\n\n"
          "WorkCalendar: business days of a span, counting and adding them.\n"),
    Commit("maya", "2023-11-08 16:05:51", "Export WorkCalendar; release 0.2.0", (
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_19)),
        E("pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"'),
        W("CHANGELOG.md", CHANGELOG_020))),
    Commit("tomas", "2023-11-14 22:47:16", "Rename the ranges module to periods\n\n"
           "'ranges' read like a second name for Span; these are calendar periods.\n"
           "datespan re-exports them, so `from datespan import month_span` still works.\n", (
        MV("datespan/ranges.py", "datespan/periods.py"),
        MV("tests/test_ranges.py", "tests/test_periods.py"),
        E("tests/test_periods.py", "from datespan.ranges import", "from datespan.periods import"),
        E("datespan/parse.py", "from datespan.ranges import", "from datespan.periods import"),
        E("datespan/formatting.py", "from datespan.ranges import", "from datespan.periods import"),
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_20)))),
    Commit("jonas", "2023-11-21 18:33:09", "humanize: print whole quarters and years as 'Q1 2024' and '2024'", (
        E("datespan/formatting.py", '"March 2024"."""', '"March 2024", "Q1 2024"."""'),
        E("datespan/formatting.py", "from datespan.periods import month_span\n",
          "from datespan.periods import month_span, quarter_span, year_span\n"),
        E("datespan/formatting.py", "    if start.day == 1 and span",
          "    if span == year_span(start.year):\n"
          "        return str(start.year)\n"
          "    quarter = (start.month + 2) // 3\n"
          "    if span == quarter_span(start.year, quarter):\n"
          "        return f\"Q{quarter} {start.year}\"\n"
          "    if start.day == 1 and span"),
        E("tests/test_formatting.py", "from datespan.formatting import humanize\n",
          "from datespan.formatting import humanize\nfrom datespan.periods import quarter_span, year_span\n"),
        A("tests/test_formatting.py", TEST_FORMATTING_QUARTER))),
    Commit("maya", "2023-11-28 11:02:57", "Add months_in() to cut a span at month boundaries", (
        A("datespan/periods.py", MONTHS_IN),
        E("tests/test_periods.py", "import month_span, quarter_span", "import month_span, months_in, quarter_span"),
        A("tests/test_periods.py", TEST_MONTHS_IN),
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_22)))),
    Commit("priya", "2023-12-05 20:51:30", "WorkCalendar: configurable weekend days\n\n"
           "Several of our users work Sunday to Thursday.\n", (
        E("datespan/business.py", "SATURDAY, SUNDAY = 5, 6\nWEEKEND = frozenset({SATURDAY, SUNDAY})\n",
          "SATURDAY, SUNDAY = 5, 6\n"),
        E("datespan/business.py", "not Saturday or Sunday, and not a holiday.",
          "not a weekend day (Saturday and Sunday unless told) nor a holiday."),
        E("datespan/business.py",
          "    def __init__(self, holidays: Iterable[date] = ()) -> None:\n"
          "        self.holidays = frozenset(holidays)\n",
          "    def __init__(self, holidays: Iterable[date] = (), weekend: Iterable[int] = (SATURDAY, SUNDAY)) -> None:\n"
          "        self.holidays = frozenset(holidays)\n"
          "        self.weekend = frozenset(weekend)\n"
          "        if len(self.weekend) >= 7:\n"
          "            raise ValueError(\"a week needs at least one working day\")\n"),
        E("datespan/business.py", "not in WEEKEND and", "not in self.weekend and"),
        A("tests/test_business.py", TEST_WEEKEND))),
    Commit("tomas", "2023-12-12 17:12:45", "parse_span: accept lowercase q and w (2024-q1, 2024-w09)", (
        E("datespan/parse.py", '-Q([1-4])")', '-Q([1-4])", re.IGNORECASE)'),
        E("datespan/parse.py", '-W(\\d{2})")', '-W(\\d{2})", re.IGNORECASE)'),
        E("tests/test_parse.py", '    ("2024-02", Span',
          '    ("2024-q2", Span(date(2024, 4, 1), date(2024, 6, 30))),\n'
          '    ("2024-w09", Span(date(2024, 2, 26), date(2024, 3, 3))),\n'
          '    ("2024-02", Span'))),
    Commit("maya", "2023-12-19 10:20:14", "Ship py.typed so type checkers use our hints", (
        W("datespan/py.typed", ""),
        A("pyproject.toml", '\n[tool.setuptools.package-data]\ndatespan = ["py.typed"]\n'))),
    Commit("jonas", "2024-01-09 14:41:38", "Fix humanize for same-month spans in different years\n\n"
           "Span(2023-03-05, 2024-03-07) came out as '5-7 Mar 2024': the same-month\n"
           "shortcut compared months only.\n", (
        E("datespan/formatting.py", "    if start.month == end.month:\n",
          "    if (start.year, start.month) == (end.year, end.month):\n"),
        A("tests/test_formatting.py", TEST_FORMATTING_YEARS))),
    Commit("priya", "2024-01-16 19:27:03", "Add fixed_holidays() for holidays on the same date every year", (
        A("datespan/business.py", FIXED_HOLIDAYS),
        E("tests/test_business.py", "import WorkCalendar\n", "import WorkCalendar, fixed_holidays\n"),
        A("tests/test_business.py", TEST_FIXED_HOLIDAYS),
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_27)))),
    Commit("maya", "2024-01-23 09:55:21", "README: business days", (
        W("README.md", README_INTRO + README_SYNTAX.replace(
            "| `2024-03-05`  ",
            "| `2024-W09`                       | ISO week 9: 26 February to 3 March 2024       |\n"
            "| `2024-03-05`  ") + README_BUSINESS),)),
    Branch("fiscal-years"),
    Commit("priya", "2024-01-29 20:36:52", "Add fiscal_year_span for fiscal years starting in any month", (
        A("datespan/periods.py", FISCAL_YEAR),
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_29)))),
    Switch("main"),
    Commit("tomas", "2024-01-31 16:08:27", CULPRIT_SUMMARY + "\n\n"
           "calendar.monthrange() also works out the weekday of the 1st, which\n"
           "month_span throws away, and month_span is the hot path of months_in()\n"
           "and humanize(). A table of month lengths is about 3x faster: months_in()\n"
           "over a ten-year span drops from 41 us to 14 us.\n", (
        E("datespan/periods.py", MONTH_SPAN_BEFORE, MONTH_SPAN_AFTER),)),
    Commit("jonas", "2024-02-06 11:19:44", "Add a benchmark script for the hot paths", (
        W("benchmarks/bench_periods.py", BENCH),)),
    Switch("fiscal-years"),
    Commit("priya", "2024-02-08 21:03:15", "Tests for fiscal years starting in April and October", (
        E("tests/test_periods.py", "from datespan.periods import month_span",
          "from datespan.periods import fiscal_year_span, month_span"),
        A("tests/test_periods.py", TEST_FISCAL_YEAR))),
    Switch("main"),
    Commit("maya", "2024-02-14 15:37:02", "Span: membership accepts datetimes\n\n"
           "`datetime(2024, 3, 31, 23, 59) in march` raised TypeError (can't compare\n"
           "datetime.datetime to datetime.date); compare its date instead.\n", (
        E("datespan/span.py", "from datetime import date, timedelta\n",
          "from datetime import date, datetime, timedelta\n"),
        E("datespan/span.py", "    def __contains__(self, day: date) -> bool:\n",
          "    def __contains__(self, day: date) -> bool:\n"
          "        if isinstance(day, datetime):\n"
          "            day = day.date()\n"),
        E("tests/test_span.py", "from datetime import date\n", "from datetime import date, datetime\n"),
        A("tests/test_span.py", TEST_SPAN_DATETIMES))),
    Merge("fiscal-years", "maya", "2024-02-15 10:02:33", "Merge branch 'fiscal-years'\n\n"
          "fiscal_year_span(2024, start_month=4) and friends.\n"),
    Commit("jonas", "2024-02-20 13:48:09", "formatting: add iso(), the form parse_span reads back", (
        A("datespan/formatting.py", ISO),
        E("tests/test_formatting.py", "from datespan.formatting import humanize\n",
          "from datespan.formatting import humanize, iso\nfrom datespan.parse import parse_span\n"),
        A("tests/test_formatting.py", TEST_FORMATTING_ISO),
        W("datespan/__init__.py", _init_py("0.2.0", EXPORTS_35)))),
    Commit("tomas", "2024-02-27 18:25:50", "parse_date: read 'now' as today", (
        E("datespan/parse.py", '{"today": 0, "yesterday"', '{"today": 0, "now": 0, "yesterday"'),
        E("tests/test_parse.py", '    assert parse_date("today", today=TODAY) == TODAY\n',
          '    assert parse_date("today", today=TODAY) == TODAY\n'
          '    assert parse_date("now", today=TODAY) == TODAY\n'))),
    Commit("maya", "2024-03-05 09:12:07", "Release 0.3.0", (
        E("CHANGELOG.md", "## 0.2.0", CHANGELOG_030 + "## 0.2.0"),
        E("pyproject.toml", 'version = "0.2.0"', 'version = "0.3.0"'),
        E("datespan/__init__.py", '__version__ = "0.2.0"', '__version__ = "0.3.0"'))),
    Commit("priya", "2024-03-07 20:44:31", "WorkCalendar.next_business_day", (
        E("datespan/business.py", "        return day\n\n\ndef fixed_holidays",
          "        return day\n\n"
          "    def next_business_day(self, day: date) -> date:\n"
          "        \"\"\"``day`` itself when it is a business day, else the next one.\"\"\"\n"
          "        while not self.is_business_day(day):\n"
          "            day += timedelta(days=1)\n"
          "        return day\n\n\ndef fixed_holidays"),
        A("tests/test_business.py", TEST_NEXT_BUSINESS_DAY))),
    Commit("jonas", "2024-03-12 12:03:58", "README: fix a typo and add a contributing note", (
        E("README.md", "not busines days", "not business days"),
        A("README.md", README_CONTRIBUTING))),
    Commit("maya", "2024-03-14 17:30:12", "CI: run the tests on Python 3.9 to 3.12", (
        W(".github/workflows/tests.yml", CI),)),
)


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------

def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C", TZ="UTC")
    return env


class _Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = _git_env()

    def git(self, *args: str, who: str | None = None, when: str | None = None, stdin: str | None = None) -> str:
        env = self.env
        if who is not None:
            name, email, tz = PEOPLE[who]
            stamp = f"{when} {tz}"
            env = {**env, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
                   "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": stamp}
        out = subprocess.run(["git", *args], cwd=self.root, env=env, input=stdin, text=True,
                             encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if out.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def _path(self, rel: str) -> Path:
        return self.root / rel

    def apply(self, op) -> None:
        if isinstance(op, W):
            path = self._path(op.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(op.text.encode("utf-8"))
        elif isinstance(op, A):
            path = self._path(op.path)
            path.write_bytes(path.read_bytes() + op.text.encode("utf-8"))
        elif isinstance(op, E):
            path = self._path(op.path)
            text = path.read_bytes().decode("utf-8")
            count = text.count(op.old)
            if count != 1:
                raise RuntimeError(f"edit of {op.path}: expected one occurrence of {op.old!r}, found {count}")
            path.write_bytes(text.replace(op.old, op.new).encode("utf-8"))
        elif isinstance(op, MV):
            self._path(op.new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", op.old, op.new)
        else:
            raise TypeError(op)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


def build(target: Path | str) -> dict:
    """Build the demo repository in `target` (created if missing; must be empty).

    Returns {"repo", "culprit", "summary", "test", "node", "path", "function", "commits"}.
    """
    root = Path(target).absolute()
    if root.exists():
        if not root.is_dir():
            raise FileExistsError(f"{root} exists and is not a directory")
        if any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty; give a new or empty directory")
    root.mkdir(parents=True, exist_ok=True)
    b = _Builder(root)
    b.git("-c", "init.defaultBranch=main", "init", "-q")
    for key, value in (("commit.gpgsign", "false"), ("tag.gpgsign", "false"), ("core.autocrlf", "false"),
                       ("init.defaultBranch", "main"), ("user.name", "Datespan Demo"),
                       ("user.email", "demo@example.com")):
        b.git("config", key, value)
    culprit = ""
    commits = 0
    for step in HISTORY:
        if isinstance(step, Commit):
            for op in step.ops:
                b.apply(op)
            b.git("add", "-A")
            b.git("commit", "-q", "--no-verify", "--cleanup=whitespace", "-F", "-",
                  who=step.who, when=step.when, stdin=step.message)
            commits += 1
            if step.message.split("\n", 1)[0] == CULPRIT_SUMMARY:
                culprit = b.head()
        elif isinstance(step, Branch):
            b.git("checkout", "-q", "-b", step.name)
        elif isinstance(step, Switch):
            b.git("checkout", "-q", step.name)
        elif isinstance(step, Merge):
            b.git("merge", "-q", "--no-ff", "--no-verify", "-m", step.message.rstrip("\n"), step.branch,
                  who=step.who, when=step.when)
            commits += 1
            if step.delete:
                b.git("branch", "-q", "-d", step.branch)
        else:
            raise TypeError(step)
    # The developer reproduces the bug report in a new test file, not committed yet.
    b.apply(W(NEW_TEST, LEAP_YEAR_TEST))
    return {"repo": str(root), "culprit": culprit, "summary": CULPRIT_SUMMARY, "test": NEW_TEST,
            "node": NEW_TEST_NODE, "path": CULPRIT_PATH, "function": CULPRIT_FUNCTION, "commits": commits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", help="where to build it (new or empty; default: a new temp dir)")
    parser.add_argument("--print-culprit", action="store_true",
                        help='print one JSON object {"repo", "culprit", "test", ...} instead of text')
    args = parser.parse_args(argv)
    target = args.directory or tempfile.mkdtemp(prefix="datespan-demo-")
    try:
        info = build(target)
    except (FileExistsError, RuntimeError) as exc:
        print(f"demo_repo: {exc}", file=sys.stderr)
        return 2
    if args.print_culprit:
        print(json.dumps(info))
    else:
        print(f"repo:    {info['repo']}")
        print(f"culprit: {info['culprit']}  {info['summary']}")
        print(f"test:    {info['test']} (untracked; fails)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

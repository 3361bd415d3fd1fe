"""pytest output in its --tb modes: long/auto, short, native, line, and the summary alone."""

from __future__ import annotations

from rca_lsp.traces import parse, resolve
from rca_lsp.types import TestId as Tid

LONG = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-8.0.2, pluggy-1.4.0
rootdir: /home/ana/dateparse
collected 12 items

tests/test_parse.py ..F.F.......                                         [100%]

=================================== FAILURES ===================================
__________________________ TestParseDate.test_year_only __________________________

self = <tests.test_parse.TestParseDate object at 0x7f3a1c2b5d50>

    def test_year_only(self):
>       assert parse_date("2024") == date(2024, 1, 1)
E       AssertionError: assert None == datetime.date(2024, 1, 1)
E        +  where None = parse_date('2024')

tests/test_parse.py:18: AssertionError
________________________________ test_ranges[bad] ________________________________

value = '2024-13-01'

    @pytest.mark.parametrize("value", ["2024-12-01", "2024-13-01"], ids=["ok", "bad"])
    def test_ranges(value):
>       assert_range(parse_date(value))

tests/test_parse.py:42: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
src/dateparse/core.py:77: in parse_date
    return _build(parts)
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

parts = ['2024', '13', '01']

    def _build(parts):
        year, month, day = (int(p) for p in parts)
>       return date(year, month, day)
E       ValueError: month must be in 1..12

src/dateparse/core.py:91: ValueError
----------------------------- Captured stdout call -----------------------------
parsing 2024-13-01
=========================== short test summary info ============================
FAILED tests/test_parse.py::TestParseDate::test_year_only - AssertionError: assert None == datetime.date(2024, 1, 1)
FAILED tests/test_parse.py::test_ranges[bad] - ValueError: month must be in 1..12
========================= 2 failed, 10 passed in 0.21s =========================
"""

SHORT = """\
=================================== FAILURES ===================================
___________________________________ test_ranges[bad] ___________________________________
tests/test_parse.py:42: in test_ranges
    assert_range(parse_date(value))
src/dateparse/core.py:77: in parse_date
    return _build(parts)
src/dateparse/core.py:91: in _build
    return date(year, month, day)
E   ValueError: month must be in 1..12
=========================== short test summary info ============================
FAILED tests/test_parse.py::test_ranges[bad] - ValueError: month must be in 1..12
"""

NATIVE = """\
=================================== FAILURES ===================================
___________________________________ test_ranges[bad] ___________________________________
Traceback (most recent call last):
  File "/home/ana/dateparse/tests/test_parse.py", line 42, in test_ranges
    assert_range(parse_date(value))
  File "/home/ana/dateparse/src/dateparse/core.py", line 91, in _build
    return date(year, month, day)
ValueError: month must be in 1..12
"""

LINE = """\
=================================== FAILURES ===================================
/home/ana/dateparse/tests/test_parse.py:18: AssertionError: assert None == datetime.date(2024, 1, 1)
/home/ana/dateparse/src/dateparse/core.py:91: ValueError: month must be in 1..12
=========================== short test summary info ============================
FAILED tests/test_parse.py::TestParseDate::test_year_only - AssertionError: assert None == datetime.date(2024, 1, 1)
FAILED tests/test_parse.py::test_ranges[bad] - ValueError: month must be in 1..12
"""

FILES = ["src/dateparse/__init__.py", "src/dateparse/core.py", "tests/test_parse.py", "tests/conftest.py"]


def test_long_format_one_trace_per_test():
    first, second = parse(LONG)
    assert first.format == second.format == "pytest"
    assert first.test == Tid("tests/test_parse.py::TestParseDate", "test_year_only", "tests/test_parse.py")
    assert first.exception == "AssertionError"
    assert first.message == "assert None == datetime.date(2024, 1, 1)\n+  where None = parse_date('2024')"
    assert [(f.file, f.line, f.function) for f in first.frames] == [("tests/test_parse.py", 18, "test_year_only")]
    assert second.test == Tid("tests/test_parse.py", "test_ranges", "tests/test_parse.py")
    assert (second.exception, second.message) == ("ValueError", "month must be in 1..12")
    assert [(f.line, f.function) for f in second.frames] == [(91, "_build"), (77, "parse_date"), (42, "test_ranges")]


def test_long_format_resolves():
    first, second = resolve(parse(LONG), FILES)
    assert [f.path for f in second.frames] == ["src/dateparse/core.py"] * 2 + ["tests/test_parse.py"]
    assert not any(f.external for f in second.frames)
    assert first.test.path == "tests/test_parse.py"


def test_short_format():
    [trace] = parse(SHORT)
    assert trace.exception == "ValueError"
    assert [f.function for f in trace.frames] == ["_build", "parse_date", "test_ranges"]
    assert trace.test == Tid("tests/test_parse.py", "test_ranges", "tests/test_parse.py")


def test_native_format():
    [trace] = parse(NATIVE)
    assert trace.format == "pytest"
    assert trace.exception == "ValueError"
    assert [f.function for f in trace.frames] == ["_build", "test_ranges"]
    assert trace.test.name == "test_ranges"
    assert trace.test.path == "/home/ana/dateparse/tests/test_parse.py"
    [resolved] = resolve([trace], FILES)
    assert resolved.test.path == "tests/test_parse.py"


def test_line_format_paired_with_summary():
    first, second = parse(LINE)
    assert (first.exception, first.frames[0].line) == ("AssertionError", 18)
    assert first.test.name == "test_year_only"
    assert second.test.container == "tests/test_parse.py"
    assert second.frames[0].file == "/home/ana/dateparse/src/dateparse/core.py"
    [_, resolved] = resolve([first, second], FILES)
    assert resolved.frames[0].path == "src/dateparse/core.py"


def test_summary_only():
    text = """\
tests/test_parse.py ..FF                                              [100%]
=========================== short test summary info ============================
FAILED tests/test_parse.py::test_a - KeyError: 'x'
FAILED tests/test_parse.py::TestX::test_b
========================= 2 failed, 2 passed in 0.11s =========================
"""
    a, b = parse(text)
    assert (a.exception, a.message, a.frames) == ("KeyError", "'x'", ())
    assert a.test == Tid("tests/test_parse.py", "test_a", "tests/test_parse.py")
    assert b.test == Tid("tests/test_parse.py::TestX", "test_b", "tests/test_parse.py")


def test_chained_exception_in_long_format():
    text = """\
=================================== FAILURES ===================================
__________________________________ test_load ___________________________________

    def test_load():
        try:
>           json.loads("{")
E           json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)

tests/test_cfg.py:6: JSONDecodeError

During handling of the above exception, another exception occurred:

    def test_load():
        try:
            json.loads("{")
        except ValueError as exc:
>           raise ConfigError("bad config") from exc
E           app.errors.ConfigError: bad config

tests/test_cfg.py:8: ConfigError
"""
    [trace] = parse(text)
    assert trace.exception == "app.errors.ConfigError"
    assert trace.frames[0].line == 8
    assert trace.frames[0].function == "test_load"
    [cause] = trace.causes
    assert cause.exception == "json.decoder.JSONDecodeError"
    assert cause.frames[0].line == 6


def test_error_at_setup_and_collection_error():
    text = """\
==================================== ERRORS ====================================
____________________ ERROR at setup of test_connects ____________________

    @pytest.fixture
    def db():
>       return connect(os.environ["DB_URL"])
E       KeyError: 'DB_URL'

tests/test_db.py:9: KeyError
_______________________ ERROR collecting tests/test_io.py _______________________
ImportError while importing test module '/home/ana/proj/tests/test_io.py'.
Traceback:
tests/test_io.py:3: in <module>
    from proj.io import read_all
E   ImportError: cannot import name 'read_all' from 'proj.io'
"""
    setup, collect = parse(text)
    assert setup.test.name == "test_connects"
    assert setup.frames[0].function == "db"
    assert setup.exception == "KeyError"
    assert collect.test is None
    assert collect.exception == "ImportError"
    assert collect.frames[0].function == "<module>"


def test_bare_section_body_without_headers():
    text = """\
    def test_total():
>       assert total([1, 2]) == 4
E       assert 3 == 4
E        +  where 3 = total([1, 2])

tests/test_sum.py:5: AssertionError
"""
    [trace] = parse(text)
    assert trace.exception == "AssertionError"
    assert trace.message.startswith("assert 3 == 4")
    assert (trace.frames[0].file, trace.frames[0].function) == ("tests/test_sum.py", "test_total")


def test_coloured_output():
    coloured = LONG.replace("E       ", "\x1b[1m\x1b[31mE       ").replace("AssertionError\n", "AssertionError\x1b[0m\n")
    assert [t.exception for t in parse(coloured)] == ["AssertionError", "ValueError"]

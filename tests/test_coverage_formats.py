"""Reading coverage reports: every format rca takes, told from the content, mapped to tracked
files; and what is no report (one line naming the file and the problem). The rankings made with
reports are in test_coverage_reports.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rca_lsp.errors import TraceError
from rca_lsp.traces.coverage import parse_coverage, read_coverage

FIXTURES = Path(__file__).parent / "fixtures"
JACOCO = FIXTURES / "jacoco"
GOCOVER = FIXTURES / "gocover"


def test_the_jacoco_fixture_maps_each_covered_source_file_and_only_lines_that_ran() -> None:
    tracked = [str(p.relative_to(JACOCO)) for p in (JACOCO / "src").rglob("*.java")] + ["pom.xml"]
    report = read_coverage(JACOCO / "jacoco.xml", tracked)
    base = "src/main/java/com/example/calc/"
    assert report.format == "JaCoCo XML" and report.unmatched == () and report.ambiguous == ()
    assert sorted(report.lines) == [base + "Calc.java", base + "steps/Inc.java", base + "steps/Twice.java"]
    assert report.lines[base + "steps/Twice.java"] == {6, 9, 10}  # 6: the implicit constructor; Neg never ran
    assert report.lines[base + "Calc.java"] == {9, 10, 11, 12, 13, 15}


def test_a_go_coverage_profile_maps_import_paths_and_counts_only_blocks_that_ran() -> None:
    """tests/fixtures/gocover: the real `go test -coverprofile` of the failing test (PROVENANCE.md)."""
    tracked = [str(p.relative_to(GOCOVER / "src")) for p in (GOCOVER / "src").rglob("*") if p.is_file()]
    report = read_coverage(GOCOVER / "cover.out", tracked)
    assert report.format == "Go coverage profile" and report.unmatched == () and report.ambiguous == ()
    # calc.go 9.3,10.1: the loop body, not the `}` its block ends on; steps.go 28.2,29.1: Neg, count 0
    assert report.executed() == {"calc.go": {8, 9, 11}, "steps/steps.go": {12, 17, 22, 23}}


@pytest.mark.parametrize("mode", ["set", "count", "atomic"])
def test_go_profiles_of_every_mode_merge_blocks_per_file_and_skip_what_is_no_block(mode) -> None:
    """`go test -covermode=count|atomic` writes counts above 1; a file's blocks may come from several
    packages' runs (`-coverpkg`), listed more than once; a line that is no block is left alone."""
    text = (f"mode: {mode}\n"
            "example.com/m/a.go:3.14,5.2 2 7\n"      # ends at column 2: line 5 is the block's
            "example.com/m/a.go:5.2,7.3 1 0\n"       # never ran
            "example.com/m/a.go:9.1,9.20 1 0\n"
            "example.com/m/a.go:9.1,9.20 1 2\n"      # the same block from another package's run
            "not a block\n"
            "example.com/m/sub/b.go:1.1,2.1 1 1\n")  # ends at column 1: line 2 is not
    report = parse_coverage(text, ["a.go", "sub/b.go", "go.mod"])
    assert report.format == "Go coverage profile"
    assert report.executed() == {"a.go": {3, 4, 5, 9}, "sub/b.go": {1}}


def test_jacoco_kotlin_files_outside_their_package_folders_are_found_by_name_java_files_are_not() -> None:
    xml = ('<report name="x"><package name="com/example/app">'
           '<sourcefile name="Util.kt"><line nr="3" mi="0" ci="2" mb="0" cb="0"/></sourcefile>'
           '<sourcefile name="Main.java"><line nr="4" mi="0" ci="1" mb="0" cb="0"/></sourcefile>'
           '</package></report>')
    report = parse_coverage(xml, ["src/main/kotlin/Util.kt", "src/main/java/Main.java"])
    assert report.executed() == {"src/main/kotlin/Util.kt": {3}}
    assert report.unmatched == ("com/example/app/Main.java",)


SOURCES = ["src/app/util.py", "lib/other/util.py", "src/app/core.py", "setup.py", "tests/test_core.py"]


def test_lcov_paths_absolute_elsewhere_relative_ambiguous_or_foreign_are_mapped_or_counted() -> None:
    text = ("TN:\nSF:/home/ci/work/proj/src/app/core.py\nDA:1,1\nDA:2,0\nDA:3,4,abc\nend_of_record\n"
            "SF:util.py\nDA:1,1\nend_of_record\n"
            "SF:/usr/lib/python3.11/json/__init__.py\nDA:5,2\nend_of_record\n"
            "SF:setup.py\nDA:7,1\nend_of_record\n"
            "SF:src/app/never.py\nDA:1,0\nend_of_record\n"
            "SF:tests/test_core.py\nDA:2,1\n")  # cut short: its lines still count
    report = parse_coverage(text, SOURCES, name="cov.info")
    assert report.format == "LCOV" and report.files == 5
    assert report.executed() == {"src/app/core.py": {1, 3}, "setup.py": {7}, "tests/test_core.py": {2}}
    assert report.ambiguous == ("util.py",) and report.unmatched == ("/usr/lib/python3.11/json/__init__.py",)
    assert report.warnings("cov.info") == [
        "coverage report cov.info: 1 file(s) not tracked here, left out: /usr/lib/python3.11/json/__init__.py",
        "coverage report cov.info: 1 file(s) ambiguous, left out: util.py"]


def test_cobertura_roots_of_this_checkout_and_of_another_machine(tmp_path) -> None:
    xml = ('<?xml version="1.0" ?>\n<coverage version="7.0"><sources><source>{root}</source></sources>'
           '<packages><package name="."><classes>'
           '<class name="setup.py" filename="setup.py"><lines><line number="3" hits="1"/></lines></class>'
           '<class name="core" filename="app/core.py"><lines><line number="4" hits="0"/>'
           '<line number="5" hits="2" branch="true"/></lines></class>'
           '<class name="core2" filename="app/core.py"><lines><line number="9" hits="1"/></lines></class>'
           '</classes></package></packages></coverage>')
    here = parse_coverage(xml.format(root=tmp_path), SOURCES, root=str(tmp_path))
    assert here.format == "Cobertura XML" and here.executed() == {"setup.py": {3}, "src/app/core.py": {5, 9}}
    there = parse_coverage(xml.format(root="/builds/x/src"), SOURCES, root=str(tmp_path))
    assert there.executed() == here.executed() and there.unmatched == ()


@pytest.mark.parametrize(("content", "problem"), [
    ("", "is empty"),
    ("  \n\n", "is empty"),
    ("hello, this is a log\n",
     "is not a coverage report: expected JaCoCo XML, Cobertura XML, LCOV, coverage.py JSON or a Go coverage profile"),
    ("<report><package name='a'>", "is malformed XML: no element found: line 1, column 26"),
    ("<testsuite name='x'/>", "is XML but neither JaCoCo (<report>) nor Cobertura (<coverage>): <testsuite>"),
    ('{"files": ', "is malformed JSON: Expecting value: line 1 column 11 (char 10)"),
    pytest.param('{"a": ' + "[" * 100_000, "is malformed JSON: maximum recursion depth exceeded while decoding a "
                 "JSON array from a unicode string", id="json-nested-100000-deep"),
    ('{"coverage": {"a.js": {}}}', "is JSON but not coverage.py's (`coverage json`): no files -> executed_lines"),
    ('<?xml version="1.0"?><!DOCTYPE coverage [<!ENTITY a "aaaa">]><coverage>&a;</coverage>',
     "XML declaring a DOCTYPE or entities is refused"),
    ('<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd" [<!ENTITY a "aa">]><report>&a;</report>',
     "XML declaring a DOCTYPE or entities is refused"),
])
def test_what_is_no_report_is_one_line_naming_the_file_and_the_problem(tmp_path, content, problem) -> None:
    path = tmp_path / "cov.out"
    path.write_text(content)
    with pytest.raises(TraceError) as caught:
        read_coverage(path, SOURCES)
    assert str(caught.value) == f"coverage report {path} {problem}".replace(f"{path} XML", f"{path}: XML")


def test_coverage_pys_data_file_given_for_its_report_says_how_to_write_the_report(tmp_path) -> None:
    """`coverage run` writes `.coverage` (SQLite); the report is what `coverage json` makes of it."""
    (tmp_path / "m.py").write_text("x = 1\n")
    (tmp_path / "empty.rc").touch()  # no project settings
    env = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage"), "COVERAGE_RCFILE": str(tmp_path / "empty.rc")}
    subprocess.run([sys.executable, "-m", "coverage", "run", "m.py"], cwd=tmp_path, env=env, check=True)
    with pytest.raises(TraceError) as caught:
        read_coverage(tmp_path / ".coverage", SOURCES)
    assert str(caught.value) == (f"coverage report {tmp_path / '.coverage'} is coverage.py's data file, not a report: "
                                 "write one with `coverage json -o coverage.json` and give that")
    subprocess.run([sys.executable, "-m", "coverage", "json", "-o", "coverage.json"], cwd=tmp_path, env=env, check=True)
    assert read_coverage(tmp_path / "coverage.json", ["m.py"], root=str(tmp_path)).executed() == {"m.py": {1}}


def test_jacocos_execution_data_given_for_its_report_says_how_to_write_the_report() -> None:
    """The agent writes `jacoco.exec` (binary); the report is what `jacoco:report` makes of it. The
    fixture is the real agent's data of the run that made jacoco.xml (PROVENANCE.md)."""
    with pytest.raises(TraceError) as caught:
        read_coverage(JACOCO / "jacoco.exec", SOURCES)
    assert str(caught.value) == (
        f"coverage report {JACOCO / 'jacoco.exec'} is JaCoCo's execution data, not a report: write the XML report "
        "with `mvn jacoco:report` (target/site/jacoco/jacoco.xml), Gradle's jacocoTestReport, or "
        "`jacococli report <exec> --classfiles <dir> --xml jacoco.xml`, and give that")


_PIECES = st.sampled_from([
    "SF:", "DA:", "end_of_record\n", "TN:\n", "1,1\n", "0,0\n", "-3,x\n", "src/app/core.py\n", "/etc/shadow\n",
    "../../etc/passwd\n", "util.py\n", '{"files": {', '"a.py": {"executed_lines": [1, 2]}', "}}", "[", "null",
    "<coverage>", "</coverage>", "<report>", "</report>", "<package name='src/app'>", "</package>",
    "<sourcefile name='core.py'>", "</sourcefile>", "<line nr='2' ci='1'/>", "<line number='x' hits='1e3'/>", "<line nr='-1' ci='inf'/>",
    "<line number='7' hits='1'/>", "<line nr='1e999' ci='nan'/>", '"b.py": {"executed_lines": [-1, true, 3]}', '"c.py": {"executed_lines": 5}',
    "<class filename='app/core.py'>", "</class>", "<source>/builds/x/src</source>", "<!ENTITY a 'b'>",
    "<!DOCTYPE report>", "\x00", "\ufeff", " ", "\n"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40))
def test_any_text_is_a_report_of_tracked_paths_or_one_trace_error(pieces) -> None:
    try:
        report = parse_coverage("".join(pieces), SOURCES, root="/work/repo", name="r")
    except TraceError as exc:
        assert "\n" not in str(exc).strip() and str(exc).startswith("coverage report r")
        return
    assert set(report.lines) <= set(SOURCES) and all(report.lines.values())
    assert all(line > 0 for lines in report.lines.values() for line in lines)

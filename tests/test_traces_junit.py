"""JUnit XML reports from Surefire and pytest, and hostile XML."""

from __future__ import annotations

import pytest

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve
from rca_lsp.types import TestId as Tid

SUREFIRE = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="org.apache.commons.lang3.math.NumberUtilsTest" time="0.112" tests="3" errors="1" skipped="0" failures="1">
  <properties>
    <property name="java.version" value="17.0.9"/>
  </properties>
  <testcase name="testCreateNumber" classname="org.apache.commons.lang3.math.NumberUtilsTest" time="0.004"/>
  <testcase name="testLang747" classname="org.apache.commons.lang3.math.NumberUtilsTest" time="0.002">
    <error message="For input string: &quot;80000000&quot;" type="java.lang.NumberFormatException">java.lang.NumberFormatException: For input string: "80000000"
\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)
\tat java.base/java.lang.Integer.parseInt(Integer.java:668)
\tat org.apache.commons.lang3.math.NumberUtils.createInteger(NumberUtils.java:684)
\tat org.apache.commons.lang3.math.NumberUtilsTest.testLang747(NumberUtilsTest.java:256)
</error>
  </testcase>
  <testcase name="testIsDigits" classname="org.apache.commons.lang3.math.NumberUtilsTest" time="0.001">
    <failure message="expected: &lt;true&gt; but was: &lt;false&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;true&gt; but was: &lt;false&gt;
\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat org.apache.commons.lang3.math.NumberUtilsTest.testIsDigits(NumberUtilsTest.java:301)
</failure>
  </testcase>
</testsuite>
"""

PYTEST_XML = """\
<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.09" timestamp="2024-03-01T10:00:00" hostname="ci"><testcase classname="tests.test_parse.TestParseDate" name="test_year_only" time="0.001"><failure message="AssertionError: assert None == datetime.date(2024, 1, 1)">self = &lt;tests.test_parse.TestParseDate object at 0x7f&gt;

    def test_year_only(self):
&gt;       assert parse_date("2024") == date(2024, 1, 1)
E       AssertionError: assert None == datetime.date(2024, 1, 1)
E        +  where None = parse_date('2024')

tests/test_parse.py:18: AssertionError</failure></testcase><testcase classname="tests.test_parse" name="test_ok" time="0.001" /></testsuite></testsuites>
"""

FILES = [
    "src/main/java/org/apache/commons/lang3/math/NumberUtils.java",
    "src/test/java/org/apache/commons/lang3/math/NumberUtilsTest.java",
    "src/dateparse/core.py",
    "tests/test_parse.py",
]


def test_surefire_report():
    error, failure = parse(SUREFIRE)
    assert error.format == failure.format == "junit"
    assert error.test == Tid("org.apache.commons.lang3.math.NumberUtilsTest", "testLang747")
    assert (error.exception, error.message) == ("java.lang.NumberFormatException", 'For input string: "80000000"')
    assert [f.function for f in error.frames] == ["forInputString", "parseInt", "createInteger", "testLang747"]
    assert failure.test.name == "testIsDigits"
    assert failure.message == "expected: <true> but was: <false>"
    resolved = resolve([error, failure], FILES)
    assert [f.external for f in resolved[0].frames] == [True, True, False, False]
    assert resolved[0].test.path == FILES[1]


def test_pytest_junit_report():
    [trace] = parse(PYTEST_XML)
    assert trace.test == Tid("tests.test_parse.TestParseDate", "test_year_only")
    assert trace.exception == "AssertionError"
    assert trace.frames[0].function == "test_year_only"
    [resolved] = resolve([trace], FILES)
    assert resolved.test.path == "tests/test_parse.py"
    assert resolved.frames[0].path == "tests/test_parse.py"


def test_failure_without_trace_text():
    xml = ('<testsuite name="s"><testcase classname="pkg.FooTest" name="testBar">'
           '<failure message="timed out after 10s" type="java.util.concurrent.TimeoutException"/></testcase></testsuite>')
    [trace] = parse(xml)
    assert (trace.exception, trace.message, trace.frames) == ("java.util.concurrent.TimeoutException",
                                                              "timed out after 10s", ())


def test_report_inside_a_log_and_malformed_falls_back_to_text():
    log = "[INFO] writing report\n" + SUREFIRE + "[INFO] BUILD FAILURE\n"
    assert [t.test.name for t in parse(log)] == ["testLang747", "testIsDigits"]
    broken = SUREFIRE.replace("</testsuite>", "")  # cut off: the Java parser still reads the text
    traces = parse(broken)
    assert traces[0].format == "java"
    assert traces[0].exception == "java.lang.NumberFormatException"


def test_doctype_and_entities_are_refused():
    bomb = """\
<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite><testcase classname="a.B" name="c"><failure message="&lol2;">x</failure></testcase></testsuite>
"""
    with pytest.raises(TraceError) as info:
        parse(bomb)
    assert "DOCTYPE" in str(info.value)
    external = """\
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite><testcase classname="a.B" name="c"><failure>&xxe;</failure></testcase></testsuite>
"""
    with pytest.raises(TraceError):
        parse(external)

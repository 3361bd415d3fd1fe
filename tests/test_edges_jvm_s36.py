"""JVM output as a new user pastes it: Surefire 3's test lines, Kotlin's compiler-made method names,
Log4j2's root-cause-first traces (thirty-sixth sitting).

Maven output below is real, captured byte for byte (Apache Maven 3.8.7, maven-surefire-plugin 3.2.5,
JUnit Jupiter 5.10.2, OpenJDK 17.0.19) from a two-module project; the Kotlin and Log4j2 shapes are
the documented ones (no Kotlin compiler or Log4j2 here). The live test builds and runs Java where
javac and java exist.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rca_lsp.traces import parse, resolve
from rca_lsp.traces.java import method_name
from rca_lsp.types import TestId as Tid

FILES = [
    "core/src/main/java/com/acme/core/Money.java",
    "core/src/main/java/com/acme/core/Prices.java",
    "billing/src/main/java/com/acme/billing/Invoice.java",
    "billing/src/test/java/com/acme/billing/InvoiceTest.java",
    "billing/src/test/java/com/acme/billing/RefundTest.java",
    "billing/src/test/java/com/acme/billing/LedgerTest.java",
]

# mvn -o -B test -pl billing -am -Dtest=RefundTest: a @BeforeEach method threw, so no frame is the test's
SETUP_THREW = """\
[INFO] Running com.acme.billing.RefundTest
[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.073 s <<< FAILURE! -- in com.acme.billing.RefundTest
[ERROR] com.acme.billing.RefundTest.refundIsNegativeFree -- Time elapsed: 0.034 s <<< ERROR!
java.lang.IllegalArgumentException: negative amount: -2
\tat com.acme.core.Money.<init>(Money.java:6)
\tat com.acme.core.Prices.discount(Prices.java:11)
\tat com.acme.billing.RefundTest.setUp(RefundTest.java:15)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)

[INFO] \n"""

# mvn -o -B test: a @ParameterizedTest in a @Nested class
NESTED_CASE = """\
[ERROR] com.acme.billing.InvoiceTest$Discounted.roundsHalfUp(long, int, long)[3] -- Time elapsed: 0.003 s <<< FAILURE!
org.opentest4j.AssertionFailedError: discounted total ==> expected: <2> but was: <3>
\tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
\tat org.junit.jupiter.api.AssertionFailureBuilder.buildAndThrow(AssertionFailureBuilder.java:132)
\tat org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)
\tat org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:166)
\tat org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:664)
\tat com.acme.billing.InvoiceTest$Discounted.roundsHalfUp(InvoiceTest.java:26)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)

"""

# mvn -o -B test -pl billing -am -Dtest=LedgerTest: a @BeforeAll method threw; Surefire names the class
CLASS_FAILED = """\
[INFO] Running com.acme.billing.LedgerTest
[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.044 s <<< FAILURE! -- in com.acme.billing.LedgerTest
[ERROR] com.acme.billing.LedgerTest -- Time elapsed: 0.044 s <<< ERROR!
java.lang.IllegalArgumentException: negative amount: -2
\tat com.acme.core.Money.<init>(Money.java:6)
\tat com.acme.core.Prices.discount(Prices.java:11)
\tat com.acme.billing.LedgerTest.open(LedgerTest.java:15)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)

"""


def test_surefire3_line_names_the_test_when_a_setup_method_threw():
    # before: the line was not read (Surefire 3 prints `Class.method -- Time elapsed`), so the test
    # was guessed from the frames: RefundTest.setUp
    [trace] = resolve(parse(SETUP_THREW), FILES)
    assert (trace.test.container, trace.test.name) == ("com.acme.billing.RefundTest", "refundIsNegativeFree")
    assert trace.test.path == "billing/src/test/java/com/acme/billing/RefundTest.java"
    assert [f.path for f in trace.frames if not f.external] == [
        "core/src/main/java/com/acme/core/Money.java", "core/src/main/java/com/acme/core/Prices.java",
        "billing/src/test/java/com/acme/billing/RefundTest.java"]


def test_surefire3_line_keeps_the_nested_class_and_the_parameterized_case():
    [trace] = resolve(parse(NESTED_CASE), FILES)
    assert (trace.test.container, trace.test.name) == (
        "com.acme.billing.InvoiceTest$Discounted", "roundsHalfUp")
    assert trace.test.params == "(long, int, long)[3]"
    assert trace.test.label == "InvoiceTest$Discounted.roundsHalfUp(long, int, long)[3]"
    assert trace.test.path == "billing/src/test/java/com/acme/billing/InvoiceTest.java"


def test_surefire3_line_of_a_class_is_no_test_name():
    # `pkg.LedgerTest -- Time elapsed` is the class's own failure, not a method `LedgerTest` of `pkg`
    [trace] = parse(CLASS_FAILED)
    assert trace.test == Tid("com.acme.billing.LedgerTest", "open")


def test_surefire3_kotlin_method_with_spaces():
    text = """\
[ERROR] com.acme.CalcTest.adds two numbers() -- Time elapsed: 0.012 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <4> but was: <5>
\tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
\tat com.acme.CalcTest.adds two numbers(CalcTest.kt:12)
"""
    [trace] = parse(text)
    assert trace.test == Tid("com.acme.CalcTest", "adds two numbers")


@pytest.mark.parametrize("printed, declared", [
    ("add$default", "add"), ("fetch$suspendImpl", "fetch"), ("price-impl", "price"),
    ("equals-impl0", "equals"), ("price-0GA-fAs", "price"), ("getPrice-6VbMDqA", "getPrice"),
    ("main$lambda$0", "main"), ("$default", "$default"), ("access$000", "access$000"), ("parse", "parse"),
])
def test_kotlin_compiler_made_names_are_their_function(printed, declared):
    assert method_name(printed) == declared


def test_kotlin_default_arguments_frame_is_the_function():
    text = """\
Exception in thread "main" java.lang.IllegalArgumentException: Failed requirement.
\tat org.demo.store.CalcKt.checkQty(Calc.kt:12)
\tat org.demo.store.Calc.add$default(Calc.kt:20)
\tat org.demo.store.Service.fetch$suspendImpl(Service.kt:40)
\tat org.demo.cli.AppKt.main(App.kt:9)
"""
    files = ["src/main/kotlin/org/demo/store/Calc.kt", "src/main/kotlin/org/demo/store/Service.kt",
             "src/main/kotlin/org/demo/cli/App.kt"]
    [trace] = resolve(parse(text), files)
    assert [f.function for f in trace.frames] == ["checkQty", "add", "fetch", "main"]
    assert trace.frames[1].path == "src/main/kotlin/org/demo/store/Calc.kt"


# Log4j2's %rEx (and %rThrowable): the root cause first, each wrapper after it as `Wrapped by:`
ROOT_FIRST = """\
2024-05-01 10:00:00,123 ERROR [main] org.demo.cli.Main: import failed
java.lang.NumberFormatException: For input string: "x"
\tat java.lang.NumberFormatException.forInputString(NumberFormatException.java:65) ~[?:?]
\tat org.demo.store.Repo.parse(Repo.java:21) ~[app.jar:?]
\tat org.demo.store.Repo.load(Repo.java:15) ~[app.jar:?]
Wrapped by: java.lang.IllegalStateException: bad row: b, x
\tat org.demo.store.Repo.parse(Repo.java:23) ~[app.jar:?]
\tat org.demo.store.Repo.load(Repo.java:15) ~[app.jar:?]
\tat org.demo.cli.Main.main(Main.java:10) [app.jar:?]
Wrapped by: java.lang.Exception: import failed
\tat org.demo.cli.Main.main(Main.java:12) [app.jar:?]
\t... 1 more
"""


def test_log4j2_root_cause_first_is_one_trace_outermost_first():
    # before: each `Wrapped by:` section was a trace of its own with no exception
    [trace] = parse(ROOT_FIRST)
    assert trace.exception == "java.lang.Exception"
    assert [c.exception for c in trace.causes] == ["java.lang.IllegalStateException",
                                                   "java.lang.NumberFormatException"]
    assert trace.causes[0].message == "bad row: b, x"
    assert [(f.function, f.line) for f in trace.causes[1].frames][1:] == [("parse", 21), ("load", 15)]
    assert not trace.truncated


def test_wrapped_by_then_caused_by_is_still_one_trace():
    text = ROOT_FIRST + "Caused by: java.io.IOException: disk\n\tat org.demo.store.Repo.read(Repo.java:40)\n"
    [trace] = parse(text)
    assert all(c.exception for c in trace.causes)


APP = {
    "src/main/java/org/demo/store/Repo.java": """\
package org.demo.store;

import java.util.List;

public class Repo implements AutoCloseable {
    public List<Integer> load(List<String> rows) {
        return rows.stream().map(r -> parse(r)).toList();
    }

    static int parse(String row) {
        try {
            return Integer.parseInt(row.trim());
        } catch (RuntimeException e) {
            throw new IllegalStateException("bad row: " + row, e);
        }
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("close twice");
    }
}
""",
    "src/main/java/org/demo/cli/Main.java": """\
package org.demo.cli;

import java.util.List;
import org.demo.store.Repo;

public class Main {
    public static void main(String[] args) throws Exception {
        try (Repo repo = new Repo()) {
            Runnable job = new Runnable() {
                public void run() {
                    repo.load(List.of("1", "x"));
                }
            };
            job.run();
        } catch (RuntimeException e) {
            throw new Exception("import failed", e);
        }
    }
}
""",
}


@pytest.mark.skipif(shutil.which("javac") is None or shutil.which("java") is None, reason="needs a JDK")
def test_live_java_trace_with_suppressed_anonymous_class_and_lambda(tmp_path: Path):
    for name, text in APP.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    subprocess.run(["javac", "-d", str(tmp_path / "out"), *APP], cwd=tmp_path, check=True, timeout=120)
    run = subprocess.run(["java", "-cp", str(tmp_path / "out"), "org.demo.cli.Main"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "Suppressed:" in run.stderr
    [trace] = resolve(parse(run.stderr), list(APP))
    assert (trace.exception, trace.message) == ("java.lang.Exception", "import failed")
    assert [c.exception for c in trace.causes] == ["java.lang.IllegalStateException",
                                                   "java.lang.NumberFormatException"]
    mine = [(f.function, f.path) for f in trace.causes[0].frames if not f.external]
    assert mine[:2] == [("parse", "src/main/java/org/demo/store/Repo.java"),
                        ("load", "src/main/java/org/demo/store/Repo.java")]
    assert ("run", "src/main/java/org/demo/cli/Main.java") in mine  # Main$1.run
    assert "close" not in [f.function for f in trace.all_frames()]  # the Suppressed block is skipped


# target/surefire-reports/TEST-com.acme.billing.InvoiceTest$Discounted.xml (Surefire 3.2.5), cut to one
# failing case, its first frames and the element's end
SUREFIRE_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" \
version="3.0" name="com.acme.billing.InvoiceTest$Discounted" time="0.109" tests="5" errors="0" skipped="0" failures="3">
  <testcase name="totalSumsLines" classname="com.acme.billing.InvoiceTest" time="0.066"/>
  <testcase name="roundsHalfUp(long, int, long)[3]" classname="com.acme.billing.InvoiceTest$Discounted" time="0.003">
    <failure message="discounted total ==&gt; expected: &lt;2&gt; but was: &lt;3&gt;" \
type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: \
discounted total ==> expected: <2> but was: <3>
\tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
\tat org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:664)
\tat com.acme.billing.InvoiceTest$Discounted.roundsHalfUp(InvoiceTest.java:26)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
]]></failure>
  </testcase>
</testsuite>
"""


def test_junit_xml_keeps_the_parameterized_case_for_display():
    # before: the case `(long, int, long)[3]` was dropped with the parameters
    [trace] = resolve(parse(SUREFIRE_XML), FILES)
    assert (trace.test.container, trace.test.name) == (
        "com.acme.billing.InvoiceTest$Discounted", "roundsHalfUp")
    assert trace.test.params == "(long, int, long)[3]"
    assert trace.test.path == "billing/src/test/java/com/acme/billing/InvoiceTest.java"

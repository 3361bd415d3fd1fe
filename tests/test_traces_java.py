"""Java/Kotlin stack traces: Defects4J, Spring-style chains, Maven, Gradle, Kotlin."""

from __future__ import annotations

from rca_lsp.traces import parse, resolve
from rca_lsp.types import TestId as Tid

LANG747 = """\
--- org.apache.commons.lang3.math.NumberUtilsTest::TestLang747
java.lang.NumberFormatException: For input string: "80000000"
\tat java.lang.NumberFormatException.forInputString(NumberFormatException.java:65)
\tat java.lang.Integer.parseInt(Integer.java:583)
\tat java.lang.Integer.valueOf(Integer.java:740)
\tat java.lang.Integer.decode(Integer.java:1197)
\tat org.apache.commons.lang3.math.NumberUtils.createInteger(NumberUtils.java:684)
\tat org.apache.commons.lang3.math.NumberUtils.createNumber(NumberUtils.java:474)
\tat org.apache.commons.lang3.math.NumberUtilsTest.TestLang747(NumberUtilsTest.java:256)
"""

JSOUP = """\
--- org.jsoup.nodes.ElementTest::testX
junit.framework.AssertionFailedError: expected:<1> but was:<2>
\tat junit.framework.Assert.fail(Assert.java:47)
\tat org.jsoup.nodes.ElementTest.testX(ElementTest.java:123)
--- org.jsoup.nodes.ElementTest::testY
java.lang.NullPointerException
\tat org.jsoup.nodes.Element.text(Element.java:880)
\tat org.jsoup.nodes.ElementTest.testY(ElementTest.java:140)
"""

SPRING = """\
2024-02-11 09:14:03.512 ERROR 4821 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception
org.springframework.web.util.NestedServletException: Request processing failed; nested exception is java.lang.IllegalStateException: order 42 has no lines
\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014) ~[spring-webmvc-5.3.31.jar:5.3.31]
\tat org.springframework.web.servlet.FrameworkServlet.doGet(FrameworkServlet.java:898) ~[spring-webmvc-5.3.31.jar:5.3.31]
\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:529) ~[tomcat-embed-core-9.0.83.jar:4.0.FR]
\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:209) ~[tomcat-embed-core-9.0.83.jar:9.0.83]
\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61) ~[tomcat-embed-core-9.0.83.jar:9.0.83]
\tat java.base/java.lang.Thread.run(Thread.java:840) ~[na:na]
Caused by: java.lang.IllegalStateException: order 42 has no lines
\tat com.acme.shop.order.OrderService.lambda$total$0(OrderService.java:57) ~[classes/:na]
\tat java.base/java.util.Optional.orElseThrow(Optional.java:403) ~[na:na]
\tat com.acme.shop.order.OrderService.total(OrderService.java:57) ~[classes/:na]
\tat com.acme.shop.order.OrderController$Handlers.get(OrderController.java:31) ~[classes/:na]
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method) ~[na:na]
\t... 5 common frames omitted
\tSuppressed: java.io.IOException: close failed
\t\tat com.acme.shop.io.Sink.close(Sink.java:20)
\t\t... 6 more
Caused by: java.lang.ArithmeticException: / by zero
\tat com.acme.shop.order.Lines.avg(Lines.java:12)
\t... 9 more
"""

FILES = [
    "src/main/java/org/apache/commons/lang3/math/NumberUtils.java",
    "src/test/java/org/apache/commons/lang3/math/NumberUtilsTest.java",
    "src/main/java/org/jsoup/nodes/Element.java",
    "src/test/java/org/jsoup/nodes/ElementTest.java",
    "shop/src/main/java/com/acme/shop/order/OrderService.java",
    "shop/src/main/java/com/acme/shop/order/OrderController.java",
    "shop/src/main/java/com/acme/shop/order/Lines.java",
    "legacy/com/acme/shop/order/Lines.java.orig",
]


def test_defects4j_header_names_test():
    [trace] = parse(LANG747)
    assert trace.format == "java"
    assert trace.exception == "java.lang.NumberFormatException"
    assert trace.message == 'For input string: "80000000"'
    assert trace.test == Tid("org.apache.commons.lang3.math.NumberUtilsTest", "TestLang747")
    top = trace.frames[0]
    assert (top.index, top.function, top.module, top.file, top.line) == (
        0, "forInputString", "java.lang.NumberFormatException", "NumberFormatException.java", 65)
    assert trace.frames[4].qualname == "org.apache.commons.lang3.math.NumberUtils.createInteger"
    assert [f.index for f in trace.frames] == list(range(7))


def test_defects4j_resolve():
    [trace] = resolve(parse(LANG747), FILES)
    assert [f.external for f in trace.frames] == [True] * 4 + [False] * 3
    assert trace.frames[4].path == "src/main/java/org/apache/commons/lang3/math/NumberUtils.java"
    assert trace.frames[6].path == "src/test/java/org/apache/commons/lang3/math/NumberUtilsTest.java"
    assert trace.test.path == "src/test/java/org/apache/commons/lang3/math/NumberUtilsTest.java"


def test_multiple_defects4j_blocks():
    a, b = parse(JSOUP)
    assert (a.exception, a.message) == ("junit.framework.AssertionFailedError", "expected:<1> but was:<2>")
    assert a.test == Tid("org.jsoup.nodes.ElementTest", "testX")
    assert (b.exception, b.message, b.test.name) == ("java.lang.NullPointerException", "", "testY")
    assert b.frames[0].function == "text"
    resolved = resolve([a, b], FILES)
    assert resolved[0].frames[0].external and not resolved[0].frames[1].external


def test_spring_chain_with_suppressed_and_omitted_frames():
    [trace] = parse(SPRING)
    assert trace.exception == "org.springframework.web.util.NestedServletException"
    assert trace.message.startswith("Request processing failed")
    assert len(trace.frames) == 6
    assert trace.frames[5].qualname == "java.lang.Thread.run"  # module prefix java.base/ dropped
    first, second = trace.causes
    assert (first.exception, first.message) == ("java.lang.IllegalStateException", "order 42 has no lines")
    lam = first.frames[0]
    assert (lam.function, lam.qualname, lam.module) == (
        "total", "com.acme.shop.order.OrderService.lambda$total$0", "com.acme.shop.order.OrderService")
    inner = first.frames[3]
    assert (inner.function, inner.module) == ("get", "com.acme.shop.order.OrderController")
    assert first.frames[4].file is None and first.frames[4].line is None  # Native Method
    assert len(first.frames) == 5  # the Suppressed block is skipped
    assert (second.exception, second.frames[0].function) == ("java.lang.ArithmeticException", "avg")
    assert trace.test is None
    assert not trace.truncated


def test_spring_resolve_inner_classes_and_externals():
    [trace] = resolve(parse(SPRING), FILES)
    first, second = trace.causes
    assert [f.path for f in first.frames] == [
        "shop/src/main/java/com/acme/shop/order/OrderService.java", None,
        "shop/src/main/java/com/acme/shop/order/OrderService.java",
        "shop/src/main/java/com/acme/shop/order/OrderController.java", None]
    assert second.frames[0].path == "shop/src/main/java/com/acme/shop/order/Lines.java"
    assert all(f.external for f in trace.frames)  # Spring, servlet and JDK frames


def test_inferred_test_from_frames_and_main_thread():
    text = """\
Exception in thread "main" java.lang.AssertionError: expected [3] but found [2]
\tat org.testng.Assert.fail(Assert.java:110)
\tat com.acme.cart.CartTest.checkTotal(CartTest.java:40)
\tat com.acme.cart.CartTest.testTotals(CartTest.java:22)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
"""
    [trace] = parse(text)
    assert trace.exception == "java.lang.AssertionError"
    assert trace.test == Tid("com.acme.cart.CartTest", "testTotals")


def test_maven_surefire_and_gradle_headers():
    maven = """\
[INFO] Running com.acme.cart.CartTest
[ERROR] Tests run: 3, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.05 s <<< FAILURE! - in com.acme.cart.CartTest
[ERROR] totalIsSum(com.acme.cart.CartTest)  Time elapsed: 0.01 s  <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <3> but was: <2>
\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat com.acme.cart.CartTest.totalIsSum(CartTest.java:31)
"""
    [trace] = parse(maven)
    assert trace.test == Tid("com.acme.cart.CartTest", "totalIsSum")
    assert trace.message == "expected: <3> but was: <2>"
    gradle = """\
CartTest > totalIsSum() FAILED
    org.opentest4j.AssertionFailedError at CartTest.java:31
"""
    [trace] = parse(gradle)
    assert trace.test == Tid("CartTest", "totalIsSum")
    assert (trace.frames[0].file, trace.frames[0].line) == ("CartTest.java", 31)
    [resolved] = resolve([trace], ["src/test/java/com/acme/cart/CartTest.java"])
    assert resolved.frames[0].path == "src/test/java/com/acme/cart/CartTest.java"


def test_kotlin_file_classes_and_unknown_source():
    text = """\
Exception in thread "main" kotlin.KotlinNullPointerException
\tat com.acme.cli.ArgsKt.parseArgs(Args.kt:14)
\tat com.acme.cli.MainKt.main(Unknown Source)
\tat com.acme.cli.MainKt$run$1.invokeSuspend(Main.kt:9)
"""
    [trace] = parse(text)
    assert trace.exception == "kotlin.KotlinNullPointerException"
    assert trace.frames[1].file is None
    files = ["cli/src/main/kotlin/com/acme/cli/Args.kt", "cli/src/main/kotlin/Main.kt"]
    [resolved] = resolve([trace], files)
    assert [f.path for f in resolved.frames] == [files[0], files[1], files[1]]


def test_wrong_package_does_not_resolve_java():
    text = """\
java.lang.IllegalArgumentException: x
\tat com.google.common.base.Strings.repeat(Strings.java:250)
\tat com.acme.util.Text.pad(Text.java:9)
"""
    [trace] = resolve(parse(text), ["src/main/java/com/acme/util/Strings.java", "src/main/java/com/acme/util/Text.java"])
    assert [f.path for f in trace.frames] == [None, "src/main/java/com/acme/util/Text.java"]


def test_truncated_and_elided():
    cut = LANG747[: LANG747.index("(NumberUtils.java:474)")]
    [trace] = parse(cut)
    assert trace.truncated
    assert len(trace.frames) == 5
    text = """\
java.lang.IllegalStateException: boom
\tat com.acme.A.f(A.java:1)
\t... 12 more
"""
    [trace] = parse(text)
    assert trace.truncated


def test_prose_is_not_a_frame():
    text = "We met at the station(see map) and then\njava.lang.Error: nope\nat the end(fine)\n"
    traces = [t for t in parse_or_empty(text) if t.format == "java"]
    assert traces == []


def parse_or_empty(text: str):
    try:
        return parse(text)
    except Exception:
        return []


def test_kotlin_coroutine_class_maps_to_enclosing_function():
    text = """\
Exception in thread "main" java.lang.IllegalStateException: boom
\tat com.example.AppKt$main$1.invokeSuspend(App.kt:12)
\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33)
\tat com.example.AppKt.main(App.kt:10)
"""
    [trace] = parse(text)
    assert [f.function for f in trace.frames] == ["main", "resumeWith", "main"]
    assert trace.frames[0].qualname == "com.example.AppKt$main$1.invokeSuspend"
    [resolved] = resolve([trace], ["app/src/main/kotlin/com/example/App.kt"])
    assert [f.external for f in resolved.frames] == [False, True, False]


def test_defects4j_long_multiline_message():
    body = "\n".join(f"    NAME a{i} 1 [source_file: input0]" for i in range(80))
    text = f"""\
--- com.google.javascript.jscomp.IntegrationTest::testIssue937
junit.framework.AssertionFailedError:
Expected: a = b
Result: com.google.Foo: not an exception
Node tree inequality:
{body}
\tat junit.framework.Assert.fail(Assert.java:47)
\tat com.google.javascript.jscomp.IntegrationTestCase.test(IntegrationTestCase.java:94)
\tat com.google.javascript.jscomp.IntegrationTest.testIssue937(IntegrationTest.java:2418)
"""
    [trace] = parse(text)
    assert trace.exception == "junit.framework.AssertionFailedError"
    assert trace.message.startswith("Expected: a = b\nResult: com.google.Foo: not an exception")
    assert trace.test == Tid("com.google.javascript.jscomp.IntegrationTest", "testIssue937")
    assert len(trace.frames) == 3


def test_generated_frames_blank_lines_and_cause_before_next_header():
    text = """\
--- org.mockitousage.bugs.DeepStubsTest::should_not_fail
org.mockito.exceptions.base.MockitoException:
You are using the setting 'withSettings().serializable()' however the type you are trying to mock

Also note the whole hierarchy needs to implement Serializable.

\tat org.mockito.internal.util.MockCreationValidator.validateSerializable(MockCreationValidator.java:63)
\tat org.mockitousage.bugs.DeepStubsTest$ToBeStubbed$$EnhancerByMockitoWithCGLIB$$83cd564c.getSomething(<generated>)
\tat org.mockitousage.bugs.DeepStubsTest.should_not_fail(DeepStubsTest.java:25)
--- com.google.javascript.jscomp.IntegrationTest::testIssue284
java.lang.RuntimeException: java.lang.RuntimeException: INTERNAL COMPILER ERROR.
\tat com.google.javascript.jscomp.Compiler.runCallable(Compiler.java:639)
\tat com.google.javascript.jscomp.IntegrationTest.testIssue284(IntegrationTest.java:1769)
Caused by: java.lang.RuntimeException: INTERNAL COMPILER ERROR.
Please report this problem.

Unexpected variable goog
\tat com.google.javascript.jscomp.VarCheck.visit(VarCheck.java:159)
Caused by: java.lang.IllegalStateException: Unexpected variable goog
\t... 1 more
--- com.google.javascript.jscomp.NameAnalyzerTest::testIssue284
junit.framework.AssertionFailedError:
Expected:
 at [Source: (String)"{}"; line: 1, column: 2]
\tat com.google.javascript.jscomp.NameAnalyzerTest.testIssue284(NameAnalyzerTest.java:1304)
"""
    mockito, closure, analyzer = parse(text)
    assert mockito.message.startswith("You are using the setting")
    assert "Also note" in mockito.message
    assert [f.function for f in mockito.frames] == ["validateSerializable", "getSomething", "should_not_fail"]
    assert mockito.frames[1].file is None
    assert mockito.frames[1].module == "org.mockitousage.bugs.DeepStubsTest"
    first, second = closure.causes
    assert first.message == "INTERNAL COMPILER ERROR.\nPlease report this problem.\n\nUnexpected variable goog"
    assert (second.exception, second.frames) == ("java.lang.IllegalStateException", ())
    assert not closure.truncated
    assert analyzer.test.name == "testIssue284"
    assert analyzer.message == 'Expected:\nat [Source: (String)"{}"; line: 1, column: 2]'

"""How far the failing test's walk reaches (issue #16, item 1): calls on a declared type reach every
override below it, the walk follows four calls, and a test a class inherits from its base test
class is walked from there. Real tree-sitter parses, real git repositories, the real ranking."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.code.graph import CallGraph
from rca_lsp.vcs.git import GitRepo


def test_a_typed_call_reaches_the_declared_member_and_the_overrides_of_every_level_below() -> None:
    """`ESC.translate(s)` with ESC declared a Translator: Translator's own translate (a final
    method the subclasses inherit), the override in the caller's own file, and the one two levels
    down (Translator <- Escaper <- CsvEscaper) may all run. Before: the local override alone."""
    graph = CallGraph.build([
        ("Translator.java", b"abstract class Translator { public String translate(String s) { return s; } }"),
        ("Escaper.java", b"abstract class Escaper extends Translator { }"),
        ("CsvEscaper.java", b"class CsvEscaper extends Escaper { public String translate(String s) { return s; } }"),
        ("Utils.java", b"class Utils {\n"
                       b"  static Translator ESC = new CsvEscaper();\n"
                       b"  static class Local extends Translator { public String translate(String s) { return s; } }\n"
                       b"  String escape(String s) { return ESC.translate(s); }\n"
                       b"}\n"),
    ])
    reached = graph.callees("Utils.java", "Utils.escape", hops=1)
    assert reached == {("Translator.java", "Translator.translate"): 1.0,
                       ("Utils.java", "Utils.Local.translate"): 0.5,
                       ("CsvEscaper.java", "CsvEscaper.translate"): 0.5}


CHAIN = '''\
def a(x):
    return b(x)


def b(x):
    return c(x)


def c(x):
    return d(x)


def d(x):
    return x.upper()
'''

CHAIN_TEST = "import lib\n\n\ndef test_a():\n    assert lib.a('x') == 'x'\n"

CHAIN_TRACE = '''\
=================================== FAILURES ===================================
____________________________________ test_a ____________________________________

    def test_a():
>       assert lib.a('x') == 'x'
E       AssertionError: assert 'X' == 'x'

tests/test_lib.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_lib.py::test_a - AssertionError
'''


def test_the_walk_reaches_a_function_four_calls_from_the_failing_test(git_repo) -> None:
    git_repo.commit("Add lib", {"lib.py": CHAIN.replace("x.upper()", "x"), "tests/test_lib.py": CHAIN_TEST,
                                "other.py": "A = 1\n"})
    culprit = git_repo.commit("Shout in d", {"lib.py": CHAIN}, author="Bob")
    other = git_repo.commit("Other", {"other.py": "A = 2\n"}, author="Carol")
    result = ranked(GitRepo(git_repo.root), CHAIN_TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any(e.text == "changed d (2 lines), which the failing test test_a reaches in 4 calls"
               for e in suspect.evidence)


BASE_TEST = '''\
package org.ex;

public abstract class ParserTestCase {
    protected Parser parser = new Parser();

    public void testGroup() {
        assertEquals("bar", parser.parse("x"));
    }
}
'''

PARSER = '''\
package org.ex;

public class Parser {
    public String parse(String s) {
        return Groups.select(s);
    }
}
'''

GROUPS = '''\
package org.ex;

public class Groups {
    public static String select(String s) {
        return "bar";
    }
}
'''

INHERITED_TRACE = '''\
--- org.ex.BasicParserTest::testGroup
junit.framework.ComparisonFailure: expected:<bar> but was:<null>
\tat junit.framework.Assert.assertEquals(Assert.java:100)
\tat org.ex.ParserTestCase.testGroup(ParserTestCase.java:7)
'''


def test_a_test_the_failing_class_inherits_is_walked_from_its_base_class(git_repo) -> None:
    """JUnit runs a base test class's tests for each subclass, and names the subclass: the test
    method is not in the subclass's file. Before, the walk found no test method and reached nothing."""
    git_repo.commit("Parser", {"src/main/org/ex/Parser.java": PARSER, "src/main/org/ex/Groups.java": GROUPS,
                               "src/main/org/ex/Other.java": "package org.ex;\nclass Other { }\n",
                               "src/test/org/ex/ParserTestCase.java": BASE_TEST,
                               "src/test/org/ex/BasicParserTest.java":
                                   "package org.ex;\n\npublic class BasicParserTest extends ParserTestCase { }\n"})
    culprit = git_repo.commit("Groups: select nothing", {"src/main/org/ex/Groups.java": GROUPS.replace('"bar"', "null")},
                              author="Bob")
    other = git_repo.commit("Other", {"src/main/org/ex/Other.java": "package org.ex;\nclass Other { int a; }\n"},
                            author="Carol")
    result = ranked(GitRepo(git_repo.root), INHERITED_TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any(e.text == "changed Groups.select (2 lines), which the failing test ParserTestCase.testGroup"
               " reaches in 2 calls" for e in suspect.evidence)


def test_a_static_import_names_the_class_of_a_bare_call_and_the_class_own_members_come_first() -> None:
    """`import static org.ex.Strings.isBlank` makes `isBlank(s)` a call of Strings.isBlank, though
    Other.isBlank shares the name; `.*` of the project's own class types the rest, JUnit's `.*` does
    not, and a method of the test's own class hides the import, as in Java."""
    graph = CallGraph.build([
        ("src/org/ex/Strings.java", b"package org.ex;\nclass Strings { static boolean isBlank(String s) { return true; } }"),
        ("src/org/ex/Other.java", b"package org.ex;\nclass Other { static boolean isBlank(String s) { return false; }\n"
                                  b"  static int trim(String s) { return 0; } }"),
        ("src/org/ex/Arrays2.java", b"package org.ex;\nclass Arrays2 { static int trim(String s) { return 1; }\n"
                                    b"  static int size(int[] a) { return 1; } }"),
        ("test/org/ex/T.java", b"package org.ex;\n"
                               b"import static org.ex.Strings.isBlank;\n"
                               b"import static org.ex.Arrays2.*;\n"
                               b"import static org.junit.Assert.*;\n"
                               b"class T {\n"
                               b"  void test() { isBlank(\"\"); trim(\"\"); size(null); assertTrue(true); }\n"
                               b"  int size(int[] a) { return 2; }\n"
                               b"}\n"),
    ])
    assert graph.callees("test/org/ex/T.java", "T.test", hops=1) == {
        ("src/org/ex/Strings.java", "Strings.isBlank"): 1.0,
        ("src/org/ex/Arrays2.java", "Arrays2.trim"): 1.0,
        ("test/org/ex/T.java", "T.size"): 1.0}


def test_a_class_handed_over_as_foo_class_or_as_its_name_in_a_string_reaches_its_constructor() -> None:
    """A serializer or runner builds the class it is given by reflection: `Bean.class` and
    `"org.ex.Plugin"` reach the constructors as `new Bean()` would; `int.class` reaches nothing."""
    graph = CallGraph.build([
        ("src/org/ex/Bean.java", b"package org.ex;\nclass Bean { Bean() { init(); } void init() {} }"),
        ("src/org/ex/Plugin.java", b"package org.ex;\nclass Plugin { Plugin() {} }"),
        ("test/org/ex/T.java", b"package org.ex;\nclass T { void test() throws Exception {\n"
                               b"  Object b = mapper.read(json, Bean.class);\n"
                               b"  Class<?> p = Class.forName(\"org.ex.Plugin\");\n"
                               b"  Object n = int.class; String s = \"not.a.Class name\";\n"
                               b"} }\n"),
    ])
    assert graph.callees("test/org/ex/T.java", "T.test", hops=2) == {
        ("src/org/ex/Bean.java", "Bean.Bean"): 1.0,
        ("src/org/ex/Bean.java", "Bean.init"): 0.4,  # one call further: DEFAULT_DECAY
        ("src/org/ex/Plugin.java", "Plugin.Plugin"): 1.0}


def test_the_methods_of_an_enum_constant_body_run_when_the_enum_method_is_called() -> None:
    """`state.process(tb)` on a State runs the body of whichever constant `state` is: those bodies
    are State.process, so the builder's `insert` they call is reached. Before, their calls were
    the enum's own and no walk reached them."""
    graph = CallGraph.build([
        ("State.java", b"enum State {\n"
                       b"  INITIAL { boolean process(Builder tb) { tb.insert(); return true; } },\n"
                       b"  IN_BODY { boolean process(Builder tb) { return tb.close(); } };\n"
                       b"  abstract boolean process(Builder tb);\n"
                       b"}\n"),
        ("Builder.java", b"class Builder { State state;\n"
                         b"  void insert() {}\n  boolean close() { return true; }\n"
                         b"  boolean step() { return state.process(this); } }\n"),
    ])
    reached = graph.callees("Builder.java", "Builder.step", hops=2)
    assert reached[("State.java", "State.process")] == 1.0
    assert reached[("Builder.java", "Builder.insert")] > 0 and reached[("Builder.java", "Builder.close")] > 0


CONSTRUCTS = '''\
class Construct:
    def build(self, obj):
        return self._build(obj)

    def _build(self, obj):
        raise NotImplementedError


class Padded(Construct):
    def _build(self, obj):
        return obj.ljust(4)


class Bytes(Construct):
    def _build(self, obj):
        return obj


class Flag(Construct):
    def _build(self, obj):
        return bool(obj)
'''


def test_a_method_inherited_by_the_receiver_type_calls_that_types_overrides_on_self() -> None:
    """`Padded().build(x)` runs Construct.build with self a Padded: its `self._build` is
    Padded._build, at full weight, and not the other subclasses' overrides. Before, the walk
    reached every override of Construct._build at a third of the weight each."""
    graph = CallGraph.build([
        ("lib/core.py", CONSTRUCTS.encode()),
        ("tests/test_core.py", b"from lib.core import Padded\n\n\ndef test_padded():\n"
                               b"    assert Padded().build(b'x') == b'x   '\n"),
    ])
    reached = graph.callees("tests/test_core.py", "test_padded", hops=2)
    assert reached[("lib/core.py", "Construct.build")] == 1.0
    assert reached[("lib/core.py", "Padded._build")] == 0.4
    assert ("lib/core.py", "Bytes._build") not in reached and ("lib/core.py", "Flag._build") not in reached


def test_a_bare_call_in_an_inherited_java_method_runs_the_receivers_override() -> None:
    """HtmlTreeBuilder.parse calls `super.parse()`; TreeBuilder's parse and runParser run on the
    same HtmlTreeBuilder, so the bare `process()` there is HtmlTreeBuilder.process, not
    XmlTreeBuilder's. Before, it stopped at the abstract TreeBuilder.process."""
    graph = CallGraph.build([
        ("TreeBuilder.java", b"abstract class TreeBuilder { void parse() { runParser(); }\n"
                             b"  void runParser() { process(); }\n  abstract void process(); }"),
        ("HtmlTreeBuilder.java", b"class HtmlTreeBuilder extends TreeBuilder { void parse() { super.parse(); }\n"
                                 b"  void process() { insert(); }\n  void insert() {} }"),
        ("XmlTreeBuilder.java", b"class XmlTreeBuilder extends TreeBuilder { void process() {} }"),
        ("Parser.java", b"class Parser { void go() { HtmlTreeBuilder b = new HtmlTreeBuilder(); b.parse(); } }"),
    ])
    reached = graph.callees("Parser.java", "Parser.go", hops=4)
    assert ("HtmlTreeBuilder.java", "HtmlTreeBuilder.process") in reached
    assert ("XmlTreeBuilder.java", "XmlTreeBuilder.process") not in reached

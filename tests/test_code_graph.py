"""The call graph: building over many files, name resolution, hop weights, disambiguation."""

from __future__ import annotations

from pathlib import Path

import pytest

from rca_lsp.code.graph import CallGraph, source_files
from rca_lsp.code.resolve import MAX_AMBIGUOUS, is_common
from rca_lsp.types import Call

MAIN = "src/main/java/org/x/"
TEST = "src/test/java/org/x/"

FILES: dict[str, bytes] = {
    MAIN
    + "NumberUtils.java": b"""package org.x;

public class NumberUtils {
    public static Integer createInteger(String s) {
        return Integer.decode(s);
    }

    public static Number createNumber(String s) {
        if (StringUtils.isBlank(s)) {
            return null;
        }
        return createInteger(s);
    }
}
""",
    MAIN
    + "StringUtils.java": b"""package org.x;

public class StringUtils {
    public static boolean isBlank(CharSequence cs) {
        return cs == null || cs.length() == 0;
    }
}
""",
    MAIN
    + "StrBuilder.java": b"""package org.x;

public class StrBuilder {
    public StrBuilder() {
        reset();
    }

    private void reset() {}

    public StrBuilder append(String s) {
        return this;
    }

    public StrBuilder append(int i) {
        return append(String.valueOf(i));
    }
}
""",
    MAIN
    + "other/Parser.java": b"""package org.x.other;

public class Parser {
    public Integer createInteger(String s) { return 0; }
    public void process() {}
}
""",
    MAIN
    + "other/Lexer.java": b"""package org.x.other;

public class Lexer {
    public void process() { tokenize(); }
    void tokenize() {}
}
""",
    TEST
    + "AbstractTest.java": b"""package org.x;

public abstract class AbstractTest {
    protected void inherited() {}
}
""",
    TEST
    + "NumberUtilsTest.java": b"""package org.x;

public class NumberUtilsTest extends AbstractTest {
    @Test
    public void testLang747() {
        assertEquals(Integer.valueOf(1), NumberUtils.createNumber("1"));
        StrBuilder sb = new StrBuilder();
        sb.append(1);
        assertEquals("1", sb.toString());
        check();
        inherited();
        unknown.process();
        mystery.get();
        testLang747();
    }

    private void check() {
        NumberUtils.createNumber("2");
    }
}
""",
    "README.md": b"# not code\n",
}

PY_FILES: dict[str, bytes] = {
    "pkg/utils.py": b"def helper(x):\n    return _private(x)\n\n\ndef _private(x):\n    return x\n",
    "pkg/shapes.py": b"""from . import utils


class Shape:
    def area(self):
        return utils.helper(self.size())

    def size(self):
        return 1


class Square(Shape):
    def describe(self):
        return self.area()
""",
    "tests/test_shapes.py": b"""from pkg.shapes import Square


def test_describe():
    sq = Square()
    assert sq.describe() == 1
""",
}

GO_FILES: dict[str, bytes] = {
    "server/server.go": b"""package server

type Server struct{}

func New() *Server { return &Server{} }

func (s *Server) Start() { s.listen() }

func (s *Server) listen() {}
""",
    "cmd/main.go": b"""package main

import "example.com/app/server"

func main() {
	srv := server.New()
	srv.Start()
	run()
}
""",
    "cmd/run.go": b"package main\n\nfunc run() {}\n",
}


@pytest.fixture(scope="module")
def graph() -> CallGraph:
    return CallGraph.build(FILES.items())


def _rounded(found: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    return {key: round(value, 3) for key, value in found.items()}


def test_build_skips_unsupported_files(graph: CallGraph) -> None:
    assert len(graph) == 7
    assert "README.md" not in graph
    assert graph.add("notes.txt", b"hello") is False
    assert graph.symbol_count() == 21
    assert graph.call_count() > 10


def test_symbol_at_is_innermost(graph: CallGraph) -> None:
    path = MAIN + "NumberUtils.java"
    assert graph.symbol_at(path, 12).qualname == "NumberUtils.createNumber"
    assert graph.symbol_at(path, 7).qualname == "NumberUtils"
    assert graph.symbol_at(path, 1) is None
    assert graph.symbol_at("missing.java", 3) is None


def test_callees_of_a_failing_test(graph: CallGraph) -> None:
    found = _rounded(graph.callees(TEST + "NumberUtilsTest.java", "NumberUtilsTest.testLang747"))
    assert found == {
        # direct, unambiguous: static call, constructor, typed local, own method, inherited method
        (MAIN + "NumberUtils.java", "NumberUtils.createNumber"): 1.0,
        (MAIN + "StrBuilder.java", "StrBuilder.StrBuilder"): 1.0,
        (MAIN + "StrBuilder.java", "StrBuilder.append"): 1.0,
        (TEST + "NumberUtilsTest.java", "NumberUtilsTest.check"): 1.0,
        (TEST + "AbstractTest.java", "AbstractTest.inherited"): 1.0,
        # unknown receiver: two classes define process(), half each
        (MAIN + "other/Parser.java", "Parser.process"): 0.5,
        (MAIN + "other/Lexer.java", "Lexer.process"): 0.5,
        # second hop: decay 0.4
        (MAIN + "StringUtils.java", "StringUtils.isBlank"): 0.4,
        (MAIN + "NumberUtils.java", "NumberUtils.createInteger"): 0.4,  # not Parser.createInteger
        (MAIN + "StrBuilder.java", "StrBuilder.reset"): 0.4,
        (MAIN + "other/Lexer.java", "Lexer.tokenize"): 0.2,  # 0.5 * 0.4
    }
    # assertEquals, toString, get: common names with no receiver type resolve to nothing;
    # the recursive call to itself is not reported.


def test_hops_and_decay(graph: CallGraph) -> None:
    path, test = TEST + "NumberUtilsTest.java", "NumberUtilsTest.testLang747"
    one = graph.callees(path, test, hops=1)
    assert max(one.values()) == 1.0 and min(one.values()) == 0.5
    assert (MAIN + "StringUtils.java", "StringUtils.isBlank") not in one
    three = _rounded(graph.callees(path, "NumberUtilsTest.check", hops=3, decay=0.5))
    assert three == {
        (MAIN + "NumberUtils.java", "NumberUtils.createNumber"): 1.0,
        (MAIN + "StringUtils.java", "StringUtils.isBlank"): 0.5,
        (MAIN + "NumberUtils.java", "NumberUtils.createInteger"): 0.5,
    }
    assert graph.callees(path, test, hops=0) == {}
    assert graph.callees("nowhere.java", "X.y") == {}


def test_max_over_paths(graph: CallGraph) -> None:
    # testLang747 reaches createNumber directly (1.0) and through check() (0.4): the max wins
    found = graph.callees(TEST + "NumberUtilsTest.java", "NumberUtilsTest.testLang747")
    assert found[(MAIN + "NumberUtils.java", "NumberUtils.createNumber")] == 1.0


def test_resolution_prefers_receiver_type_then_same_file(graph: CallGraph) -> None:
    path = MAIN + "StrBuilder.java"
    edges = dict(graph.edges(path, "StrBuilder.append"))
    assert edges == {(path, "StrBuilder.append"): 1.0}  # own overload via lexical scope
    typed = graph.resolve(TEST + "X.java", Call("X.f", "createInteger", 3, "NumberUtils", "NumberUtils"))
    assert typed == [((MAIN + "NumberUtils.java", "NumberUtils.createInteger"), 1.0)]
    untyped = graph.resolve(TEST + "X.java", Call("X.f", "createInteger", 3, "p", ""))
    assert sorted(untyped) == [
        ((MAIN + "NumberUtils.java", "NumberUtils.createInteger"), 0.5),
        ((MAIN + "other/Parser.java", "Parser.createInteger"), 0.5),
    ]
    external = graph.resolve(TEST + "X.java", Call("X.f", "valueOf", 3, "Integer", "Integer"))
    assert external == []  # a known type outside the repository


def test_common_names_are_not_guessed() -> None:
    assert is_common("toString") and is_common("assertEquals") and is_common("__init__")
    assert not is_common("createNumber")
    graph = CallGraph.build(
        [
            ("A.java", b"class A { int size() { return 0; } }"),
            ("B.java", b"class B { void f(A a, Object o) { a.size(); o.size(); make().size(); } }"),
        ]
    )
    assert graph.callees("B.java", "B.f") == {("A.java", "A.size"): 1.0}  # typed receiver only


def test_too_ambiguous_names_resolve_to_nothing() -> None:
    files = [(f"C{i}.java", f"class C{i} {{ void run2() {{}} }}".encode()) for i in range(MAX_AMBIGUOUS + 1)]
    files.append(("D.java", b"class D { void f() { make().run2(); } }"))
    assert CallGraph.build(files).callees("D.java", "D.f") == {}
    few = CallGraph.build(files[:3] + files[-1:]).callees("D.java", "D.f")
    assert sorted(round(v, 3) for v in few.values()) == [0.333, 0.333, 0.333]


def test_python_modules_self_and_inheritance() -> None:
    graph = CallGraph.build(PY_FILES.items())
    found = _rounded(graph.callees("tests/test_shapes.py", "test_describe", hops=3))
    assert found == {
        ("pkg/shapes.py", "Square"): 1.0,  # Square() without __init__: the class
        ("pkg/shapes.py", "Square.describe"): 1.0,  # sq = Square(); sq.describe()
        ("pkg/shapes.py", "Shape.area"): 0.4,  # self.area() found in the base class
        ("pkg/utils.py", "helper"): 0.16,  # utils.helper(): module by file stem
        ("pkg/shapes.py", "Shape.size"): 0.16,
    }


def test_python_imports_and_callbacks_reach_the_library() -> None:
    """`main` is too common a name to guess, `bit_size` is never called by the test: the import
    names main's module, and a function handed to assertRaises is called by it."""
    graph = CallGraph.build({
        "tool/_main.py": b"def main(argv):\n    return _run(argv)\n\n\ndef _run(argv):\n    return 0\n",
        "tool/other.py": b"def main(argv):\n    return 1\n",
        "tool/common.py": b"def bit_size(n):\n    return n.bit_length()\n",
        "tests/main_test.py": b"""import unittest
from tool._main import main
from tool.common import bit_size


def test_main_trivial():
    assert main(()) == 0


class TestBitSize(unittest.TestCase):
    def test_bad_type(self):
        self.assertRaises(TypeError, bit_size, [])
""",
    }.items())
    assert _rounded(graph.callees("tests/main_test.py", "test_main_trivial", hops=2)) == {
        ("tool/_main.py", "main"): 1.0, ("tool/_main.py", "_run"): 0.4}
    assert _rounded(graph.callees("tests/main_test.py", "TestBitSize.test_bad_type", hops=2)) == {
        ("tool/common.py", "bit_size"): 1.0}


def test_go_packages_by_directory_and_same_package_calls() -> None:
    graph = CallGraph.build(GO_FILES.items())
    found = _rounded(graph.callees("cmd/main.go", "main"))
    assert found == {
        ("server/server.go", "New"): 1.0,  # server.New(): the package's directory
        ("cmd/run.go", "run"): 1.0,  # same package, other file
        ("server/server.go", "Server.Start"): 1.0,  # no type for srv, but Start is unique
        ("server/server.go", "Server.listen"): 0.4,  # s.listen() with s *Server
    }


def test_from_directory(tmp_path: Path) -> None:
    skipped = {"node_modules/x/index.js": b"function f() {}", ".git/x.py": b"x=1"}
    for rel, source in {**PY_FILES, **skipped}.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source)
    assert source_files(str(tmp_path)) == sorted(PY_FILES)
    graph = CallGraph.from_directory(str(tmp_path))
    assert sorted(graph.paths()) == sorted(PY_FILES)
    assert [s.qualname for s in graph.symbols("pkg/utils.py")] == ["helper", "_private"]


def test_replacing_a_file_updates_lookups() -> None:
    graph = CallGraph.build([("a.py", b"def f():\n    g()\n\ndef g():\n    pass\n")])
    assert graph.callees("a.py", "f") == {("a.py", "g"): 1.0}
    graph.add("a.py", b"def f():\n    pass\n")
    assert graph.callees("a.py", "f") == {}
    assert graph.find("f") == [("a.py", "f")]


def test_interface_calls_reach_implementations() -> None:
    graph = CallGraph.build(
        [
            ("api/Visitor.java", b"interface Visitor { void visit(Node n); }"),
            ("impl/Printer.java", b"class Printer implements Visitor { public void visit(Node n) {} }"),
            ("impl/Counter.java", b"class Counter implements Visitor { public void visit(Node n) {} }"),
            ("impl/Other.java", b"class Other { public void visit(Node n) {} }"),
            ("Walker.java", b"class Walker { void walk(Visitor v, Node n) { v.visit(n); } }"),
        ]
    )
    assert _rounded(graph.callees("Walker.java", "Walker.walk")) == {  # the declared member, and 1/n of each
        ("api/Visitor.java", "Visitor.visit"): 1.0,                     # implementation (class-hierarchy analysis)
        ("impl/Printer.java", "Printer.visit"): 0.5,
        ("impl/Counter.java", "Counter.visit"): 0.5,
    }
    graph.add("impl/Counter.java", b"class Counter { }")  # no longer an implementation
    assert len(graph.callees("Walker.java", "Walker.walk")) == 2

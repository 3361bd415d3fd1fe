"""Symbols per language, edge cases, and the hunk-to-symbol rule of ``touched``."""

from __future__ import annotations

import importlib.util

import pytest

from rca_lsp.code.languages import language_for_path, parser_for, supported_languages
from rca_lsp.code.queries import query_for, query_source
from rca_lsp.code.symbols import SymbolIndex, hunk_ranges, symbols, touched
from rca_lsp.types import Hunk, Symbol

JAVA = b"""package org.example;

import java.util.List;

@SuppressWarnings("unchecked")
public class Outer<T extends Comparable<T>> extends Base implements Runnable {
    private final StrBuilder buffer = new StrBuilder();
    private int count;

    public Outer(int count) {
        this.count = count;
    }

    public Outer() {
        this(0);
    }

    @Override
    public void run() {
        List<String> names = List.of("a");
        names.forEach(n -> buffer.append(n));
        Runnable r = new Runnable() {
            @Override
            public void run() {
                helper(1);
            }
        };
        r.run();
    }

    int helper(int x) {
        return x + 1;
    }

    int helper(String s) {
        return s.length();
    }

    static class Inner {
        <U> U map(U value) {
            return value;
        }
    }

    enum Color { RED, GREEN }

    interface Visitor {
        void visit(Outer<?> o);
    }
}

record Point(int x, int y) {}
"""

PYTHON = b'''import functools


def plain(a, b):
    return a + b


@functools.lru_cache(maxsize=None)
def cached(x):
    def inner(y):
        def innermost():
            return y
        return innermost()
    return inner(x)


class Shape:
    sides = 0

    def __init__(self, name):
        self.name = name

    @property
    def label(self):
        return self.name.upper()

    async def fetch(self):
        return await other()

    class Meta:
        ordering = ["name"]
'''

JAVASCRIPT = b"""import { x } from './x.js';

export class Widget extends Base {
  constructor(el) {
    super(el);
    this.el = el;
  }

  render() {
    return this.el;
  }

  onClick = (event) => {
    this.render();
  };
}

export function mount(root) {
  return new Widget(root);
}

const double = (n) => n * 2;
const legacy = function () {
  return 1;
};
"""

GO = b"""package server

import "fmt"

type Server struct {
	name string
}

type Handler interface {
	Serve()
}

func New(name string) *Server {
	return &Server{name: name}
}

func (s *Server) Start() error {
	fmt.Println(s.name)
	return nil
}

func (Server) Name() string { return "" }
"""


def _rows(items: list[Symbol]) -> list[tuple[str, str, int, int]]:
    return [(s.qualname, s.kind, s.start_line, s.end_line) for s in items]


def test_java_classes_constructors_overloads_nested() -> None:
    assert _rows(symbols(JAVA, "java")) == [
        ("Outer", "class", 5, 50),  # starts at its annotation
        ("Outer.Outer", "constructor", 10, 12),
        ("Outer.Outer", "constructor", 14, 16),
        ("Outer.run", "method", 18, 29),  # the anonymous Runnable.run belongs to it
        ("Outer.helper", "method", 31, 33),
        ("Outer.helper", "method", 35, 37),
        ("Outer.Inner", "class", 39, 43),
        ("Outer.Inner.map", "method", 40, 42),
        ("Outer.Color", "class", 45, 45),
        ("Outer.Visitor", "class", 47, 49),
        ("Outer.Visitor.visit", "method", 48, 48),
        ("Point", "class", 52, 52),
    ]
    assert symbols(JAVA, "java")[3].name == "run"


def test_python_decorators_nested_async_classes() -> None:
    assert _rows(symbols(PYTHON, "python")) == [
        ("plain", "function", 4, 5),
        ("cached", "function", 8, 14),  # from the decorator
        ("cached.inner", "function", 10, 13),
        ("cached.inner.innermost", "function", 11, 12),
        ("Shape", "class", 17, 31),
        ("Shape.__init__", "constructor", 20, 21),
        ("Shape.label", "method", 23, 25),
        ("Shape.fetch", "method", 27, 28),
        ("Shape.Meta", "class", 30, 31),
    ]


def test_javascript_classes_arrows_exports() -> None:
    assert _rows(symbols(JAVASCRIPT, "javascript")) == [
        ("Widget", "class", 3, 16),
        ("Widget.constructor", "constructor", 4, 7),
        ("Widget.render", "method", 9, 11),
        ("Widget.onClick", "method", 13, 15),
        ("mount", "function", 18, 20),
        ("double", "function", 22, 22),
        ("legacy", "function", 23, 25),
    ]


def test_go_functions_methods_receivers() -> None:
    assert _rows(symbols(GO, "go")) == [
        ("Server", "class", 5, 7),
        ("Handler", "class", 9, 11),
        ("Handler.Serve", "method", 10, 10),  # an interface's method: what a call on a Handler runs
        ("New", "function", 13, 15),
        ("Server.Start", "method", 17, 20),
        ("Server.Name", "method", 22, 22),
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_typescript") is None, reason="no TS grammar")
def test_typescript_abstract_class_interface() -> None:
    source = b"""export abstract class Repo<T> implements Store {
  private cache: Map<string, T>;
  constructor(private db: Db) {}
  abstract find(id: string): T;
  save(item: T): void {
    this.db.write(item);
  }
}
interface Store { save(item: unknown): void }
export const make = (): Repo<number> => null as any;
"""
    assert _rows(symbols(source, "typescript")) == [
        ("Repo", "class", 1, 8),
        ("Repo.constructor", "constructor", 3, 3),
        ("Repo.find", "method", 4, 4),
        ("Repo.save", "method", 5, 7),
        ("Store", "class", 9, 9),
        ("make", "function", 10, 10),
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_cpp") is None, reason="no C++ grammar")
def test_cpp_inline_and_out_of_line_methods() -> None:
    source = b"""namespace app {
class Parser : public Base {
 public:
  Parser() {}
  int parse(const char* s) { return helper(s); }
};
}
int app::Parser::helper(const char* s) {
  return 0;
}
static int *alloc(int n) { return 0; }
"""
    assert _rows(symbols(source, "cpp")) == [
        ("Parser", "class", 2, 6),
        ("Parser.Parser", "constructor", 4, 4),
        ("Parser.parse", "method", 5, 5),
        ("Parser.helper", "method", 8, 10),
        ("alloc", "function", 11, 11),
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_rust") is None, reason="no Rust grammar")
def test_rust_impl_blocks_prefix_methods() -> None:
    source = b"""struct Stack<T> { items: Vec<T> }
impl<T> Stack<T> {
    fn new() -> Self { Stack { items: Vec::new() } }
    fn push(&mut self, t: T) { self.items.push(t); }
}
fn main() {}
"""
    assert _rows(symbols(source, "rust")) == [
        ("Stack", "class", 1, 1),
        ("Stack.new", "method", 3, 3),
        ("Stack.push", "method", 4, 4),
        ("main", "function", 6, 6),
    ]


# -- edge cases -----------------------------------------------------------------


def test_empty_unknown_and_oversized_inputs_give_nothing() -> None:
    assert symbols(b"", "java") == []
    assert symbols(b"class A {}", "cobol") == []
    assert symbols(b"def f(): pass\n" * 50_001, "python") == []
    assert symbols(b"#" * 2_000_001, "python") == []
    assert len(symbols(b"def f(): pass\n" * 2_000, "python")) == 2_000


def test_invalid_utf8_crlf_and_no_final_newline() -> None:
    source = b'def f():\r\n    s = "\xff\xfe caf\xe9"\r\n    return s\r\n\r\ndef g():\r\n    pass'
    assert _rows(symbols(source, "python")) == [("f", "function", 1, 3), ("g", "function", 5, 6)]
    java = b"class A {\r\n  void f() {\r\n  }\r\n}"
    assert _rows(symbols(java, "java")) == [("A", "class", 1, 4), ("A.f", "method", 2, 3)]


def test_syntax_errors_keep_the_rest() -> None:
    broken = b"class A {\n  void f() { int x = ; }\n  void g() { h(); }\n"
    assert [s.qualname for s in symbols(broken, "java")] == ["A", "A.f", "A.g"]
    python = b"def ok():\n    pass\n\ndef broken(:\n    pass\n\ndef later():\n    pass\n"
    assert "later" in [s.name for s in symbols(python, "python")]


def test_language_for_path_and_parsers() -> None:
    assert language_for_path("src/main/java/a/B.java") == "java"
    assert language_for_path("pkg/mod.py") == "python"
    assert language_for_path("web/app.mjs") == "javascript"
    assert language_for_path("cmd/main.go") == "go"
    assert language_for_path("README.md") is None
    assert language_for_path("Main.kt") is None  # no grammar
    assert language_for_path("noext") is None
    assert {"java", "python"} <= set(supported_languages())
    assert parser_for("java") is parser_for("java")
    assert parser_for("cobol") is None


def test_every_supported_language_has_a_compiling_query() -> None:
    for language in supported_languages():
        assert query_source(language), language
        assert query_for(language) is not None, language
        assert query_for(language, symbols_only=True) is not None, language


# -- touched --------------------------------------------------------------------


def _names(items: list[Symbol]) -> list[str]:
    return [s.qualname for s in items]


@pytest.fixture(scope="module")
def java_symbols() -> list[Symbol]:
    return symbols(JAVA, "java")


def test_touched_prefers_methods_over_their_class(java_symbols: list[Symbol]) -> None:
    assert _names(touched(java_symbols, [(11, 11)])) == ["Outer.Outer"]
    assert _names(touched(java_symbols, [(41, 41)])) == ["Outer.Inner.map"]
    assert _names(touched(java_symbols, [(25, 25)])) == ["Outer.run"]  # anonymous class body


def test_touched_reports_the_class_for_fields_and_gaps(java_symbols: list[Symbol]) -> None:
    assert _names(touched(java_symbols, [(7, 8)])) == ["Outer"]
    assert _names(touched(java_symbols, [(30, 30)])) == ["Outer"]
    assert touched(java_symbols, [(1, 3)]) == []  # package and imports belong to no symbol


def test_touched_range_over_a_method_and_its_gap_reports_the_method(java_symbols: list[Symbol]) -> None:
    assert _names(touched(java_symbols, [(30, 33)])) == ["Outer.helper"]
    # both overloads: one qualname, two symbols
    assert _names(touched(java_symbols, [(32, 36)])) == ["Outer.helper", "Outer.helper"]


def test_touched_many_ranges_in_document_order(java_symbols: list[Symbol]) -> None:
    found = touched(java_symbols, [(52, 52), (41, 41), (11, 11), (41, 42)])
    assert _names(found) == ["Outer.Outer", "Outer.Inner.map", "Point"]


def test_touched_zero_length_ranges(java_symbols: list[Symbol]) -> None:
    # deletion between lines 32 and 33: inside helper
    assert _names(touched(java_symbols, [(32, 31)])) == ["Outer.helper"]
    # deletion between 33 (helper's "}") and 34 (blank): the class spans both
    assert _names(touched(java_symbols, [(33, 32)])) == ["Outer"]
    # deletion between line 3 and 4, outside every symbol
    assert touched(java_symbols, [(3, 2)]) == []
    # deletion after the last line of the file
    assert touched(java_symbols, [(52, 51)]) == []
    # malformed range
    assert touched(java_symbols, [(10, 5)]) == []


def test_hunk_ranges_both_sides() -> None:
    hunks = [Hunk(10, 2, 11, 0), Hunk(20, 0, 20, 3)]
    assert hunk_ranges(hunks, "old") == [(10, 11), (20, 19)]
    assert hunk_ranges(hunks) == [(11, 10), (20, 22)]


def test_symbol_index_at_innermost() -> None:
    index = SymbolIndex(symbols(JAVA, "java"))
    assert index.at(41).qualname == "Outer.Inner.map"
    assert index.at(39).qualname == "Outer.Inner"
    assert index.at(30).qualname == "Outer"
    assert index.at(2) is None
    assert index.at(0) is None and index.at(10_000) is None


def test_touched_on_a_big_file_finds_every_method_and_the_class_for_gap_deletions() -> None:
    items = [Symbol("Big", "Big", "class", 1, 200_002)]
    items += [Symbol(f"m{i}", f"Big.m{i}", "method", 2 + 10 * i, 9 + 10 * i) for i in range(20_000)]
    ranges = [(5 + 10 * i, 6 + 10 * i) for i in range(0, 20_000, 2)]
    ranges += [(i * 10, i * 10 - 1) for i in range(1, 20_000, 2)]  # zero-length, in the gaps
    found = touched(items, ranges)  # 20,000 methods: a quadratic scan would take minutes here
    assert len(found) == 10_000 + 1  # every even method, plus the class for gap deletions

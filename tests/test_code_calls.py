"""Call sites: callee, enclosing caller, line, receiver text and receiver type, per language."""

from __future__ import annotations

import importlib.util

import pytest

from rca_lsp.code.calls import analyze, calls
from rca_lsp.types import Call

JAVA = b"""package org.example;

import org.apache.commons.lang3.math.NumberUtils;

public class Formatter extends AbstractFormatter {
    private static final Logger LOG = Logger.getLogger("fmt");
    private final StrBuilder out = new StrBuilder();

    public Formatter(int width) {
        super(width);
    }

    public Formatter() {
        this(80);
    }

    public String format(List<String> items, Locale locale) {
        StrBuilder sb = new StrBuilder();
        var cache = new HashMap<String, Integer>();
        for (String item : items) {
            sb.append(item.trim());
        }
        Integer n = NumberUtils.createInteger("12");
        items.forEach(i -> out.append(i));
        items.stream().map(String::valueOf).map(Token::new);
        this.out.clear();
        LOG.info(java.util.Objects.toString(n));
        cache.put("k", n);
        return render(sb, locale);
    }

    private String render(StrBuilder sb, Locale locale) {
        Runnable r = new Runnable() {
            public void run() {
                flush();
            }
        };
        return super.render(sb.toString(), locale);
    }
}
"""

PYTHON = b'''import os.path
from .models import Shape


class Canvas(Widget):
    def __init__(self, size: Size):
        super().__init__()
        self.size = size
        self.shapes = []

    def draw(self, pen: Pen, scale=1):
        shape = Shape("box")
        shape.resize(scale)
        pen.stroke(shape)
        self.flush()
        os.path.join("a", "b")
        helper(self.size.width())

        def nested():
            return compute()

        return nested()


async def main():
    await Canvas(Size(1, 2)).draw(None)
'''

JAVASCRIPT = b"""import { api } from './api.js';

export class Store extends EventEmitter {
  constructor(opts) {
    super(opts);
    this.load();
  }

  load = async () => {
    const data = await api.fetch('/items');
    const list = new ItemList(data);
    list.sort();
    Logger.info('loaded');
  };
}

export function boot() {
  return new Store({}).start();
}
"""

GO = b"""package server

import "fmt"

type Server struct{ log *Logger }

func (s *Server) Start(cfg Config) error {
\ts.listen()
\tfmt.Println("start")
\tvar db Store
\tdb.Open(cfg.DSN())
\th := &Handler{}
\th.Serve()
\treturn run(func() { s.log.Info("x") })
}
"""


def _rows(found: list[Call]) -> list[tuple[str, str, int, str, str]]:
    return [(c.caller, c.callee, c.line, c.receiver, c.receiver_type) for c in found]


def test_java_calls_with_declared_receiver_types() -> None:
    assert _rows(calls(JAVA, "java")) == [
        ("Formatter", "getLogger", 6, "Logger", "Logger"),  # field initialiser: the class calls
        ("Formatter", "StrBuilder", 7, "", "StrBuilder"),  # new StrBuilder()
        ("Formatter.Formatter", "AbstractFormatter", 10, "super", "AbstractFormatter"),  # super(width)
        ("Formatter.Formatter", "Formatter", 14, "this", "Formatter"),  # this(80)
        ("Formatter.format", "StrBuilder", 18, "", "StrBuilder"),
        ("Formatter.format", "HashMap", 19, "", "HashMap"),
        ("Formatter.format", "append", 21, "sb", "StrBuilder"),  # local variable
        ("Formatter.format", "trim", 21, "item", "String"),  # enhanced-for variable
        ("Formatter.format", "createInteger", 23, "NumberUtils", "NumberUtils"),  # static call
        ("Formatter.format", "forEach", 24, "items", "List"),  # parameter, generics stripped
        ("Formatter.format", "append", 24, "out", "StrBuilder"),  # field, inside a lambda
        ("Formatter.format", "stream", 25, "items", "List"),
        ("Formatter.format", "map", 25, "items.stream()", ""),
        ("Formatter.format", "valueOf", 25, "String", "String"),  # String::valueOf
        ("Formatter.format", "map", 25, "items.stream().map(String::valueOf)", ""),
        ("Formatter.format", "Token", 25, "", "Token"),  # Token::new
        ("Formatter.format", "clear", 26, "this.out", "StrBuilder"),
        ("Formatter.format", "info", 27, "LOG", "Logger"),  # ALL_CAPS field, declared type
        ("Formatter.format", "toString", 27, "java.util.Objects", "Objects"),
        ("Formatter.format", "put", 28, "cache", "HashMap"),  # var x = new HashMap<>()
        ("Formatter.format", "render", 29, "", ""),
        ("Formatter.render", "Runnable", 33, "", "Runnable"),
        ("Formatter.render", "flush", 35, "", ""),  # anonymous class: the enclosing method calls
        ("Formatter.render", "render", 38, "super", "AbstractFormatter"),
        ("Formatter.render", "toString", 38, "sb", "StrBuilder"),  # parameter
    ]


def test_java_local_shadows_field_and_scopes_do_not_leak() -> None:
    source = b"""class A {
  Builder b;
  void one() { Other b = make(); b.go(); }
  void two() { b.go(); }
}
"""
    assert [(c.caller, c.receiver_type) for c in calls(source, "java") if c.callee == "go"] == [
        ("A.one", "Other"),
        ("A.two", "Builder"),
    ]


def test_long_receivers_keep_their_last_identifier() -> None:
    chain = ".".join(f"field{i}" for i in range(20))
    source = f"class A {{ void f() {{ {chain}.go(); }} }}".encode()
    (call,) = calls(source, "java")
    assert call.receiver == "field19"
    assert call.receiver_type == ""


def test_python_calls_self_super_typed_params_and_constructors() -> None:
    assert _rows(calls(PYTHON, "python")) == [
        ("Canvas.__init__", "super", 7, "", ""),
        ("Canvas.__init__", "__init__", 7, "super()", "Widget"),
        ("Canvas.draw", "Shape", 12, "", "Shape"),
        ("Canvas.draw", "resize", 13, "shape", "Shape"),  # shape = Shape(...)
        ("Canvas.draw", "stroke", 14, "pen", "Pen"),  # pen: Pen
        ("Canvas.draw", "flush", 15, "self", "Canvas"),
        ("Canvas.draw", "join", 16, "os.path", ""),
        ("Canvas.draw", "helper", 17, "", ""),
        ("Canvas.draw", "width", 17, "self.size", ""),
        ("Canvas.draw.nested", "compute", 20, "", ""),
        ("Canvas.draw", "nested", 22, "", ""),
        ("main", "Canvas", 26, "", "Canvas"),
        ("main", "Size", 26, "", "Size"),
        ("main", "draw", 26, "Canvas(Size(1, 2))", "Canvas"),
    ]


def test_python_from_imports_name_the_module_a_bare_call_runs() -> None:
    source = b"""from pyupgrade._main import main
from ._data import visit as run_visit
from . import errors
from .tokens import Token


def test_main():
    assert main(()) == 0
    run_visit(tree)
    Token("x")
"""
    assert _rows(calls(source, "python")) == [
        ("test_main", "main", 8, "_main", ""),  # step 3 finds _main.py's main
        ("test_main", "visit", 9, "_data", ""),  # the alias calls the imported name
        ("test_main", "Token", 10, "", "Token"),  # a class stays a constructor call
    ]


def test_python_functions_handed_over_as_arguments_count_as_calls() -> None:
    source = b"""import json
from rsa.common import bit_size
from yapf.yapflib import yapf_api
from . import errors


def _key(item):
    return item


class Parser:
    pass


def test_it(data, helper):
    self.assertRaises(TypeError, bit_size, [])
    self.assertRaises(errors.YapfError, yapf_api.FormatCode, data)
    sorted(data, key=_key)
    register(Parser, Parser.parse, json.loads)
    apply(helper, data, local_name)


class Square(Shape, metaclass=Meta):
    pass
"""
    assert _rows(calls(source, "python")) == [
        ("test_it", "assertRaises", 16, "self", ""),
        ("test_it", "bit_size", 16, "common", ""),
        ("test_it", "assertRaises", 17, "self", ""),
        ("test_it", "YapfError", 17, "errors", ""),  # step 3: errors.py
        ("test_it", "FormatCode", 17, "yapf_api", ""),
        ("test_it", "sorted", 18, "", ""),
        ("test_it", "_key", 18, "", ""),  # the file's own function
        ("test_it", "register", 19, "", ""),
        ("test_it", "Parser", 19, "", "Parser"),
        ("test_it", "parse", 19, "Parser", "Parser"),
        ("test_it", "loads", 19, "json", ""),
        ("test_it", "apply", 20, "", ""),
        # parameters and unknown names (helper, data, local_name) are not functions the file names;
        # a class's bases and keywords (Shape, Meta) are no call
    ]


def test_javascript_calls_this_new_and_static() -> None:
    assert _rows(calls(JAVASCRIPT, "javascript")) == [
        ("Store.constructor", "load", 6, "this", "Store"),
        ("Store.load", "fetch", 10, "api", ""),
        ("Store.load", "ItemList", 11, "", "ItemList"),
        ("Store.load", "sort", 12, "list", "ItemList"),  # const list = new ItemList()
        ("Store.load", "info", 13, "Logger", "Logger"),
        ("boot", "Store", 18, "", "Store"),
        ("boot", "start", 18, "new Store({})", "Store"),
    ]


def test_go_calls_packages_and_receivers() -> None:
    assert _rows(calls(GO, "go")) == [
        ("Server.Start", "listen", 8, "s", "Server"),  # the method's receiver
        ("Server.Start", "Println", 9, "fmt", ""),  # a package, not a type
        ("Server.Start", "Open", 11, "db", "Store"),  # var db Store
        ("Server.Start", "DSN", 11, "cfg", "Config"),  # parameter
        ("Server.Start", "Serve", 13, "h", "Handler"),  # h := &Handler{}
        ("Server.Start", "run", 14, "", ""),
        ("Server.Start", "Info", 14, "s.log", ""),  # inside a func literal
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_typescript") is None, reason="no TS grammar")
def test_typescript_typed_parameters_and_fields() -> None:
    source = b"""class Repo {
  private db: Database;
  save(item: Item): void {
    this.db.write(item.serialize());
  }
}
"""
    assert _rows(calls(source, "typescript")) == [
        ("Repo.save", "write", 4, "this.db", "Database"),
        ("Repo.save", "serialize", 4, "item", "Item"),
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_cpp") is None, reason="no C++ grammar")
def test_cpp_qualified_template_and_this_calls() -> None:
    source = b"""void Parser::run() {
  Lexer::reset();
  this->next();
  auto p = std::make_unique<Node>();
  tokens.push_back(1);
}
"""
    assert _rows(calls(source, "cpp")) == [
        ("Parser.run", "reset", 2, "Lexer", "Lexer"),
        ("Parser.run", "next", 3, "this", "Parser"),
        ("Parser.run", "make_unique", 4, "std", ""),
        ("Parser.run", "push_back", 5, "tokens", ""),
    ]


@pytest.mark.skipif(importlib.util.find_spec("tree_sitter_rust") is None, reason="no Rust grammar")
def test_rust_self_and_paths() -> None:
    source = b"""impl Stack {
    fn push(&mut self, v: Value) {
        self.grow();
        let n = Node::new(v);
        Self::check(n);
    }
}
"""
    assert _rows(calls(source, "rust")) == [
        ("Stack.push", "grow", 3, "self", "Stack"),
        ("Stack.push", "new", 4, "Node", "Node"),
        ("Stack.push", "check", 5, "Self", "Stack"),
    ]


def test_module_level_calls_have_an_empty_caller() -> None:
    assert _rows(calls(b"import x\nx.setup()\nmain()\n", "python")) == [
        ("", "setup", 2, "x", ""),
        ("", "main", 3, "", ""),
    ]


def test_edge_cases() -> None:
    assert calls(b"", "java") == []
    assert calls(b"f()", "cobol") == []
    assert calls(b"f()\n" * 50_000, "python") == []
    crlf = b"class A {\r\n  void f() {\r\n    g();\r\n  }\r\n}"
    assert _rows(calls(crlf, "java")) == [("A.f", "g", 3, "", "")]
    bad = b'def f():\n    s = "\xff\xfe"\n    return g()'
    assert _rows(calls(bad, "python")) == [("f", "g", 3, "", "")]
    broken = b"class A { void f() { int x = ; } void g() { h(); }"
    assert _rows(calls(broken, "java")) == [("A.g", "h", 1, "", "")]


def test_analyze_reports_supertypes_in_order() -> None:
    facts = analyze(JAVA, "java")
    assert facts.bases == {"Formatter": ["AbstractFormatter"]}
    source = b"class A extends B implements C, D { class E extends A {} }"
    assert analyze(source, "java").bases == {"A": ["B", "C", "D"], "A.E": ["A"]}
    assert analyze(PYTHON, "python").bases == {"Canvas": ["Widget"]}

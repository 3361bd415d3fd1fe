"""JavaScript failing tests are walked from their own bodies: a Mocha/Jest test is an anonymous
callback named by its title (`it("lowers the case", ..)` inside `describe("whisper", ..)`), which the
runner prints and the stack shows only as `Context.<anonymous>`."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.code.graph import CallGraph
from rca_lsp.code.languages import is_copied_code
from rca_lsp.index.store import Index
from rca_lsp.suspects.code_view import CodeView
from rca_lsp.vcs.git import GitRepo

LIB = """\
'use strict';

function shout(text) {
  return text.toUpperCase();
}

function whisper(text) {
  return text.toLowerCase();
}

module.exports = { shout, whisper };
"""

TESTS = """\
'use strict';
const assert = require('assert');
const text = require('../lib/text');

describe('text', function () {
  describe('shout', function () {
    it('raises the case', function () {
      assert.strictEqual(text.shout('a'), 'A');
    });
  });

  describe('whisper', function () {
    it('lowers the case', () => {
      assert.strictEqual(text.whisper('A'), 'a');
    });
  });
});
"""

# The real output of `npx mocha --reporter spec` (Mocha 10.8.2, Node 20.20.2) on these two files
# at the "Whisper" commit below, taken 2026-12-05.
TRACE = """\


  text
    shout
      \u2714 raises the case
    whisper
      1) lowers the case


  1 passing (4ms)
  1 failing

  1) text
       whisper
         lowers the case:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

'A' !== 'a'

      + expected - actual

      -A
      +a
      
      at Context.<anonymous> (test/text.js:14:14)
      at process.processImmediate (node:internal/timers:483:21)



"""


def test_test_callbacks_are_functions_named_by_their_titles() -> None:
    source = b"""describe('Loader utils', function () {
  it('loads a "map"', () => { yaml.load('a: 1'); });
  it.only(`handles tabs`, async function () { helper(); });
  test('it\\'s fine', () => {});
});
const table = {'key': () => 1};
"""
    facts = analyze(source, "javascript")
    assert [(s.name, s.qualname) for s in facts.symbols] == [
        ('loads a "map"', 'Loader utils.loads a "map"'),
        ("handles tabs", "Loader utils.handles tabs"),
        ("it's fine", "Loader utils.it's fine"),
        ("key", "key"),
    ]
    callers = {c.callee: c.caller for c in facts.calls}
    assert callers["load"] == 'Loader utils.loads a "map"' and callers["helper"] == "Loader utils.handles tabs"
    ts = analyze(b"describe('Parser', () => { it('parses', () => { parse(1 as number); }); });\n", "typescript")
    assert [s.qualname for s in ts.symbols] == ["Parser.parses"]
    assert {c.callee: c.caller for c in ts.calls}["parse"] == "Parser.parses"


def test_module_bindings_name_the_module_not_a_class() -> None:
    source = b"""const R = require('../source/index.js');
const { load, dump: write } = require('./loader');
import * as ns from "../lib/ns.mjs";
import { scan as s } from './parse';
import yaml from '..';
function run() { R.add(1); write(2); load(3); ns.go(); s(4); yaml.load(5); Foo.bar(); }
"""
    calls = {(c.callee, c.receiver, c.receiver_type) for c in analyze(source, "javascript").calls if c.caller == "run"}
    assert calls == {("add", "index", ""), ("dump", "loader", ""), ("load", "loader", ""), ("go", "ns", ""),
                     ("scan", "parse", ""), ("load", "yaml", ""), ("bar", "Foo", "Foo")}


def test_bundles_and_vendored_code_are_copies() -> None:
    assert is_copied_code("dist/js-yaml.js") and is_copied_code("lib/x.min.js") and is_copied_code("a/vendor/b.go")
    assert not is_copied_code("lib/distance.js") and not is_copied_code("src/dist.py")


def test_a_failing_mocha_test_is_walked_from_its_callback(git_repo) -> None:
    # dist/text.js, a committed bundle of the library, would split every walk with copies.
    _walked_to_whisper(git_repo, "lib/text.js", LIB, {"test/text.js": TESTS, "dist/text.js": LIB}, TRACE)
    with Index.open(GitRepo(git_repo.root).meta_dir, readonly=True) as index:
        view = CodeView(index, git_repo.root, set())
        assert view.has("lib/text.js") and not view.has("dist/text.js")


TS_LIB = """\
export function shout(text: string): string {
  return text.toUpperCase();
}

export function whisper(text: string): string {
  return text.toLowerCase();
}
"""

TS_TESTS = """\
import { describe, it, expect } from 'vitest';
import { shout, whisper } from '../src/text';

describe('text', () => {
  describe('whisper', () => {
    it('lowers the case', () => {
      expect(whisper('A')).toBe('a');
    });
  });
  it('raises the case', () => {
    expect(shout('a')).toBe('A');
  });
});
"""

# The real output of `npx vitest run` (Vitest 2.1.9, Node 20.20.2) at the "Whisper" commit below, 2026-12-05.
VITEST_TRACE = """\

 RUN  v2.1.9 /tmp/s12/vprobe

 ❯ test/text.test.ts (2 tests | 1 failed) 7ms
   × text > whisper > lowers the case 5ms
     → expected 'A' to be 'a' // Object.is equality

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/text.test.ts > text > whisper > lowers the case
AssertionError: expected 'A' to be 'a' // Object.is equality

Expected: "a"
Received: "A"

 ❯ test/text.test.ts:7:28
      5|   describe('whisper', () => {
      6|     it('lowers the case', () => {
      7|       expect(whisper('A')).toBe('a');
       |                            ^
      8|     });
      9|   });

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/1]⎯

 Test Files  1 failed (1)
      Tests  1 failed | 1 passed (2)
   Start at  03:46:34
   Duration  412ms (transform 54ms, setup 0ms, collect 44ms, tests 7ms, environment 0ms, prepare 89ms)

"""


def test_a_failing_vitest_test_is_walked_from_its_callback_through_named_imports(git_repo) -> None:
    _walked_to_whisper(git_repo, "src/text.ts", TS_LIB, {"test/text.test.ts": TS_TESTS}, VITEST_TRACE)


# The library exporting whisper as the module itself, shout as its member.
DEFAULT_LIB = LIB.replace("module.exports = { shout, whisper };",
                          "module.exports = whisper;\nmodule.exports.shout = shout;")

# The same tests calling the module itself: `lower('A')` runs whisper, the module's default export.
DEFAULT_TESTS = (TESTS.replace("const text = require", "const lower = require")
                 .replace("text.shout(", "lower.shout(").replace("text.whisper(", "lower("))

# The real output of `npx mocha --reporter spec test/text.js` (Mocha 10.8.2, Node 20.20.2) on these two
# files at the "Whisper" commit below, taken 2026-12-05: TRACE's, character for character, but for the time.
DEFAULT_TRACE = TRACE.replace("1 passing (4ms)", "1 passing (12ms)")


def test_default_exports_are_what_a_module_binding_runs() -> None:
    forms = {
        b"function f(a) {}\nfunction g() {}\nmodule.exports = f;\nmodule.exports.g = g;\n": "f",
        b"module.exports = function f(a) { return a; };\n": "exports.f",
        b"function f() {}\nexport default f;\n": "f",
        b"export default function f() {}\nexport function g() {}\n": "f",
        b"function f() {}\nmodule.exports = { f };\n": "",  # an object of members, no default function
        b"const x = 1;\nexport default x;\n": "",  # not a function of the file
    }
    for source, default in forms.items():
        assert analyze(source, "javascript").default == default, source
        assert analyze(source, "typescript").default == default, source
    calls = analyze(b"const snip = require('../lib/snippet');\nimport lib from '../lib';\n"
                    b"function run() { snip(1); lib(2); other(3); }\n", "javascript").calls
    assert {(c.callee, c.receiver, c.receiver_type) for c in calls if c.caller == "run"} == {
        ("snip", "snippet", "<module>"), ("lib", "lib", "<module>"), ("other", "", "")}
    graph = CallGraph.build([("lib/snippet.js", b"function makeSnippet() {}\nmodule.exports = makeSnippet;\n"),
                             ("lib/index.js", b"export default function main() {}\n"),
                             ("test/run.js", b"const snip = require('../lib/snippet');\nimport lib from '../lib';\n"
                                             b"function run() { snip(1); lib(2); }\n")])
    assert sorted(t for t, _ in graph.edges("test/run.js", "run")) == [
        ("lib/index.js", "main"), ("lib/snippet.js", "makeSnippet")]


def test_a_failing_mocha_test_reaches_the_default_export_it_calls(git_repo) -> None:
    """`const lower = require('../lib/text'); lower('A')` runs whisper, which text.js exports as
    the module itself; before, the call named no function and the walk stopped."""
    _walked_to_whisper(git_repo, "lib/text.js", DEFAULT_LIB, {"test/text.js": DEFAULT_TESTS}, DEFAULT_TRACE)


def test_upgrading_reads_the_changed_functions_of_js_commits_again(git_repo) -> None:
    """Indexes built before named function expressions were functions (schema 7) have no changed
    function for `var add = _curry2(function add(a, b) {..})`; migration m008 has every commit that
    touched a JS/TS file read again at the next update, and only those."""
    from rca_lsp.index import update
    from rca_lsp.index.schema import m008_code_js_tests

    wrapped = "var add = _curry2(function add(a, b) {\n  return a + b;\n});\nmodule.exports = add;\n"
    js = git_repo.commit("Add add", {"source/add.js": wrapped})
    py = git_repo.commit("Add a script", {"tools/x.py": "def x():\n    return 1\n"})
    repo = GitRepo(git_repo.root)
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        changed = "SELECT cs.qualname FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?"
        assert [r[0] for r in index.conn.execute(changed, (js,))] == ["add"]
        with index.write() as conn:  # what an index built by the code before has
            conn.execute("DELETE FROM changed_symbols WHERE commit_id = (SELECT id FROM commits WHERE hash = ?)", (js,))
        py_id = index.conn.execute("SELECT id FROM commits WHERE hash = ?", (py,)).fetchone()[0]
        m008_code_js_tests(index.db)
        assert index.get_state("redo") == js
        update(repo, index)
        assert [r[0] for r in index.conn.execute(changed, (js,))] == ["add"]
        assert index.conn.execute("SELECT id FROM commits WHERE hash = ?", (py,)).fetchone()[0] == py_id
        assert not index.get_state("redo")


LOOP_TESTS = """\
'use strict';
const assert = require('assert');
const text = require('../lib/text');

describe('text', function () {
  ['A', 'B'].forEach(function (letter) {
    it(letter + ' lowers', function () {
      assert.strictEqual(text.whisper(letter), letter.toLowerCase());
    });
  });
});
"""

# The real output of `npx mocha --reporter spec test/loop.js` (Mocha 10.8.2, Node 20.20.2) on LIB and
# these tests at the "Whisper" commit below, taken 2026-12-05.
LOOP_TRACE = """\


  text
    1) A lowers
    2) B lowers


  0 passing (4ms)
  2 failing

  1) text
       A lowers:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

'A' !== 'a'

      + expected - actual

      -A
      +a
      
      at Context.<anonymous> (test/loop.js:8:14)
      at process.processImmediate (node:internal/timers:483:21)

  2) text
       B lowers:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

'B' !== 'b'

      + expected - actual

      -B
      +b
      
      at Context.<anonymous> (test/loop.js:8:14)
      at process.processImmediate (node:internal/timers:483:21)



"""

EACH_TESTS = """\
'use strict';
const text = require('../lib/text');

describe('text', () => {
  test.each([['A', 'a'], ['B', 'b']])('whisper(%s) is %s', (input, expected) => {
    expect(text.whisper(input)).toBe(expected);
  });
});
"""

# The real output of `npx jest test/each.test.js` (Jest 29.7.0, Node 20.20.2) on LIB and these tests at
# the "Whisper" commit below, taken 2026-12-05.
EACH_TRACE = """\
FAIL test/each.test.js
  text
    ✕ whisper(A) is a (3 ms)
    ✕ whisper(B) is b (1 ms)

  ● text › whisper(A) is a

    expect(received).toBe(expected) // Object.is equality

    Expected: "a"
    Received: "A"

      4 | describe('text', () => {
      5 |   test.each([['A', 'a'], ['B', 'b']])('whisper(%s) is %s', (input, expected) => {
    > 6 |     expect(text.whisper(input)).toBe(expected);
        |                                 ^
      7 |   });
      8 | });
      9 |

      at toBe (test/each.test.js:6:33)

  ● text › whisper(B) is b

    expect(received).toBe(expected) // Object.is equality

    Expected: "b"
    Received: "B"

      4 | describe('text', () => {
      5 |   test.each([['A', 'a'], ['B', 'b']])('whisper(%s) is %s', (input, expected) => {
    > 6 |     expect(text.whisper(input)).toBe(expected);
        |                                 ^
      7 |   });
      8 | });
      9 |

      at toBe (test/each.test.js:6:33)

Test Suites: 1 failed, 1 total
Tests:       2 failed, 2 total
Snapshots:   0 total
Time:        0.232 s
Ran all test suites matching /test\\/each.test.js/i.
"""


def test_titles_made_in_a_loop_or_from_a_table_are_patterns() -> None:
    from rca_lsp.suspects.targets import _titled

    source = b"""describe('Loader', function () {
  files.forEach(function (f) {
    it(path.basename(f, '.js'), function () { yaml.load(f); });
  });
  it(`loads ${name}`, () => { load(name); });
  test.each([[1, 1, 2]])('adds %i + %i', (a, b, c) => { add(a, b); });
  it.each([{a: 1, b: 2}])('adds $a + $b', ({a, b}) => { add(a, b); });
});
"""
    for language in ("javascript", "typescript"):
        assert [s.qualname for s in analyze(source, language).symbols] == [
            "Loader.${}", "Loader.loads ${}", "Loader.adds %i + %i", "Loader.adds $a + $b"]
    assert _titled("${}", "construct-map") and _titled("loads ${}", "loads a.yml")
    assert _titled("adds %i + %i", "adds 1 + 1")
    assert _titled("adds $a + $b", "adds 1 + 2") and not _titled("loads ${}", "dumps a") and not _titled("a.b", "axb")


def test_a_failing_mocha_test_titled_in_a_loop_is_the_callback_its_frame_is_in(git_repo) -> None:
    _walked_to_whisper(git_repo, "lib/text.js", LIB, {"test/loop.js": LOOP_TESTS}, LOOP_TRACE, "text.${}")


def test_a_failing_jest_each_test_is_the_callback_its_title_fits(git_repo) -> None:
    _walked_to_whisper(git_repo, "lib/text.js", LIB, {"test/each.test.js": EACH_TESTS}, EACH_TRACE,
                       "text.whisper(%s) is %s")


def _walked_to_whisper(git_repo, lib_path: str, lib: str, others: dict[str, str], trace: str,
                       test: str = "whisper.lowers the case") -> None:
    """History: the library and its tests, a change to shout, the culprit changing whisper, docs.
    The failing test's walk reaches whisper (code feature and evidence) and not shout."""
    git_repo.commit("Add text", {lib_path: lib, **others})
    shout = git_repo.commit("Shout louder", {lib_path: lib.replace("text.toUpperCase()", "text.toUpperCase() + ''")},
                            author="Bob")
    whisper = git_repo.commit("Whisper", {lib_path: lib.replace("toLowerCase", "toUpperCase")}, author="Carol")
    git_repo.commit("Docs", {"README": "text\n"})
    result = ranked(GitRepo(git_repo.root), trace)
    assert result.features[whisper]["code"] > 0 and "code" not in result.features[shout]
    suspect = next(s for s in result.suspects if s.commit.hash == whisper)
    assert any(e.text == f"changed whisper (2 lines), which the failing test {test} calls"
               for e in suspect.evidence), [e.text for e in suspect.evidence]
    order = [s.commit.hash for s in result.suspects]
    assert order.index(whisper) < order.index(shout)

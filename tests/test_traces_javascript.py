"""JavaScript stacks: Node 20, ESM, causes, Firefox, Jest, Mocha, node:test and Vitest."""

from __future__ import annotations

from rca_lsp.traces import parse, resolve

NODE = """\
/home/ana/api/src/routes/users.js:27
    const name = user.profile.name;
                              ^

TypeError: Cannot read properties of undefined (reading 'name')
    at formatUser (/home/ana/api/src/routes/users.js:27:31)
    at Array.map (<anonymous>)
    at async listUsers (/home/ana/api/src/routes/users.js:12:17)
    at new UserCache (/home/ana/api/src/cache.js:8:5)
    at Object.<anonymous> (/home/ana/api/src/server.js:40:1)
    at Module._compile (node:internal/modules/cjs/loader:1376:14)
    at /home/ana/api/node_modules/express/lib/router/layer.js:95:5
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)

Node.js v20.11.0
"""

FILES = ["src/routes/users.js", "src/cache.js", "src/server.js", "src/index.mjs", "package.json",
         "src/math.js", "src/math.test.js", "test/array.test.js"]


def test_node_stack():
    [trace] = parse(NODE)
    assert trace.format == "javascript"
    assert trace.exception == "TypeError"
    assert trace.message == "Cannot read properties of undefined (reading 'name')"
    assert [f.function for f in trace.frames] == [
        "formatUser", "map", "listUsers", "UserCache", "<anonymous>", "_compile", None,
        "processTicksAndRejections"]
    assert trace.frames[0].file == "/home/ana/api/src/routes/users.js"
    assert (trace.frames[0].line, trace.frames[4].qualname) == (27, "Object.<anonymous>")
    assert trace.frames[1].file is None


def test_node_resolve():
    [trace] = resolve(parse(NODE), FILES)
    assert [f.path for f in trace.frames] == [
        "src/routes/users.js", None, "src/routes/users.js", "src/cache.js", "src/server.js", None, None, None]
    assert [f.external for f in trace.frames] == [False, True, False, False, False, True, True, True]


def test_esm_file_urls_and_cause():
    text = """\
Error: could not load config
    at loadConfig (file:///home/ana/api/src/index.mjs:14:11)
    at async file:///home/ana/api/src/index.mjs:30:1 {
  [cause]: SyntaxError: Unexpected token } in JSON at position 12
      at JSON.parse (<anonymous>)
      at readJson (file:///home/ana/api/src/index.mjs:5:15)
}
"""
    [trace] = parse(text)
    assert (trace.exception, trace.message) == ("Error", "could not load config")
    assert len(trace.frames) == 2
    [cause] = trace.causes
    assert cause.exception == "SyntaxError"
    assert cause.frames[1].function == "readJson"
    [resolved] = resolve([trace], FILES)
    assert resolved.frames[1].path == "src/index.mjs"
    assert resolved.causes[0].frames[1].path == "src/index.mjs"


def test_assertion_error_with_code_and_multiline_message():
    text = """\
AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

1 !== 2

    at Context.<anonymous> (test/array.test.js:9:12)
    at process.processImmediate (node:internal/timers:478:21) {
  generatedMessage: true,
  code: 'ERR_ASSERTION',
  actual: 1,
  expected: 2,
  operator: 'strictEqual'
}
"""
    [trace] = parse(text)
    assert trace.exception == "AssertionError"
    assert trace.message == "Expected values to be strictly equal:\n\n1 !== 2"
    assert trace.frames[0].file == "test/array.test.js"


def test_firefox_stack():
    text = """\
TypeError: this.items is undefined
render@http://localhost:8080/static/js/app.js:120:9
onClick@http://localhost:8080/static/js/app.js:88:5
@http://localhost:8080/static/js/app.js:200:1
"""
    [trace] = parse(text)
    assert [f.function for f in trace.frames] == ["render", "onClick", None]
    assert trace.frames[0].line == 120
    [resolved] = resolve([trace], ["static/js/app.js", "src/app.js"])
    assert resolved.frames[0].path == "static/js/app.js"


def test_jest_failure():
    text = """\
 FAIL  src/math.test.js
  ● Math › adds numbers

    expect(received).toBe(expected) // Object.is equality

    Expected: 3
    Received: 4

      3 | test('adds numbers', () => {
    > 4 |   expect(add(1, 2)).toBe(3);
        |                     ^
      5 | });

      at Object.toBe (src/math.test.js:4:21)

Test Suites: 1 failed, 1 total
"""
    [trace] = parse(text)
    assert trace.test.container == "Math"
    assert trace.test.name == "adds numbers"
    assert trace.test.path == "src/math.test.js"
    assert trace.message == "expect(received).toBe(expected) // Object.is equality\nExpected: 3\nReceived: 4"
    assert (trace.frames[0].function, trace.frames[0].line) == ("toBe", 4)
    [resolved] = resolve([trace], FILES)
    assert resolved.test.path == "src/math.test.js"


def test_mocha_failure():
    text = """\
  Array
    #indexOf()
      1) should return -1 when the value is not present


  0 passing (9ms)
  1 failing

  1) Array
       #indexOf()
         should return -1 when the value is not present:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

0 !== -1

      + expected - actual

      -0
      +-1

      at Context.<anonymous> (test/array.test.js:5:14)
      at process.processImmediate (node:internal/timers:476:21)
"""
    [trace] = parse(text)
    assert trace.test.container == "Array #indexOf()"
    assert trace.test.name == "should return -1 when the value is not present"
    assert trace.exception == "AssertionError"
    assert trace.frames[0].line == 5


# The real output of `node --test --test-reporter=spec test/node.test.js` (Node 20.20.2, 2026-12-05):
# the failure is printed in the tree and again under "failing tests:", after `test at <file>`.
NODE_TEST_SPEC = """\
▶ text
  ▶ whisper
    ✖ lowers the case (1.689249ms)
      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
      
      'A' !== 'a'
      
          at TestContext.<anonymous> (/tmp/s12/probe/test/node.test.js:9:14)
          at Test.runInAsyncScope (node:async_hooks:206:9)
          at Test.run (node:internal/test_runner/test:796:25)
          at Test.start (node:internal/test_runner/test:702:17)
          at node:internal/test_runner/test:1133:71
          at node:internal/per_context/primordials:482:82
          at new Promise (<anonymous>)
          at new SafePromise (node:internal/per_context/primordials:450:29)
          at node:internal/per_context/primordials:482:9
          at Array.map (<anonymous>) {
        generatedMessage: true,
        code: 'ERR_ASSERTION',
        actual: 'A',
        expected: 'a',
        operator: 'strictEqual'
      }

  ✖ whisper (2.173298ms)
✖ text (2.79376ms)
ℹ tests 1
ℹ suites 2
ℹ pass 0
ℹ fail 1
ℹ cancelled 0
ℹ skipped 0
ℹ todo 0
ℹ duration_ms 103.218651

✖ failing tests:

test at test/node.test.js:8:5
✖ lowers the case (1.689249ms)
  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
  
  'A' !== 'a'
  
      at TestContext.<anonymous> (/tmp/s12/probe/test/node.test.js:9:14)
      at Test.runInAsyncScope (node:async_hooks:206:9)
      at Test.run (node:internal/test_runner/test:796:25)
      at Test.start (node:internal/test_runner/test:702:17)
      at node:internal/test_runner/test:1133:71
      at node:internal/per_context/primordials:482:82
      at new Promise (<anonymous>)
      at new SafePromise (node:internal/per_context/primordials:450:29)
      at node:internal/per_context/primordials:482:9
      at Array.map (<anonymous>) {
    generatedMessage: true,
    code: 'ERR_ASSERTION',
    actual: 'A',
    expected: 'a',
    operator: 'strictEqual'
  }
"""


def test_node_test_spec_reporter_names_the_failing_test():
    traces = parse(NODE_TEST_SPEC)
    assert [t.test.name for t in traces] == ["lowers the case", "lowers the case"]
    assert traces[-1].test.path == "test/node.test.js"
    assert traces[0].exception == "AssertionError"
    assert (traces[0].frames[0].file, traces[0].frames[0].line) == ("/tmp/s12/probe/test/node.test.js", 9)


def test_mocha_suite_title_ending_in_a_colon():
    # From the real Mocha 10 output of picomatch's suite (`describe('matching:', ..)`), 2026-12-05.
    text = """\
  1944 passing (530ms)
  33 failing

  1) picomatch
       matching:
         should match slashes:

      AssertionError [ERR_ASSERTION]: The expression evaluated to a falsy value:

  assert(isMatch('deep/foo/bar/baz/', '**/bar/*{,/}'))

      + expected - actual

      -false
      +true
      
      at Context.<anonymous> (test/api.picomatch.js:253:7)
      at process.processImmediate (node:internal/timers:483:21)

"""
    [trace] = parse(text)
    assert (trace.test.container, trace.test.name) == ("picomatch matching:", "should match slashes")
    assert trace.frames[0].line == 253
    # js-yaml's (Mocha 10, 2026-12-05): the error follows the title with no blank line between.
    text = """\
  7 failing

  1) Loader
       construct-map:
     YAMLException: unknown tag !<tag:yaml.org,2002:map> in "test/samples-common/construct-map.yml" (3:9)

 1 | # Unordered set of key: value pairs.
 2 | Block style: !!map
      at generateError (lib/loader.js:199:10)
      at Object.loadAll (lib/loader.js:1707:19)
      at Context.<anonymous> (test/10-loader.js:24:12)
"""
    [trace] = parse(text)
    assert (trace.test.container, trace.test.name) == ("Loader", "construct-map")
    assert (trace.exception, trace.message[:11]) == ("YAMLException", "unknown tag")


# The real output of `npx vitest run` (Vitest 2.1.9, Node 20.20.2, 2026-12-05): the test is named on
# the FAIL line, frames are `❯ [function] file:line:col`, each followed by an excerpt of its code.
VITEST = """\

 RUN  v2.1.9 /tmp/s12/vprobe

 ❯ test/deep.test.ts (1 test | 1 failed) 4ms
   × checks two 4ms
     → bad 2

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/deep.test.ts > checks two
RangeError: bad 2
 ❯ Module.check src/deep.ts:3:11
      1| export function check(n: number): number {
      2|   if (n > 1) {
      3|     throw new RangeError(`bad ${n}`);
       |           ^
      4|   }
      5|   return n;
 ❯ test/deep.test.ts:4:3

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/1]⎯

 Test Files  1 failed (1)
      Tests  1 failed (1)
   Start at  03:45:51
   Duration  394ms (transform 66ms, setup 0ms, collect 47ms, tests 4ms, environment 0ms, prepare 80ms)

"""


def test_vitest_failure():
    [trace] = parse(VITEST)
    assert (trace.test.container, trace.test.name, trace.test.path) == (
        "test/deep.test.ts", "checks two", "test/deep.test.ts")
    assert (trace.exception, trace.message) == ("RangeError", "bad 2")
    assert [(f.file, f.line, f.function) for f in trace.frames] == [
        ("src/deep.ts", 3, "check"), ("test/deep.test.ts", 4, None)]


def test_rust_at_lines_are_not_javascript():
    text = "    at ./src/lib.rs:12:5\n    at /home/ana/x/src/main.rs:3:1\n"
    try:
        traces = parse(text)
    except Exception:
        traces = []
    assert all(t.format != "javascript" for t in traces)


def test_cut_mid_frame_is_truncated():
    cut = NODE[: NODE.index("(/home/ana/api/src/cache.js") + 20]
    [trace] = parse(cut)
    assert trace.truncated
    assert [f.function for f in trace.frames] == ["formatUser", "map", "listUsers"]
    [whole] = parse(NODE)
    assert not whole.truncated

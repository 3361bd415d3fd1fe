"""TypeScript and modern JavaScript projects, found as a new user (thirty-sixth sitting).

- node:test's TAP reporter, what `node --test` prints where stdout is no terminal (Node 18 to 22: CI,
  a pipe, `npm test > log`), was no trace at all: `rca suspects` said `no stack trace found` (exit 5).
  Now each `not ok` test is a trace (`rca_lsp.traces.nodetap`): its title inside its `# Subtest:`
  suites, its `location`'s file, its `stack:` lines as frames; a suite's `subtestsFailed` is left out.
- TypeScript compiled by tsc to an ignored `dist/` and run without source maps prints frames in
  `dist/src/cart.js` (or `dist/cart.js` with `rootDir: src`): no tracked file, so every frame was
  external and the culprit was ranked on words alone. Now such a frame is its `.ts` source
  (`src/cart.ts`), with the compiled line.
- An AggregateError's `[errors]: [ ... ]` were flattened into the aggregate's own frames (their types
  and messages lost; the last frame of each but the last, which ends `),`, dropped): now each is a cause.

Output captured byte for byte (node v20.20.2, tsc 6.0.3, tsx v4.23.15); a live node:test run where node is present.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ranked

from rca_lsp.traces import parse, resolve
from rca_lsp.vcs.git import GitRepo

FILES = ["package.json", "tsconfig.json", "src/cart.ts", "src/discount.ts", "src/money.ts", "test/cart.test.ts"]

# `npm test` (`tsc -p . && node --test dist/test/`) > log, node v20.20.2, tsc 6.0.3, no source maps.
TAP = """
> cart@1.0.0 test
> tsc -p . && node --test dist/test/

TAP version 13
# Subtest: cart
    # Subtest: sums the items
    ok 1 - sums the items
      ---
      duration_ms: 0.53607
      ...
    # Subtest: applies a discount above the minimum
    not ok 2 - applies a discount above the minimum
      ---
      duration_ms: 0.256882
      location: '/work/s36/ts/nodets/dist/test/cart.test.js:17:26'
      failureType: 'testCodeFailure'
      error: 'total 1800 below minimum 500'
      code: 'ERR_TEST_FAILURE'
      stack: |-
        applyDiscount (/work/s36/ts/nodets/dist/src/discount.js:16:15)
        total (/work/s36/ts/nodets/dist/src/cart.js:13:52)
        /work/s36/ts/nodets/dist/test/cart.test.js:18:71
        async TestContext.<anonymous> (/work/s36/ts/nodets/dist/test/cart.test.js:18:19)
        async Test.run (node:internal/test_runner/test:797:9)
        async Suite.processPendingSubtests (node:internal/test_runner/test:526:7)
      ...
    1..2
not ok 1 - cart
  ---
  duration_ms: 1.608045
  type: 'suite'
  location: '/work/s36/ts/nodets/dist/test/cart.test.js:13:26'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  code: 'ERR_TEST_FAILURE'
  ...
1..1
# tests 2
# suites 1
# pass 1
# fail 1
# cancelled 0
# skipped 0
# todo 0
# duration_ms 88.369376
"""

# `node --test dist/test/fmt.test.js` (an assertion with a multi-line message; a rejected AggregateError).
TAP_ASSERT = """TAP version 13
# Subtest: receipt total
not ok 1 - receipt total
  ---
  duration_ms: 2.554428
  location: '/work/s36/ts/nodets/dist/test/fmt.test.js:9:22'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly deep-equal:
    + actual - expected
    
      {
    +   t: 200
    -   t: 201
      }
  code: 'ERR_ASSERTION'
  name: 'AssertionError'
  expected:
    t: 201
  actual:
    t: 200
  operator: 'deepStrictEqual'
  stack: |-
    TestContext.<anonymous> (/work/s36/ts/nodets/dist/test/fmt.test.js:10:22)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
    Test.processPendingSubtests (node:internal/test_runner/test:526:18)
    node:internal/test_runner/harness:255:12
    node:internal/process/task_queues:140:7
    AsyncResource.runInAsyncScope (node:async_hooks:206:9)
    AsyncResource.runMicrotask (node:internal/process/task_queues:137:8)
  ...
# Subtest: rejects
not ok 2 - rejects
  ---
  duration_ms: 0.245447
  location: '/work/s36/ts/nodets/dist/test/fmt.test.js:12:22'
  failureType: 'testCodeFailure'
  error: 'all failed'
  code: 'ERR_TEST_FAILURE'
  name: 'AggregateError'
  stack: |-
    TestContext.<anonymous> (/work/s36/ts/nodets/dist/test/fmt.test.js:13:26)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
    Test.processPendingSubtests (node:internal/test_runner/test:526:18)
    Test.postRun (node:internal/test_runner/test:889:19)
    Test.run (node:internal/test_runner/test:835:12)
    async Test.processPendingSubtests (node:internal/test_runner/test:526:7)
  ...
1..2
# tests 2
# suites 0
# pass 0
# fail 2
# cancelled 0
# skipped 0
# todo 0
# duration_ms 179.201268
"""

# The same run with `--test-reporter=spec` (its summary of failing tests).
SPEC = """✖ failing tests:

test at dist/test/cart.test.js:17:26
✖ applies a discount above the minimum (0.267077ms)
  Error: total 1800 below minimum 500
      at applyDiscount (/work/s36/ts/nodets/dist/src/discount.js:16:15)
      at total (/work/s36/ts/nodets/dist/src/cart.js:13:52)
      at /work/s36/ts/nodets/dist/test/cart.test.js:18:71
      at async TestContext.<anonymous> (/work/s36/ts/nodets/dist/test/cart.test.js:18:19)
      at async Test.run (node:internal/test_runner/test:797:9)
      at async Suite.processPendingSubtests (node:internal/test_runner/test:526:7)
"""

# `npx tsx run.mts agg` (tsx v4.23.15, node v20.20.2): an AggregateError of two rejections, thrown at top level.
AGGREGATE = """/work/s36/ts/mocha/run.mts:5
if (process.argv[2] === "agg") throw new AggregateError(errs, "2 checkouts failed");
                                     ^


AggregateError: 2 checkouts failed
    at <anonymous> (/work/s36/ts/mocha/run.mts:5:38) {
  [errors]: [
    DiscountError: total 1800 below minimum 500
        at applyDiscount (/work/s36/ts/mocha/src/discount.ts:17:11)
        at total (/work/s36/ts/mocha/src/cart.ts:16:21)
        at checkout (/work/s36/ts/mocha/run.mts:2:48)
        at async Promise.allSettled (index 0)
        at async <anonymous> (/work/s36/ts/mocha/run.mts:3:17),
    DiscountError: total 1800 below minimum 500
        at applyDiscount (/work/s36/ts/mocha/src/discount.ts:17:11)
        at total (/work/s36/ts/mocha/src/cart.ts:16:21)
        at checkout (/work/s36/ts/mocha/run.mts:2:48)
        at async Promise.allSettled (index 1)
        at async <anonymous> (/work/s36/ts/mocha/run.mts:3:17)
  ]
}

Node.js v20.20.2
"""

CART = """import { cents } from "./money";
import { applyDiscount, Discount } from "./discount";

export interface Item {
  name: string;
  price: number;
  qty: number;
}

export function subtotal(items: Item[]): number {
  return items.reduce((sum, it) => sum + cents(it.price) * it.qty, 0);
}

export function total(items: Item[], discount?: Discount): number {
  const sub = subtotal(items);
  return discount ? applyDiscount(sub, discount) : sub;
}

/** number of units */
export function itemCount(items: Item[]): number {
  return items.reduce((n, it) => n + it.qty, 0);
}
"""
MONEY = """export function cents(amount: number): number {
  return Math.round(amount * 100);
}

export function format(amountCents: number): string {
  const sign = amountCents < 0 ? "-" : "";
  const abs = Math.abs(amountCents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
"""
DISCOUNT = """export interface Discount {
  percent: number;
  minimum?: number;
}

export function applyDiscount(totalCents: number, d: Discount): number {
  if (d.minimum !== undefined && totalCents < d.minimum) {
    return totalCents;
  }
  return Math.round(totalCents * (100 - d.percent) / 100);
}
"""
BROKEN_DISCOUNT = """export interface Discount {
  percent: number;
  minimum?: number;
}

export class DiscountError extends Error {}

function checkPercent(percent: number): void {
  if (percent < 0 || percent > 100) {
    throw new DiscountError(`percent out of range: ${percent}`);
  }
}

export function applyDiscount(totalCents: number, d: Discount): number {
  checkPercent(d.percent);
  if (d.minimum !== undefined && totalCents <= d.minimum * 100) {
    throw new DiscountError(`total ${totalCents} below minimum ${d.minimum}`);
  }
  return Math.round(totalCents * (100 - d.percent) / 100);
}
"""
CART_TEST = """import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { total, subtotal } from "../src/cart";

const items = [
  { name: "pen", price: 1.5, qty: 4 },
  { name: "book", price: 12, qty: 1 },
];

describe("cart", () => {
  test("sums the items", () => {
    assert.equal(subtotal(items), 1800);
  });
  test("applies a discount above the minimum", async () => {
    const t = await Promise.resolve().then(() => total(items, { percent: 10, minimum: 500 }));
    assert.equal(t, 1620);
  });
});
"""


def _cart_repo(git_repo) -> str:
    """The cart library with its node:test tests, the culprit, and two ordinary commits after it."""
    git_repo.commit("Initial cart, money and discount modules", {
        "package.json": '{"name": "cart", "scripts": {"test": "tsc -p . && node --test dist/test/"}}\n',
        "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "rootDir": "."}, "include": ["src", "test"]}\n',
        ".gitignore": "node_modules\ndist\n", "src/cart.ts": CART, "src/money.ts": MONEY,
        "src/discount.ts": DISCOUNT, "test/cart.test.ts": CART_TEST})
    culprit = git_repo.commit("Validate discount percent and minimum", {"src/discount.ts": BROKEN_DISCOUNT},
                              author="Dave")
    git_repo.commit("Add money.sum helper", {"src/money.ts": MONEY + "\nexport const sum = (v: number[]) => 0;\n"},
                    author="Bob")
    git_repo.commit("Write a README", {"README.md": "# cart\n"})
    return culprit


def test_node_test_tap_output_is_a_trace_per_failed_test() -> None:
    [trace] = parse(TAP)  # the suite's own `not ok 1 - cart` (subtestsFailed) is no second trace
    assert (trace.exception, trace.message) == ("Error", "total 1800 below minimum 500")
    assert (trace.test.container, trace.test.name) == ("cart", "applies a discount above the minimum")
    assert trace.test.path == "/work/s36/ts/nodets/dist/test/cart.test.js"
    assert [(f.function, f.file, f.line) for f in trace.frames[:2]] == [
        ("applyDiscount", "/work/s36/ts/nodets/dist/src/discount.js", 16),
        ("total", "/work/s36/ts/nodets/dist/src/cart.js", 13)]
    assert trace.frames[-1].file == "node:internal/test_runner/test" and not trace.truncated


def test_tap_error_names_and_multiline_messages_are_read() -> None:
    first, second = parse(TAP_ASSERT)
    assert first.exception == "AssertionError" and first.test.name == "receipt total"
    assert first.message.startswith("Expected values to be strictly deep-equal:") and "-   t: 201" in first.message
    assert [f.line for f in first.frames if f.file.endswith("fmt.test.js")] == [10]
    assert (second.exception, second.message, second.test.name) == ("AggregateError", "all failed", "rejects")


def test_tap_output_pasted_from_github_actions_is_read() -> None:
    lines = [f"2024-05-01T10:00:01.1234567Z {line}" for line in TAP.splitlines()]
    text = "\n".join(["2024-05-01T10:00:00.0000000Z ##[group]Run npm test", "2024-05-01T10:00:00.0000000Z ##[endgroup]",
                      *lines, "2024-05-01T10:00:02.0000000Z ##[error]Process completed with exit code 1."])
    [trace] = parse(text)
    assert trace.test.name == "applies a discount above the minimum" and trace.frames[0].function == "applyDiscount"


def test_a_cut_tap_block_is_truncated() -> None:
    [trace] = parse(TAP[:TAP.index("        async Test.run")])
    assert trace.truncated and trace.frames[0].function == "applyDiscount"


@pytest.mark.parametrize(("printed", "source"), [
    ("/work/s36/ts/nodets/dist/src/discount.js", "src/discount.ts"),  # rootDir "."
    ("/home/runner/work/cart/cart/dist/discount.js", "src/discount.ts"),  # rootDir "src", on a CI runner
    ("dist/test/cart.test.js", "test/cart.test.ts"),
    ("/app/build/esm/discount.mjs", "src/discount.ts"),
    ("file:///app/lib/cart.js", "src/cart.ts"),
])
def test_compiled_javascript_in_an_ignored_build_folder_is_its_typescript_source(printed: str, source: str) -> None:
    files = ["src/cart.ts", "src/discount.ts", "test/cart.test.ts", "lib/tracked.js"]
    [trace] = resolve(parse(f"Error: boom\n    at f ({printed}:16:15)\n"), files)
    assert (trace.frames[0].path, trace.frames[0].external, trace.frames[0].line) == (source, False, 16)


def test_tracked_javascript_and_other_builds_stay_as_they_are() -> None:
    files = ["src/cart.ts", "lib/cart.js", "src/other.ts"]
    [trace] = resolve(parse("Error: boom\n    at f (/app/lib/cart.js:3:1)\n    at g (/app/dist/nothing.js:3:1)\n"
                            "    at h (/app/node_modules/x/dist/cart.js:3:1)\n"), files)
    assert [f.path for f in trace.frames] == ["lib/cart.js", None, None]


def test_the_culprit_of_a_tap_failure_in_dist_is_ranked_first_by_its_frame(git_repo) -> None:
    culprit = _cart_repo(git_repo)
    result = ranked(GitRepo(git_repo.root), TAP)
    top = result.suspects[0]
    assert top.commit.hash == culprit
    assert {"frame-line", "frame-function"} <= {str(e.kind) for e in top.evidence}, [e.text for e in top.evidence]


def test_spec_reporter_frames_in_dist_give_frame_evidence(git_repo) -> None:
    culprit = _cart_repo(git_repo)
    result = ranked(GitRepo(git_repo.root), SPEC)
    assert result.suspects[0].commit.hash == culprit
    assert any(str(e.kind) == "frame-line" and e.path == "src/discount.ts" for e in result.suspects[0].evidence)


def test_an_aggregate_errors_errors_are_its_causes() -> None:
    [trace] = parse(AGGREGATE)
    assert (trace.exception, trace.message) == ("AggregateError", "2 checkouts failed")
    assert [f.file for f in trace.frames] == ["/work/s36/ts/mocha/run.mts"]
    assert [(c.exception, c.message) for c in trace.causes] == [("DiscountError", "total 1800 below minimum 500")] * 2
    assert [len(c.frames) for c in trace.causes] == [5, 5]  # the first error's last frame ends `),`
    assert trace.causes[0].frames[-1].line == 3


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_live_node_test_tap_output_is_read(tmp_path: Path) -> None:
    (tmp_path / "lib.js").write_text("exports.half = (n) => { if (n % 2) throw new RangeError(`odd: ${n}`); return n / 2; };\n")
    (tmp_path / "lib.test.js").write_text("const test = require('node:test');\nconst { half } = require('./lib.js');\n"
                                          "test.describe('math', () => {\n  test('halves', () => { half(3); });\n});\n")
    run = subprocess.run(["node", "--test", "--test-reporter=tap", "lib.test.js"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    if "--test-reporter" in run.stderr:
        pytest.skip(f"this node has no TAP reporter option: {run.stderr.strip()[:100]}")
    [trace] = resolve(parse(run.stdout), ["lib.js", "lib.test.js"])
    assert (trace.exception, trace.message, trace.test.name) == ("RangeError", "odd: 3", "halves")
    assert trace.frames[0].path == "lib.js" and trace.test.path == "lib.test.js"

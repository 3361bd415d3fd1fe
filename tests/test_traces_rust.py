"""Rust panics (new and old formats), RUST_BACKTRACE frames and cargo test."""

from __future__ import annotations

from rca_lsp.traces import parse, resolve
from rca_lsp.types import TestId as Tid

BACKTRACE = """\
thread 'main' panicked at src/config.rs:42:18:
called `Option::unwrap()` on a `None` value
stack backtrace:
   0: rust_begin_unwind
             at /rustc/07dca489ac2d933c78d3c5158e3f43beefeb02ce/library/std/src/panicking.rs:645:5
   1: core::panicking::panic_fmt
             at /rustc/07dca489ac2d933c78d3c5158e3f43beefeb02ce/library/core/src/panicking.rs:72:14
   2: core::panicking::panic
             at /rustc/07dca489ac2d933c78d3c5158e3f43beefeb02ce/library/core/src/panicking.rs:144:5
   3: core::option::unwrap_failed
             at /rustc/07dca489ac2d933c78d3c5158e3f43beefeb02ce/library/core/src/option.rs:1978:5
   4: tidy::config::Config::load
             at ./src/config.rs:42:18
   5: tidy::main::{{closure}}
             at ./src/main.rs:12:5
   6: <tidy::Runner as core::ops::Drop>::drop
             at ./src/main.rs:30:9
   7: serde_json::de::from_str
             at /home/ana/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde_json-1.0.114/src/de.rs:2676:5
   8: std::rt::lang_start::h5b8d2ba3c2a8c8f1
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
"""

FILES = ["Cargo.toml", "src/main.rs", "src/config.rs", "src/lib.rs", "crates/util/src/lib.rs"]


def test_new_format_with_backtrace():
    [trace] = parse(BACKTRACE)
    assert trace.format == "rust"
    assert (trace.exception, trace.message) == ("panic", "called `Option::unwrap()` on a `None` value")
    assert len(trace.frames) == 9  # the panic location is frame 4 already
    assert [f.function for f in trace.frames[:6]] == [
        "rust_begin_unwind", "panic_fmt", "panic", "unwrap_failed", "load", "main"]
    load = trace.frames[4]
    assert (load.file, load.line, load.module, load.qualname) == (
        "./src/config.rs", 42, "tidy::config::Config", "tidy::config::Config::load")
    assert (trace.frames[6].function, trace.frames[6].module) == ("drop", "tidy::Runner")
    assert trace.frames[8].qualname == "std::rt::lang_start"  # hash dropped
    assert trace.frames[8].file is None
    assert not trace.truncated


def test_backtrace_resolve():
    [trace] = resolve(parse(BACKTRACE), FILES)
    assert [f.path for f in trace.frames] == [
        None, None, None, None, "src/config.rs", "src/main.rs", "src/main.rs", None, None]
    assert [f.external for f in trace.frames] == [True] * 4 + [False] * 3 + [True] * 2


def test_old_format_without_backtrace():
    text = """\
thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 7', src/lib.rs:88:14
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""
    [trace] = parse(text)
    assert trace.message == "index out of bounds: the len is 3 but the index is 7"
    [frame] = trace.frames
    assert (frame.file, frame.line, frame.function) == ("src/lib.rs", 88, None)
    [resolved] = resolve([trace], FILES)
    assert resolved.frames[0].path == "src/lib.rs"


def test_cargo_test_section():
    text = """\
running 3 tests
test tests::parses_empty ... ok
test tests::rejects_tabs ... FAILED
test util::tests::joins ... ok

failures:

---- tests::rejects_tabs stdout ----
thread 'tests::rejects_tabs' panicked at src/lib.rs:120:9:
assertion `left == right` failed
  left: 2
 right: 3
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::rejects_tabs

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
"""
    [trace] = parse(text)
    assert trace.test == Tid("tests", "rejects_tabs")
    assert trace.message == "assertion `left == right` failed\nleft: 2\nright: 3"
    assert trace.frames[0].line == 120


def test_full_backtrace_addresses_and_truncation():
    text = """\
thread 'worker-2' panicked at crates/util/src/lib.rs:7:5:
explicit panic
stack backtrace:
   0:     0x55d0c0a1b2c3 - std::backtrace_rs::backtrace::libunwind::trace::h1a2b3c4d5e6f7a8b
                               at /rustc/07dca489ac2d933c78d3c5158e3f43beefeb02ce/library/std/src/../../backtrace/src/backtrace/libunwind.rs:104:5
   1:     0x55d0c0a1b400 - util::explode::hdeadbeefdeadbeef
                               at /home/ana/tidy/crates/util/src/lib.rs:7:5
   2:     0x55d0c0a1b500 - tidy::run
"""
    [trace] = parse(text)
    assert trace.frames[1].qualname == "util::explode"
    assert trace.frames[1].line == 7
    assert trace.truncated  # stops between a symbol and its location
    [resolved] = resolve([trace], FILES)
    assert resolved.frames[1].path == "crates/util/src/lib.rs"

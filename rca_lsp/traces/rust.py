"""Rust panics (1.73+ `panicked at src/x.rs:1:2:` and older `panicked at 'msg', src/x.rs:1:2`),
`RUST_BACKTRACE` frames and `cargo test` sections (`---- tests::foo stdout ----`).

The panic location is where the program stopped, so it is frame 0 unless the backtrace
(innermost first, as printed) already holds that file and line.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rca_lsp.traces.base import MAX_MESSAGE_LINES, Found, at_end, numbered, opens_trace, split_location, split_symbol
from rca_lsp.traces.clean import Doc
from rca_lsp.types import Frame, TestId, Trace

# Rust 1.92+ prints the thread's id too: `thread 'main' (29539) panicked at src/x.rs:1:2:`.
PANIC = re.compile(r"thread '(?P<thread>[^']{0,500})'(?: \(\d{1,20}\))? panicked at (?P<rest>.{1,8192})")
TEST_HEADER = re.compile(r"---- (?P<name>\S{1,1000}) stdout ----")
BT_FRAME = re.compile(r"(?P<n>\d{1,6}):\s{1,40}(?:0x[0-9a-fA-F]{1,20} - )?(?P<sym>\S.{0,4096})")
_HASH = re.compile(r"::h[0-9a-f]{16}")
_INLINE = re.compile(r"[\w:<>{}#\[\]&*,' ]{1,4096}")
_MAX_BACKTRACE = 100_001


def symbol_names(symbol: str) -> tuple[str, str, str | None]:
    """(qualname without hash, short function name, module path) of a demangled symbol."""
    m = _HASH.search(symbol, max(0, len(symbol) - 19))
    if m and m.end() == len(symbol):
        symbol = symbol[: m.start()]
    parts = [p for p in split_symbol(symbol) if not p.startswith("{")] or [symbol]
    while len(parts) > 1 and parts[-1].startswith("<") and not parts[-2].startswith("<"):
        parts.pop()  # a turbofish: `mycrate::convert::<u8>` is `convert`
    function = parts[-1]
    module = "::".join(parts[:-1]) or None
    if module and module.startswith("<") and module.endswith(">"):
        module = module[1:-1].split(" as ", 1)[0]
    return symbol, function, module


def _location(line: str) -> tuple[str, int] | None:
    s = line.strip()
    if not s.startswith("at "):
        return None
    file, num, _ = split_location(s[3:].strip())
    return (file, num) if num is not None else None


def read_backtrace(lines: tuple[str, ...], i: int) -> tuple[list[Frame], int]:
    """Frames after a `stack backtrace:` line at i; returns them and the next line."""
    frames: list[Frame] = []
    k = i + 1
    while k < len(lines) and len(frames) < _MAX_BACKTRACE:
        s = lines[k].strip()
        m = BT_FRAME.fullmatch(s)
        inline = frames and not m and "::" in s and not s.startswith("at ") and _INLINE.fullmatch(s)
        if not m and not inline:
            break
        symbol = m.group("sym") if m else s
        qual, function, module = symbol_names(symbol)
        where = _location(lines[k + 1]) if k + 1 < len(lines) else None
        frames.append(Frame(index=0, raw=s, file=where[0] if where else None, line=where[1] if where else None,
                            function=function, qualname=qual, module=module))
        k += 2 if where else 1
    return frames, k


def _panic_head(lines: tuple[str, ...], i: int, rest: str) -> tuple[str, tuple[str, int] | None, int]:
    """Message and location of a panic line at i; returns them and the next line."""
    rest = rest.strip()
    if rest.startswith("'"):  # before 1.73: panicked at 'msg', src/main.rs:2:5
        text, k = rest, i + 1
        while ", " not in text.rsplit("'", 1)[-1] and k < len(lines) and k - i < MAX_MESSAGE_LINES:
            text += "\n" + lines[k].strip()
            k += 1
        msg, _, loc = text[1:].rpartition("', ")
        file, line, _ = split_location(loc.strip())
        return msg, (file, line) if line is not None else None, k
    file, line, _ = split_location(rest[:-1] if rest.endswith(":") else rest)
    more: list[str] = []
    k = i + 1
    while k < len(lines) and len(more) < MAX_MESSAGE_LINES:
        s = lines[k].strip()
        if not s or s.startswith("note: ") or opens_trace(s):
            break
        more.append(s)
        k += 1
    return "\n".join(more), (file, line) if line is not None else None, k


def _read_panic(lines: tuple[str, ...], i: int, m: re.Match) -> tuple[Trace, int]:
    message, where, k = _panic_head(lines, i, m.group("rest"))
    frames: list[Frame] = []
    while k < len(lines) and k - i < MAX_MESSAGE_LINES + 4:
        s = lines[k].strip()
        if s.lower() == "stack backtrace:":
            frames, k = read_backtrace(lines, k)
        elif s.startswith("note: "):
            k += 1
            continue
        break
    if where and not any(f.line == where[1] and (f.file or "").endswith(where[0].lstrip("./")) for f in frames):
        raw = lines[i].strip()
        frames.insert(0, Frame(index=0, raw=raw, file=where[0], line=where[1]))
    # Cut between a symbol and its `at` line: the input ends on a located frame's symbol.
    truncated = (at_end(lines, k) and len(frames) > 1 and frames[-1].file is None
                 and frames[-2].file is not None)
    return Trace("rust", "panic", message, numbered(frames), truncated=truncated), k


def find(doc: Doc) -> list[Found]:
    """Every Rust panic (and bare backtrace) in the document."""
    lines = doc.plain
    out: list[Found] = []
    test: tuple[int, TestId] | None = None
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        h = TEST_HEADER.fullmatch(s) if s.startswith("---- ") else None
        if h:
            container, _, name = h.group("name").rpartition("::")
            test = (i, TestId(container=container, name=name))
            i += 1
            continue
        m = PANIC.fullmatch(s) if s.startswith("thread '") else None
        if m or s.lower() == "stack backtrace:":
            if m:
                trace, k = _read_panic(lines, i, m)
            else:
                frames, k = read_backtrace(lines, i)
                trace = Trace("rust", "backtrace", "", numbered(frames))
            start = i
            if test and i - test[0] <= 3:
                start = test[0]
                trace = replace(trace, test=test[1])
            test = None
            if trace.frames:
                out.append(Found(start, k - 1, (trace,)))
            i = max(k, i + 1)
            continue
        i += 1
    return out

"""Normalise pasted or logged text before the format parsers see it.

Traces rarely arrive clean: CI logs add timestamps and levels, terminals add colour
codes, Windows adds CR, mail and Markdown add `> ` quoting, Python exception groups add
`| ` rails and pytest adds `E   `. The parsers work line by line, so this module keeps
exactly one output line per input line (line numbers stay comparable between parsers
and the JUnit parser, which reads the raw text) and only ever removes prefixes.

Every pattern here is anchored and bounded so cleaning stays linear in the input size.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rca_lsp.traces.base import looks_like_exception

# Longer lines are cut: no stack frame is this long, and a bound keeps every
# per-line pattern cheap whatever the input.
MAX_LINE = 8192

NO_PREFIX, STAMP, LEVEL = 0, 1, 2

_ANSI = re.compile(
    r"\x1b\[[0-?]{0,32}[ -/]{0,8}[@-~]"  # CSI: colours, cursor moves
    r"|\x1b[]_P^X][^\x07\x1b\n]{0,1024}(?:\x07|\x1b\\)?"  # OSC (titles, links), APC (Buildkite's times), DCS
    r"|\x1b[@-Z\\-_]"  # two-character escapes
    r"|\x1b"
)

_LEVELS = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE|PANIC)"

# Prefixes that mark the start of a new log record ("fresh" lines); the last one is a level.
_RECORD_PREFIXES = (
    # ISO-like timestamps: 2024-01-01T00:00:00.123Z, [2024-01-01 12:00:00,123]
    re.compile(
        r"\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
        r"(?: ?(?:Z|UTC|[+-]\d{2}:?\d{2}))?\]? ?"
    ),
    # Django's runserver and the common log format: [07/Dec/2026 19:34:47], [07/Dec/2026:19:34:47 +0000]
    re.compile(r"\[\d{2}/[A-Z][a-z]{2}/\d{4}[ :]\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?\] ?"),
    # syslog: Jan  2 15:04:05
    re.compile(r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} "),
    # bare clock: 15:04:05.123
    re.compile(r"\[?\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\]? "),
    # a level: [INFO], [ERROR]; logging.basicConfig's default `ERROR:name:` (`ERROR:root:`); uvicorn's
    # `ERROR:    ` (padded to ten columns; one space after a bare `ERROR:` is text, not a prefix)
    re.compile(r"(?i:\[" + _LEVELS + r"\] ?)|" + _LEVELS + r":(?:[\w.<>-]{1,64}:| {2,8})"),
)
# Only stripped right after a record prefix, where they cannot be trace content.
_AFTER_STAMP = (
    re.compile(r"(?:- )?" + _LEVELS + r"(?: +- | *: ?| +)"),
    # host app[123]: / app[123]: / Heroku's app[web.1]:
    re.compile(r"(?:[\w.-]{1,64} )?[\w./-]{1,64}\[[\w.-]{1,64}\]: ?"),
    # Fly.io's `fly logs`: provider[machine] region [level], the message right after the level's `]`
    # (flyctl internal/render/logs.go); a line's own indentation follows, so no space is taken.
    re.compile(r"[\w.-]{1,64}\[[\w.-]{1,64}\] [a-z]{3} \[[a-z]{1,16}\]"),
    re.compile(r"(?:- )?[\w.]{1,64} - "),  # python logging "%(name)s - "
    re.compile(r"(?:stdout|stderr) [FP] "),  # containerd/CRI-O (kubelet's node logs): "<time> stderr F "
    # GitLab's runner (FF_TIMESTAMPS): "<time> 01O " or "01E+", stream number, out or err, continuation
    re.compile(r"[0-9a-f]{2}[OE](?:[ +]|$)"),
)
# A logger's name after the level ("<time> ERROR svc: ..."): removed only where the lines around
# carry the same one, as when a tool prefixes every line of a record, so that "ERROR ValueError: x"
# keeps its exception.
_LOGGER_TAG = re.compile(r"([\w.-]{1,64}):(?: |$)")
_NOT_TAGS = frozenset({"panic", "fatal error", "error", "warning", "note", "Caused by"})
# Container and pod prefixes: "web_1  | ", "[pod/api-1/app] "; pytest's "INTERNALERROR> " before each line
# of a traceback its own machinery or a plugin raised (a crashing hook, a conftest's pytest_configure).
_SOURCE_PREFIXES = (
    re.compile(r"[\w.-]{1,64} {1,32}\| "),
    re.compile(r"\[pod/[^\]\s]{1,200}\] "),
    re.compile(r"INTERNALERROR> ?"),
)

# Log prefixes that start with emoji or symbols (see strip_symbol_prefix): symbols (So, Sm, Sk, Sc) and
# non-ASCII punctuation such as `•`; inside an emoji, variation selectors and joiners (Mn, Me, Cf).
_SYMBOL_CATEGORIES = frozenset({"So", "Sm", "Sk", "Sc", "Po", "Pd"})
_SYMBOL_MARKS = _SYMBOL_CATEGORIES | {"Mn", "Me", "Cf"}
_MAX_SYMBOL_PREFIX = 32

# Quoting: "> " (mail, Markdown), "| " (exception group rails), repeated and nested.
_QUOTE = re.compile(r"(?:[ \t]{0,40}[>|](?= |$) ?){1,12}")
_PYTEST_E = re.compile(r"E(?:   |$)")


@dataclass(frozen=True)
class Doc:
    """The cleaned text, one entry per input line in every list.

    `text` has colour codes and log prefixes removed; `plain` additionally drops
    quoting (`> `, `| `, pytest `E   `), which is what most parsers want; `fresh`
    says which log-record prefix was removed (NO_PREFIX, STAMP, LEVEL), so that a
    multi-line exception message does not run on into the next record.
    """

    text: tuple[str, ...]
    plain: tuple[str, ...]
    fresh: tuple[int, ...]
    source: tuple[str, ...] = ()  # the container or pod tag removed from each line, if any

    def new_record(self, k: int, since: int) -> bool:
        """Whether line k starts a log record other than the one line `since` belongs to."""
        if self.source and self.source[k] != self.source[since]:
            return True
        return self.fresh[k] == LEVEL or (self.fresh[k] > self.fresh[since] == NO_PREFIX)

    def slice(self, lo: int, hi: int) -> "Doc":
        return Doc(self.text[lo:hi], self.plain[lo:hi], self.fresh[lo:hi], self.source[lo:hi])


def normalise(text: str) -> str:
    """Unify line ends, then drop colour codes (which never span a line end) and a leading byte-order
    mark (Notepad's): one line stays one line."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text) if "\x1b" in text else text


def _strip_record_prefix(line: str) -> tuple[str, int, str]:
    """Remove log-record prefixes (timestamp, level, process tag) from the start of a line.

    Also says what was removed: NO_PREFIX, STAMP (a timestamp or tag) or LEVEL (a level:
    certainly a new record), and the container tag (`web_1`) if there was one. A container's
    tag may come before the timestamp (`docker compose logs -t`, `kubectl logs --prefix --timestamps`).
    """
    line, fresh = _strip_stamps(line)
    source = ""
    for pattern in _SOURCE_PREFIXES:
        m = pattern.match(line)
        if m:
            source = m.group(0).split("|", 1)[0].strip()
            line = line[m.end():]
            if not fresh:
                line, fresh = _strip_stamps(line)
            break
    return line, fresh, source


def _strip_stamps(line: str) -> tuple[str, int]:
    """Remove the timestamps and levels that start a line, then what may follow them."""
    fresh = NO_PREFIX
    for _ in range(3):
        for n, pattern in enumerate(_RECORD_PREFIXES):
            m = pattern.match(line)
            if m and m.end():
                line = line[m.end():]
                fresh = max(fresh, LEVEL if n == len(_RECORD_PREFIXES) - 1 else STAMP)
                break
        else:
            break
    if fresh:
        line, fresh = _strip_after_stamp(line, fresh)
    return line, fresh


def _strip_after_stamp(line: str, fresh: int) -> tuple[str, int]:
    """Remove the level, process tag and logger name that may follow a record prefix."""
    for _ in range(3):
        for n, pattern in enumerate(_AFTER_STAMP):
            m = pattern.match(line)
            if m and m.end():
                line = line[m.end():]
                fresh = LEVEL if n == 0 else fresh
                break
        else:
            break
    return line, fresh


def _symbol_run(line: str) -> int:
    """Length of the leading groups of non-ASCII symbols, each with the space after it (`🔥 `,
    `✗ `, `⚠️ `, `❌ 🔥 `); 0 when the line does not start so, or a symbol runs into a word (`✗foo`)."""
    end = k = len(line) - len(line.lstrip(" \t"))
    limit = min(len(line), k + _MAX_SYMBOL_PREFIX)
    while k < limit:
        j = k
        while j < limit and line[j] > "\x7f" and unicodedata.category(line[j]) in (
                _SYMBOL_MARKS if j > k else _SYMBOL_CATEGORIES):
            j += 1
        if j == k or j >= limit or line[j] != " ":
            break
        end = k = j + 1
    return end


def strip_symbol_prefix(line: str) -> str:
    """`🔥 ERROR \tat x.Y.m(Y.java:1)` -> `\tat x.Y.m(Y.java:1)`: a log prefix that starts with emoji or
    other symbols, then (as after a timestamp) maybe a timestamp, a level, a process or logger tag.

    Not applied to every line by make_doc: test runners print such symbols as their own syntax
    (Jest's `● Suite › test`, Vitest's `❯ file.ts:3:11`, node:test's `✖ name`), so a parser for a
    format where none can start a line (JVM traces) asks for it.
    """
    k = _symbol_run(line) if line.lstrip()[:1] > "\x7f" else 0
    if k == 0:
        return line
    rest, fresh, _ = _strip_record_prefix(line[k:])
    return rest if fresh else _strip_after_stamp(rest, STAMP)[0]


def unquote(line: str) -> str:
    """Remove `> ` / `| ` quoting and pytest's `E   ` marker, keeping the indentation after them."""
    m = _QUOTE.match(line)
    if m and m.end():
        line = line[m.end():]
    m = _PYTEST_E.match(line)
    if m:
        line = line[m.end():]
    return line


def _logger_tag(line: str) -> str | None:
    m = _LOGGER_TAG.match(line)
    if not m or m.group(1) in _NOT_TAGS:
        return None
    return None if looks_like_exception(m.group(1)) else m.group(1)


def _drop_logger_tags(out: list[str], fresh: list[int]) -> None:
    """Remove `svc: ` from lines that a level prefixed, where a neighbour has the same tag."""
    if LEVEL not in fresh:
        return
    tags = [_logger_tag(line) if f == LEVEL else None for line, f in zip(out, fresh)]
    for k, tag in enumerate(tags):
        if tag is not None and ((k > 0 and tags[k - 1] == tag) or (k + 1 < len(tags) and tags[k + 1] == tag)):
            out[k] = out[k][len(tag) + 2:] if len(out[k]) > len(tag) + 1 else ""


def make_doc(text: str) -> Doc:
    """Clean `text` into a Doc; never fails on any str."""
    lines = normalise(text).split("\n")
    out: list[str] = []
    fresh: list[int] = []
    sources: list[str] = []
    for line in lines:
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE]
        line, is_fresh, source = _strip_record_prefix(line)
        out.append(line.rstrip())
        fresh.append(is_fresh)
        sources.append(source)
    _drop_logger_tags(out, fresh)
    plain = tuple(unquote(line).rstrip() for line in out)
    return Doc(tuple(out), plain, tuple(fresh), tuple(sources) if any(sources) else ())

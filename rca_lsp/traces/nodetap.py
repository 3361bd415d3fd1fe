"""node:test's TAP reporter: what `node --test` prints when its output is no terminal (Node 18 to 22
in CI, or piped to a file), and what `--test-reporter=tap` prints everywhere.

    # Subtest: cart
        # Subtest: applies a discount
        not ok 2 - applies a discount
          ---
          location: '/app/dist/test/cart.test.js:17:26'
          failureType: 'testCodeFailure'
          error: 'total 1800 below minimum 500'
          name: 'AssertionError'          (absent for a plain Error)
          stack: |-
            applyDiscount (/app/dist/src/discount.js:16:15)
            async TestContext.<anonymous> (/app/dist/test/cart.test.js:18:19)
          ...

Each `not ok` test becomes a trace named by its title, inside the `# Subtest:` titles around it,
in the file its `location` names; its `stack` lines are V8 frames without their `at `. A suite's
own `not ok` (`failureType: 'subtestsFailed'`) only repeats its tests' failures and is left out.
"""

from __future__ import annotations

import re

from rca_lsp.traces.base import MAX_MESSAGE_LINES, Found, indent, join_message, numbered
from rca_lsp.traces.clean import Doc
from rca_lsp.traces.javascript import parse_frame
from rca_lsp.types import Frame, TestId, Trace

_NOT_OK = re.compile(r"not ok \d{1,9} - (?P<title>.{1,2000}?)(?: # (?:SKIP|TODO)\b.{0,2000})?")
_SUBTEST = re.compile(r"# Subtest: (?P<title>.{1,2000})")
_KEY = re.compile(r"(?P<key>[A-Za-z_]\w{0,60}):(?: (?P<value>.{0,8192}))?")
_LOCATION = re.compile(r"(?P<file>.{1,4096}?):\d{1,9}:\d{1,9}")
_MAX_BLOCK = 2000  # lines of one YAML block read at most
_SUITE_ONLY = ("subtestsFailed", "cancelledByParent")


def _unquote(value: str) -> str:
    """A YAML scalar as node:test writes it: '...' (a quote doubled inside) or bare."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1].replace('\\"', '"')
    return v


def _block(lines: tuple[str, ...], start: int) -> tuple[dict[str, list[str]], int]:
    """The YAML block after a `not ok` line (`---` to `...`): each key's lines, and the block's last line."""
    if start >= len(lines) or lines[start].strip() != "---":
        return {}, start - 1
    depth = indent(lines[start])
    fields: dict[str, list[str]] = {}
    key = ""
    i = start + 1
    for i in range(start + 1, min(len(lines), start + _MAX_BLOCK)):
        raw = lines[i]
        s = raw.strip()
        if s == "..." and indent(raw) == depth:
            return fields, i
        m = _KEY.fullmatch(s) if indent(raw) == depth else None
        if m:
            key = m.group("key")
            value = m.group("value") or ""
            fields[key] = [] if value.strip() in ("|-", "|", ">-", ">") else [_unquote(value)]
        elif key and (indent(raw) > depth or not s):
            fields[key].append(s)
        else:
            return fields, i - 1
    return fields, i


def _frames(stack: list[str]) -> list[Frame]:
    frames = []
    for line in stack:
        frame = parse_frame(line if line.startswith("at ") else f"at {line}") if line else None
        if frame:
            frames.append(frame)
    return frames


def _trace(title: str, suites: list[str], fields: dict[str, list[str]], truncated: bool) -> Trace:
    where = _LOCATION.fullmatch(_unquote(" ".join(fields.get("location", []))))
    file = where.group("file") if where else None
    error = [line for line in fields.get("error", []) if line][:MAX_MESSAGE_LINES] or [""]
    test = TestId(container=" > ".join(suites) or file or "", name=title, path=file)
    exception = _unquote(" ".join(fields.get("name", []))) or "Error"
    return Trace(format="javascript", exception=exception, message=join_message(error[0], error[1:]),
                 frames=numbered(_frames(fields.get("stack", []))), test=test, truncated=truncated)


def find(doc: Doc) -> list[Found]:
    """Every failed test of node:test's TAP output."""
    out: list[Found] = []
    suites: list[tuple[int, str]] = []  # (indent, title) of the `# Subtest:` lines around
    lines = doc.plain
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        depth = indent(lines[i])
        if s.startswith("# Subtest: ") and (m := _SUBTEST.fullmatch(s)):
            suites = [(d, t) for d, t in suites if d < depth] + [(depth, m.group("title"))]
        elif s.startswith("not ok ") and (m := _NOT_OK.fullmatch(s)):
            fields, end = _block(lines, i + 1)
            failure = "".join(fields.get("failureType", [])).strip("'")
            if fields and failure not in _SUITE_ONLY:
                parents = [t for d, t in suites if d < depth]
                cut = end + 1 >= len(lines) and lines[end].strip() != "..."  # the input stopped inside the block
                out.append(Found(i, end, (_trace(m.group("title"), parents, fields, cut),)))
            suites = [(d, t) for d, t in suites if d < depth]
            i = max(i, end)
        i += 1
    return out

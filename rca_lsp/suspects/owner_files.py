"""Reading CODEOWNERS and OWNERS files: pure text in, rules out.

CODEOWNERS (GitHub, GitLab): `pattern owner...` per line, gitignore-style patterns, the last
matching line wins, a line with no owners leaves its files unowned. GitLab's `[Section]`
headers (and their default owners) are read past. GitHub's documented cases hold: `*.js` at any
depth, `docs/*` only one level, `apps/` a folder anywhere, `/docs/` from the root.

OWNERS (Chromium): one owner per line, `#` comments, `set noparent`, `per-file glob=owner,...`;
`file://` and `include` lines are read past. Kubernetes: the YAML lists `approvers:` and
`reviewers:` and `options: no_parent_owners: true`, read as text (the simple subset; no YAML
library): `filters:` blocks are skipped.

A line that cannot be read is skipped with a logged warning: a broken owners file costs only
its own line, never the query.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

_OWNER = re.compile(r"^(?:@@?[\w.-]+(?:/[\w.-]+)*|[^@\s/]+@[^@\s/]+\.[^@\s/]+)$")
_SECTION = re.compile(r"^\^?\[[^\]]+\](?:\[\d+\])?(?:\s.*)?$")
_YAML_KEY = re.compile(r"^(approvers|reviewers|emeritus_approvers|labels|options|filters)\s*:\s*(.*)$")
_USER = re.compile(r"^[\w.-]+$")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line."""

    pattern: re.Pattern[str]
    owners: tuple[str, ...]
    line: int
    text: str


@dataclass(frozen=True)
class OwnersFile:
    """One OWNERS file: its folder's owners, per-file owners, and whether parents are consulted."""

    owners: tuple[str, ...]
    per_file: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, owners)
    noparent: bool = False


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """A gitignore-style pattern as a regex over repository paths; None when it cannot be read."""
    if not pattern or pattern.startswith("!") or pattern == "/":
        return None  # GitHub has no negation; "/" alone names nothing
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    folder = pattern.endswith("/")
    body = pattern.strip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**", i):
            if body.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            else:
                out.append(".*")
                i += 2
            continue
        if c == "[":
            end = body.find("]", i + 2)
            if end < 0:
                return None
            chars = body[i + 1:end]
            chars = "^" + chars[1:] if chars.startswith("!") else chars
            out.append("[" + chars.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        if c == "\\" and i + 1 < len(body):
            out.append(re.escape(body[i + 1]))
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    last = body.rsplit("/", 1)[-1]
    tail = "/.*$" if folder else "(?:/.*)?$" if "*" not in last or last.endswith("**") else "$"  # `docs/*`: one level
    try:
        return re.compile(("^" if anchored else "^(?:.*/)?") + "".join(out) + tail)
    except re.error:
        return None


def _split(line: str) -> list[str]:
    """Words of a CODEOWNERS line, `\\ ` kept inside a pattern."""
    return [w.replace("\0", " ") for w in line.replace("\\ ", "\0").split()]


def _strip_comment(line: str) -> str:
    return re.split(r"(?<!\\)#", line, maxsplit=1)[0].replace("\\#", "#")


def _owners(words: list[str], where: str) -> tuple[str, ...]:
    good = tuple(w for w in words if _OWNER.match(w))
    for bad in (w for w in words if not _OWNER.match(w)):
        log.warning("%s: %r is not an owner (@user, @org/team or an email); skipped", where, bad)
    return good


def parse_codeowners(text: str, source: str = "CODEOWNERS") -> list[Rule]:
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line or _SECTION.match(line):
            continue
        words = _split(line)
        pattern = compile_pattern(words[0])
        where = f"{source} line {number}"
        if pattern is None:
            log.warning("%s: cannot read pattern %r; line skipped", where, words[0])
            continue
        rules.append(Rule(pattern, _owners(words[1:], where), number, line))
    return rules


def codeowners_match(rules: list[Rule], path: str) -> Rule | None:
    """The deciding rule for `path`: the last that matches."""
    for rule in reversed(rules):
        if rule.pattern.match(path):
            return rule
    return None


def parse_owners(text: str, source: str = "OWNERS") -> OwnersFile:
    lines = text.splitlines()
    if any(_YAML_KEY.match(line) for line in lines):
        return _parse_yaml_owners(lines, source)
    owners: list[str] = []
    per_file: list[tuple[str, tuple[str, ...]]] = []
    noparent = False
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        where = f"{source} line {number}"
        if not line or line == "*" or line.startswith(("file:", "include ")):
            continue
        if line == "set noparent":
            noparent = True
        elif line.startswith("per-file "):
            glob, eq, names = line[len("per-file "):].partition("=")
            if not eq or not glob.strip():
                log.warning("%s: cannot read %r; line skipped", where, raw.strip())
                continue
            found = [n.strip() for n in names.split(",") if n.strip() and n.strip() not in ("*", "set noparent")]
            if not any(n.startswith("file:") for n in found):
                per_file.append((glob.strip(), _owners(found, where)))
        elif " " in line:
            log.warning("%s: cannot read %r; line skipped", where, raw.strip())
        else:
            owners.extend(_owners([line], where))
    return OwnersFile(tuple(dict.fromkeys(owners)), tuple(per_file), noparent)


def _parse_yaml_owners(lines: list[str], source: str) -> OwnersFile:
    owners: list[str] = []
    noparent = False
    key = None
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip() or line.strip() == "---":
            continue
        top = _YAML_KEY.match(line)
        if top:
            key, rest = top.group(1), top.group(2).strip()
            if rest.startswith("[") and rest.endswith("]") and key in ("approvers", "reviewers"):
                owners.extend(_yaml_names([n for n in rest[1:-1].split(",")], f"{source} line {number}"))
            continue
        if not line[:1].isspace() and not line.startswith("-"):
            key = None  # an unknown top-level key: its block is not ours
            log.debug("%s line %d: key not read: %r", source, number, line)
            continue
        item = line.strip()
        if key in ("approvers", "reviewers") and item.startswith("- "):
            owners.extend(_yaml_names([item[2:]], f"{source} line {number}"))
        elif key == "options" and re.match(r"^no_parent_owners\s*:\s*true$", item):
            noparent = True
        elif key in ("approvers", "reviewers"):
            log.warning("%s line %d: cannot read %r; line skipped", source, number, item)
    return OwnersFile(tuple(dict.fromkeys(owners)), (), noparent)


def _yaml_names(items: list[str], where: str) -> list[str]:
    names = [n.strip().strip("'\"") for n in items if n.strip()]
    for bad in (n for n in names if not _USER.match(n) and not _OWNER.match(n)):
        log.warning("%s: %r is not a user name; skipped", where, bad)
    return [n for n in names if _USER.match(n) or _OWNER.match(n)]


def per_file_owners(owners_file: OwnersFile, relative: str) -> tuple[str, ...]:
    """Owners a `per-file` line of this OWNERS file adds for `relative` (path inside its folder)."""
    found: list[str] = []
    for glob, names in owners_file.per_file:
        if fnmatch.fnmatchcase(relative, glob) or fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], glob):
            found.extend(names)
    return tuple(dict.fromkeys(found))

"""The git-style text both backends print: log records, file headers, hunk headers, quoted paths.

git's `log -p` and hg's `log -p --git` (with a template of the same header shape) produce the same
stream, so each backend's own parser (`git._parse_log`, `hgdiff.parse`) frames records and reads
file headers through these functions; neither reaches into the other's private helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from rca_lsp.types import Commit

HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
HEADER_FIELDS = 7  # hash, parents, name, email, author date, commit date, message
MAX_HUNK_TEXT = 400  # characters of added/removed text kept per hunk: enough for word matching
HUNK_READ = 20_000  # characters of each side read while parsing, to tell a hunk that only moves layout

# Languages whose indentation is syntax: there a line's leading whitespace is kept.
INDENTED = (".py", ".pyi", ".pyw", ".pyx", ".coffee", ".nim", ".hs", ".fs", ".fsx", ".yaml", ".yml",
            ".haml", ".pug", ".sass", ".slim", ".elm")

_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b",
            b"f": b"\f", b"r": b"\r", b"v": b"\v"}


# Comment syntax by suffix: `//` and `/* */` for the C family, `#` for the shells and scripts.
SLASH_COMMENTS = (".java", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".go", ".c", ".h", ".cc",
                  ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".kt", ".kts", ".scala", ".swift", ".rs", ".dart", ".groovy")
HASH_COMMENTS = (".py", ".pyi", ".pyw", ".pyx", ".rb", ".sh", ".bash", ".pl", ".pm", ".r", ".yaml", ".yml",
                 ".toml", ".coffee", ".nim", ".tcl")


# A string literal runs to its closing quote, or to the end of its line when left open; comments by
# suffix (SLASH_COMMENTS, HASH_COMMENTS);
# a comment mark after a backslash is none (a JavaScript regular expression `/a\//`, a shell's `\#`).
_STRING = r""""(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?"""
# Only string literals and comments are sought (each branch opens with its literal mark, the
# backslash looked behind after it, so the search skips from mark to mark at C speed); the code
# between them has its whitespace split away. A token-by-token reading gives the same text about
# three times slower: tests/test_layout.py keeps it as the reference.
_SPANS = {
    "slash": re.compile(_STRING + r"|(?P<c>/(?<!\\/)(?:/[^\n]*|\*[\s\S]*?(?:\*/|\Z)))"),
    "hash": re.compile(_STRING + r"|(?P<c>#(?<!\\#)[^\n]*)"),
    "none": re.compile(_STRING),
}


# Java words that change no behaviour of a program that compiles: `final` (javac's checks that a name
# is assigned once, a method not overridden, a class not extended) and `@Override` (an annotation
# javac checks and drops). A commit that only adds them ("Use final.", "Missing @Override") moves
# nothing a test can see.
INERT_WORDS = {".java": ("final", "@Override")}
# Java annotations javac reads and drops (source retention, JLS 9.6.4.2): `@SuppressWarnings` and its
# argument, the names of warnings ("Add @SuppressWarnings", "Unnecessary @SuppressWarnings"). Outside
# strings the name becomes a NUL (git reads a file with one as binary: no hunk holds one), and once a
# side's strings are read and its whitespace gone, the NUL goes with the argument that follows it
# (`_ARGUMENT`: string literals, braces, commas, `value=`).
INERT_ANNOTATIONS = {".java": ("@SuppressWarnings", "@java.lang.SuppressWarnings")}


def _literal_first(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Any of `words` (None for none): each word's first character, then the look behind it (no word
    character, `$` or `@` before), so the search skips to candidates at C speed."""
    if not words:
        return None
    return re.compile("(?:" + "|".join(re.escape(w[0]) + r"(?<![\w$@]" + re.escape(w[0]) + ")" + re.escape(w[1:])
                                      for w in words) + r")(?![\w$])")


_STRING_CODE = r'"(?:[^"\\\n]|\\.)*"'
_ARGUMENT = re.compile("\x00(?:\\((?:value=)?(?:" + _STRING_CODE + r"|\{(?:" + _STRING_CODE + r"|,)*\})\))?")


class _Inert(NamedTuple):
    words: re.Pattern[str] | None
    names: re.Pattern[str] | None  # of annotations

    def search(self, text: str) -> bool:
        return any(p is not None and p.search(text) is not None for p in self)

    def sub(self, code: str) -> str:
        """Inert words gone; an inert annotation's name a NUL, for `_ARGUMENT` to take with its argument."""
        if self.words is not None:
            code = self.words.sub("", code)
        return self.names.sub("\x00", code) if self.names is not None and "@" in code else code


_INERTS = {suffix: _Inert(_literal_first(INERT_WORDS.get(suffix, ())), _literal_first(INERT_ANNOTATIONS.get(suffix, ())))
           for suffix in {**INERT_WORDS, **INERT_ANNOTATIONS}}


def _inert(path: str) -> _Inert | None:
    return next((inert for suffix, inert in _INERTS.items() if path.lower().endswith(suffix)), None)


_TRAILING = re.compile(r"[ \t\r\f\v]+$", re.M)


def _strip(text: str, spans: re.Pattern[str], inert: _Inert | None, trim: bool = True) -> str:
    """`text` less comments, whitespace outside string literals and inert words (outside strings).
    `trim`: a string left open to its line's end (or the text's) ends at its last non-blank, as if
    every line's trailing blanks had been cut first (the caller has, where not)."""
    out: list[str] = []
    pos = 0
    for m in spans.finditer(text):
        between = text[pos:m.start()]
        out.append("".join((inert.sub(between) if inert is not None else between).split()))
        if m.lastgroup is None:  # a string literal, kept; one left open to its line's end ends at its last non-blank
            end = m.end()
            out.append(m.group().rstrip(" \t\r\f\v") if trim and (end == len(text) or text[end] == "\n")
                       else m.group())
        pos = m.end()
    rest = text[pos:]
    out.append("".join((inert.sub(rest) if inert is not None else rest).split()))
    code = "".join(out)
    return _ARGUMENT.sub("", code) if "\x00" in code else code


def _code(text: str, path: str) -> str:
    """A hunk side's code: its text less whitespace, comments and inert words (INERT_WORDS), string
    literals kept. Where indentation is syntax (INDENTED), line by line, each non-blank line keeping
    its indentation."""
    lower = path.lower()
    spans = _SPANS["slash" if lower.endswith(SLASH_COMMENTS) else "hash" if lower.endswith(HASH_COMMENTS)
                   else "none"]
    inert = _inert(lower)
    if not lower.endswith(INDENTED):
        return _strip(text, spans, inert)
    lines = []
    for line in _TRAILING.sub("", text).splitlines():
        code = _strip(line, spans, inert, trim=False)
        if code:
            lines.append(line[:len(line) - len(line.lstrip())] + code)
    return "\n".join(lines)


def layout_only(removed: str, added: str, path: str) -> bool:
    """True when a hunk's two sides are the same code laid out differently: equal once blank lines,
    comments and the whitespace outside string literals are gone (indentation kept in a language
    that reads it; there the lines must also break alike), and once the words that change no
    behaviour of a program that compiles are gone (INERT_WORDS: Java's `final` and `@Override`;
    INERT_ANNOTATIONS: `@SuppressWarnings(..)`). Such a hunk (a brace moved,
    spaces in a call dropped, a comment reworded, a reindented block in Java, parameters made final)
    changes no behaviour, as the SZZ studies of bug-introducing changes found (Kim et al. 2006:
    changes to comments, blank lines and format are not the bug's; Kawrykow and Robillard 2011 call
    such edits non-essential). A block comment opened above the hunk is not known: its lines read
    as code, never taken for layout. Sides read in part (longer than HUNK_READ) never count."""
    if len(removed) >= HUNK_READ or len(added) >= HUNK_READ or (not removed and not added):
        return False
    inert = _inert(path)
    if not any(mark in side for side in (removed, added) for mark in ("/", "#")) and \
            (inert is None or not (inert.search(removed) or inert.search(added))) and \
            "".join(removed.split()) != "".join(added.split()):
        return False  # no comment or inert word on either side, and more than whitespace differs (at C speed)
    return _code(removed, path) == _code(added, path)


def decode(raw: bytes) -> str:
    """UTF-8 text; a name or message that is not UTF-8 keeps a replacement character per bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="surrogateescape").encode("utf-8", "replace").decode("utf-8")


# How a backend reads a file name's bytes: git and hg, exactly (`decode_path`); `decode`, the default,
# reads them as text, with '?' for each byte that is not UTF-8.
Names = Callable[[bytes], str]


def decode_path(raw: bytes) -> str:
    """A file name as Python's os functions give it on a UTF-8 system (os.fsdecode): each byte that
    is not UTF-8 kept as a lone surrogate (0xE9 as U+DCE9), so the name is exact, opens the file,
    encodes back to its bytes for git, and is the name Python's tracebacks print (`caf\\udce9.py`)."""
    return raw.decode("utf-8", errors="surrogateescape")


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of unusual path names ("a/\\303\\251.txt")."""
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i:i + 1]
        if ch == b"\\" and i + 1 < len(body):
            nxt = body[i + 1:i + 2]
            if nxt.isdigit() and i + 3 < len(body) + 0 and body[i + 1:i + 4].isdigit():
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += ch
        i += 1
    return bytes(out)


def strip_prefix(raw: bytes, prefix: bytes, name: Names = decode) -> str | None:
    """A path of a diff line without its `a/` / `b/` prefix; None for /dev/null."""
    raw = unquote_path(raw.rstrip(b"\n"))
    if raw == b"/dev/null":
        return None
    if raw.startswith(prefix):
        raw = raw[len(prefix):]
    return name(raw)


def _patch_path(raw: bytes, prefix: bytes, name: Names) -> str | None:
    """The path of a `--- a/x` or `+++ b/x` line. Git ends an unquoted name that holds a space
    with a tab there (for patch(1)); a name that really ends in a tab is always quoted."""
    raw = raw.rstrip(b"\n")
    if raw.endswith(b"\t") and not raw.startswith(b'"'):
        raw = raw[:-1]
    return strip_prefix(raw, prefix, name)


def hunk_numbers(m: re.Match[bytes]) -> tuple[int, int, int, int]:
    """(old_start, old_len, new_start, new_len) of a matched `@@` line; a missing length is 1."""
    old_len = 1 if m.group(2) is None else int(m.group(2))
    new_len = 1 if m.group(4) is None else int(m.group(4))
    return int(m.group(1)), old_len, int(m.group(3)), new_len


def diff_paths(line: bytes, name: Names = decode) -> tuple[str | None, str | None]:
    """Paths of a `diff --git a/x b/y` line; exact for unquoted equal paths, else refined later."""
    rest = line[len(b"diff --git "):].rstrip(b"\n")
    if rest.startswith(b'"'):
        end = rest.find(b'" ', 1)
        while end != -1 and rest[end - 1:end] == b"\\":
            end = rest.find(b'" ', end + 1)
        if end == -1:
            return None, None
        return strip_prefix(rest[:end + 1], b"a/", name), strip_prefix(rest[end + 2:], b"b/", name)
    half = (len(rest) - 1) // 2
    if rest[half:half + 1] == b" " and rest[2:half] == rest[half + 3:]:
        return strip_prefix(rest[:half], b"a/", name), strip_prefix(rest[half + 1:], b"b/", name)
    idx = rest.find(b" b/")
    return strip_prefix(rest[:idx], b"a/", name), strip_prefix(rest[idx + 1:], b"b/", name)


def apply_file_header(line: bytes, current, name: Names = decode) -> bool:
    """Apply one line of a git-style file header (`--- a/x`, `+++ b/x`, new/deleted file mode,
    rename/copy from/to) to `current` (with old, new, status); False when the line is none of these.
    Mercurial's `--git` diffs use the same lines, so both backends read them here."""
    if line.startswith(b"--- "):
        path = _patch_path(line[4:], b"a/", name)
        if path is not None:
            current.old = path
    elif line.startswith(b"+++ "):
        path = _patch_path(line[4:], b"b/", name)
        if path is not None:
            current.new = path
    elif line.startswith(b"new file mode"):
        current.status = "A"
    elif line.startswith(b"deleted file mode"):
        current.status = "D"
    elif line.startswith(b"rename from "):
        current.status, current.old = "R", strip_prefix(line[12:], b"", name)
    elif line.startswith(b"rename to "):
        current.new = strip_prefix(line[10:], b"", name)
    elif line.startswith(b"copy from "):
        current.status, current.old = "C", strip_prefix(line[10:], b"", name)
    elif line.startswith(b"copy to "):
        current.new = strip_prefix(line[8:], b"", name)
    else:
        return False
    return True


def worktree_hunks(diff: bytes, name: Names = decode) -> dict[str, list[tuple[int, int, int, int]]]:
    """(old_start, old_len, new_start, new_len) per new path, from a zero-context git-style diff."""
    changes: dict[str, list[tuple[int, int, int, int]]] = {}
    current: str | None = None
    for line in diff.split(b"\n"):
        if line.startswith(b"+++ "):
            current = _patch_path(line[4:], b"b/", name)
            if current is not None:
                changes.setdefault(current, [])
        elif line.startswith(b"@@") and current is not None:
            m = HUNK.match(line)
            if m:
                changes[current].append(hunk_numbers(m))
    return changes


def _parse_header(raw: bytes, seal: bytes = b"") -> Commit:
    """`seal` (`\\x1f<hash>\\x1f`): `raw` holds it after the name and after the email, and is
    less the one that ended it, so a name, an email or a message may hold \\x1f itself."""
    if seal:
        head, email, tail = raw.split(seal, 2)
        sha, parents, name = head.split(b"\x1f", 2)
        adate, cdate, message = tail.split(b"\x1f", 2)
    else:
        sha, parents, name, email, adate, cdate, message = raw.split(b"\x1f")[:HEADER_FIELDS]
    return Commit(decode(sha).strip(), tuple(decode(parents).split()), decode(name), decode(email),
                  _seconds(adate), _seconds(cdate), decode(message).strip("\n"))


# Dates a commit can hold that a date can show: years 1 to 9999. A tool that wrote milliseconds
# for seconds, or a hand-made commit, gives a year past 9999, and a date past 2**63 seconds fits
# no SQLite integer; such a date is kept as the nearest one shown, not a crash of every run.
EARLIEST, LATEST = -62_135_596_800, 253_402_300_799


def _seconds(raw: bytes) -> int:
    try:
        value = int(raw or 0)
    except ValueError:
        return 0
    return min(max(value, EARLIEST), LATEST)


_IDENT_DATE = re.compile(rb"^(author|committer) .*> *(-?\d+)(?: [-+]?\d+)?$")


def header_dates(raw: bytes) -> dict[str, int]:
    """"author" and "committer" -> the date (in range) on that line of a raw commit object's header
    (`git cat-file commit`): where git's `%at` and `%ct` print nothing, a date before 1970."""
    dates: dict[str, int] = {}
    for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
        m = _IDENT_DATE.match(line)
        if m:
            dates.setdefault(m.group(1).decode(), _seconds(m.group(2)))
    return dates


def log_records(lines: Iterable[bytes], sealed: bool = False) -> Iterator[Commit | bytes]:
    """Frame a log stream whose records start with \\x1e and hold HEADER_FIELDS \\x1f-ended fields
    (git's `--format`, or hg's template of the same shape): a Commit when a record's header is
    complete, then that record's body lines, as they come.

    `sealed`: the record's hash again, between \\x1f, follows the name, the email and the message
    (`git._FORMAT`), so one that holds \\x1e or \\x1f itself (a pasted control character) is read
    whole, not as the next record or as the end of the header: no text can hold its own commit's hash."""
    header: bytes | None = None
    seal = b""
    for line in lines:
        if line.startswith(b"\x1e") and (header is None or not sealed):
            header = line[1:]
            seal = b"\x1f" + header.split(b"\x1f", 1)[0] + b"\x1f"
        elif header is not None:
            header += line
        else:
            yield line
            continue
        if sealed:
            body = header.rstrip(b"\n")
            if len(body) > len(seal) and body.endswith(seal):
                yield _parse_header(body[:-len(seal)], seal)
                header = None
        elif header.count(b"\x1f") >= HEADER_FIELDS:
            yield _parse_header(header)
            header = None

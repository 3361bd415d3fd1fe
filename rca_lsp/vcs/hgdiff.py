"""Reading `hg log -p --git` with whole-file context: changes, zero-context hunks and contents.

Asked with a context wider than any file, each changed file's diff is one hunk that holds the
whole file: its context and removed lines are the old version, its context and added lines the
new one. So one stream gives the commit, its zero-context hunks (each run of -/+ lines, numbered
as `git diff --unified=0` numbers them) and every version the index parses, with no `hg cat`
per file: Mercurial's command server answers each command in Python, a few milliseconds apiece.

Nearly every line of such a stream is context, so a hunk's body is taken whole from the buffer
and split with bytes methods; only the changed lines are looked at one by one in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from rca_lsp.types import Commit, FileChange, Hunk
from rca_lsp.vcs.base import LoggedCommit
from rca_lsp.vcs.diffparse import (HUNK, HUNK_READ, MAX_HUNK_TEXT, apply_file_header, decode, decode_path, diff_paths,
                                   layout_only, log_records)

WHOLE_FILE = 1_000_000  # lines of context: a file longer than this is read by `hg cat` instead
_BODY_END = re.compile(rb"\n(?![ +\-\\])")  # a newline not followed by a hunk body line
_CHANGED = re.compile(rb"^[-+\\].*(?:\n[-+\\].*)*\n?", re.M)  # a run of changed lines in a hunk's body


@dataclass
class _File:
    old: str | None
    new: str | None
    status: str = "M"
    binary: bool = False
    hunks: list[list] = field(default_factory=list)
    old_lines: list[bytes] = field(default_factory=list)
    new_lines: list[bytes] = field(default_factory=list)
    headers: int = 0  # @@ lines seen; whole contents need exactly one, starting at line 1
    whole: bool = True
    old_no: int = 1
    new_no: int = 1
    run: list | None = None  # the zero-context hunk being read
    last: bytes = b" "  # kind of the previous line, for "\ No newline at end of file"

    def start_hunk(self, line: bytes) -> None:
        m = HUNK.match(line)
        if not m:
            return
        self.headers += 1
        self.run = None
        self.old_no, self.new_no = max(int(m.group(1)), 1), max(int(m.group(3)), 1)
        if self.headers > 1 or int(m.group(1)) > 1 or int(m.group(3)) > 1:
            self.whole = False

    def body(self, data: bytes) -> None:
        """A hunk's whole body at once: context is copied in bulk, only changed lines (and
        "\\ No newline at end of file" markers) are visited one by one."""
        if data.startswith(b"\\"):  # a marker with no line before it: read as `line` always did
            for line in data.splitlines(keepends=True):
                self.line(line)
            return
        old_no, new_no, pos = self.old_no, self.new_no, 0
        for m in _CHANGED.finditer(data):
            start, end = m.span()
            self._context(data[pos:start])
            old_no += data.count(b"\n", pos, start)
            new_no += data.count(b"\n", pos, start)
            removed, added, texts = self._changed(data[start:end], after_context=start > pos)
            if removed or added:
                self.hunks.append([old_no, removed, new_no, added, *texts])
            old_no += removed
            new_no += added
            pos = end
        self._context(data[pos:])
        tail = data.count(b"\n", pos) + (0 if data.endswith(b"\n") or pos == len(data) else 1)
        self.old_no, self.new_no = old_no + tail, new_no + tail
        self.run = None

    def _context(self, chunk: bytes) -> None:
        """Context lines (each " " and its text) go to both versions, without their prefixes."""
        if chunk:
            text = chunk[1:].replace(b"\n ", b"\n")
            self.old_lines.append(text)
            self.new_lines.append(text)

    def _changed(self, chunk: bytes, after_context: bool) -> tuple[int, int, tuple[str, str]]:
        """One run of -/+ lines into both versions; (removed, added, their texts)."""
        removed: list[bytes] = []
        added: list[bytes] = []
        bare: set[tuple[int, int]] = set()  # (side, index) of lines a marker says end without newline
        side: list[bytes] | None = None
        for line in chunk.splitlines(keepends=True):
            kind = line[:1]
            if kind == b"-" or kind == b"+":
                side = removed if kind == b"-" else added
                side.append(line[1:])
            elif side is not None:  # "\\ No newline at end of file" after a changed line
                bare.add((side is added, len(side) - 1))
            elif after_context:  # after the context line just copied to both versions
                for lines in (self.old_lines, self.new_lines):
                    if lines and lines[-1].endswith(b"\n"):
                        lines[-1] = lines[-1][:-1]
        self.old_lines += [_bare(line) if (False, i) in bare else line for i, line in enumerate(removed)]
        self.new_lines += [_bare(line) if (True, i) in bare else line for i, line in enumerate(added)]
        return len(removed), len(added), (_text(added), _text(removed))

    def line(self, line: bytes) -> None:
        kind, text = line[:1], line[1:]
        if kind == b"\\":  # the previous line has no newline at the end of the file
            for side in ((self.old_lines,) if self.last == b"-" else (self.new_lines,) if self.last == b"+"
                         else (self.old_lines, self.new_lines)):
                if side and side[-1].endswith(b"\n"):
                    side[-1] = side[-1][:-1]
            return
        self.last = kind
        if kind == b" ":
            self.run = None
            self.old_lines.append(text)
            self.new_lines.append(text)
            self.old_no += 1
            self.new_no += 1
            return
        if self.run is None:
            self.run = [self.old_no, 0, self.new_no, 0, "", ""]
            self.hunks.append(self.run)
        if kind == b"-":
            self.run[1] += 1
            if len(self.run[5]) < HUNK_READ:
                self.run[5] += decode(text)
            self.old_lines.append(text)
            self.old_no += 1
        else:
            self.run[3] += 1
            if len(self.run[4]) < HUNK_READ:
                self.run[4] += decode(text)
            self.new_lines.append(text)
            self.new_no += 1

    def build(self) -> FileChange:
        hunks = []
        path = self.new or self.old or ""
        for old_start, old_len, new_start, new_len, added, removed in self.hunks:
            # git's -U0 numbering: an empty side names the line before the change
            hunks.append(Hunk(old_start if old_len else old_start - 1, old_len,
                              new_start if new_len else new_start - 1, new_len,
                              added[:MAX_HUNK_TEXT], removed[:MAX_HUNK_TEXT], layout_only(removed, added, path)))
        old, new = self.old, self.new
        if self.status == "A":
            old = None
        elif self.status == "D":
            new = None
        return FileChange(self.status, old, new, self.binary, tuple(hunks))

    def contents(self) -> tuple[bytes | None, bytes | None]:
        if self.binary or not self.whole or self.headers != 1:
            return None, None
        return b"".join(self.old_lines), b"".join(self.new_lines)


def _bare(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\n") else line


def _text(lines: list[bytes]) -> str:
    """The text of one side's lines, as much as HUNK_READ keeps."""
    out = ""
    for line in lines:
        if len(out) >= HUNK_READ:
            break
        out += decode(line)
    return out


class _Cursor:
    """Lines of a buffer, one by one, or a hunk's whole body at once (`body`)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def __iter__(self) -> "_Cursor":
        return self

    def __next__(self) -> bytes:
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise StopIteration
        end = data.find(b"\n", pos)
        self.pos = len(data) if end < 0 else end + 1
        return data[pos:self.pos]

    def body(self) -> bytes:
        """Every line from here that a hunk's body can hold: those starting " ", "-", "+" or "\\"."""
        if self.pos == 0 or self.pos >= len(self.data):
            return b""
        m = _BODY_END.search(self.data, self.pos - 1)
        end = m.start() + 1 if m else len(self.data)
        out, self.pos = self.data[self.pos:end], end
        return out


Sink = Callable[[Commit, FileChange, bytes | None, bytes | None], None]


def parse(data: bytes | Iterable[bytes], contents: Sink | None = None) -> Iterator[LoggedCommit]:
    """Commits of a templated `hg log -p --git` stream (the whole answer, or its lines);
    `contents` receives each file's versions."""
    cursor = _Cursor(data if isinstance(data, bytes) else b"".join(data))
    commit: Commit | None = None
    files: list[_File] = []
    current: _File | None = None

    def finish() -> LoggedCommit | None:
        if commit is None:
            return None
        changes = []
        for f in files:
            change = f.build()
            if contents is not None and change.hunks:
                old, new = f.contents()
                contents(commit, change, old, new)
            changes.append(change)
        return LoggedCommit(commit, tuple(changes))

    for line in log_records(cursor, sealed=True):  # `hg._TEMPLATE` seals its header with the node
        if isinstance(line, Commit):
            done = finish()
            if done:
                yield done
            commit, files, current = line, [], None
            continue
        if line.startswith(b"diff --git "):
            old, new = diff_paths(line, decode_path)
            current = _File(old, new)
            files.append(current)
        elif current is None:
            continue
        elif line.startswith(b"@@"):
            current.start_hunk(line)
            current.body(cursor.body())
        elif apply_file_header(line, current, decode_path):
            pass
        elif line.startswith((b"GIT binary patch", b"Binary file")):
            current.binary = True
    done = finish()
    if done:
        yield done

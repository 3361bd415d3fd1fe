"""Reading `hg log -p --git` with whole-file context: changes, zero-context hunks and contents.

Asked with a context wider than any file, each changed file's diff is one hunk that holds the
whole file: its context and removed lines are the old version, its context and added lines the
new one. So one stream gives the commit, its zero-context hunks (each run of -/+ lines, numbered
as `git diff --unified=0` numbers them) and every version the index parses, with no `hg cat`
per file: Mercurial's command server answers each command in Python, a few milliseconds apiece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from rca_lsp.types import Commit, FileChange, Hunk
from rca_lsp.vcs.base import LoggedCommit
from rca_lsp.vcs.git import _HUNK, MAX_HUNK_TEXT, _decode, _diff_paths, apply_file_header, log_records

WHOLE_FILE = 1_000_000  # lines of context: a file longer than this is read by `hg cat` instead


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
        m = _HUNK.match(line)
        if not m:
            return
        self.headers += 1
        self.run = None
        self.old_no, self.new_no = max(int(m.group(1)), 1), max(int(m.group(3)), 1)
        if self.headers > 1 or int(m.group(1)) > 1 or int(m.group(3)) > 1:
            self.whole = False

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
            if len(self.run[5]) < MAX_HUNK_TEXT:
                self.run[5] += _decode(text)
            self.old_lines.append(text)
            self.old_no += 1
        else:
            self.run[3] += 1
            if len(self.run[4]) < MAX_HUNK_TEXT:
                self.run[4] += _decode(text)
            self.new_lines.append(text)
            self.new_no += 1

    def build(self) -> FileChange:
        hunks = []
        for old_start, old_len, new_start, new_len, added, removed in self.hunks:
            # git's -U0 numbering: an empty side names the line before the change
            hunks.append(Hunk(old_start if old_len else old_start - 1, old_len,
                              new_start if new_len else new_start - 1, new_len,
                              added[:MAX_HUNK_TEXT], removed[:MAX_HUNK_TEXT]))
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


Sink = Callable[[Commit, FileChange, bytes | None, bytes | None], None]


def parse(lines: Iterable[bytes], contents: Sink | None = None) -> Iterator[LoggedCommit]:
    """Commits of a templated `hg log -p --git` stream; `contents` receives each file's versions."""
    commit: Commit | None = None
    files: list[_File] = []
    current: _File | None = None
    in_hunk = False

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

    for line in log_records(lines):
        if isinstance(line, Commit):
            done = finish()
            if done:
                yield done
            commit, files, current, in_hunk = line, [], None, False
            continue
        if in_hunk and current is not None and line[:1] in (b" ", b"-", b"+", b"\\"):
            current.line(line)
            continue
        in_hunk = False
        if line.startswith(b"diff --git "):
            old, new = _diff_paths(line)
            current = _File(old, new)
            files.append(current)
        elif current is None:
            continue
        elif line.startswith(b"@@"):
            current.start_hunk(line)
            in_hunk = True
        elif apply_file_header(line, current):
            pass
        elif line.startswith((b"GIT binary patch", b"Binary file")):
            current.binary = True
    done = finish()
    if done:
        yield done

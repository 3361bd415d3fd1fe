"""Git backend: history streamed from a handful of long-lived processes.

`git log -p --unified=0` gives commits, renames and zero-context hunks in one stream; blob
contents come from one `git cat-file --batch`. Nothing here spawns a process per commit.
Revisions reach git only after validation and after `--end-of-options`, never through a shell.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from rca_lsp.errors import RepositoryError
from rca_lsp.types import Commit, FileChange, Hunk
from rca_lsp.vcs.base import LoggedCommit
from rca_lsp.vcs.revisions import check_revision

log = logging.getLogger(__name__)

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_INDEX = re.compile(rb"^index ([0-9a-f]+)\.\.([0-9a-f]+)")
_FORMAT = "%x1e%H%x1f%P%x1f%aN%x1f%aE%x1f%at%x1f%ct%x1f%B%x1f"
_HEADER_FIELDS = 7
LOG_CHUNK = 2000  # commits per `git log` process, to bound git's memory
MAX_HUNK_TEXT = 400  # characters of added/removed text kept per hunk: enough for word matching

# Environment variables git sets for hooks; a nested git call must not inherit them blindly.
_HOOK_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _HOOK_ENV}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def _no_fetch_env() -> dict[str, str]:
    """For reading history: git (2.44, 2.39.4 and later) then fails on an object a partial clone
    lacks instead of fetching it, one round trip each; `gitmissing` takes over from there. Not
    for `cat-file`, which would die on it rather than say "missing"."""
    return {**_clean_env(), "GIT_NO_LAZY_FETCH": "1"}


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="surrogateescape").encode("utf-8", "replace").decode("utf-8")


_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b",
            b"f": b"\f", b"r": b"\r", b"v": b"\v"}


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


def _patch_path(raw: bytes, prefix: bytes) -> str | None:
    """The path of a `--- a/x` or `+++ b/x` line. Git ends an unquoted name that holds a space
    with a tab there (for patch(1)); a name that really ends in a tab is always quoted."""
    raw = raw.rstrip(b"\n")
    if raw.endswith(b"\t") and not raw.startswith(b'"'):
        raw = raw[:-1]
    return _strip_prefix(raw, prefix)


def apply_file_header(line: bytes, current) -> bool:
    """Apply one line of a git-style file header (`--- a/x`, `+++ b/x`, new/deleted file mode,
    rename/copy from/to) to `current` (with old, new, status); False when the line is none of these.
    Mercurial's `--git` diffs use the same lines, so both backends read them here."""
    if line.startswith(b"--- "):
        path = _patch_path(line[4:], b"a/")
        if path is not None:
            current.old = path
    elif line.startswith(b"+++ "):
        path = _patch_path(line[4:], b"b/")
        if path is not None:
            current.new = path
    elif line.startswith(b"new file mode"):
        current.status = "A"
    elif line.startswith(b"deleted file mode"):
        current.status = "D"
    elif line.startswith(b"rename from "):
        current.status, current.old = "R", _strip_prefix(line[12:], b"")
    elif line.startswith(b"rename to "):
        current.new = _strip_prefix(line[10:], b"")
    elif line.startswith(b"copy from "):
        current.status, current.old = "C", _strip_prefix(line[10:], b"")
    elif line.startswith(b"copy to "):
        current.new = _strip_prefix(line[8:], b"")
    else:
        return False
    return True


def worktree_hunks(diff: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    """(old_start, old_len, new_start, new_len) per new path, from a zero-context git-style diff."""
    changes: dict[str, list[tuple[int, int, int, int]]] = {}
    current: str | None = None
    for line in diff.split(b"\n"):
        if line.startswith(b"+++ "):
            current = _patch_path(line[4:], b"b/")
            if current is not None:
                changes.setdefault(current, [])
        elif line.startswith(b"@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                changes[current].append(_hunk_numbers(m))
    return changes


def _strip_prefix(raw: bytes, prefix: bytes) -> str | None:
    raw = unquote_path(raw.rstrip(b"\n"))
    if raw == b"/dev/null":
        return None
    if raw.startswith(prefix):
        raw = raw[len(prefix):]
    return _decode(raw)


class GitRepo:
    kind = "git"

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        start = Path(path)
        if not start.exists():
            raise RepositoryError(f"{start} does not exist")
        self._cwd = str(start if start.is_dir() else start.parent)
        out = self._run(["rev-parse", "--show-toplevel", "--git-common-dir"], check=False)
        if out.returncode != 0:
            raise self._no_work_tree(start)
        top, common = _decode(out.stdout).splitlines()[:2]
        self.root = top
        self.meta_dir = str((Path(self._cwd) / common).resolve())
        self._cwd = top

    def _no_work_tree(self, start: Path) -> RepositoryError:
        """Inside a bare repository or a .git folder, git knows where it is but has no files to rank;
        anywhere else the folder is no checkout at all, so say which kinds are."""
        if self._run(["rev-parse", "--git-dir"], check=False).returncode == 0:
            return RepositoryError(f"{start} is not inside a git work tree (a bare repository or a .git folder)",
                                   hint="run rca in a checkout, or pass --repo PATH")
        return RepositoryError(f"not a git or Mercurial repository (or Sapling): {start.absolute()}",
                               hint="run rca in a checkout, or pass --repo PATH")

    # -- process helpers ---------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git", "-c", "core.quotepath=false", "-c", "log.showSignature=false", *args]
        proc = subprocess.run(cmd, cwd=self._cwd, env=_clean_env(), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and proc.returncode != 0:
            raise RepositoryError(f"git {args[0]} failed: {_decode(proc.stderr).strip()[:500]}")
        return proc

    def git_text(self, *args: str) -> str:
        return _decode(self._run(list(args)).stdout)

    # -- revisions -----------------------------------------------------------------------
    def head(self) -> str | None:
        proc = self._run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return _decode(proc.stdout).strip() or None

    def resolve(self, rev: str) -> str:
        check_revision(rev)
        proc = self._run(["rev-parse", "--verify", "-q", "--end-of-options", rev + "^{commit}"], check=False)
        sha = _decode(proc.stdout).strip()
        if proc.returncode != 0 or not sha:
            raise RepositoryError(f"unknown revision {rev!r}", hint="use a commit hash, branch or tag of this repository")
        return sha

    def is_shallow(self) -> bool:
        return self.git_text("rev-parse", "--is-shallow-repository").strip() == "true"

    def reachable(self, since: str | None = None) -> list[str]:
        """Commits reachable from HEAD (newest first), excluding those reachable from `since`."""
        head = self.head()
        if head is None:
            return []
        args = ["rev-list", "--topo-order", head]
        if since:
            args += ["--not", self.resolve(since)]
        return self.git_text(*args).split()

    # -- history -------------------------------------------------------------------------
    def log(self, hashes: Iterable[str]) -> Iterator[LoggedCommit]:
        """Commits with their changes and zero-context hunks, in the order given.

        One `git log` per LOG_CHUNK commits: git keeps every object it has parsed until it
        exits, so one process over a whole history grows with it (275 MiB at 100,000 commits).
        """
        from rca_lsp.vcs.gitmissing import Presence, is_partial_clone

        presence = Presence(self, is_partial_clone(self))
        chunk: list[str] = []
        for sha in hashes:
            chunk.append(sha)
            if len(chunk) >= LOG_CHUNK:
                yield from self._log_chunk(chunk, presence)
                chunk = []
        if chunk:
            yield from self._log_chunk(chunk, presence)

    def _log_chunk(self, hashes: list[str], presence) -> Iterator[LoggedCommit]:
        """One checked stream; from a missing object on, only what the store holds is diffed."""
        from rca_lsp.vcs.gitlog import MissingObject
        from rca_lsp.vcs.gitmissing import log_around_missing

        if presence.partial:  # never ask a partial clone for a blob: git would fetch it
            yield from log_around_missing(self, hashes, presence)
            return
        done = 0
        try:
            for item in self.log_stream(hashes):
                yield item
                done += 1
        except MissingObject as exc:
            log.debug("git log stopped on a missing object after %d commit(s): %s", done, exc)
            yield from log_around_missing(self, hashes[done:], presence, cause=str(exc))

    def log_stream(self, hashes: list[str], parse=None, *extra: str, fetch: bool = False) -> Iterator[LoggedCommit]:
        """One `git log` over `hashes`, checked whole (see `gitlog`): with zero-context patches
        read by `_parse_log`, or with `extra` arguments read by `parse`. Nothing is fetched from
        a promisor remote unless `fetch`."""
        from rca_lsp.vcs.gitlog import log_command, run_stream

        if parse is None:
            args, parse = ["-p", "--unified=0", "--find-renames", *extra], _parse_log
        else:
            args = list(extra)
        env = _clean_env() if fetch else _no_fetch_env()
        return run_stream(log_command(_FORMAT, *args), self._cwd, env, hashes, parse)

    def present_blobs(self, blobs: set[str]) -> set[str]:
        """Those of `blobs` the object store holds, found without fetching any."""
        from rca_lsp.vcs.gitmissing import Presence, is_partial_clone

        return Presence(self, is_partial_clone(self)).present(blobs)

    def read_blobs(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """Contents of blobs through one `git cat-file --batch`; None for a missing blob."""
        return _BlobReader(self._cwd).read(blob_ids)

    def blob_reader(self) -> "_BlobReader":
        return _BlobReader(self._cwd)

    # -- work tree -----------------------------------------------------------------------
    def tracked_files(self) -> list[str]:
        out = self._run(["ls-files", "-z"]).stdout
        return [_decode(p) for p in out.split(b"\0") if p]

    def head_blobs(self) -> dict[str, str]:
        """Path -> blob id of every file in HEAD's tree."""
        if self.head() is None:
            return {}
        out = self._run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"]).stdout
        blobs = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            mode, kind, sha = meta.split(b" ")
            if kind == b"blob":
                blobs[_decode(path)] = sha.decode()
        return blobs

    def worktree_changes(self, paths: Iterable[str] | None = None) -> dict[str, list[tuple[int, int, int, int]]]:
        """Hunks (old_start, old_len, new_start, new_len) between HEAD and the work tree, per path."""
        if self.head() is None:
            return {}
        args = ["diff", "HEAD", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--"]
        args += list(paths or [])
        return worktree_hunks(self._run(args).stdout)

    def modified_files(self) -> list[str]:
        """Tracked files that differ from HEAD in the work tree or the staging area."""
        if self.head() is None:
            return []
        out = self._run(["diff", "HEAD", "--name-only", "-z", "--no-renames"]).stdout
        return [_decode(p) for p in out.split(b"\0") if p]

    def untracked_files(self) -> list[str]:
        out = self._run(["ls-files", "-z", "--others", "--exclude-standard"]).stdout
        return [_decode(p) for p in out.split(b"\0") if p]

    def config(self, key: str) -> str | None:
        proc = self._run(["config", "--get", key], check=False)
        return _decode(proc.stdout).strip() or None


def _hunk_numbers(m: re.Match[bytes]) -> tuple[int, int, int, int]:
    old_len = 1 if m.group(2) is None else int(m.group(2))
    new_len = 1 if m.group(4) is None else int(m.group(4))
    return int(m.group(1)), old_len, int(m.group(3)), new_len


class _BlobReader:
    """A long-lived `git cat-file --batch`: ask for a blob, get its bytes."""

    def __init__(self, cwd: str) -> None:
        # Bounded memory on big histories: git maps pack files up to core.packedGitLimit (8 GiB by
        # default) and caches delta bases up to 96 MiB, per process, and there is one per worker.
        self._proc = subprocess.Popen(["git", "-c", "core.packedGitLimit=256m", "-c", "core.packedGitWindowSize=32m",
                                       "-c", "core.deltaBaseCacheLimit=32m", "cat-file", "--batch"],
                                      cwd=cwd, env=_clean_env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def get(self, blob: str) -> bytes | None:
        """The blob's bytes, None when the store lacks it; IndexingStopped when git died, which
        must not pass for a missing blob (every file after it would lose its symbols)."""
        assert self._proc.stdin and self._proc.stdout
        try:
            self._proc.stdin.write(blob.encode() + b"\n")
            self._proc.stdin.flush()
            header = self._proc.stdout.readline().split()
        except (BrokenPipeError, ValueError) as exc:  # ValueError: the pipe was closed
            raise self._died() from exc
        if not header:
            raise self._died()
        if len(header) < 3 or header[1] == b"missing":
            return None
        size = int(header[2])
        data = self._proc.stdout.read(size)
        if len(data) < size or self._proc.stdout.read(1) != b"\n":
            raise self._died()
        return data if header[1] == b"blob" else None

    def _died(self):
        from rca_lsp.errors import IndexingStopped
        from rca_lsp.vcs.gitlog import how_it_ended

        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        return IndexingStopped(f"git cat-file (pid {self._proc.pid}) {how_it_ended(code)}",
                               hint="the whole commits indexed so far are kept; run `rca index` again to carry on")

    def read(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        try:
            for blob in blob_ids:
                yield blob, self.get(blob)
        finally:
            self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()


# -- the log stream parser -------------------------------------------------------------------

class _FileBuilder:
    def __init__(self, old: str | None, new: str | None) -> None:
        self.old, self.new = old, new
        self.status = "M"
        self.binary = False
        self.old_blob: str | None = None
        self.new_blob: str | None = None
        self.hunks: list[list] = []

    def build(self) -> FileChange:
        hunks = tuple(Hunk(a, b, c, d, added[:MAX_HUNK_TEXT], removed[:MAX_HUNK_TEXT])
                      for a, b, c, d, added, removed in self.hunks)
        old, new = self.old, self.new
        if self.status == "A":
            old = None
        elif self.status == "D":
            new = None
        zero = "0" * 40
        return FileChange(self.status, old, new, self.binary, hunks,
                          None if self.old_blob in (None, zero) or old is None else self.old_blob,
                          None if self.new_blob in (None, zero) or new is None else self.new_blob)


def _parse_header(raw: bytes) -> Commit:
    parts = raw.split(b"\x1f")
    sha, parents, name, email, adate, cdate, message = parts[:_HEADER_FIELDS]
    return Commit(_decode(sha).strip(), tuple(_decode(parents).split()), _decode(name), _decode(email),
                  int(adate or 0), int(cdate or 0), _decode(message).strip("\n"))


def _diff_paths(line: bytes) -> tuple[str | None, str | None]:
    """Paths of a `diff --git a/x b/y` line; exact for unquoted equal paths, else refined later."""
    rest = line[len(b"diff --git "):].rstrip(b"\n")
    if rest.startswith(b'"'):
        end = rest.find(b'" ', 1)
        while end != -1 and rest[end - 1:end] == b"\\":
            end = rest.find(b'" ', end + 1)
        if end == -1:
            return None, None
        return _strip_prefix(rest[:end + 1], b"a/"), _strip_prefix(rest[end + 2:], b"b/")
    half = (len(rest) - 1) // 2
    if rest[half:half + 1] == b" " and rest[2:half] == rest[half + 3:]:
        return _strip_prefix(rest[:half], b"a/"), _strip_prefix(rest[half + 1:], b"b/")
    idx = rest.find(b" b/")
    return _strip_prefix(rest[:idx], b"a/"), _strip_prefix(rest[idx + 1:], b"b/")


def log_records(lines: Iterable[bytes]) -> Iterator[Commit | bytes]:
    """Frame a `--format=_FORMAT` log stream (git's, or hg's template of the same shape): a Commit
    when a record's header is complete, then that record's body lines, as they come."""
    header: bytes | None = None
    for line in lines:
        if line.startswith(b"\x1e"):
            header = line[1:]
        elif header is not None:
            header += line
        else:
            yield line
            continue
        if header.count(b"\x1f") >= _HEADER_FIELDS:
            yield _parse_header(header)
            header = None


def _parse_log(stream) -> Iterator[LoggedCommit]:  # noqa: C901 - one state machine reads best whole
    commit: Commit | None = None
    files: list[_FileBuilder] = []
    current: _FileBuilder | None = None
    hunk: list | None = None

    def finish() -> LoggedCommit | None:
        if commit is None:
            return None
        return LoggedCommit(commit, tuple(f.build() for f in files))

    for line in log_records(stream):
        if isinstance(line, Commit):
            done = finish()
            if done:
                yield done
            commit, files, current, hunk = line, [], None, None
            continue
        first = line[:1]
        if hunk is not None and first in (b"+", b"-") and not line.startswith((b"+++ ", b"--- ")):
            text = _decode(line[1:])
            slot = 4 if first == b"+" else 5
            if len(hunk[slot]) < MAX_HUNK_TEXT:
                hunk[slot] += text
            continue
        if line.startswith(b"diff --git "):
            old, new = _diff_paths(line)
            current, hunk = _FileBuilder(old, new), None
            files.append(current)
        elif current is None:
            continue
        elif line.startswith(b"@@"):
            m = _HUNK.match(line)
            if m:
                hunk = [*_hunk_numbers(m), "", ""]
                current.hunks.append(hunk)
        elif apply_file_header(line, current):
            pass
        elif line.startswith(b"index "):
            m = _INDEX.match(line)
            if m:
                current.old_blob, current.new_blob = m.group(1).decode(), m.group(2).decode()
        elif line.startswith(b"Binary files ") or line.startswith(b"GIT binary patch"):
            current.binary = True
    done = finish()
    if done:
        yield done

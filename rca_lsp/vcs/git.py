"""Git backend: history streamed from a handful of long-lived processes.

`git log -p --unified=0` gives commits, renames and zero-context hunks in one stream; blob
contents come from one `git cat-file --batch`. Nothing here spawns a process per commit.
Revisions reach git only after validation and after `--end-of-options`, never through a shell.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from rca_lsp.errors import RepositoryError
from rca_lsp.types import Commit, FileChange, Hunk
from rca_lsp.vcs.base import LoggedCommit, Worktree
from rca_lsp.vcs.diffparse import (HUNK, HUNK_READ, MAX_HUNK_TEXT, apply_file_header, decode, decode_path, diff_paths,
                                   header_dates, hunk_numbers, layout_only, log_records, worktree_hunks)
from rca_lsp.vcs.revisions import check_revision

log = logging.getLogger(__name__)

_INDEX = re.compile(rb"^index ([0-9a-f]+)\.\.([0-9a-f]+)")
_SHA = re.compile(r"^[0-9a-f]{40,64}$")


def is_null(oid: str | None) -> bool:
    """git's null object id, all zeros: 40 of them, or 64 in a SHA-256 repository."""
    return oid is not None and len(oid) in (40, 64) and not oid.strip("0")


# The hash again seals the name, the email and the message (`diffparse.log_records`): each may hold \x1f.
_FORMAT = "%x1e%H%x1f%P%x1f%aN%x1f%H%x1f%aE%x1f%H%x1f%at%x1f%ct%x1f%B%x1f%H%x1f"
LOG_CHUNK = 2000  # commits per `git log` process, to bound git's memory

# Environment variables git sets for hooks; a nested git call must not inherit them blindly.
_HOOK_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY")


def clean_env() -> dict[str, str]:
    """The environment of every git process rca starts: the caller's, less a hook's repository.
    History is read as committed: `git replace` refs are not followed (GIT_NO_REPLACE_OBJECTS). The
    index keeps each commit's changes by its hash, and a replace ref added or dropped later would
    change what a hash's parent is without the hash changing: its changes would go stale."""
    env = {k: v for k, v in os.environ.items() if k not in _HOOK_ENV}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_REPLACE_OBJECTS": "1"})
    return env


def merge_at_head(cwd: str = ".") -> bool:
    """Whether HEAD in `cwd` has a second parent: a commit that concluded a merge (a `git pull` that
    stopped on a conflict never runs post-merge; the commit that resolves it runs post-commit). One
    `git rev-parse`, cheap enough for a hook."""
    probe = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD^2"], cwd=cwd, capture_output=True,
                           env=clean_env())
    return probe.returncode == 0


def _ignored_git_dir() -> str | None:
    """GIT_DIR as the user set it, made absolute; rca never passes it on (see `clean_env`)."""
    value = os.environ.get("GIT_DIR")
    return os.path.abspath(value) if value else None


def _no_fetch_env() -> dict[str, str]:
    """For reading history: git (2.44, 2.39.4 and later) then fails on an object a partial clone
    lacks instead of fetching it, one round trip each; `gitmissing` takes over from there. Not
    for `cat-file`, which would die on it rather than say "missing"."""
    return {**clean_env(), "GIT_NO_LAZY_FETCH": "1"}


class GitRepo:
    kind = "git"

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        start = Path(path)
        if not start.exists():
            raise RepositoryError(f"{start} does not exist")
        self._cwd = str(start if start.is_dir() else start.parent)
        out = self._run(["rev-parse", "--show-toplevel", "--git-common-dir", "--absolute-git-dir"], check=False)
        if out.returncode != 0:
            raise self._no_work_tree(start)
        top, common, own = decode_path(out.stdout).splitlines()[:3]
        self.root = top
        self.meta_dir = str((Path(self._cwd) / common).resolve())
        # A linked worktree (`git worktree add`) has a HEAD of its own, so an index of its own: one
        # shared index held one HEAD's history, and each run in the other worktree rebuilt its branch.
        self.checkout_dir = str(Path(own).resolve())
        self._cwd = top

    def _no_work_tree(self, start: Path) -> RepositoryError:
        """Inside a bare repository or a .git folder, git knows where it is but has no files to rank;
        anywhere else the folder is no checkout at all, so say which kinds are."""
        if _ignored_git_dir():
            return RepositoryError(f"{start.absolute()} is not inside a git work tree; GIT_DIR={_ignored_git_dir()} "
                                   "is set, but rca ignores GIT_DIR and GIT_WORK_TREE",
                                   hint="run rca in a checkout (a folder with its .git), or pass --repo PATH")
        if self._run(["rev-parse", "--git-dir"], check=False).returncode == 0:
            return RepositoryError(f"{start} is not inside a git work tree (a bare repository or a .git folder)",
                                   hint="run rca in a checkout, or pass --repo PATH")
        return RepositoryError(f"not a git or Mercurial repository (or Sapling): {start.absolute()}",
                               hint="run rca in a checkout, or pass --repo PATH")

    # -- process helpers ---------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git", "-c", "core.quotepath=false", "-c", "log.showSignature=false", *args]
        proc = subprocess.run(cmd, cwd=self._cwd, env=clean_env(), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and proc.returncode != 0:
            raise RepositoryError(f"git {args[0]} failed: {decode(proc.stderr).strip()[:500]}")
        return proc

    def git_text(self, *args: str) -> str:
        return decode(self._run(list(args)).stdout)

    # -- revisions -----------------------------------------------------------------------
    def head(self) -> str | None:
        proc = self._run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return decode(proc.stdout).strip() or None

    def resolve(self, rev: str) -> str:
        check_revision(rev)
        proc = self._run(["rev-parse", "--verify", "-q", "--end-of-options", rev + "^{commit}"], check=False)
        sha = decode(proc.stdout).strip()
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

    def shallow_boundary(self) -> set[str]:
        try:
            with open(Path(self.meta_dir) / "shallow", encoding="ascii") as fh:
                return {line.strip() for line in fh if line.strip()}
        except FileNotFoundError:
            return set()

    # -- the commit graph ------------------------------------------------------------------
    def range_parents(self, bad: str, goods: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        """Ancestors of `bad` and of no good one, newest first, with their parents."""
        revs = [check_revision(r) for r in (bad, *goods)]
        text = self.git_text("rev-list", "--topo-order", "--parents", revs[0], "--not", *revs[1:])
        return [(node, tuple(parents)) for node, *parents in map(str.split, text.splitlines())]

    def first_parents(self, rev: str) -> list[str]:
        return self.git_text("rev-list", "--first-parent", check_revision(rev)).split()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        args = ["merge-base", "--is-ancestor", check_revision(ancestor), check_revision(descendant)]
        return self._run(args, check=False).returncode == 0

    def outgoing(self, pushes: Iterable[tuple[str, str]] = ()) -> set[str]:
        """Commits each (local, remote) update of a pre-push sends: those of `local` the remote's
        commit has not, or, when this clone lacks that commit, no remote-tracking branch has."""
        out: set[str] = set()
        for local, remote in pushes:
            if not _SHA.match(local) or not _SHA.match(remote):
                raise RepositoryError(f"not a pair of commit hashes: {local[:80]!r} {remote[:80]!r}")
            if is_null(local):
                continue  # a deletion pushes no commits
            known = (not is_null(remote)
                     and self._run(["cat-file", "-e", remote + "^{commit}"], check=False).returncode == 0)
            exclude = ["--not", remote] if known else ["--not", "--remotes"]
            out.update(self.git_text("rev-list", local, *exclude, "--").split())
        return out

    # -- commit contents ---------------------------------------------------------------------
    def show_commit(self, sha: str) -> str:
        return self.git_text("show", "--stat", "-p", "--no-color", "--format=fuller", "--end-of-options",
                             check_revision(sha))

    def commit_diff(self, sha: str, context: int = 3) -> bytes:
        """The commit's patch with `context` lines, without external diff tools or textconv;
        empty (and logged) when git cannot show it."""
        proc = self._run(["show", "--no-color", "--no-ext-diff", "--no-textconv", f"--unified={int(context)}",
                          "--format=", "--end-of-options", check_revision(sha), "--"], check=False)
        if proc.returncode != 0:
            log.warning("git show %s failed: %s", sha[:12], decode(proc.stderr).strip()[:200])
        return proc.stdout

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
        env = clean_env() if fetch else _no_fetch_env()
        return _dated(run_stream(log_command(_FORMAT, *args), self._cwd, env, hashes, parse), self._cwd)

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
        return [decode_path(p) for p in out.split(b"\0") if p]

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
                blobs[decode_path(path)] = sha.decode()
        return blobs

    def worktree_changes(self, paths: Iterable[str] | None = None) -> dict[str, list[tuple[int, int, int, int]]]:
        """Hunks (old_start, old_len, new_start, new_len) between HEAD and the work tree, per path."""
        if self.head() is None:
            return {}
        args = ["diff", "HEAD", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv",
                "--src-prefix=a/", "--dst-prefix=b/", "--"]  # whatever diff.mnemonicPrefix or noprefix say
        args += list(paths or [])
        return worktree_hunks(self._run(args).stdout, decode_path)

    def modified_files(self) -> list[str]:
        """Tracked files that differ from HEAD in the work tree or the staging area."""
        if self.head() is None:
            return []
        out = self._run(["diff", "HEAD", "--name-only", "-z", "--no-renames"]).stdout
        return [decode_path(p) for p in out.split(b"\0") if p]

    def untracked_files(self) -> list[str]:
        out = self._run(["ls-files", "-z", "--others", "--exclude-standard"]).stdout
        return [decode_path(p) for p in out.split(b"\0") if p]

    def submodules(self) -> dict[str, list[str]]:
        """Each submodule's folder (a gitlink of the staging area) -> the files checked out in it, with
        the folder (none where it is not checked out): another repository's, whose history is its own."""
        out = self._run(["ls-files", "-s", "-z"]).stdout
        folders = sorted(decode_path(e.partition(b"\t")[2]) for e in out.split(b"\0") if e.startswith(b"160000 "))
        if not folders:
            return {}
        inside: dict[str, list[str]] = {folder: [] for folder in folders}
        for raw in self._run(["ls-files", "--recurse-submodules", "-z"], check=False).stdout.split(b"\0"):
            path = decode_path(raw)
            folder = next((f for f in folders if path.startswith(f + "/")), None)
            if folder is not None:
                inside[folder].append(path)
        return inside

    def config(self, key: str) -> str | None:
        proc = self._run(["config", "--get", key], check=False)
        return decode(proc.stdout).strip() or None

    def hooks_dir(self) -> str | None:
        """The folder git runs this repository's hooks from (core.hooksPath, or the common dir's hooks)."""
        path = Path(self.git_text("rev-parse", "--git-path", "hooks").strip())
        return str(path if path.is_absolute() else Path(self.root) / path)

    def worktree(self) -> Worktree:
        from rca_lsp.vcs.checkout import GitWorktree

        return GitWorktree(self.root)

    def close(self) -> None:
        """Nothing to stop: each question is its own git process, and blob readers close themselves."""


class _BlobReader:
    """A long-lived `git cat-file --batch`: ask for a blob, get its bytes."""

    def __init__(self, cwd: str) -> None:
        # Bounded memory on big histories: git maps pack files up to core.packedGitLimit (8 GiB by
        # default) and caches delta bases up to 96 MiB, per process, and there is one per worker.
        self._proc = subprocess.Popen(["git", "-c", "core.packedGitLimit=256m", "-c", "core.packedGitWindowSize=32m",
                                       "-c", "core.deltaBaseCacheLimit=32m", "cat-file", "--batch"],
                                      cwd=cwd, env=clean_env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def get(self, blob: str, kind: bytes = b"blob") -> bytes | None:
        """The blob's bytes (or those of another `kind` of object), None when the store lacks it;
        IndexingStopped when git died, which must not pass for a missing blob (every file after
        it would lose its symbols)."""
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
        return data if header[1] == kind else None

    def _died(self) -> BaseException:
        from rca_lsp.vcs.gitlog import stopped

        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        return stopped(f"git cat-file (pid {self._proc.pid})", code,
                       "the whole commits indexed so far are kept; run `rca index` again to carry on")

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


def _dated(items: Iterator[LoggedCommit], cwd: str) -> Iterator[LoggedCommit]:
    """`items` with the dates git did not print: `%at` and `%ct` are empty for a date before 1970
    (git 2.39), read as 0, so a commit dated 0 has its dates read from its own header, through one
    `cat-file --batch` for the stream (one at 1970-01-01 indeed costs that look-up, and stays 0)."""
    reader: _BlobReader | None = None
    try:
        for item in items:
            c = item.commit
            if c.author_date == 0 or c.commit_date == 0:
                reader = reader or _BlobReader(cwd)
                dates = header_dates(reader.get(c.hash, b"commit") or b"")
                c = dataclasses.replace(c, author_date=dates.get("author", c.author_date),
                                        commit_date=dates.get("committer", c.commit_date))
                item = dataclasses.replace(item, commit=c)
            yield item
    finally:
        if isinstance(items, Generator):
            items.close()  # a stream stopped early stops its git log (`gitlog.run_stream`)
        if reader is not None:
            reader.close()


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
        old, new = self.old, self.new
        path = new or old or ""
        hunks = tuple(Hunk(a, b, c, d, added[:MAX_HUNK_TEXT], removed[:MAX_HUNK_TEXT],
                           layout_only(removed, added, path))
                      for a, b, c, d, added, removed in self.hunks)
        if self.status == "A":
            old = None
        elif self.status == "D":
            new = None
        return FileChange(self.status, old, new, self.binary, hunks,
                          None if self.old_blob is None or is_null(self.old_blob) or old is None else self.old_blob,
                          None if self.new_blob is None or is_null(self.new_blob) or new is None else self.new_blob)


def _parse_log(stream) -> Iterator[LoggedCommit]:  # noqa: C901 - one state machine reads best whole
    commit: Commit | None = None
    files: list[_FileBuilder] = []
    current: _FileBuilder | None = None
    hunk: list | None = None

    def finish() -> LoggedCommit | None:
        if commit is None:
            return None
        return LoggedCommit(commit, tuple(f.build() for f in files))

    for line in log_records(stream, sealed=True):
        if isinstance(line, Commit):
            done = finish()
            if done:
                yield done
            commit, files, current, hunk = line, [], None, None
            continue
        first = line[:1]
        if hunk is not None and first in (b"+", b"-") and not line.startswith((b"+++ ", b"--- ")):
            text = decode(line[1:])
            slot = 4 if first == b"+" else 5
            if len(hunk[slot]) < HUNK_READ:
                hunk[slot] += text
            continue
        if line.startswith(b"diff --git "):
            old, new = diff_paths(line, decode_path)
            current, hunk = _FileBuilder(old, new), None
            files.append(current)
        elif current is None:
            continue
        elif line.startswith(b"@@"):
            m = HUNK.match(line)
            if m:
                hunk = [*hunk_numbers(m), "", ""]
                current.hunks.append(hunk)
        elif apply_file_header(line, current, decode_path):
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

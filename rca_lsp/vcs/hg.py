"""Mercurial (and Sapling) backend through python-hglib's command server.

One `hg serve --cmdserver pipe` process answers every question of a session, so nothing here
starts a process per commit: history comes from `hg log -p --git` over many revisions at a
time (templated headers, renames and copies from the git-style diff, and, asked with whole-file
context, the zero-context hunks and the file versions the index parses: see `hgdiff`), other
file versions from `hg cat -T` (`hgfiles`, which also reads largefiles' standins as the files
they stand for), tracked files and the working directory from `hg files` / `hg status` / `hg diff`.

Mercurial has no blob ids in its diffs, so the ids this backend hands the index name how to read
the file: `<changeset>:<path>` for a file of a logged commit, `@<filenode>:<path>` for a file of
the working directory's parent (stable while the file is unchanged, so the HEAD tree's code facts
are re-parsed only for the files a pull changed), `lf:<sha1>` for a version of a largefile. A name
that is not UTF-8 is read exactly, as git's are (`diffparse.decode_path`), and its ids hold its
bytes in hex instead (`hgfiles.blob_id`).

Sapling (`sl`) keeps Mercurial's command server (`sl serve --cmdserver pipe`) and its log
templates; pick it with a `.sl` folder, `RCA_VCS=sl`, and name the binary with `RCA_SL`.
Revisions are validated first and reach hg as single arguments, never through a shell.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rca_lsp.errors import IndexingStopped, RepositoryError, install_hint
from rca_lsp.types import Commit, FileChange
from rca_lsp.vcs.base import LoggedCommit, Worktree
from rca_lsp.vcs.diffparse import decode, decode_path, worktree_hunks
from rca_lsp.vcs.hgdiff import WHOLE_FILE
from rca_lsp.vcs.hgfiles import LARGEFILE, HgFiles, blob_id, blob_path, is_standin, pattern, real_path
from rca_lsp.vcs.hggraph import NULL, HgHistory
from rca_lsp.vcs.hgdiff import parse as parse_log
from rca_lsp.vcs.revisions import check_revision

log = logging.getLogger(__name__)

LOG_BATCH = 50  # revisions per `hg log -p` call (hglib buffers each answer whole)
READ_AHEAD = 8  # answers of `hg log -p` read ahead of the indexer, at most
MAX_KEPT_BYTES = 256 << 20  # file versions from the log kept for the blob reader, oldest dropped first
_NODE = re.compile(r"^[0-9a-f]{40}$")
# The same header shape the git parser reads: hash, parents, name, email, dates, message, with the
# node again after the name, the email and the message (`diffparse.log_records`, sealed): hg keeps
# \x1e and \x1f in a message or a user name, and one of them must not end the header early.
_TEMPLATE = (r"\x1e{node}\x1f{p1node} {p2node}\x1f{author|person}\x1f{node}\x1f{author|email}\x1f{node}\x1f"
             r"{word(0, date|hgdate)}\x1f{word(0, date|hgdate)}\x1f{desc}\x1f{node}\x1f\n")
# Diff settings fixed whatever the user's hgrc says: git format, no context, no prefixes off.
_DIFF_CONFIG = ("diff.git=1", "diff.unified=0", "diff.noprefix=0", "diff.nodates=1", "diff.showfunc=0",
                "diff.ignorews=0", "diff.ignorewsamount=0", "diff.ignoreblanklines=0",
                "diff.ignorewseol=0", "ui.color=never", "ui.paginate=never", "ui.relative-paths=0")


def find_root(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(root, kind) of the nearest enclosing git, hg or sl checkout, or None."""
    start = Path(path).resolve()
    if start.is_file():
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return str(folder), "git"
        if (folder / ".sl").is_dir():
            return str(folder), "sl"
        if (folder / ".hg").is_dir():
            return str(folder), "sl" if os.environ.get("RCA_VCS") == "sl" else "hg"
    return None


def binary(kind: str) -> str:
    """The executable to run: `RCA_HG` / `RCA_SL` when set, else `hg` / `sl`."""
    return os.environ.get("RCA_SL", "sl") if kind == "sl" else os.environ.get("RCA_HG", "hg")


def _hg_revision(rev: str) -> str:
    """Git's spelling of the working parent works too: HEAD~3 means .~3."""
    check_revision(rev)
    if rev == "HEAD" or rev.startswith(("HEAD~", "HEAD^")):
        rev = "." + rev[4:]
    return rev


class HgRepo(HgFiles, HgHistory):
    """A Mercurial or Sapling checkout; the index lives in `.hg/rca/` (`.sl/rca/` for Sapling)."""

    def __init__(self, path: str | os.PathLike[str] = ".", kind: str | None = None, warm: bool = False) -> None:
        start = Path(path)
        if not start.exists():
            raise RepositoryError(f"{start} does not exist")
        found = find_root(start)
        if found is None or found[1] == "git":
            raise RepositoryError(f"{start} is not inside a Mercurial work tree",
                                  hint="run rca in a repository, or pass --repo PATH")
        self.root = found[0]
        self.kind = kind or found[1]
        meta = Path(self.root) / (".sl" if self.kind == "sl" and (Path(self.root) / ".sl").is_dir() else ".hg")
        self.meta_dir = str(meta)
        self.checkout_dir = self.meta_dir  # an hg share has a .hg of its own
        self._client: Any = None  # hglib's client, opened on first use
        self._lock = threading.RLock()
        self._contents: OrderedDict[str, bytes] = OrderedDict()  # blob id -> version, from the log
        self._content_bytes = 0
        self._latest: dict[str, tuple[bytes, str]] = {}  # path -> digest and id of its last kept version
        self._alias: dict[str, str] = {}  # id -> id of the same bytes kept earlier, for one commit
        if warm:  # start the server (a quarter second of hg's own start-up) while the caller imports
            threading.Thread(target=self._warm, name="rca-hg-start", daemon=True).start()

    # -- the command server ------------------------------------------------------------
    def _warm(self) -> None:
        with self._lock:
            try:
                self._server()
            except (RepositoryError, IndexingStopped):
                pass  # said again, with its hint, by the first command

    def _server(self):
        if self._client is None:
            try:
                import hglib
            except ImportError as exc:
                raise RepositoryError("Mercurial support needs python-hglib",
                                      hint=install_hint("hg")) from exc
            hglib.HGPATH = binary(self.kind)
            configs = list(_DIFF_CONFIG)
            try:
                self._client = _open(hglib, self.root, configs)
                quiet = _quiet_hooks(self._client)
                if quiet:  # the user's hooks on the commands run here: start again without them
                    self._client.close()
                    self._client = None
                    self._client = _open(hglib, self.root, configs + quiet)
            except Exception as exc:  # hglib raises ServerError / OSError for a missing or broken hg
                signalled = re.search(r"exited with status (-\d+)", str(exc))
                if signalled:  # killed while starting (or Ctrl-C): not a broken installation
                    from rca_lsp.vcs.gitlog import stopped

                    raise stopped(f"{hglib.HGPATH} command server, while starting,", int(signalled[1]),
                                  "run `rca index` again") from exc
                raise RepositoryError(f"cannot start {hglib.HGPATH} for {self.root}: {exc}",
                                      hint=f"install Mercurial (pip install mercurial) or set "
                                           f"{'RCA_SL' if self.kind == 'sl' else 'RCA_HG'}") from exc
        return self._client

    def run(self, *args: str | bytes, ok: tuple[int, ...] = (0,)) -> bytes:
        """One command on the server; a failure becomes a RepositoryError."""
        try:
            from hglib.error import CommandError, ServerError
        except ImportError:  # python-hglib missing: the error that says how to install it, not a traceback
            self._server()
            raise

        argv = [a if isinstance(a, bytes) else a.encode("utf-8", "surrogateescape") for a in args]
        server = None
        try:
            with self._lock:  # one command at a time on the server; the log thread shares it
                client = self._server()
                server = getattr(client, "server", None)
                return client.rawcommand(argv, eh=lambda code, out, err: _fail(args, code, out, err, ok))
        except (ServerError, CommandError, OSError) as exc:
            self.close()
            killed = _killed(server)
            if killed:  # the OOM killer, say: not a fact about the repository, nor a missing file
                raise IndexingStopped(f"{binary(self.kind)} command server {killed} during "
                                      f"`{binary(self.kind)} {decode(argv[0])}`",
                                      hint="the whole commits indexed so far are kept; run `rca index` "
                                           "again to carry on") from exc
            raise RepositoryError(f"{binary(self.kind)} {decode(argv[0])} failed: {exc}") from exc

    def close(self) -> None:
        if getattr(self, "_client", None) is not None:
            try:
                self._client.close()
            except Exception:  # already gone: nothing left to release
                pass
            self._client = None

    def __del__(self) -> None:
        self.close()

    # -- revisions -----------------------------------------------------------------------
    def head(self) -> str | None:
        node = decode(self.run("log", "-r", ".", "-T", "{node}")).strip()
        return node if node and node != NULL else None

    def resolve(self, rev: str) -> str:
        spec = _hg_revision(rev)
        out = self.run("log", "-r", spec, "-l", "2", "-T", "{node}\n", ok=(0, 255))
        nodes = [n for n in decode(out).split() if _NODE.match(n)]
        if len(nodes) != 1 or nodes[0] == NULL:
            raise RepositoryError(f"unknown revision {rev!r}", hint="use a changeset hash, bookmark, tag or branch")
        return nodes[0]

    def is_shallow(self) -> bool:
        return False

    def reachable(self, since: str | None = None) -> list[str]:
        """Ancestors of the working directory's parent, newest first (revision numbers are topological)."""
        if self.head() is None:
            return []
        spec = "reverse(::.)"
        if since:
            spec = f"reverse(::. - ::{self.resolve(since)})"
        return decode(self.run("log", "-r", spec, "-T", "{node}\n")).split()

    def span(self, spans: Iterable[tuple[str, str]]) -> list[str]:
        """The changesets from each `first` to its `last`: what one changegroup added (`hook_arrivals`)."""
        args: list[str] = ["log", "-T", "{node}\n"]
        for first, last in spans:
            if not (_NODE.match(first) and _NODE.match(last)):
                raise RepositoryError(f"not a changeset hash: {first!r} or {last!r}")
            args += ["-r", f"{first}:{last}"]
        return decode(self.run(*args)).split() if len(args) > 3 else []

    # -- history -------------------------------------------------------------------------
    def log(self, hashes: Iterable[str]) -> Iterator[LoggedCommit]:
        """Commits with their changes and zero-context hunks, in the order given.

        The file versions the index will parse come in the same stream (see `hgdiff`) and wait
        in `_contents` for the blob reader. hg computes diffs in Python, several times slower
        than git, so a thread asks for the next batches (on the same server) while earlier ones
        are indexed: the index takes a few batches at a time, and parses them before asking for
        more, so reading only one batch ahead would leave hg idle most of that time.
        """
        nodes = list(hashes)
        for node in nodes:
            if not _NODE.match(node):
                raise RepositoryError(f"not a changeset hash: {node!r}")
        batches = [nodes[i:i + LOG_BATCH] for i in range(0, len(nodes), LOG_BATCH)]
        if len(batches) <= 1:
            for batch in batches:
                yield from self._parse_batch(batch, self._log_raw(batch))
            return
        yield from self._read_ahead(batches)

    def _read_ahead(self, batches: list[list[str]]) -> Iterator[LoggedCommit]:
        """Batches asked for by a thread, up to READ_AHEAD of them waiting, parsed here in order.
        A failure in the thread is raised here; closing this generator stops the thread."""
        waiting: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()

        def produce() -> None:
            for batch in batches:
                try:
                    item: tuple[list[str], bytes, BaseException | None] = (batch, self._log_raw(batch), None)
                except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
                    item = (batch, b"", exc)
                while not stop.is_set():
                    try:
                        waiting.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set() or item[2] is not None:
                    return

        thread = threading.Thread(target=produce, name="rca-hg-log", daemon=True)
        thread.start()
        try:
            for _ in batches:
                batch, out, exc = waiting.get()
                if exc is not None:
                    raise exc
                yield from self._parse_batch(batch, out)
        finally:
            stop.set()
            thread.join()

    def _log_raw(self, nodes: list[str]) -> bytes:
        args: list[str] = ["log", "-p", "--git", "--config", f"diff.unified={WHOLE_FILE}", "-T", _TEMPLATE]
        for node in nodes:
            args += ["-r", node]
        return self.run(*args)

    def _parse_batch(self, nodes: list[str], out: bytes) -> Iterator[LoggedCommit]:
        found = {item.commit.hash: item for item in map(self._complete, parse_log(out, self._keep))}
        for node in nodes:
            if node not in found:  # an answer cut short: never a success
                raise IndexingStopped(f"{binary(self.kind)} log gave {len(found)} of {len(nodes)} changesets "
                                      f"asked for ({node[:12]} missing)", hint="run `rca index` again")
            yield found[node]

    def _keep(self, commit: Commit, change: FileChange, old: bytes | None, new: bytes | None) -> None:
        """Keep the versions of code files the index will parse, under the ids `_complete` gives.

        hg ids name a version by the changeset that shows it, so a file's old version in one
        commit and its new version in the commit that last changed it have different ids; the
        parser's cache would parse it twice. A version equal to the last one kept for its path
        gets that one's id instead (both read the same bytes with `hg cat`).
        """
        from rca_lsp.code.languages import language_for_path

        parents = [p for p in commit.parents if p != NULL]
        if len(parents) > 1 or not language_for_path(change.path) or is_standin(change.path):
            return  # a standin holds a sha1: its largefile is read from the store (`as_largefiles`)
        p1 = parents[0] if parents else None
        if p1 and change.old_path and old is not None and any(h.old_len for h in change.hunks):
            blob, digest = blob_id(p1, change.old_path), _digest(old)
            seen = self._latest.get(change.old_path)
            if seen is not None and seen[0] == digest:
                self._alias[blob] = seen[1]
            else:
                self._store(blob, old)
        if change.new_path and new is not None and any(h.new_len for h in change.hunks):
            blob = blob_id(commit.hash, change.new_path)
            self._store(blob, new)
            self._latest[change.new_path] = (_digest(new), blob)

    def _store(self, blob: str, data: bytes) -> None:
        if blob in self._contents:  # two changes of one commit share an old version
            self._content_bytes -= len(self._contents[blob])
        self._contents[blob] = data
        self._contents.move_to_end(blob)
        self._content_bytes += len(data)
        while self._content_bytes > MAX_KEPT_BYTES and self._contents:
            _, dropped = self._contents.popitem(last=False)
            self._content_bytes -= len(dropped)

    def _take(self, blob: str) -> bytes | None:
        data = self._contents.pop(blob, None)
        if data is not None:
            self._content_bytes -= len(data)
        return data

    def _complete(self, item: LoggedCommit) -> LoggedCommit:
        c = item.commit
        alias, self._alias = self._alias, {}
        parents = tuple(p for p in c.parents if p != NULL)
        commit = Commit(c.hash, parents, c.author, c.email, c.author_date, c.commit_date, c.message)
        if len(parents) > 1:  # like git's --diff-merges=off: a merge's changes belong to its branches
            return LoggedCommit(commit, ())
        p1 = parents[0] if parents else None
        changes = tuple(replace(change, old_blob=alias.get(blob_id(p1, change.old_path), blob_id(p1, change.old_path))
                                if p1 and change.old_path else None,
                                new_blob=blob_id(c.hash, change.new_path) if change.new_path else None)
                        for change in item.changes)
        return self.as_largefiles(LoggedCommit(commit, changes))

    def read_blobs(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        reader = self.blob_reader()
        try:
            for blob in blob_ids:
                yield blob, reader.get(blob)
        finally:
            reader.close()

    def blob_reader(self) -> "_HgBlobReader":
        return _HgBlobReader(self)

    # -- work tree -----------------------------------------------------------------------
    def tracked_files(self) -> list[str]:
        return [real_path(decode_path(p)) for p in self.run("files", "-T", r"{path}\0", ok=(0, 1)).split(b"\0") if p]

    def head_blobs(self) -> dict[str, str]:
        """Path -> `@filenode:path` of every file in the working directory's parent."""
        if self.head() is None:
            return {}
        out = self.run("manifest", "--debug", "-r", ".", "-T", r"{hash} {path}\0")
        blobs = {}
        for entry in out.split(b"\0"):
            if entry:
                node, _, path = entry.partition(b" ")
                name = decode_path(path)
                blobs[real_path(name)] = blob_id(f"@{node.decode()}", name)  # a standin's: read as its largefile
        return blobs

    def worktree_changes(self, paths: Iterable[str] | None = None) -> dict[str, list[tuple[int, int, int, int]]]:
        """Hunks (old_start, old_len, new_start, new_len) between the parent and the work tree, per path."""
        if self.head() is None:
            return {}
        return worktree_hunks(self.run("diff", "--git", "-U", "0", *[pattern(p) for p in paths or []]), decode_path)

    def _status(self, flags: str) -> list[str]:
        out = self.run("status", flags, "-T", r"{path}\0")
        return [decode_path(p) for p in out.split(b"\0") if p]

    def modified_files(self) -> list[str]:
        """Tracked files that differ from the parent: modified, added, removed or missing."""
        return self._status("-mard") if self.head() is not None else []

    def untracked_files(self) -> list[str]:
        return self.not_largefiles(self._status("-u"))

    def config(self, key: str) -> str | None:
        out = self.run("config", key, ok=(0, 1))
        return decode(out).strip() or None

    def worktree(self) -> Worktree:
        from rca_lsp.vcs.checkout import HgShare

        return HgShare(self.root, binary(self.kind))


# The commands this backend runs; a user's pre-/post-/fail- hook on one of them is switched off.
_COMMANDS = ("log", "cat", "files", "manifest", "status", "diff", "config", "debugdata")


def _open(hglib, root: str, configs: list[str]):
    """A started command server: `hglib.open` sets HGPLAIN and HGENCODING (UTF-8, as answers are
    decoded here) over this process's environment, where a user's HGPLAINEXCEPT would let `alias`
    (`log = log --graph`), `revsetalias` or `templatealias` (`reverse`, `node` redefined) reshape them."""
    with _environ_without("HGPLAINEXCEPT"):
        return hglib.open(root, "UTF-8", configs)


_ENVIRON = threading.Lock()


@contextmanager
def _environ_without(name: str) -> Iterator[None]:
    """os.environ without `name` while a server starts (hglib copies it, and takes no environment of
    its own); unchanged where `name` is not set, and `name` back once the server has started."""
    with _ENVIRON:
        saved = os.environ.pop(name, None)
        try:
            yield
        finally:
            if saved is not None:
                os.environ[name] = saved


def _quiet_hooks(client) -> list[str]:
    """`--config` settings that switch off the user's hooks on the commands run here: a `pre-log`
    hook's output lands in the middle of the log read, and a failing one aborts it."""
    out = client.rawcommand([b"config", b"hooks", b"-T", b"{name}\\0"], eh=lambda code, out, err: out)
    quiet = []
    for name in decode(out).split("\0"):
        kind = name.partition(".")[2].split(".")[0]
        m = re.fullmatch(r"(?:pre|post|fail)-(\w+)", kind)
        if m and m[1] in _COMMANDS:
            quiet.append(f"{name}=")
    return quiet


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _killed(server) -> str | None:
    """How the command server process ended, when a signal ended it; None while it lives."""
    import subprocess

    from rca_lsp.vcs.gitlog import how_it_ended

    if server is None:
        return None
    try:
        code = server.wait(timeout=2)
    except (subprocess.TimeoutExpired, OSError):
        return None
    return f"(pid {server.pid}) {how_it_ended(code)}" if code is not None and code < 0 else None


def _fail(args, code: int, out: bytes, err: bytes, ok: tuple[int, ...]) -> bytes:
    if code in ok:
        return out
    name = args[0] if isinstance(args[0], str) else decode(args[0])
    raise RepositoryError(f"hg {name} failed: {decode(err).strip()[:500] or f'exit {code}'}")


class _HgBlobReader:
    """File versions by the ids `HgRepo` hands out: from the log stream when it carried them,
    else one `hg cat` (or `hg debugdata` for a file of the working parent)."""

    def __init__(self, repo: HgRepo) -> None:
        self._repo = repo

    def get(self, blob: str) -> bytes | None:
        try:
            if blob.startswith(LARGEFILE):
                return self._repo.largefile(blob[len(LARGEFILE):])
            data = None if blob.startswith("@") else self._repo._take(blob)
            if data is not None:
                return data
            node, path = blob_path(blob) or ("", "")
            if node.startswith("@"):
                return self._repo.filenode_data(node[1:], path)
            return self._repo.cat(node, [path]).get(path) if node else None
        except RepositoryError as exc:
            log.debug("cannot read %s: %s", blob, exc)
            return None

    def read(self, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        for blob in blob_ids:
            yield blob, self.get(blob)

    def close(self) -> None:
        """Nothing of its own to release: the repository's command server serves it."""

"""File versions of a Mercurial checkout (`hg cat`, `hg debugdata`), and its largefiles.

The largefiles extension keeps a largefile out of history: history tracks its standin,
`.hglf/<path>`, one line holding the largefile's sha1, and the file itself lives in the store
(`.hg/largefiles/<sha1>`, a share's source's) or the user cache. So `hg log`, `hg files` and
`hg manifest` name the standin, and rca credited a largefile's changes to `.hglf/<path>`, with the
sha1 lines as their hunks: a trace naming `<path>` never reached them. They are read back here as
the largefile's: the real path, the hunks of its two versions (read from the store by their sha1,
blob ids `lf:<sha1>`), and a version the clone does not hold (`hg lfpull` fetches it) is a missing
object, the commit indexed again once it is here. Whether rca's command server has the extension
loaded depends on the user's hgrc (with it, `hg cat` ignores `-T`: `cat` then reads file by file).

Mixed into `HgRepo`, as `hggraph.HgHistory` is; every command goes through its command server.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from rca_lsp.errors import RepositoryError
from rca_lsp.types import FileChange, Hunk
from rca_lsp.vcs.base import LoggedCommit
from rca_lsp.vcs.diffparse import HUNK_READ, MAX_HUNK_TEXT, decode, decode_path, layout_only

STANDIN = ".hglf/"
LARGEFILE = "lf:"  # blob ids of largefile versions: lf:<sha1>
MAX_LARGEFILE = 2_000_000  # bytes of a largefile version read (diffed, parsed); a longer one gets no hunks
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_BLOB = re.compile(r"(?P<node>@?[0-9a-f]{40})(?P<sep>[:=])(?P<rest>.*)", re.S)


def is_standin(path: str | None) -> bool:
    return path is not None and path.startswith(STANDIN) and len(path) > len(STANDIN)


def real_path(path: str) -> str:
    """The largefile a standin stands for; any other path as it is."""
    return path[len(STANDIN):] if is_standin(path) else path


def pattern(path: str) -> str:
    """An exact, root-relative file pattern (a name that is not UTF-8 reaches hg as its bytes)."""
    return f"path:{path}"


def blob_id(node: str, path: str) -> str:
    """The id of `path`'s version at changeset (or `@`filenode) `node`: `<node>:<path>`. A name
    that is not UTF-8 (`diffparse.decode_path`: lone surrogates) cannot be the index's text, so it
    is named by its bytes in hex, `<node>=<hex>`; both read back with `blob_path`."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return f"{node}={path.encode('utf-8', 'surrogateescape').hex()}"
    return f"{node}:{path}"


def blob_path(blob: str) -> tuple[str, str] | None:
    """(node, path) of a `blob_id`; None for any other id."""
    m = _BLOB.match(blob)
    if m is None:
        return None
    if m["sep"] == ":":
        return m["node"], m["rest"]
    try:
        return m["node"], bytes.fromhex(m["rest"]).decode("utf-8", "surrogateescape")
    except ValueError:
        return None


class HgFiles:
    """File questions of an `HgRepo`."""

    root: str
    meta_dir: str

    def run(self, *args: str | bytes, ok: tuple[int, ...] = (0,)) -> bytes:
        raise NotImplementedError  # HgRepo's command server

    def config(self, key: str) -> str | None:
        raise NotImplementedError  # HgRepo's

    def tracked_files(self) -> list[str]:
        raise NotImplementedError  # HgRepo's

    # -- versions by changeset and path --------------------------------------------------------
    def cat(self, node: str, paths: Iterable[str]) -> dict[str, bytes]:
        """Contents of several files of one changeset in one call (file by file where the
        largefiles extension's `hg cat`, which ignores -T, answers)."""
        wanted = sorted(set(paths))
        out = self.run("cat", "-r", node, "-T", r"{path}\0{data|count}\0{data}", *map(pattern, wanted),
                       ok=(0, 1))  # 1: some file absent at that revision
        files: dict[str, bytes] = {}
        pos = 0
        try:
            while pos < len(out):
                end_path = out.find(b"\0", pos)
                end_size = out.find(b"\0", end_path + 1)
                if end_path < 0 or end_size < 0:
                    break
                size = int(out[end_path + 1:end_size])
                files[decode_path(out[pos:end_path])] = out[end_size + 1:end_size + 1 + size]
                pos = end_size + 1 + size
        except ValueError:  # no size where one was due: not the template's answer
            pos = -1
        return files if pos == len(out) else self._cat_each(node, wanted)

    def _cat_each(self, node: str, paths: list[str]) -> dict[str, bytes]:
        files = {}
        for path in paths:
            try:
                files[path] = self.run("cat", "-r", node, pattern(path))
            except RepositoryError:  # absent at that revision
                continue
        return files

    def filenode_data(self, filenode: str, path: str) -> bytes | None:
        raw = self.run("debugdata", path, filenode)
        if raw.startswith(b"\x01\n"):  # copy metadata of a renamed file, not its contents
            end = raw.find(b"\x01\n", 2)
            raw = raw[end + 2:] if end >= 0 else raw
        return self.largefile(decode(raw).strip()) if is_standin(path) else raw

    # -- largefiles ----------------------------------------------------------------------------
    @functools.cached_property
    def _largefile_dirs(self) -> tuple[Path, ...]:
        """Where largefiles are looked for, as the extension keeps them: this repository's store
        (a share's source's too), then the user cache (`largefiles.usercache`, else the platform's)."""
        meta = Path(self.meta_dir)
        dirs = [meta / "largefiles"]
        try:
            source = Path((meta / "sharedpath").read_text(encoding="utf-8").strip())
            dirs.append((source if source.is_absolute() else meta / source) / "largefiles")
        except OSError:
            pass
        cache = self.config("largefiles.usercache") or _usercache()
        return tuple(dirs) + ((Path(cache).expanduser(),) if cache else ())

    def _largefile_path(self, sha: str) -> Path | None:
        if not _SHA1.match(sha):
            return None
        return next((folder / sha for folder in self._largefile_dirs if (folder / sha).is_file()), None)

    def largefile(self, sha: str) -> bytes | None:
        """The largefile version of sha1 `sha`; None where no store holds it whole, or it is
        longer than MAX_LARGEFILE."""
        path = self._largefile_path(sha)
        if path is None or path.stat().st_size > MAX_LARGEFILE:
            return None
        data = path.read_bytes()
        return data if hashlib.sha1(data, usedforsecurity=False).hexdigest() == sha else None

    def present_blobs(self, blobs: set[str]) -> set[str]:
        """Those here: every version of history is in a Mercurial store, but a largefile only
        where this clone fetched it."""
        return {b for b in blobs if not b.startswith(LARGEFILE) or self._largefile_path(b[len(LARGEFILE):])}

    def as_largefiles(self, item: LoggedCommit) -> LoggedCommit:
        """`item` with each standin's change made its largefile's (the module's docstring)."""
        if not any(is_standin(change.path) for change in item.changes):
            return item
        missing = list(item.missing)
        changes = tuple(self._largefile_change(c, missing) if is_standin(c.path) else c for c in item.changes)
        return replace(item, changes=changes, missing=tuple(missing))

    def _largefile_change(self, change: FileChange, missing: list[tuple[str, str]]) -> FileChange:
        """A standin's change as its largefile's; a version not here is added to `missing`."""
        old_sha, new_sha = _standin_shas(change)
        path = real_path(change.path)
        old, new = self._version(path, old_sha, missing), self._version(path, new_sha, missing)
        binary = any(v is not None and b"\0" in v for v in (old, new))
        whole = (old is not None or old_sha is None) and (new is not None or new_sha is None)
        hunks = _hunks(old or b"", new or b"", path) if whole and not binary and (old_sha or new_sha) else ()
        return replace(change, old_path=real_path(change.old_path) if change.old_path else None,
                       new_path=real_path(change.new_path) if change.new_path else None, binary=binary,
                       hunks=hunks, old_blob=LARGEFILE + old_sha if old_sha and change.old_path else None,
                       new_blob=LARGEFILE + new_sha if new_sha and change.new_path else None)

    def _version(self, path: str, sha: str | None, missing: list[tuple[str, str]]) -> bytes | None:
        data = self.largefile(sha) if sha else None
        if sha and data is None and self._largefile_path(sha) is None:  # not here at all: not one too long
            missing.append((path, LARGEFILE + sha))
        return data

    def not_largefiles(self, paths: list[str]) -> list[str]:
        """`paths` (`hg status -u`) less the largefiles tracked: without the extension, hg knows
        only their standins and says the files themselves are unknown."""
        if not paths or not (Path(self.root) / STANDIN).is_dir():
            return paths
        tracked = set(self.tracked_files())
        return [p for p in paths if p not in tracked]


def _standin_shas(change: FileChange) -> tuple[str | None, str | None]:
    """The largefile sha1s a standin's change removed and added (its one line, each side);
    None for a side it has not, or where its hunks show none (a rename alone)."""
    removed = "".join(h.removed for h in change.hunks).strip()
    added = "".join(h.added for h in change.hunks).strip()
    return (removed if _SHA1.match(removed) else None), (added if _SHA1.match(added) else None)


def _hunks(old: bytes, new: bytes, path: str) -> tuple[Hunk, ...]:
    """Zero-context hunks from `old` to `new`, numbered as `git diff --unified=0` numbers them."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    hunks = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        removed, added = decode(b"".join(a[i1:i2]))[:HUNK_READ], decode(b"".join(b[j1:j2]))[:HUNK_READ]
        hunks.append(Hunk(i1 + 1 if i2 > i1 else i1, i2 - i1, j1 + 1 if j2 > j1 else j1, j2 - j1,
                          added[:MAX_HUNK_TEXT], removed[:MAX_HUNK_TEXT], layout_only(removed, added, path)))
    return tuple(hunks)


def _usercache() -> str | None:
    """The extension's default user cache, where `largefiles.usercache` is not set."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA")
        return os.path.join(base, "largefiles") if base else None
    if sys.platform == "darwin":
        home = os.environ.get("HOME")
        return os.path.join(home, "Library", "Caches", "largefiles") if home else None
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "largefiles")
    home = os.environ.get("HOME")
    return os.path.join(home, ".cache", "largefiles") if home else None

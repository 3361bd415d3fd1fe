"""Installing, inspecting and removing rca's VCS hooks, keeping the user's own hooks working.

git: each hook (post-merge, post-rewrite, post-checkout, pre-push) becomes a short shell shim, in
the folder git runs hooks from (`core.hooksPath` honoured). When a failure is open (or a background
error waits to be shown) it hands off to `rca_lsp.hooks` (`<this python> -c HOOK_CODE`), which reports in the
foreground; otherwise, the common case, it starts the indexer detached and returns, so that no
Python start-up is added to the pull (`scripts/bench_hooks.py`). A hook already there (the
user's, pre-commit's, husky's) is kept beside it as `<hook>.rca-chained`, byte for byte and mode
for mode (it is renamed, not copied), and runs first; `uninstall` renames it back. A hooks folder inside the work tree (a `core.hooksPath`
that is committed, say) is refused without `force`: the shim names this machine's Python.

Mercurial: one marked block appended to `.hg/hgrc` (Sapling: `.sl/config`), ready to paste by hand:

    [hooks]
    post-pull.rca-lsp = /path/to/python -c '<rca_lsp.hooks.HOOK_CODE>' hg post-pull
    post-update.rca-lsp = /path/to/python -c '<rca_lsp.hooks.HOOK_CODE>' hg post-update
    pre-push.rca-lsp = /path/to/python -c '<rca_lsp.hooks.HOOK_CODE>' hg pre-push

Named `<hook>.rca-lsp`, they run beside any hooks the user has for the same events; `uninstall`
removes exactly the block, leaving the file as it was.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.errors import RcaError, RepositoryError

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

GIT_HOOKS = ("post-merge", "post-rewrite", "post-checkout", "pre-push")
HG_HOOKS = ("post-pull", "post-update", "pre-push")
SHIM_TAG = "# rca-lsp hook shim v"  # every version's shims are rca's, to update or remove
MARKER = SHIM_TAG + "4"  # v3: Python started with hooks.HOOK_CODE, not -m; v4: its code survives a lost rca_lsp
CHAINED = ".rca-chained"
LEGACY = ".legacy"  # where `pre-commit install` moves a hook it finds, and runs it from
BLOCK_BEGIN = "# >>> rca-lsp hooks"
BLOCK_END = "# <<< rca-lsp hooks <<<\n"

SHIM = """#!/bin/sh
{marker}: installed by `rca hooks install`, removed by `rca hooks uninstall`.
# A hook that was here before is kept as {hook}{chained} and runs first, with the same input.
# With nothing to say now (no open failure, no background error to show, a plain .git folder), no
# Python runs while git waits: the chained hook runs, then the indexer starts detached.
INSTALL_PYTHON={python}
RCA_HOOKS='{code}'
HOOK={hook}
case $0 in */*) HERE=${{0%/*}} ;; *) HERE=. ;; esac
CHAINED=$HERE/$HOOK{chained}
if [ ! -x "$INSTALL_PYTHON" ]; then
    # rca's Python is gone: still run the chained hook, and never block anything.
    if [ -x "$CHAINED" ]; then exec "$CHAINED" "$@"; fi
    exit 0
fi
case ${{GIT_DIR:-.git}} in .git|"$PWD/.git") PLAIN=yes ;; *) PLAIN=no ;; esac
if [ $PLAIN = no ] || [ ! -d .git ] || [ -e .git/rca/{open_marker} ] || [ -e .git/rca/{last_error} ]; then
    exec "$INSTALL_PYTHON" -c "$RCA_HOOKS" run "$HOOK" "$HERE" "$@"
fi
STATUS=0
if [ -x "$CHAINED" ]; then "$CHAINED" "$@"; STATUS=$?; fi
case $HOOK in
    pre-push) exit $STATUS ;;  # no open failure: nothing to check
    post-checkout) [ "$3" = 1 ] && [ "$1" != "$2" ] || exit $STATUS ;;  # same commit, or files only
esac
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX GIT_OBJECT_DIRECTORY GIT_QUARANTINE_PATH
LOG=/dev/null
if [ -d .git/rca ]; then LOG=.git/rca/hooks.log; fi
trap '' HUP INT QUIT  # inherited by the indexer until it leaves this session
"$INSTALL_PYTHON" -c "$RCA_HOOKS" index "$PWD" "$HOOK" </dev/null >/dev/null 2>>"$LOG" &
exit $STATUS
"""


class HookInstallError(RcaError):
    exit_code = 2


@dataclass(frozen=True)
class HookState:
    name: str
    installed: bool
    chained: str | None  # the user's hook kept beside the shim
    note: str = ""


def _python() -> str:
    return sys.executable or "python3"


# -- git -------------------------------------------------------------------------------------

def git_hooks_dir(repo: Backend) -> Path:
    folder = repo.hooks_dir()
    if folder is None:
        raise RepositoryError(f"{repo.root} keeps its hooks in its {repo.kind} config, not in a hooks folder")
    return Path(folder)


def _is_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return SHIM_TAG.encode() in fh.read(512)
    except OSError:
        return False


def shim_text(hook: str, python: str | None = None) -> str:
    """The shim for `hook`; `hooks/git-shim.sh` is the one for post-merge, for people to read."""
    from rca_lsp.failures import OPEN_MARKER
    from rca_lsp.hooks import HOOK_CODE, LAST_ERROR

    return SHIM.format(marker=MARKER, hook=hook, chained=CHAINED, python=shlex.quote(python or _python()),
                       code=HOOK_CODE, open_marker=OPEN_MARKER, last_error=LAST_ERROR)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def install_git(repo: Backend, force: bool = False) -> list[str]:
    folder = git_hooks_dir(repo)
    if _inside(folder, Path(repo.root)) and not _inside(folder, Path(repo.meta_dir)) and not force:
        raise HookInstallError(f"the hooks folder {folder} is inside the work tree (core.hooksPath)",
                               hint="the shims name this machine's Python; pass --force to install there anyway")
    if _husky(folder) and not all(_is_shim(folder / hook) or not os.path.lexists(folder / hook) for hook in GIT_HOOKS):
        raise HookInstallError(f"the hooks folder {folder} is husky's: its hooks run .husky/<hook> by their own "
                               f"file name, so one kept as <hook>{CHAINED} would silently run nothing",
                               hint="leave husky's folder as it is and call rca from husky's scripts instead, "
                                    "e.g. `rca index -q` in .husky/post-merge")
    if not folder.exists():  # made here: uninstall takes it away again once it is empty
        folder.mkdir(parents=True)
        _made_folder(repo.meta_dir).parent.mkdir(parents=True, exist_ok=True)
        _made_folder(repo.meta_dir).write_text(str(folder.resolve()))
    _sync_open_marker(repo.meta_dir)
    done = []
    for hook in GIT_HOOKS:
        path, kept = folder / hook, folder / f"{hook}{CHAINED}"
        if _is_shim(path):
            _write_shim(path, hook)
            done.append(f"{hook}: updated" + (f" (chains to {kept.name})" if kept.exists() else ""))
            continue
        if os.path.lexists(path):
            if os.path.lexists(kept):
                raise HookInstallError(f"{kept} already exists beside a hook that is not rca's",
                                       hint="move one of them away, then install again")
            os.rename(path, kept)
        _write_shim(path, hook)
        done.append(f"{hook}: installed" + (f" (chains to {kept.name})" if os.path.lexists(kept) else ""))
    shared = _shared_scope(repo)
    if shared:
        done.append(f"note: {folder} is core.hooksPath in your {shared} git config: every repository that uses it "
                    "runs these hooks now, and `rca hooks uninstall` in any of them removes them for all")
    return done


def _shared_scope(repo: Backend) -> str | None:
    """'global' or 'system' where core.hooksPath comes from a config beyond this repository's: the
    folder is every repository's, and installing here installs there too, which the lines above
    ("post-merge: installed") did not say."""
    git_text = getattr(repo, "git_text", None)  # git's own question: a git repository's
    if git_text is None:
        return None
    try:
        found = git_text("config", "--show-scope", "--get", "core.hooksPath")
    except Exception:  # no core.hooksPath (git exits 1), or a git too old for --show-scope: say nothing
        return None
    scope = found.split("\t", 1)[0].strip()
    return scope if scope in ("global", "system") else None


def _husky(folder: Path) -> bool:
    """A folder of husky's (v9: `core.hooksPath=.husky/_`): each hook there is a stub sourcing `h`,
    which runs `.husky/$(basename $0)`. Renamed to `<hook>.rca-chained`, it looks for a script of
    that name, finds none and exits 0: the user's hook stops running, and nothing says so."""
    try:
        return "husky" in (folder / "h").read_text(errors="replace")
    except OSError:
        return False


def _sync_open_marker(meta_dir: str) -> None:
    """Failures recorded before the shims read the marker (an upgrade) must still be reported."""
    from rca_lsp import failures

    try:
        is_open = failures.has_open(meta_dir)
    except failures.FailureStoreError:
        is_open = True  # they may be: the hooks then read the file, and say why they cannot check
    failures.mark(meta_dir, is_open)


def _write_shim(path: Path, hook: str) -> None:
    tmp = path.with_name(f".{path.name}.rca-tmp")
    tmp.write_text(shim_text(hook))
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def _made_folder(meta_dir: str) -> Path:
    """Where install notes the hooks folder it made (a `core.hooksPath` that did not exist yet)."""
    from rca_lsp.index.paths import index_dir

    return index_dir(meta_dir) / "hooks-folder-made"


def _drop_made_folder(meta_dir: str, folder: Path) -> str | None:
    """The hooks folder install made, removed if nothing else was put in it since."""
    note = _made_folder(meta_dir)
    try:
        made = note.read_text().strip()
    except OSError:
        return None
    if made != str(folder.resolve()):
        return None
    try:
        folder.rmdir()
    except OSError:  # something else lives there now: it stays
        return None
    note.unlink(missing_ok=True)
    return f"{folder}: removed (rca made it, and it is empty)"


def uninstall_git(repo: Backend) -> list[str]:
    folder = git_hooks_dir(repo)
    done = []
    for hook in GIT_HOOKS:
        path, kept = folder / hook, folder / f"{hook}{CHAINED}"
        legacy = folder / f"{hook}{LEGACY}"
        if not _is_shim(path) and _is_shim(legacy):
            done.append(_drop_legacy_shim(hook, legacy, kept))
            continue
        if not _is_shim(path):
            if os.path.lexists(kept):
                done.append(f"{hook}: not rca's any more; {kept.name} left in place")
            continue
        os.unlink(path)
        if os.path.lexists(kept):
            os.rename(kept, path)
            done.append(f"{hook}: removed; the original hook restored")
        else:
            done.append(f"{hook}: removed")
    dropped = _drop_made_folder(repo.meta_dir, folder)
    return done + ([dropped] if dropped else [])


def _drop_legacy_shim(hook: str, legacy: Path, kept: Path) -> str:
    """`pre-commit install` over rca's shim moves it to `<hook>.legacy` and runs it from there:
    uninstall left it, and rca ran on. The hook rca kept before it goes back where pre-commit
    runs the hook it found (its "migration mode"), or pre-commit runs alone."""
    os.unlink(legacy)
    if os.path.lexists(kept):
        os.rename(kept, legacy)
        return f"{hook}: removed from {legacy.name} (pre-commit's); the original hook restored as {legacy.name}"
    return f"{hook}: removed from {legacy.name} (pre-commit's)"


def status_git(repo: Backend) -> list[HookState]:
    folder = git_hooks_dir(repo)
    states = []
    for hook in GIT_HOOKS:
        path, kept = folder / hook, folder / f"{hook}{CHAINED}"
        if _is_shim(path):
            text = path.read_text(errors="replace")
            python = next((line.split("=", 1)[1] for line in text.splitlines()
                           if line.startswith("INSTALL_PYTHON=")), "")
            python = shlex.split(python)[0] if python else ""
            note = "" if python and os.access(python, os.X_OK) else f"its Python {python or '?'} is missing"
            if not note and MARKER not in text:
                note = "an older shim: `rca hooks install` updates it"
            states.append(HookState(hook, True, kept.name if os.path.lexists(kept) else None, note))
        elif _is_shim(folder / f"{hook}{LEGACY}"):
            states.append(HookState(hook, True, kept.name if os.path.lexists(kept) else None,
                                    f"as {hook}{LEGACY}, which pre-commit's {hook} runs"))
        else:
            states.append(HookState(hook, False, None, "another hook is installed" if os.path.lexists(path) else ""))
    return states


# -- Mercurial and Sapling -----------------------------------------------------------------------

def hgrc_path(repo: Backend) -> Path:
    return Path(repo.meta_dir) / ("config" if repo.kind == "sl" and repo.meta_dir.endswith(".sl") else "hgrc")


def hg_block(python: str | None = None) -> str:
    from rca_lsp.hooks import HOOK_CODE

    command = f"{shlex.quote(python or _python())} -c {shlex.quote(HOOK_CODE)} hg"
    lines = ["[hooks]"] + [f"{hook}.rca-lsp = {command} {hook}" for hook in HG_HOOKS]
    return "\n".join(lines) + "\n"


def _find_block(text: str) -> tuple[int, int, str] | None:
    start = text.find(BLOCK_BEGIN)
    if start < 0:
        return None
    end = text.find(BLOCK_END, start)
    if end < 0:
        return None
    header = text[start:text.find("\n", start)]
    mode = header[len(BLOCK_BEGIN):].strip(" >")
    return start, end + len(BLOCK_END), mode


def install_hg(repo: Backend) -> list[str]:
    path = hgrc_path(repo)
    existed = path.exists()
    text = path.read_bytes().decode("utf-8", "surrogateescape") if existed else ""
    found = _find_block(text)
    if found:
        start, end, mode = found
        body = f"{BLOCK_BEGIN} {mode} >>>\n{hg_block()}{BLOCK_END}"
        _write_keeping_mode(path, text[:start] + body + text[end:])
        return [f"{path}: rca hooks updated"]
    mode = "created" if not existed else ("newline" if text and not text.endswith("\n") else "appended")
    body = ("\n" if mode == "newline" else "") + f"{BLOCK_BEGIN} {mode} >>>\n{hg_block()}{BLOCK_END}"
    _write_keeping_mode(path, text + body)
    return [f"{path}: rca hooks added ({', '.join(HG_HOOKS)})"]


def _write_keeping_mode(path: Path, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    if path.exists():
        with open(path, "r+b") as fh:  # rewrite in place: same inode, owner and mode
            fh.write(data)
            fh.truncate()
    else:
        path.write_bytes(data)


def uninstall_hg(repo: Backend) -> list[str]:
    path = hgrc_path(repo)
    if not path.exists():
        return []
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    found = _find_block(text)
    if not found:
        return []
    start, end, mode = found
    if mode == "newline" and start > 0 and text[start - 1] == "\n":
        start -= 1
    rest = text[:start] + text[end:]
    if mode == "created" and not rest:
        path.unlink()
        return [f"{path}: removed (rca had created it)"]
    _write_keeping_mode(path, rest)
    return [f"{path}: rca hooks removed"]


def status_hg(repo: Backend) -> list[HookState]:
    path = hgrc_path(repo)
    text = path.read_bytes().decode("utf-8", "surrogateescape") if path.exists() else ""
    block = _find_block(text)
    from rca_lsp.hooks import HOOK_CODE

    older = block is not None and shlex.quote(HOOK_CODE) not in text[block[0]:block[1]]
    note = "older entries: `rca hooks install` updates them" if older else ""
    return [HookState(hook, block is not None, None, note) for hook in HG_HOOKS]


# -- front door ------------------------------------------------------------------------------------

def install(repo: Backend, force: bool = False) -> list[str]:
    return install_git(repo, force) if repo.kind == "git" else install_hg(repo)


def uninstall(repo: Backend) -> list[str]:
    return uninstall_git(repo) if repo.kind == "git" else uninstall_hg(repo)


def status(repo: Backend) -> list[HookState]:
    return status_git(repo) if repo.kind == "git" else status_hg(repo)

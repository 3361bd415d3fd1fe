"""What runs inside VCS hooks: keep the index current, and check arriving and leaving commits.

Installed by `rca hooks install` (see `rca_lsp.hook_install`): git hooks are shell shims that start
`<python> -c HOOK_CODE index <root> <hook>` detached when there is nothing to report, and run
`<python> -c HOOK_CODE run <hook> <hook-dir> ARGS...` when there is; Mercurial hooks are
`[hooks]` entries of `.hg/hgrc` that run `<python> -c HOOK_CODE hg <hook>`.

    git post-merge, post-rewrite, post-checkout, post-commit of a merge; hg post-pull, post-update
        The new commits are indexed by a detached background process (the pull does not wait).
        After a pull (git post-merge / post-rewrite after a rebase / post-commit of the merge a
        conflict stopped, once the user commits it; hg post-pull), if failures
        are open (`rca failures add`), the commits that arrived are ranked against them and the
        suspects among them printed: waiting for the index at most `hook-timeout` seconds, and
        no longer once no indexer is at work (one that stopped is said, with its error). What
        arrived is what the VCS says the pull brought: git's ORIG_HEAD..HEAD less a rebase's own
        commits; hg's changegroups (`rca_lsp.hook_arrivals`), those the working directory reaches,
        the others checked by the post-update of the `hg update` that reaches them. With no
        index before the pull and no record of it, what arrived is what came after the newest open failure was
        recorded, checked if the first index is built in that time.
    hg changegroup
        Records what a pull brought (`rca_lsp.hook_arrivals`): a line appended, nothing more.
    git pre-push; hg pre-push
        With failures open, the outgoing commits are indexed and checked; one that ranks in the
        top `push-top` suspects of a failure is reported with its evidence. The push goes on,
        unless the repository asks to block: `git config rca.blockPush true` or, in hgrc,
        `[rca] block-push = true`.

Settings (git config `rca.<name>` camel-cased / hgrc `[rca] <name>`): hook-timeout (seconds the
foreground may wait, default 8, at most 120), index-timeout (seconds a background index may run,
default 900, at most 86400), pull-top (rank a just-arrived commit must reach to be shown, default
5), push-top (default 3; both at most 1000), block-push (default false), hooks (false switches
every rca hook off without uninstalling, and keeps them quiet: a background error stays in the log).
A number that is not one, or is out of its range (`1e9` would hold a pull for ever), is refused:
a line in the log says so, and the default is used.

A hook never fails or blocks a pull or push by accident: every error is caught, logged to
`<vcs-dir>/rca/hooks.log` and reported in one line. Two hooks at once never corrupt or lock
anything: indexers queue on the index's writer lock, at most one waiting behind the one running.
The user's own hook (kept as `<hook>.rca-chained`) runs first, with the same arguments and input,
and its exit status is the hook's.
"""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp import DROP_WORKING_DIRECTORY
from rca_lsp.index.paths import WRITE_LOCK, index_dir
from rca_lsp.locks import try_lock

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

# How hooks start rca's Python (shims, hgrc entries, the detached indexer): not `-m rca_lsp.hooks`,
# which puts the repository's root, where hooks run, first on sys.path before any import, so that a
# top-level `six.py` or `random.py` of the repository would be imported in place of rca's own.
# When that Python can no longer import rca (rca-lsp uninstalled from it, a dependency gone), the
# hook still must not fail the pull or push: one line, the kept user hook run as the shim would
# (`run HOOK HERE ARGS`: HERE/HOOK.rca-chained, hook_install.CHAINED, which cannot be imported here),
# and exit 0. Shell- and hgrc-quoted in single quotes: the source holds none.
HOOK_SOURCE = """try:
    from rca_lsp.hooks import main
except ImportError as exc:
    import os
    sys.stderr.write("rca: hooks skipped: %s cannot import rca_lsp (%s); reinstall rca-lsp for it, "
                     "or remove the hooks (rca hooks uninstall)\\n" % (sys.executable, exc))
    args = sys.argv[1:]
    if args[:1] == ["run"] and len(args) >= 3:
        chained = os.path.join(args[2], args[1] + ".rca-chained")
        if os.access(chained, os.X_OK):  # as git, which runs no hook without its x bit
            for head in ([chained], ["/bin/sh", chained]):
                try:
                    os.execv(head[0], head + args[3:])
                except OSError:
                    pass
            sys.stderr.write("rca: cannot run %s\\n" % chained)
            sys.exit(127)
    sys.exit(0)
sys.exit(main())
"""
HOOK_CODE = DROP_WORKING_DIRECTORY + "exec(" + json.dumps(HOOK_SOURCE) + ")"
LOG_NAME = "hooks.log"
LAST_ERROR = "hooks.last-error"
MAX_LOG_BYTES = 1 << 20
STDIN_HOOKS = {"pre-push", "post-rewrite"}
PULL_HOOKS = {"post-merge", "post-rewrite", "post-commit", "post-pull"}
DEFAULTS = {"hook-timeout": "8", "index-timeout": "900", "pull-top": "5", "push-top": "3",
            "block-push": "false", "hooks": "true"}
RANGES = {"hook-timeout": (0, 120), "index-timeout": (1, 86400), "pull-top": (1, 1000), "push-top": (1, 1000)}


# -- small helpers, all cheap: a hook with nothing to do must cost a few tens of milliseconds ---

def say(message: str) -> None:
    sys.stderr.write(f"rca: {message}\n")
    sys.stderr.flush()


def write_log(meta_dir: str, hook: str, message: str) -> None:
    try:
        folder = index_dir(meta_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            keep = path.read_bytes()[-MAX_LOG_BYTES // 2:]
            path.write_bytes(keep[keep.find(b"\n") + 1:])
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        # backslashreplace: a path that is not UTF-8 (`caf\\udce9`) is written as Python prints it
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"{stamp} [{os.getpid()}] {hook}: {message}\n")
    except OSError:
        pass  # a log that cannot be written must not become the error


def _key(repo: Backend, name: str) -> str:
    if repo.kind != "git":
        return f"rca.{name}"
    return "rca." + name.split("-")[0] + "".join(w.title() for w in name.split("-")[1:])


def setting(repo: Backend, name: str) -> str:
    try:
        value = repo.config(_key(repo, name))
    except Exception:  # a config that cannot be read is the default
        value = None
    return value if value is not None else DEFAULTS[name]


def flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def number(repo: Backend, name: str) -> float:
    """A numeric setting within RANGES; anything else is logged and replaced by the default."""
    text = setting(repo, name)
    low, high = RANGES[name]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and low <= value <= high:
        return value
    write_log(repo.meta_dir, "hooks", f"{_key(repo, name)} = {text!r} refused: not a number from {low} to {high}; "
                                 f"the default {DEFAULTS[name]} is used")
    return float(DEFAULTS[name])


def _open_repo(path: str):
    from rca_lsp.vcs import open_repo

    return open_repo(path)


def indexed(checkout_dir: str) -> tuple[set[str], str | None] | None:
    """Hashes in the index of `checkout_dir` (`Backend.checkout_dir`) and the head it was built
    for; None without an index. Read-only."""
    from rca_lsp.index.queries import peek

    return peek(checkout_dir)


# -- the background indexer -----------------------------------------------------------------

def spawn_indexer(root: str, hook: str) -> subprocess.Popen:
    """Index in a detached process: new session, no terminal, nothing inherited the VCS waits on."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY",
                        "GIT_QUARANTINE_PATH", "HG_PENDING", "HG_SHAREDPENDING")}
    return subprocess.Popen([sys.executable, "-c", HOOK_CODE, "index", root, hook],
                            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)


def _leave_session() -> None:
    """A shim starts the indexer with `&`: in git's process group, where a closing terminal's
    hang-up or a Ctrl-C would reach it. It ignores those until here, then leaves."""
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader (spawn_indexer's start_new_session)


def _plain_checkout(cwd: str, folder: str) -> tuple[str, str] | None:
    """(root, meta dir) of an ordinary checkout read from the file system alone, no VCS process:
    what a hook with nothing to check needs. None for anything unusual (worktrees, GIT_DIR
    elsewhere), which then takes the full path."""
    meta = Path(cwd) / folder
    git_dir = os.environ.get("GIT_DIR")
    if git_dir and Path(cwd, git_dir).resolve() != meta.resolve():
        return None
    return (cwd, str(meta)) if meta.is_dir() else None


def _open_failures(meta_dir: str) -> bool:
    """Read from the database; the shims' marker, a hint that may be stale, is set to match. A
    database that cannot be read raises FailureStoreError and sets the marker, since failures may
    be open: the next hook then runs in the foreground and says why it cannot check them."""
    from rca_lsp import failures

    try:
        is_open = failures.has_open(meta_dir)
    except failures.FailureStoreError:
        failures.mark(meta_dir, True)
        raise
    if failures.mark(meta_dir, is_open) and is_open:
        write_log(meta_dir, "hooks", f"failures are open but {failures.OPEN_MARKER} was missing (restored): "
                                "hooks before this one did not check their commits")
    return is_open


def has_open_failures(meta_dir: str, hook: str) -> bool:
    """For a hook about to check commits: a database that cannot be read is logged and said in one line."""
    from rca_lsp.failures import FailureStoreError

    try:
        return _open_failures(meta_dir)
    except FailureStoreError as exc:
        write_log(meta_dir, hook, f"open failures not checked: {exc}")
        say(f"open failures not checked: {exc}")
        return False


def _idle(meta_dir: str) -> bool:
    """Nothing to say in the foreground: no failure open, no background error waiting. No VCS process."""
    from rca_lsp.failures import FailureStoreError

    try:
        return not _open_failures(meta_dir) and not (index_dir(meta_dir) / LAST_ERROR).exists()
    except FailureStoreError:
        return False  # the hook says why it cannot check, if it has commits to check


class IndexTimeout(BaseException):
    """The background indexer's time is up. A BaseException, as KeyboardInterrupt is: the alarm
    mostly rings while a file is parsed, inside a parser's defensive `except Exception`, which
    would log a TimeoutError as a file that failed to parse and index on past the limit."""


def background_index(root: str, hook: str) -> int:
    """Bring the index up to HEAD, time-bounded; if another indexer runs, queue behind it once.

    At most one process waits: a later hook finding the queue taken exits at once, since the
    waiter reads HEAD only after the running indexer is done, and so indexes its commits too.
    """
    import signal

    started = time.perf_counter()
    meta = root
    try:
        repo = _open_repo(root)
        meta = repo.meta_dir
        if not flag(setting(repo, "hooks")):
            return 0
        from rca_lsp.failures import FailureStoreError

        try:
            _open_failures(meta)  # the next hook's shim reads the marker this keeps right
        except FailureStoreError:
            pass  # the marker is set: the next hook in the foreground says why it cannot check
        timeout = number(repo, "index-timeout")
        folder = index_dir(repo.checkout_dir)  # the index's: a linked worktree's own
        folder.mkdir(parents=True, exist_ok=True)
        queue = try_lock(folder / "queue.lock")
        if queue is None:
            write_log(meta, hook, "an indexer is already queued; it will index these commits")
            return 0

        def expire(*_: object) -> None:
            raise IndexTimeout(f"indexing took over {timeout:.0f} s; stopped (the next run carries on)")

        signal.signal(signal.SIGALRM, expire)
        signal.alarm(max(1, int(timeout)))
        from rca_lsp import service

        try:
            running = try_lock(folder / WRITE_LOCK)  # wait here, holding the queue, until it is free
            while running is None:
                time.sleep(0.1)
                running = try_lock(folder / WRITE_LOCK)
            os.close(running)  # Index.open and update take the writer lock themselves
        finally:
            os.close(queue)
        report = service.update_index(repo, thorough=False)
        signal.alarm(0)
        write_log(meta, hook, f"indexed {report.added} new commit(s), removed {report.removed} "
                         f"in {time.perf_counter() - started:.2f} s")
        return 0
    except BaseException as exc:  # the log is the only place a detached process can report to
        message = f"background index failed: {type(exc).__name__}: {exc}"
        write_log(meta, hook, message)
        try:
            (index_dir(meta) / LAST_ERROR).write_text(message + "\n", encoding="utf-8", errors="backslashreplace")
        except OSError:
            pass
        return 1


def take_last_error(meta_dir: str) -> str | None:
    """The background indexer's last error, once: taken, it is not shown again."""
    path = index_dir(meta_dir) / LAST_ERROR
    try:
        message = path.read_text(encoding="utf-8", errors="replace").strip()
        path.unlink()
    except OSError:
        return None
    return message


def _report_last_error(meta_dir: str) -> None:
    message = take_last_error(meta_dir)
    if message is not None:
        say(f"{message} (see {index_dir(meta_dir) / LOG_NAME})")


# -- entry points -----------------------------------------------------------------------------------

def _run_chained(hook_dir: str, hook: str, args: list[str], stdin: bytes | None) -> int:
    """The user's hook, run as git and the shim's `sh` run it: one with no `#!` line is a shell
    script. One that cannot start at all (its `#!` names a missing interpreter, or ends in a CR)
    is said in one line, with the status `sh` gives it (127), as the shim does without Python."""
    chained = Path(hook_dir) / f"{hook}.rca-chained"
    if not (chained.is_file() and os.access(chained, os.X_OK)):
        return 0
    try:
        try:
            return subprocess.run([str(chained), *args], input=stdin).returncode
        except OSError as exc:
            if exc.errno != errno.ENOEXEC:
                raise
            return subprocess.run(["/bin/sh", str(chained), *args], input=stdin).returncode
    except OSError as exc:
        say(f"cannot run {chained} (the {hook} hook kept from before `rca hooks install`): {exc.strerror}; "
            "check its #! line names an interpreter that is installed, with no CR (Windows) line ending")
        return 127


def _merge_at_head() -> bool:
    from rca_lsp.vcs.git import merge_at_head  # the one place that starts git (tests/test_vcs_seam.py)

    return merge_at_head()


def run_git_hook(hook: str, hook_dir: str, args: list[str]) -> int:
    stdin = sys.stdin.buffer.read() if hook in STDIN_HOOKS else None
    status = _run_chained(hook_dir, hook, args, stdin)
    if status != 0 and hook == "pre-push":
        return status  # the user's hook refused the push: nothing for rca to add
    meta = os.path.join(os.getcwd(), ".git")
    try:
        if hook == "post-checkout" and (len(args) < 3 or args[0] == args[1] or args[2] != "1"):
            return status  # a file checkout, or the same commit: nothing new
        if hook == "post-commit" and not _merge_at_head():  # the shim checks first; a direct call too
            return status  # a commit of one parent: nothing arrived
        plain = _plain_checkout(os.getcwd(), ".git")
        if plain is not None:
            meta = plain[1]
            if _idle(meta):  # the common case: no VCS process, one spawn
                if hook != "pre-push":
                    spawn_indexer(plain[0], hook)
                return status
        repo = _open_repo(os.getcwd())
        meta = repo.meta_dir
        if not flag(setting(repo, "hooks")):
            return status  # off, and quiet: a background error stays in the log
        _report_last_error(meta)
        from rca_lsp.hook_checks import git_outgoing, after_pull, before_push

        if hook == "pre-push":
            return before_push(repo, hook, git_outgoing(repo, stdin or b"")) or status
        if hook == "post-rewrite" and args[:1] != ["rebase"]:
            spawn_indexer(repo.root, hook)  # an amend: index it, but nothing arrived
            return status
        after_pull(repo, hook, stdin or b"")
    except BaseException as exc:  # noqa: BLE001 - a hook must never fail the user's command
        write_log(meta, hook, f"error: {type(exc).__name__}: {exc}")
        say(f"{hook} hook: {type(exc).__name__}: {exc} (ignored; see {index_dir(meta) / LOG_NAME})")
    return status


def run_hg_hook(hook: str) -> int:
    meta = os.path.join(os.getcwd(), ".hg")
    try:
        if hook == "post-update" and os.environ.get("HG_ERROR", "0") != "0":
            return 0
        plain = _plain_checkout(os.getcwd(), ".hg")
        if plain is not None:
            meta = plain[1]
            if _idle(meta):
                if hook != "pre-push":
                    spawn_indexer(plain[0], hook)
                if hook == "post-pull":
                    _drop_arrivals(meta)  # no failure open: what this pull brought is not for a later one
                return 0
        repo = _open_repo(os.getcwd())
        meta = repo.meta_dir
        if not flag(setting(repo, "hooks")):
            if hook == "post-pull":
                _drop_arrivals(meta)
            return 0  # off, and quiet: a background error stays in the log
        _report_last_error(meta)
        from rca_lsp.hook_checks import after_pull, before_push

        if hook == "pre-push":
            return before_push(repo, hook, repo.outgoing())
        after_pull(repo, hook)
    except BaseException as exc:  # noqa: BLE001 - a hook must never fail the user's command
        write_log(meta, hook, f"error: {type(exc).__name__}: {exc}")
        say(f"{hook} hook: {type(exc).__name__}: {exc} (ignored; see {index_dir(meta) / LOG_NAME})")
    return 0


def _drop_arrivals(meta_dir: str) -> None:
    from rca_lsp import hook_arrivals

    hook_arrivals.drop(meta_dir)


def record_hg_arrival() -> int:
    """The changegroup hook: one line appended (`hook_arrivals`), no hg started, nothing said; an
    error goes to the log only, since the pull's own hooks report what matters."""
    meta = os.path.join(os.getcwd(), ".hg")
    try:
        from rca_lsp import hook_arrivals

        if not os.path.isdir(meta):
            meta = _open_repo(os.getcwd()).meta_dir
        hook_arrivals.record(meta, os.environ)
    except BaseException as exc:  # noqa: BLE001 - a hook must never fail the user's command
        write_log(meta, "changegroup", f"error: {type(exc).__name__}: {exc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`run HOOK HOOK_DIR ARGS...` (git shims), `hg HOOK` (hgrc), `index ROOT HOOK` (detached)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 3 and argv[0] == "run":
        return run_git_hook(argv[1], argv[2], argv[3:])
    if argv == ["hg", "changegroup"]:
        return record_hg_arrival()
    if len(argv) == 2 and argv[0] == "hg":
        return run_hg_hook(argv[1])
    if len(argv) == 3 and argv[0] == "index":
        _leave_session()
        return background_index(argv[1], argv[2])
    say("usage: python -m rca_lsp.hooks run HOOK HOOK_DIR [ARGS...] | hg HOOK | index ROOT HOOK")
    return 0  # a malformed call from a hook must not fail the VCS command either


if __name__ == "__main__":  # shims of rca before HOOK_CODE (v2): `python -m rca_lsp.hooks`
    import rca_lsp

    rca_lsp.drop_working_directory()  # the modules main imports come from where rca is installed
    sys.exit(main())

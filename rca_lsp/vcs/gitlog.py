"""`git log -p` processes whose output counts only when it is whole.

A stream is read to its end and then checked: git must have exited 0 and given exactly the commits
asked for, in that order. The commit being read when a stream ends is held back until that check,
so a `git log` killed by a signal (the out-of-memory killer) or cut short never hands out a commit
with half of its diff: IndexingStopped is raised instead, the indexer keeps the whole batches it
wrote, and the next run carries on. Before the check, a dead git looked like a short history: a run
"indexed 1438 new commit(s)" of 2,416 with exit 0.

A missing object ("fatal: unable to read <sha>", a damaged store or a partial clone) is not the end
of the run: the commits from there on go through `gitmissing`, which diffs only what is present.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence

from rca_lsp.errors import IndexingStopped, RepositoryError
from rca_lsp.vcs.base import LoggedCommit

log = logging.getLogger(__name__)

_UNREADABLE = re.compile(r"unable to read|missing blob|could not read|bad object|not our ref|"
                         r"unable to fetch|promisor", re.IGNORECASE)


class MissingObject(Exception):
    """git stopped on an object it does not have (its message); the commits handed out before
    are whole. Internal: `GitRepo.log` turns it into a log of what is present."""


def log_command(fmt: str, *extra: str) -> list[str]:
    """Read the same whatever the user's config: a root commit's files shown (log.showRoot), the
    message in UTF-8 (i18n.logOutputEncoding), paths after `a/` and `b/` (diff.mnemonicPrefix,
    diff.noprefix, diff.srcPrefix)."""
    return ["git", "-c", "core.quotepath=false", "-c", "diff.noprefix=false", "-c", "log.showRoot=true",
            "log", "--no-walk=unsorted", "--stdin", "--no-color", "--no-ext-diff", "--no-textconv", "--full-index",
            "--diff-merges=off", "--no-abbrev", "--encoding=UTF-8", "--src-prefix=a/", "--dst-prefix=b/",
            f"--format={fmt}", *extra]


def stopped(what: str, code: int, hint: str, after: str = "") -> BaseException:
    """The error for a child process (`what`, named with its pid) that ended with `code` before its
    work was done: where a SIGINT killed it, the user pressed Ctrl-C, which the terminal sends to
    the whole foreground group; this process then stops as interrupted (exit 130), even where a C
    library it was in (tree-sitter compiling a query's regular expression) swallowed its own
    KeyboardInterrupt. Otherwise IndexingStopped, naming how the child ended (and `after` what)."""
    if code == -signal.SIGINT:
        return KeyboardInterrupt(f"{what} {how_it_ended(code)}")
    return IndexingStopped(f"{what} {how_it_ended(code)}{after}", hint=hint)


def how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def run_stream(cmd: list[str], cwd: str, env: dict[str, str], hashes: Sequence[str],
               parse) -> Iterator[LoggedCommit]:
    """The commits `parse` reads from `cmd` fed with `hashes`, each handed out only once the next
    one began or the process ended cleanly with all of them."""
    revs = "".join(h + "\n" for h in hashes).encode()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=1 << 20)
    assert proc.stdin and proc.stdout and proc.stderr
    stderr = proc.stderr
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
    writer = threading.Thread(target=_feed, args=(proc, revs), daemon=True)
    reader.start()
    writer.start()
    finished, done, pending = False, 0, None
    try:
        for item in parse(proc.stdout):
            if pending is not None:
                _expect(pending, hashes, done, proc)
                yield pending
                done += 1
            pending = item
        finished = True
    finally:
        if not finished and proc.poll() is None:
            # Stopped early (an error, Ctrl-C). Closing our end of the pipe is not enough to stop
            # git: forked parser workers may hold copies of it, and git would block on a full pipe.
            proc.kill()
        proc.stdout.close()
        code = proc.wait()
        reader.join()
        writer.join()
    got = done + (pending is not None)
    _check_end(proc.pid, code, b"".join(errors), got, len(hashes))
    if pending is not None:
        _expect(pending, hashes, done, proc)
        yield pending


def _feed(proc: subprocess.Popen, revs: bytes) -> None:
    try:
        proc.stdin.write(revs)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, OSError):
        pass


def _expect(item: LoggedCommit, hashes: Sequence[str], i: int, proc: subprocess.Popen) -> None:
    if i >= len(hashes) or item.commit.hash != hashes[i]:
        raise IndexingStopped(f"git log (pid {proc.pid}) gave commit {item.commit.hash[:12]} where "
                              f"{hashes[i][:12] if i < len(hashes) else 'the end'} was expected",
                              hint="run `rca index` again; report it if it recurs")


def _check_end(pid: int, code: int, err: bytes, got: int, wanted: int) -> None:
    """Killed, or cut short: IndexingStopped. Failed on a missing object: MissingObject. Any other
    failure is git's own message."""
    text = err.decode("utf-8", "replace").strip()
    if code < 0 or (code == 0 and got != wanted):
        raise stopped(f"git log (pid {pid})", code, "the whole commits indexed so far are kept; run `rca index` "
                      "again to carry on", after=f" after {got} of {wanted} commits")
    if code != 0:
        if _UNREADABLE.search(text):
            raise MissingObject(text)
        raise RepositoryError(f"git log failed: {text[:500] or how_it_ended(code)}")


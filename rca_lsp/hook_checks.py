"""What the pull and push hooks check: the commits that arrived or leave, ranked against the open
failures (`rca failures add`) once the index holds them. The hooks themselves, their settings and
the background indexer are `rca_lsp.hooks`'s; this module runs inside them (see its docstring for
the settings, the time budget and what a hook never does)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

from rca_lsp.hooks import (LOG_NAME, PULL_HOOKS, flag, has_open_failures, indexed, number, say, setting,
                           spawn_indexer, take_last_error, try_lock, write_log)
from rca_lsp.index.paths import WRITE_LOCK, index_dir
from rca_lsp.records import clip

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

IDLE_POLLS = 3  # polls in a row, 0.1 s apart, that find no indexer at work: it has stopped


def _indexing(checkout_dir: str, indexer: subprocess.Popen | None) -> bool:
    """Whether an indexer may still bring the index up: ours runs, or another holds the writer
    lock (one queued behind it takes the lock within 0.1 s of its release)."""
    if indexer is not None and indexer.poll() is None:
        return True
    try:
        fd = try_lock(index_dir(checkout_dir) / WRITE_LOCK)  # held for a moment: waiters poll
    except FileNotFoundError:
        return False  # no rca folder: no indexer has started
    except OSError:
        return True  # cannot tell: wait until the deadline
    if fd is None:
        return True
    os.close(fd)
    return False


def _wait_for_index(repo: Backend, deadline: float, indexer: subprocess.Popen | None) -> str | None:
    """None once the index holds HEAD; else why it does not. Waiting ends at the deadline, or
    as soon as no indexer is at work: then it would never end. A folder that cannot be written
    (read-only) is said as such: the index there cannot be read either (SQLite's WAL needs to write),
    which read as "being built for the first time" after the whole wait."""
    head = repo.head()
    folder = index_dir(repo.checkout_dir)
    idle = 0
    while time.perf_counter() < deadline:
        state = indexed(repo.checkout_dir)
        if state is not None and state[1] == head:
            return None
        if folder.is_dir() and not os.access(folder, os.W_OK):  # no indexer can write there: none to wait for
            return f"{folder} cannot be written (a read-only file system, or another user's), so the index " \
                   "cannot be brought up to date"
        idle = 0 if _indexing(repo.checkout_dir, indexer) else idle + 1
        if idle >= IDLE_POLLS:
            error = take_last_error(repo.meta_dir)
            stopped = f"the indexer stopped ({error})" if error else "the indexer stopped before reaching HEAD"
            return f"{stopped}; see {index_dir(repo.meta_dir) / LOG_NAME}"
        time.sleep(0.1)
    if indexed(repo.checkout_dir) is None:
        return "the index is being built for the first time"
    return "the index is still being brought up to date"


def _print_findings(findings, what: str) -> None:
    by_failure: dict[int, list] = {}
    for f in findings:
        by_failure.setdefault(f.failure.id, []).append(f)
    for items in by_failure.values():
        failure = items[0].failure
        say(f"failure #{failure.id} ({failure.title}): {len(items)} suspect(s) among {what}")
        for f in items:
            s = f.suspect
            say(f"  #{s.rank:<2} {s.commit.hash[:10]}  {s.commit.author[:20]}  {clip(s.commit.summary, 60)}"
                 f"  (score {s.score:.2f})")
            for e in s.evidence[:3]:
                say(f"       - {e.text}")


def _check(repo: Backend, hook: str, commits: set[str], top: int, deadline: float, what: str,
           indexer: subprocess.Popen | None):
    """The findings among `commits`; None, said and logged in one line, when the index cannot hold
    them in time."""
    from rca_lsp import service

    reason = _wait_for_index(repo, deadline, indexer)
    if reason is not None:
        say(f"{what} not checked against open failures: {reason} (`rca failures list`, then `rca suspects`)")
        write_log(repo.meta_dir, hook, f"{what} not checked against open failures: {reason}")
        return None
    findings = service.check_failures(repo, commits, top)
    _print_findings(findings, what)
    return findings


def _since_newest_failure(repo: Backend) -> tuple[set[str], str] | None:
    """What a pull brought when there was no index before it: what came after the newest open
    failure was recorded. None where the head it was recorded at is unknown or gone."""
    from rca_lsp import failures
    from rca_lsp.errors import RcaError

    newest = failures.listing(repo.meta_dir)[-1:]
    if not newest or newest[0].head is None:
        return None
    try:
        commits = set(repo.reachable(since=newest[0].head))
    except RcaError:
        return None
    return commits, f"the {len(commits)} commit(s) since failure #{newest[0].id} was recorded"


def _git_arrived(repo: Backend, hook: str, rewritten: bytes) -> set[str] | None:
    """What a git merge or rebase brought, from git itself: the commits HEAD reaches and ORIG_HEAD
    (the head before it, which both set) does not, less the user's own commits a rebase rewrote
    (post-rewrite's input, `old new` lines). Not what the index lacked: the indexer a rebase's own
    post-checkout starts may have indexed them before post-rewrite runs. None where git cannot say."""
    from rca_lsp.errors import RcaError

    if repo.kind != "git" or hook not in ("post-merge", "post-rewrite", "post-commit"):
        return None
    try:  # a merge committed after its conflicts: what its first parent, the head before, lacked
        arrived = set(repo.reachable(since="HEAD^1" if hook == "post-commit" else "ORIG_HEAD"))
    except RcaError:
        return None  # no ORIG_HEAD (a first pull), or it is gone
    pairs = [line.split() for line in rewritten.decode("ascii", "replace").splitlines()]
    return arrived - {fields[1] for fields in pairs if len(fields) >= 2}


def _hg_arrived(repo: Backend, hook: str) -> tuple[set[str], str]:
    """What the pulls recorded by the changegroup hook brought that the working directory now
    reaches (`hook_arrivals`); a pull that did not update says how many wait for `hg update`."""
    from rca_lsp import hook_arrivals

    reached, waiting = hook_arrivals.arrived(repo)
    if waiting and hook == "post-pull":
        say(f"{len(waiting)} pulled commit(s) not checked against open failures yet: the working directory "
            "does not reach them (`hg update` checks them)")
    if hook == "post-pull":
        return reached, f"the {len(reached)} commit(s) that just arrived"
    return reached, f"the {len(reached)} pulled commit(s) this update brought in"


def _arrived(repo: Backend, hook: str, rewritten: bytes, before: tuple[set[str], str | None] | None,
             recorded: bool) -> tuple[set[str], str] | None:
    """(what arrived, how to say it): what the VCS says a pull brought, else what the index lacked
    (an older hg install), else what came after the newest open failure (no index before the pull);
    None where none of them can be told."""
    if recorded:
        return _hg_arrived(repo, hook)
    if before is not None:
        arrived = _git_arrived(repo, hook, rewritten)
        if arrived is None:
            arrived = set(repo.reachable()) - before[0]
        return arrived, f"the {len(arrived)} commit(s) that just arrived"
    return _since_newest_failure(repo)


def after_pull(repo: Backend, hook: str, rewritten: bytes = b"") -> None:
    from rca_lsp import hook_arrivals

    recorded = hook in hook_arrivals.CHECKED_BY and hook_arrivals.installed(repo)
    check = (hook in PULL_HOOKS or recorded) and has_open_failures(repo.meta_dir, hook)
    before = indexed(repo.checkout_dir) if check else None
    indexer = spawn_indexer(repo.root, hook)
    if not check:
        if hook == "post-pull":
            hook_arrivals.drop(repo.meta_dir)  # nothing checks them now: no later pull reports them
        return
    deadline = time.perf_counter() + number(repo, "hook-timeout")
    told = _arrived(repo, hook, rewritten, before, recorded)
    if told is None:
        say("the commits that just arrived not checked against open failures: there was no index before "
             "this pull (the first is being built) (`rca failures list`, then `rca suspects`)")
        write_log(repo.meta_dir, hook, "not checked: no index before this pull, and no head recorded with the "
                                  "newest open failure")
        return
    arrived, what = told
    if not arrived:
        return
    found = _check(repo, hook, arrived, int(number(repo, "pull-top")), deadline, what, indexer)
    if found is not None:
        write_log(repo.meta_dir, hook, f"{len(arrived)} arrived; {len(found)} suspect(s) for open failures")


def before_push(repo: Backend, hook: str, outgoing: set[str]) -> int:
    """1 when an outgoing commit is a top suspect and the repository asks to block, else 0."""
    if not outgoing or not has_open_failures(repo.meta_dir, hook):
        return 0
    deadline = time.perf_counter() + number(repo, "hook-timeout")
    indexer = spawn_indexer(repo.root, hook)
    outgoing &= set(repo.reachable())  # only what the index holds: ancestors of HEAD / '.'
    top = int(number(repo, "push-top"))
    found = _check(repo, hook, outgoing, top, deadline, f"the {len(outgoing)} outgoing commit(s)", indexer)
    if found is None:
        return 0
    write_log(repo.meta_dir, hook, f"{len(outgoing)} outgoing; {len(found)} top suspect(s) for open failures")
    if found and flag(setting(repo, "block-push")):
        say("push blocked by rca.blockPush: resolve the failure (`rca failures resolve ID`) or push "
             "with the setting off")
        return 1
    if found:
        say("pushing anyway (set rca.blockPush to stop such pushes)")
    return 0


def git_outgoing(repo: Backend, lines: bytes) -> set[str]:
    """The commits a git push sends, from pre-push's input: `<local ref> <local sha> <remote ref> <remote sha>`."""
    import re

    sha = re.compile(r"^[0-9a-f]{40,64}$")
    pushes = []
    for line in lines.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 4 and sha.match(parts[1]) and sha.match(parts[3]):
            pushes.append((parts[1], parts[3]))
    return repo.outgoing(pushes)

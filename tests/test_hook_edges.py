"""Hooks at their edges, fired by real `git pull`: a failures.db that cannot be read, an indexer
that stops before the pull's wait is over, a pull into a clone with no index yet, and hooks switched
off while a background error waits to be shown."""

from __future__ import annotations

import sqlite3

from tests.test_cli import CALC_BROKEN, TEST, TRACE
from tests.test_hooks import CALC_PATH, git, rca, remote, wait_indexed  # noqa: F401 - remote is a fixture
from tests.test_hooks_shim import wait_for_log


def _open_failure(clone) -> None:
    """An open failure: the hooks then run in Python in the foreground, not in the shim alone."""
    clone.write("src/test/java/org/example/CalcTest.java", TEST)
    added = rca("failures", "add", cwd=clone.root, input=TRACE)
    assert added.returncode == 0, added.stderr


def _armed(clone) -> None:
    """Hooks installed, the history indexed and a failure open: the hooks' foreground path."""
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    _open_failure(clone)


def _push_culprit(up) -> str:
    culprit = up.commit("Simplify parse", {CALC_PATH: CALC_BROKEN}, author="Carol")
    up.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    up.git("push", "-q", "origin", "main")
    return culprit


def _fast_import(up, commits: int) -> None:
    """`commits` commits on top of main in one git process, each rewriting a 400-function Python
    file: a history that takes the indexer seconds, made in a fraction of one."""
    up.fast_commits(((f"Change {i}", {f"src/m{i % 30}.py": "".join(
        f"def f{i}_{j}(x):\n    return helper{j}(x) + {j}\n\n" for j in range(400))}) for i in range(commits)), who="Bob")


def test_a_damaged_failures_file_keeps_the_marker_and_is_said_in_one_line(remote):
    up, clone = remote
    meta = clone.root / ".git"
    _armed(clone)
    (meta / "rca" / "failures.db").write_bytes(b"garbage")
    _push_culprit(up)
    pull = git("pull", "-q", cwd=clone.root)
    assert pull.stderr.count("\n") == 1 and "Traceback" not in pull.stderr, pull.stderr
    assert pull.stderr.startswith("rca: open failures not checked: the failures file ")
    assert "failures.db is damaged (file is not a database)" in pull.stderr and "move it aside" in pull.stderr
    assert (meta / "rca" / "open-failures").exists()  # the failures may be open: the next hook reads again
    wait_indexed(meta, clone.git("rev-parse", "HEAD").strip())
    wait_for_log(meta / "rca" / "hooks.log", "post-merge: indexed")
    log = (meta / "rca" / "hooks.log").read_text()
    assert log.count("open failures not checked: the failures file") == 1, log

    listed = rca("failures", "list", cwd=clone.root)
    assert listed.returncode == 4 and listed.stderr.count("\n") == 1, listed.stderr
    assert "failures.db is damaged" in listed.stderr and "move it aside (do not delete it)" in listed.stderr
    assert "index" not in listed.stderr.replace("rca failures add", "")  # neither "the index" nor its folder
    assert (meta / "rca" / "failures.db").read_bytes() == b"garbage"  # left as it was, for the user to keep


def test_the_delete_hint_is_given_for_a_damaged_index_alone(remote):
    _, clone = remote
    assert rca("index", "-q", cwd=clone.root).returncode == 0
    path = clone.root / ".git" / "rca" / "index.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'commits'").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:  # the commits table's root page: found by a query, not on opening
        fh.seek((root - 1) * page)
        fh.write(b"\xff" * page)
    (clone.root / "crash.txt").write_text(TRACE)
    ranked = rca("suspects", "--no-update", "--trace", "crash.txt", cwd=clone.root)
    assert ranked.returncode == 4 and ranked.stderr.startswith("rca: error: the index is damaged"), ranked.stderr
    assert "delete index.db" in ranked.stderr and "delete the rca folder" not in ranked.stderr

    from rca_lsp.cli import _damage_message

    try:  # an SQLite error raised by no code of the index names no file to delete
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    except sqlite3.DatabaseError as exc:
        message = _damage_message(exc)
    assert message.startswith("a database of rca cannot be read (no such table: nowhere)")
    assert "the index is damaged" not in message


def test_the_pull_stops_waiting_as_soon_as_the_indexer_stops(remote):
    """The indexer stops at rca.indexTimeout (a timeout that no parser's `except Exception` can
    swallow now); the pull's wait was over only at rca.hookTimeout, never with 1e9, now refused.
    The reason said is the indexer's own error: no wait ran to the deadline."""
    up, clone = remote
    meta = clone.root / ".git"
    _armed(clone)
    clone.git("config", "rca.indexTimeout", "1")
    clone.git("config", "rca.hookTimeout", "1e9")
    _fast_import(up, 1200)  # many times what the indexer gets through in its 1 s, on any machine
    up.git("push", "-q", "origin", "main")
    pull = git("pull", "-q", cwd=clone.root)  # git's timeout: 120 s
    assert "the 1200 commit(s) that just arrived not checked against open failures: the indexer stopped " \
           "(background index failed: IndexTimeout: indexing took over 1 s" in pull.stderr, \
        (pull.stderr, (meta / "rca" / "hooks.log").read_text())
    assert "still being brought up to date" not in pull.stderr and pull.stderr.count("\n") == 1
    log = (meta / "rca" / "hooks.log").read_text()
    assert "rca.hookTimeout = '1e9' refused: not a number from 0 to 120; the default 8 is used" in log
    assert "post-merge: the 1200 commit(s) that just arrived not checked against open failures: the indexer stopped" \
        in log
    assert not (meta / "rca" / "hooks.last-error").exists()  # said now, not again at the next pull


def test_a_pull_with_no_index_yet_checks_once_the_first_index_is_built(remote):
    up, clone = remote
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    _open_failure(clone)
    assert not (clone.root / ".git" / "rca" / "index.db").exists()
    clone.git("config", "rca.hookTimeout", "60")  # the wait ends when the index is built, in a second or two
    culprit = _push_culprit(up)
    pull = git("pull", "-q", cwd=clone.root)
    assert "failure #1 (CalcTest.testTwice: java.lang.NumberFormatException" in pull.stderr, pull.stderr
    assert "1 suspect(s) among the 2 commit(s) since failure #1 was recorded" in pull.stderr
    assert f"{culprit[:10]}  Carol" in pull.stderr


def test_a_pull_with_no_index_yet_and_no_time_to_build_it_says_so(remote):
    up, clone = remote
    meta = clone.root / ".git"
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    _open_failure(clone)
    clone.git("config", "rca.hookTimeout", "0")
    _push_culprit(up)
    pull = git("pull", "-q", cwd=clone.root)
    assert pull.stderr == "rca: the 2 commit(s) since failure #1 was recorded not checked against open failures: " \
                          "the index is being built for the first time (`rca failures list`, then `rca suspects`)\n"
    assert "post-merge: the 2 commit(s) since failure #1 was recorded not checked against open failures: the " \
           "index is being built for the first time" in (meta / "rca" / "hooks.log").read_text()
    wait_indexed(meta, clone.git("rev-parse", "HEAD").strip())  # and the index is built all the same


def test_hooks_switched_off_keep_a_waiting_background_error_quiet(remote):
    up, clone = remote
    meta = clone.root / ".git"
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    (meta / "rca").mkdir()
    (meta / "rca" / "hooks.last-error").write_text("background index failed: boom\n")
    clone.git("config", "rca.hooks", "false")
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    off = git("pull", "-q", cwd=clone.root)
    assert off.stderr == "" and (meta / "rca" / "hooks.last-error").exists()
    clone.git("config", "rca.hooks", "true")
    up.commit("More again", {"x.txt": "xx\n"})
    up.git("push", "-q", "origin", "main")
    on = git("pull", "-q", cwd=clone.root)  # switched on again, the error is shown once
    assert on.stderr.startswith("rca: background index failed: boom (see ") and on.stderr.count("\n") == 1
    assert not (meta / "rca" / "hooks.last-error").exists()

"""Mercurial repositories in shapes real users have: control characters in messages and user
names, a user's HGPLAINEXCEPT and aliases, a user's hooks on the commands rca runs."""

from __future__ import annotations

import pytest
from _hg import HgRepoBuilder, needs_hg

from rca_lsp.vcs.hg import HgRepo

pytestmark = needs_hg
pytest.importorskip("hglib")


@pytest.fixture
def hg_repo(tmp_path, monkeypatch) -> HgRepoBuilder:
    for name in ("HGPLAIN", "HGPLAINEXCEPT", "HGRCPATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HGRCPATH", "")  # no hgrc of the machine's user: each test writes its own
    return HgRepoBuilder(tmp_path / "repo")


def _logged(repo: HgRepo) -> dict:
    return {item.commit.hash: item for item in repo.log(repo.reachable())}


def test_control_characters_in_a_message_and_a_user_name_keep_each_commit_whole(hg_repo):
    """hg keeps \\x1e and \\x1f in a message and a user name: one of them ended the log header
    early, so the root commit lost its message's end and its added file (a \\x1e at a line's
    start began a record that swallowed the diff), and a name with \\x1f shifted the email,
    the dates and the message by a field."""
    root = hg_repo.commit(b"First\x1fhalf\n\x1esecond line\n", {"pkg/m.py": "def f():\n    return 1\n"})
    second = hg_repo.commit("Second", {"pkg/m.py": "def f():\n    return 2\n"}, author="Bo\x1fb")
    repo = HgRepo(hg_repo.root)
    try:
        found = _logged(repo)
        first = found[root]
        assert first.commit.message == "First\x1fhalf\n\x1esecond line"
        assert [(c.status, c.new_path) for c in first.changes] == [("A", "pkg/m.py")]
        other = found[second].commit
        assert (other.author, other.email) == ("Bo\x1fb", "bo\x1fb@example.com")
        assert other.author_date == other.commit_date == hg_repo.clock and other.message == "Second"
        shown = repo.show_commit(second)
        assert "Author:     Bo\x1fb <bo\x1fb@example.com>\n" in shown
        assert "AuthorDate: Sun Sep 13 14:26:40 2020 +0000\n" in shown and "\n    Second\n" in shown
    finally:
        repo.close()


def test_an_alias_let_through_by_hgplainexcept_does_not_reshape_the_answers(hg_repo, tmp_path, monkeypatch):
    """HGPLAIN (set by hglib) drops a user's aliases, but HGPLAINEXCEPT=alias keeps them: with
    `log = log -l 1` only the newest commit was reachable, and `log --graph` put graph characters
    where changeset hashes were read (`not a changeset hash: '@'`)."""
    shas = [hg_repo.commit(f"Change {i}", {"pkg/m.py": f"def f():\n    return {i}\n"}) for i in range(3)]
    rc = tmp_path / "user.rc"
    monkeypatch.setenv("HGRCPATH", str(rc))
    monkeypatch.setenv("HGPLAINEXCEPT", "alias")
    for alias in ("log = log -l 1", "log = log --graph"):
        rc.write_text(f"[alias]\n{alias}\n")
        repo = HgRepo(hg_repo.root)
        try:
            assert repo.reachable() == shas[::-1], alias
            assert list(_logged(repo)) == shas[::-1], alias
        finally:
            repo.close()


def test_the_users_hooks_on_read_commands_neither_garble_nor_abort_them(hg_repo, monkeypatch):
    """Run from the checkout, as `rca` is, a `pre-log` hook's output landed in the log read
    (`not a changeset hash: 'HELLO'`), and a failing `pre-status` hook aborted the work tree's
    status; hooks rca installs are kept."""
    monkeypatch.chdir(hg_repo.root)
    first = hg_repo.commit("Add", {"pkg/m.py": "def f():\n    return 1\n"})
    second = hg_repo.commit("Change", {"pkg/m.py": "def f():\n    return 2\n"})
    with open(hg_repo.root / ".hg" / "hgrc", "a") as hgrc:
        hgrc.write("[hooks]\npre-log = echo HELLO\npost-log.notify = echo BYE\npost-cat = echo CAT\n"
                   "pre-status = false\npost-pull.rca-lsp = echo kept\n")
    hg_repo.write("pkg/m.py", "def f():\n    return 3\n")
    repo = HgRepo(hg_repo.root)
    try:
        assert repo.reachable() == [second, first]
        assert [item.commit.hash for item in repo.log([second, first])] == [second, first]
        assert repo.cat(first, ["pkg/m.py"]) == {"pkg/m.py": b"def f():\n    return 1\n"}
        assert repo.modified_files() == ["pkg/m.py"]
        assert repo.config("hooks.post-pull.rca-lsp") == "echo kept"
    finally:
        repo.close()

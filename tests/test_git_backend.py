"""The git backend against real repositories: renames, merges, binaries, odd encodings, edges."""

from __future__ import annotations

import subprocess

import pytest

from rca_lsp.errors import RepositoryError, UnsafeRevisionError
from rca_lsp.vcs.diffparse import unquote_path
from rca_lsp.vcs.git import GitRepo


def _log(repo: GitRepo):
    return {lc.commit.hash: lc for lc in repo.log(reversed(repo.reachable()))}


def test_commits_files_and_zero_context_hunks(git_repo):
    first = git_repo.commit("Add a", {"a.txt": "1\n2\n3\n4\n5\n"})
    second = git_repo.commit("Edit a\n\nLonger body.", {"a.txt": "1\ntwo\n3\n4\n5\n6\n"}, author="Bob")
    repo = GitRepo(git_repo.root)
    logged = _log(repo)
    assert list(logged) == [first, second]
    c = logged[second].commit
    assert (c.author, c.email, c.parents, c.summary) == ("Bob", "bob@example.com", (first,), "Edit a")
    assert c.message == "Edit a\n\nLonger body."
    change, = logged[second].changes
    assert (change.status, change.old_path, change.new_path) == ("M", "a.txt", "a.txt")
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in change.hunks] == [(2, 1, 2, 1), (5, 0, 6, 1)]
    assert change.hunks[0].added.strip() == "two" and change.hunks[0].removed.strip() == "2"
    assert len(change.old_blob) == 40 and len(change.new_blob) == 40
    added, = logged[first].changes
    assert (added.status, added.old_path, added.old_blob) == ("A", None, None)


def test_rename_delete_and_binary(git_repo):
    body = "".join(f"line {i}\n" for i in range(40))
    git_repo.commit("Start", {"src/old.py": body, "gone.txt": "x\n", "img.bin": b"\x00\x01\x02" * 50})
    git_repo.git("mv", "src/old.py", "src/new.py")
    rename = git_repo.commit("Move", {"src/new.py": body + "extra\n", "img.bin": b"\x00\x09" * 70},
                             remove=["gone.txt"])
    repo = GitRepo(git_repo.root)
    changes = {c.path: c for c in _log(repo)[rename].changes}
    assert changes["src/new.py"].status == "R" and changes["src/new.py"].old_path == "src/old.py"
    assert changes["gone.txt"].status == "D" and changes["gone.txt"].new_path is None
    assert changes["img.bin"].binary and not changes["img.bin"].hunks


def test_non_utf8_message_and_path(git_repo):
    git_repo.commit("Start", {"plain.txt": "a\n"})
    odd = git_repo.root / "caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")
    odd.write_bytes(b"x\n")
    latin = git_repo.commit("R\xe9sum\xe9 des \xe9l\xe9ments".encode("latin-1"))
    repo = GitRepo(git_repo.root)
    logged = _log(repo)[latin]
    assert "R" in logged.commit.message and "sum" in logged.commit.message
    path, = [c.path for c in logged.changes]
    assert path.startswith("caf") and path.endswith(".txt")


def test_unquote_path():
    assert unquote_path(b'"caf\\303\\251 \\"x\\".txt"') == "café \"x\".txt".encode()
    assert unquote_path(b"plain.txt") == b"plain.txt"


def test_merges_have_no_hunks_of_their_own(git_repo):
    git_repo.commit("Base", {"a.txt": "1\n"})
    git_repo.git("checkout", "-q", "-b", "side")
    git_repo.commit("Side", {"b.txt": "2\n"})
    git_repo.git("checkout", "-q", "main")
    git_repo.commit("Main", {"c.txt": "3\n"})
    git_repo.git("merge", "-q", "--no-edit", "side")
    repo = GitRepo(git_repo.root)
    merge = repo.head()
    logged = _log(repo)
    assert len(logged) == 4 and len(logged[merge].commit.parents) == 2
    assert logged[merge].changes == ()


def test_empty_repository_and_not_a_repository(git_repo, tmp_path):
    repo = GitRepo(git_repo.root)
    assert repo.head() is None and repo.reachable() == [] and list(repo.log([])) == []
    with pytest.raises(RepositoryError, match="not a git or Mercurial repository"):
        GitRepo(tmp_path)


def test_detached_head_and_shallow_clone(git_repo, tmp_path):
    shas = [git_repo.commit(f"c{i}", {"f.txt": f"{i}\n"}) for i in range(5)]
    git_repo.git("checkout", "-q", "--detach", shas[2])
    repo = GitRepo(git_repo.root)
    assert repo.head() == shas[2] and repo.reachable() == shas[2::-1]
    git_repo.git("checkout", "-q", "main")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{git_repo.root}", str(clone)], check=True)
    shallow = GitRepo(clone)
    assert shallow.is_shallow() and len(shallow.reachable()) == 2


def test_revisions_that_look_like_options_are_refused(git_repo):
    git_repo.commit("Start", {"a.txt": "1\n"})
    repo = GitRepo(git_repo.root)
    for bad in ("--output=/tmp/x", "-n1", "HEAD; rm -rf /", "a b"):
        with pytest.raises(UnsafeRevisionError):
            repo.reachable(since=bad)
    with pytest.raises(RepositoryError, match="unknown revision"):
        repo.resolve("no-such-branch")


def test_worktree_changes_map_lines(git_repo):
    git_repo.commit("Start", {"a.txt": "".join(f"{i}\n" for i in range(1, 11))})
    git_repo.write("a.txt", "0\n" + "".join(f"{i}\n" for i in range(1, 11)))
    repo = GitRepo(git_repo.root)
    assert repo.worktree_changes(["a.txt"]) == {"a.txt": [(0, 0, 1, 1)]}
    assert repo.modified_files() == ["a.txt"]


def test_config_reads_repository_settings(git_repo):
    git_repo.commit("Start", {"a.txt": "1\n"})
    git_repo.git("config", "rca.blockPush", "true")
    repo = GitRepo(git_repo.root)
    assert repo.config("rca.blockpush") == "true" and repo.config("rca.nothing") is None


def test_replace_refs_are_not_followed_so_indexed_changes_never_go_stale(git_repo):
    """A `git replace --graft` added, indexed, then dropped: followed, it changed a commit's parent
    under the same hash, and the indexed changes of "add other" went on claiming f's line."""
    from conftest import ranked

    git_repo.commit("add m", {"m.py": "def f():\n    return 1\n\ndef g():\n    return 1\n"})
    change_f = git_repo.commit("change f", {"m.py": "def f():\n    return 2\n\ndef g():\n    return 1\n"})
    other = git_repo.commit("add other", {"other.py": "x = 1\n"})
    trace = 'Traceback (most recent call last):\n  File "m.py", line 2, in f\n    return 2\nValueError: boom\n'
    repo = GitRepo(str(git_repo.root))
    git_repo.git("replace", "--graft", other, f"{change_f}~1")  # "add other" grafted onto "add m"
    for step in ("with the replace ref", "after it is dropped"):
        if step.startswith("after"):
            git_repo.git("replace", "-d", other)
        result = ranked(repo, trace)
        top = result.suspects[0]
        assert top.commit.hash == change_f, (step, [(s.commit.summary, s.score) for s in result.suspects])
        assert result.candidates == 3
        shown = {s.commit.hash: [e.text for e in s.evidence] for s in result.suspects}
        assert not any("changed f" in text for text in shown.get(other, [])), (step, shown[other])

"""The `Backend` methods beyond indexing, on the same branchy history in real git and real hg:
both must answer alike, in the same shapes, so callers never ask which VCS they have.

    A - B ------- M - D        (main / default)
     \\           /
      C --------                (side), merged into main by M
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import GitRepoBuilder

from rca_lsp.errors import RepositoryError
from rca_lsp.vcs import open_repo
from rca_lsp.vcs.diffparse import worktree_hunks
from tests._hg import HgRepoBuilder

ZERO = "0" * 40


def _git_history(root: Path) -> tuple[GitRepoBuilder, dict[str, str]]:
    g = GitRepoBuilder(root)
    n = {"A": g.commit("A", {"main.txt": "a\n"}), "B": g.commit("B", {"main.txt": "a\nb\n"})}
    g.git("checkout", "-q", "-b", "side", n["A"])
    n["C"] = g.commit("C", {"side.txt": "side\n"})
    g.git("checkout", "-q", "main")
    g.clock += 3600
    g.git("merge", "-q", "--no-ff", "-m", "Merge side", "side")
    n["M"] = g.git("rev-parse", "HEAD").strip()
    n["D"] = g.commit("D", {"main.txt": "a\nb\nd\n"}, author="Dana")
    return g, n


def _hg_history(root: Path) -> tuple[HgRepoBuilder, dict[str, str]]:
    h = HgRepoBuilder(root)
    n = {"A": h.commit("A", {"main.txt": "a\n"}), "B": h.commit("B", {"main.txt": "a\nb\n"})}
    h.hg("update", "-q", n["A"])
    n["C"] = h.commit("C", {"side.txt": "side\n"})
    h.hg("update", "-q", n["B"])
    h.hg("merge", "-q", n["C"])
    n["M"] = h.commit("Merge side")
    n["D"] = h.commit("D", {"main.txt": "a\nb\nd\n"}, author="Dana")
    h.hg("phase", "--public", "-r", n["B"])  # as if B were pushed: A and B are public
    return h, n


@pytest.fixture(params=["git", "hg"])
def history(request, tmp_path):
    """(builder, backend, name -> hash) of the diagram above."""
    if request.param == "hg":
        pytest.importorskip("hglib")
        if shutil.which("hg") is None:
            pytest.skip("needs Mercurial")
        builder, names = _hg_history(tmp_path / "repo")
    else:
        builder, names = _git_history(tmp_path / "repo")
    repo = open_repo(builder.root)
    yield builder, repo, names
    repo.close()


def _named(names: dict[str, str]):
    by_hash = {h: name for name, h in names.items()}
    return lambda hashes: [by_hash[h] for h in hashes]


def test_range_parents_first_parents_and_ancestry(history):
    _, repo, n = history
    name = _named(n)
    graph = repo.range_parents(n["D"], [n["B"]])
    assert {name([node])[0]: tuple(name(parents)) for node, parents in graph} == \
        {"D": ("M",), "M": ("B", "C"), "C": ("A",)}
    order = name(node for node, _ in graph)
    assert order.index("D") < order.index("M") < order.index("C")  # newest first, parents after children
    whole = dict(repo.range_parents(n["D"], []))
    assert set(name(whole)) == {"A", "B", "C", "M", "D"} and whole[n["A"]] == ()
    assert repo.range_parents(n["D"], [n["D"]]) == []
    assert name(repo.first_parents(n["D"])) == ["D", "M", "B", "A"]
    assert repo.is_ancestor(n["C"], n["D"]) and repo.is_ancestor(n["D"], n["D"])
    assert not repo.is_ancestor(n["C"], n["B"]) and not repo.is_ancestor(n["D"], n["A"])
    with pytest.raises(RepositoryError):
        repo.range_parents("--output=/tmp/x", [])


def test_outgoing_is_what_a_push_would_send(history):
    builder, repo, n = history
    name = _named(n)
    if repo.kind == "git":  # pre-push gives (local, remote) pairs: here the remote has B
        assert sorted(name(repo.outgoing([(n["D"], n["B"])]))) == ["C", "D", "M"]
        assert repo.outgoing([(ZERO, n["B"])]) == set()  # a branch deletion sends nothing
        assert len(repo.outgoing([(n["D"], "1" * 40)])) == 5  # a remote commit we lack: no remote branches
        with pytest.raises(RepositoryError):
            repo.outgoing([("HEAD", n["B"])])
    else:  # hg: the draft ancestors of '.'; A and B are public
        assert sorted(name(repo.outgoing())) == ["C", "D", "M"]


def test_show_commit_has_header_message_stat_and_patch(history):
    _, repo, n = history
    text = repo.show_commit(n["C"])
    assert text.startswith(f"commit {n['C']}\n") and "Author:     Alice <alice@example.com>" in text
    assert "\n    C\n" in text and re.search(r"\n side\.txt \| +1 \+\n", text)
    assert "diff --git a/side.txt b/side.txt\n" in text and "\n+side\n" in text
    merge = repo.show_commit(n["M"])
    assert merge.startswith(f"commit {n['M']}\nMerge: {n['B'][:7]}") and "    Merge side" in merge
    assert "Dana" in repo.show_commit(n["D"])
    with pytest.raises(RepositoryError):
        repo.show_commit("-p")


def test_commit_diff_is_the_same_patch_on_both(history):
    _, repo, n = history
    assert worktree_hunks(repo.commit_diff(n["D"], context=0)) == {"main.txt": [(2, 0, 3, 1)]}
    assert worktree_hunks(repo.commit_diff(n["C"], context=0)) == {"side.txt": [(0, 0, 1, 1)]}
    three = repo.commit_diff(n["D"]).decode()
    assert "@@ -1,2 +1,3 @@" in three and "\n a\n b\n+d\n" in three


def test_hooks_dir_shallow_boundary_and_present_blobs(history):
    builder, repo, _ = history
    assert repo.hooks_dir() == (str(builder.root / ".git" / "hooks") if repo.kind == "git" else None)
    assert repo.shallow_boundary() == set()
    blobs = set(repo.head_blobs().values())
    assert len(blobs) == 2 and repo.present_blobs(blobs) == blobs


def test_shallow_boundary_of_a_shallow_git_clone(tmp_path):
    _, n = _git_history(tmp_path / "repo")
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{tmp_path / 'repo'}", str(tmp_path / "shallow")],
                   check=True)
    shallow = open_repo(tmp_path / "shallow")
    assert shallow.is_shallow() and shallow.shallow_boundary() == {n["B"], n["C"]}


def test_worktree_checks_out_elsewhere_and_leaves_the_work_tree_alone(history, tmp_path):
    builder, repo, n = history
    (builder.root / "notes.txt").write_text("mine\n")
    tree = repo.worktree()
    path = tmp_path / "elsewhere" / "checkout"
    path.parent.mkdir()
    tree.create(path, n["C"])
    assert (path / "side.txt").read_text() == "side\n" and (path / "main.txt").read_text() == "a\n"
    (path / "stray.txt").write_text("untracked\n")
    tree.switch(n["D"])
    assert (path / "main.txt").read_text() == "a\nb\nd\n" and not (path / "stray.txt").exists()
    tree.remove()
    assert repo.head() == n["D"] and (builder.root / "notes.txt").read_text() == "mine\n"
    assert set(repo.untracked_files()) == {"notes.txt"} and repo.modified_files() == []

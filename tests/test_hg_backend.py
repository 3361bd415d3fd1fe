"""The Mercurial backend against real repositories: renames, merges, binaries, odd encodings, edges."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rca_lsp.errors import RepositoryError, UnsafeRevisionError
from rca_lsp.vcs import open_repo
from tests._hg import HgRepoBuilder, needs_hg

pytestmark = [needs_hg, pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
pytest.importorskip("hglib")

from rca_lsp.vcs.hg import HgRepo  # noqa: E402


@pytest.fixture
def hg_repo(tmp_path) -> HgRepoBuilder:
    return HgRepoBuilder(tmp_path / "repo")


def _log(repo: HgRepo):
    return {lc.commit.hash: lc for lc in repo.log(reversed(repo.reachable()))}


def test_commits_files_and_zero_context_hunks(hg_repo):
    first = hg_repo.commit("Add a", {"a.txt": "1\n2\n3\n4\n5\n"})
    second = hg_repo.commit("Edit a\n\nLonger body.", {"a.txt": "1\ntwo\n3\n4\n5\n6\n"}, author="Bob")
    repo = open_repo(hg_repo.root)
    assert isinstance(repo, HgRepo) and repo.meta_dir.endswith(".hg")
    logged = _log(repo)
    assert list(logged) == [first, second]
    c = logged[second].commit
    assert (c.author, c.email, c.parents, c.summary) == ("Bob", "bob@example.com", (first,), "Edit a")
    assert c.message == "Edit a\n\nLonger body." and c.author_date == c.commit_date == 1_600_007_200
    change, = logged[second].changes
    assert (change.status, change.old_path, change.new_path) == ("M", "a.txt", "a.txt")
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in change.hunks] == [(2, 1, 2, 1), (5, 0, 6, 1)]
    assert change.hunks[0].added.strip() == "two" and change.hunks[0].removed.strip() == "2"
    added, = logged[first].changes
    assert (added.status, added.old_path, added.old_blob) == ("A", None, None)
    reader = repo.blob_reader()
    assert reader.get(change.old_blob) == b"1\n2\n3\n4\n5\n"
    assert reader.get(change.new_blob) == b"1\ntwo\n3\n4\n5\n6\n"
    assert logged[first].commit.parents == ()


def test_rename_copy_delete_and_binary(hg_repo):
    body = "".join(f"line {i}\n" for i in range(40))
    hg_repo.commit("Start", {"src/old.py": body, "gone.txt": "x\n", "img.bin": b"\x00\x01\x02" * 50})
    hg_repo.hg("mv", "-q", "src/old.py", "src/new.py")
    rename = hg_repo.commit("Move", {"src/new.py": body + "extra\n", "img.bin": b"\x00\x09" * 70},
                           remove=["gone.txt"])
    hg_repo.hg("cp", "-q", "src/new.py", "src/copy.py")
    copy = hg_repo.commit("Copy")
    repo = HgRepo(hg_repo.root)
    logged = _log(repo)
    changes = {c.path: c for c in logged[rename].changes}
    copied, = logged[copy].changes
    moved = changes["src/new.py"]
    assert moved.status == "R" and moved.old_path == "src/old.py"
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in moved.hunks] == [(40, 0, 41, 1)]
    assert (copied.status, copied.old_path, copied.new_path, copied.hunks) == ("C", "src/new.py", "src/copy.py", ())
    assert changes["gone.txt"].status == "D" and changes["gone.txt"].new_path is None
    assert changes["img.bin"].binary and not changes["img.bin"].hunks
    assert repo.blob_reader().get(moved.new_blob) == (body + "extra\n").encode()
    head = repo.head_blobs()
    assert set(head) == {"src/new.py", "src/copy.py", "img.bin"}
    # A renamed file's stored revision starts with copy metadata; the reader strips it.
    assert repo.blob_reader().get(head["src/new.py"]) == (body + "extra\n").encode()


def test_head_blob_ids_are_stable_while_a_file_is_unchanged(hg_repo):
    hg_repo.commit("Start", {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    before = HgRepo(hg_repo.root).head_blobs()
    hg_repo.commit("Edit b", {"b.py": "y = 3\n"})
    after = HgRepo(hg_repo.root).head_blobs()
    assert before["a.py"] == after["a.py"] and before["b.py"] != after["b.py"]


def test_non_utf8_message_and_path(hg_repo):
    hg_repo.commit("Start", {"plain.txt": "a\n"})
    odd = hg_repo.root / "caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")
    odd.write_bytes(b"x\n\xff\n")
    latin = hg_repo.commit("R\xe9sum\xe9 des \xe9l\xe9ments".encode("latin-1"), env={"HGENCODING": "latin-1"})
    repo = HgRepo(hg_repo.root)
    logged = _log(repo)[latin]
    assert logged.commit.message == "Résumé des éléments"  # hg stored it as UTF-8
    change, = logged.changes
    assert change.path.startswith("caf") and change.path.endswith(".txt")
    assert repo.blob_reader().get(change.new_blob) == b"x\n\xff\n"


def test_merges_have_no_hunks_of_their_own(hg_repo):
    base = hg_repo.commit("Base", {"a.txt": "1\n"})
    hg_repo.commit("Main", {"c.txt": "3\n"})
    hg_repo.hg("update", "-q", base)
    hg_repo.commit("Side", {"b.txt": "2\n"})
    hg_repo.hg("merge", "-q")
    merge = hg_repo.commit("Merge")
    repo = HgRepo(hg_repo.root)
    assert repo.head() == merge
    logged = _log(repo)
    assert len(logged) == 4 and len(logged[merge].commit.parents) == 2
    assert logged[merge].changes == ()
    assert repo.reachable()[0] == merge and repo.reachable()[-1] == base


def test_empty_repository_and_not_a_repository(hg_repo, tmp_path):
    repo = HgRepo(hg_repo.root)
    assert repo.head() is None and repo.reachable() == [] and list(repo.log([])) == []
    assert repo.head_blobs() == {} and repo.tracked_files() == []
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(RepositoryError, match="not inside a Mercurial work tree"):
        HgRepo(outside)


def test_revisions_are_validated_and_head_is_understood(hg_repo):
    shas = [hg_repo.commit(f"c{i}", {"f.txt": f"{i}\n"}) for i in range(4)]
    repo = HgRepo(hg_repo.root)
    for bad in ("--output=/tmp/x", "-n1", "HEAD; rm -rf /", "a b", "all()"):
        with pytest.raises(UnsafeRevisionError):
            repo.reachable(since=bad)
    with pytest.raises(RepositoryError, match="unknown revision"):
        repo.resolve("no-such-bookmark")
    with pytest.raises(RepositoryError, match="unknown revision"):
        repo.resolve("0:2")  # names several changesets
    assert repo.resolve("HEAD~2") == shas[1] and repo.resolve(".") == shas[3]
    assert repo.reachable(since=shas[1]) == [shas[3], shas[2]]
    hg_repo.hg("update", "-q", shas[2])
    assert HgRepo(hg_repo.root).reachable() == shas[2::-1]


def test_worktree_changes_status_and_subdirectory(hg_repo):
    hg_repo.commit("Start", {"sub/a.txt": "".join(f"{i}\n" for i in range(1, 11)), "b.txt": "b\n"})
    hg_repo.write("sub/a.txt", "0\n" + "".join(f"{i}\n" for i in range(1, 11)))
    hg_repo.write("new.txt", "n\n")
    repo = open_repo(hg_repo.root / "sub")  # found from a subfolder; paths stay root-relative
    assert repo.root == str(hg_repo.root)
    assert repo.worktree_changes(["sub/a.txt"]) == {"sub/a.txt": [(0, 0, 1, 1)]}
    assert repo.modified_files() == ["sub/a.txt"] and repo.untracked_files() == ["new.txt"]
    assert sorted(repo.tracked_files()) == ["b.txt", "sub/a.txt"]


def test_index_and_suspects_end_to_end(hg_repo, tmp_path):
    from tests.test_cli import CALC, CALC_BROKEN, TEST, TRACE

    shas = {"calc": hg_repo.commit("Add Calc", {"src/main/java/org/example/Calc.java": CALC}, author="Alice")}
    shas["readme"] = hg_repo.commit("Add README", {"README.md": "calc\n"}, author="Bob")
    shas["culprit"] = hg_repo.commit("Simplify parse", {"src/main/java/org/example/Calc.java": CALC_BROKEN},
                                     author="Carol")
    shas["docs"] = hg_repo.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    hg_repo.write("src/test/java/org/example/CalcTest.java", TEST)
    (tmp_path / "crash.txt").write_text(TRACE)

    def rca(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=hg_repo.root,
                              capture_output=True, text=True, timeout=120)

    index = rca("index")
    assert index.returncode == 0 and "indexed 4 new commit(s)" in index.stderr, index.stderr
    assert (hg_repo.root / ".hg" / "rca" / "index.db").is_file()
    assert hg_repo.hg("status") == "? src/test/java/org/example/CalcTest.java\n"  # nothing of rca's in the tree
    proc = rca("suspects", "--trace", str(tmp_path / "crash.txt"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["candidates"] == 4
    top = {s["commit"]: s for s in doc["suspects"][:2]}
    assert set(top) == {shas["culprit"], shas["calc"]}
    texts = [e["text"] for e in top[shas["culprit"]]["evidence"]]
    assert "changed Calc.parse, frame 3 of the trace, at line 5" in texts
    creator = [e["text"] for e in top[shas["calc"]]["evidence"]]
    assert "changed Calc.twice (3 lines), which the failing test CalcTest.testTwice calls" in creator
    since = rca("suspects", "--trace", str(tmp_path / "crash.txt"), "--since", shas["culprit"], "--format", "json")
    assert json.loads(since.stdout)["candidates"] == 1


def test_whole_file_diffs_give_hg_own_zero_context_hunks_and_contents(hg_repo):
    """The hunks read from whole-file diffs equal hg's own `-U0` ones; the versions equal `hg cat`."""
    import io
    import random

    from rca_lsp.vcs.git import _parse_log

    rng = random.Random(7)
    lines = [f"def f{i}():\n    return {i}\n" for i in range(30)]
    hg_repo.commit("Start", {"m.py": "".join(lines)})
    for step in range(12):
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(lines) + 1)
            op = rng.choice(["add", "del", "edit"])
            if op == "add" or not lines:
                lines.insert(at, f"x{step} = {at}\n")
            elif op == "del":
                del lines[min(at, len(lines) - 1)]
            else:
                lines[min(at, len(lines) - 1)] = f"y{step} = {at}\n"
        text = "".join(lines)
        hg_repo.commit(f"Step {step}", {"m.py": text.rstrip("\n") if step % 4 == 3 else text})
    repo = HgRepo(hg_repo.root)
    nodes = list(reversed(repo.reachable()))
    ours = {lc.commit.hash: lc for lc in repo.log(nodes)}
    from rca_lsp.vcs.hg import WHOLE_FILE, _TEMPLATE
    from rca_lsp.vcs.hgdiff import parse

    own = repo.run("log", "-p", "--git", "--config", "diff.unified=0", "-T", _TEMPLATE,
                   *[a for n in nodes for a in ("-r", n)])
    versions = {}
    whole = repo.run("log", "-p", "--git", "--config", f"diff.unified={WHOLE_FILE}", "-T", _TEMPLATE,
                     *[a for n in nodes for a in ("-r", n)])
    for _ in parse(whole.splitlines(True), lambda c, ch, old, new: versions.__setitem__(c.hash, (old, new))):
        pass
    for theirs in _parse_log(io.BytesIO(own)):
        mine = ours[theirs.commit.hash]
        for a, b in zip(mine.changes, theirs.changes, strict=True):
            assert [(h.old_start, h.old_len, h.new_start, h.new_len, h.added, h.removed) for h in a.hunks] == \
                   [(h.old_start, h.old_len, h.new_start, h.new_len, h.added, h.removed) for h in b.hunks]
        old, new = versions[theirs.commit.hash]
        assert new == repo.run("cat", "-r", theirs.commit.hash, "path:m.py")
        if mine.commit.parents:
            assert old == repo.run("cat", "-r", mine.commit.parents[0], "path:m.py")


def test_config_reads_hgrc_and_open_repo_prefers_the_nearest_checkout(hg_repo, tmp_path):
    hg_repo.commit("Start", {"a.txt": "1\n"})
    with open(hg_repo.root / ".hg" / "hgrc", "a") as fh:
        fh.write("[rca]\nblock-push = true\n")
    repo = HgRepo(hg_repo.root)
    assert repo.config("rca.block-push") == "true" and repo.config("rca.nothing") is None
    nested = hg_repo.root / "vendor" / "lib"
    nested.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(nested)], check=True)
    assert open_repo(nested).kind == "git" and open_repo(hg_repo.root / "vendor").kind == "hg"


def test_a_version_seen_before_keeps_its_first_id_and_reading_ahead_stops_cleanly(hg_repo, monkeypatch):
    """A file's old version is named like the commit that made it (one parse, not two); the
    batches read ahead by a thread come in order, a failure there is raised, and closing stops it."""
    import threading

    import rca_lsp.vcs.hg as hg_module

    monkeypatch.setattr(hg_module, "LOG_BATCH", 2)
    first = hg_repo.commit("Add", {"m.py": "def f():\n    return 1\n"})
    hg_repo.commit("Other", {"o.py": "x = 1\n"})
    third = hg_repo.commit("Change", {"m.py": "def f():\n    return 2\n", "o.py": "x = 2\n"})
    hg_repo.commit("Again", {"o.py": "x = 3\n"})
    hg_repo.commit("Last", {"m.py": "def f():\n    return 3\n"})
    repo = HgRepo(hg_repo.root)
    order = list(reversed(repo.reachable()))
    assert [lc.commit.hash for lc in repo.log(order)] == order
    logged = _log(repo)
    change = next(c for c in logged[third].changes if c.path == "m.py")
    assert change.old_blob == f"{first}:m.py" and change.new_blob == f"{third}:m.py"
    reader = repo.blob_reader()
    assert reader.get(change.old_blob) == b"def f():\n    return 1\n"
    assert reader.get(change.new_blob) == b"def f():\n    return 2\n"
    with pytest.raises(RepositoryError):
        list(repo.log([*order, "f" * 40]))
    partial = repo.log(order)
    next(partial)
    partial.close()
    assert not any(t.name == "rca-hg-log" for t in threading.enumerate())
    assert repo.head() == order[-1]


def test_no_newline_markers_after_context_removed_and_added_lines(hg_repo):
    """Every place hg puts "\\ No newline at end of file" gives hg's own -U0 hunks and `hg cat` versions."""
    import io

    from rca_lsp.vcs.git import _parse_log
    from rca_lsp.vcs.hg import _TEMPLATE

    for step, text in enumerate(["a\nb", "a2\nb", "a2\nb\n", "a2\nb\nc", "x\n"]):
        hg_repo.commit(f"Step {step}", {"m.py": text})
    repo = HgRepo(hg_repo.root)
    nodes = list(reversed(repo.reachable()))
    ours = _log(repo)
    own = repo.run("log", "-p", "--git", "--config", "diff.unified=0", "-T", _TEMPLATE,
                   *[a for n in nodes for a in ("-r", n)])
    for theirs in _parse_log(io.BytesIO(own)):
        mine = ours[theirs.commit.hash]
        assert [(h.old_start, h.old_len, h.new_start, h.new_len, h.added, h.removed) for c in mine.changes
                for h in c.hunks] == [(h.old_start, h.old_len, h.new_start, h.new_len, h.added, h.removed)
                                      for c in theirs.changes for h in c.hunks]
    reader = repo.blob_reader()
    for node in nodes[1:]:
        change = ours[node].changes[0]
        assert reader.get(change.new_blob) == repo.run("cat", "-r", node, "path:m.py")
        assert reader.get(change.old_blob) == repo.run("cat", "-r", ours[node].commit.parents[0], "path:m.py")

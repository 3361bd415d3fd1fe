"""Edges of the day's features met as a user meets them, with real git and the real `rca serve`:

- a trace naming a git file whose name is not UTF-8 (`caf\\xe9.py`), in the editor: the server
  made each URI with pygls's `from_fs_path`, which encodes the path as strict UTF-8, so the
  lone surrogate that keeps the byte (`caf\\udce9.py`) raised UnicodeEncodeError: `rca.suspects`
  answered an internal error, and the trace's document links were lost with it. The editor's
  URI of that file (`caf%E9.py`) was read back as `caf\ufffd.py` (pygls's `to_fs_path`), so the
  file got no code lens or hover.
- frames in a git submodule that is not checked out here (a clone made without
  `--recurse-submodules`, the trace from CI): the submodule has no files here to tell its frames
  by, so they went to the superproject's file of the same tail (`src/util.py`), crediting its
  commits with frames that are not its own, and no hint said where to rank them.
- the editor opened on a linked worktree (`git worktree add`) of an indexed repository asked to
  index it "once" from the start, and with "Not now" found no suspects at all, although its
  index begins as a copy of the main checkout's and only the commits between the two HEADs are
  read (as `rca suspects` in the worktree does without asking).
- hooks in a repository whose folder's name is not UTF-8 (`/home/x/caf\xe9/repo`): a hook's
  message naming a path was written to hooks.log as strict UTF-8, so the lone surrogate raised
  UnicodeEncodeError, and the user saw that instead of what went wrong (here, open failures that
  could not be checked).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from lsp_helpers import command, open_doc, session, until
from lsprotocol import types as lsp
from conftest import GitRepoBuilder
from test_cli import _history
from test_hooks import git, rca
from test_edges_paths_s34 import CAFE_NAME, cafe, run_python, suspects, superproject  # noqa: F401 - fixtures
from test_lsp_server import _index

asyncio_test = pytest.mark.asyncio(loop_scope="function")


# -- 1. a non-UTF-8 file name in the editor -------------------------------------------------------

def _cafe_trace(root) -> str:
    trace = run_python(root, "-c", "import os, runpy; runpy.run_path(os.fsdecode(b'caf\\xe9.py'))['g']()")
    assert 'caf\\udce9.py", line 2, in f' in trace
    return trace


@asyncio_test
async def test_the_editor_ranks_a_trace_naming_a_non_utf8_file_and_points_at_its_bytes(cafe):
    """The answer, the diagnostics and the locations name the file by its bytes (`caf%E9.py`, as
    `Path.as_uri` and every editor spell it), not an internal error."""
    repo, culprit = cafe
    _index(repo.root)
    (repo.root / "crash.log").write_text(_cafe_trace(repo.root))
    cafe_uri = (repo.root / CAFE_NAME).as_uri()
    assert cafe_uri.endswith("/caf%E9.py")
    async with session([repo.root]) as (client, _):
        found = await command(client, "rca.suspects", {"uri": open_doc(client, repo.root / "crash.log")})
        assert "error" not in found, found
        assert found["suspects"][0]["commit"] == culprit
        assert found["suspects"][0]["location"]["uri"] == cafe_uri
        assert {f["uri"] for f in found["frames"]} == {cafe_uri}
        await until(lambda: cafe_uri in client.diagnostics)
        assert sorted(d.range.start.line for d in client.diagnostics[cafe_uri]) == [1, 5]

        # the editor opens the file by that URI: its code lenses are there
        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(cafe_uri)))
        assert 1 in {lens.range.start.line for lens in lenses}, lenses


@asyncio_test
async def test_a_trace_naming_a_non_utf8_file_links_to_it(cafe):
    repo, _ = cafe
    (repo.root / "crash.log").write_text(_cafe_trace(repo.root))
    async with session([repo.root]) as (client, _):
        trace_uri = open_doc(client, repo.root / "crash.log")
        links = await client.text_document_document_link_async(
            lsp.DocumentLinkParams(lsp.TextDocumentIdentifier(trace_uri)))
        cafe_uri = (repo.root / CAFE_NAME).as_uri()
        assert sorted(link.target for link in links) == [f"{cafe_uri}#L2", f"{cafe_uri}#L6"], links


# -- 2. frames in a submodule that is not checked out ---------------------------------------------

def _clone_without_submodules(top, where):
    subprocess.run(["git", "clone", "-q", str(top.root), str(where)], check=True)
    listed = subprocess.run(["git", "submodule", "status"], cwd=where, capture_output=True, text=True, check=True)
    assert listed.stdout.startswith("-"), listed.stdout  # not initialised: nothing of it here
    assert not any((where / "libs/sub").iterdir())
    return where


def test_frames_in_a_submodule_not_checked_out_stay_out_of_the_superproject(superproject, tmp_path):
    """The trace (run where the submodule was checked out, as on CI) ranked in a clone that never
    ran `git submodule update --init`: its frames in libs/sub/pkg/mod.py are not the clone's own
    pkg/mod.py, and the hint says where to rank them, as in a checkout with the submodule."""
    clone = _clone_without_submodules(superproject["top"], tmp_path / "clone")
    doc = suspects(clone, superproject["trace"])
    assert not any(e.get("path") == "pkg/mod.py" for s in doc["suspects"] for e in s["evidence"]), doc
    assert [h for h in doc["hints"] if "submodule libs/sub" in h], doc["hints"]
    # run.py, the superproject's own frame, is still its own
    assert any(e.get("path") == "run.py" and e["kind"] == "frame-line" for s in doc["suspects"] for e in s["evidence"])


def test_a_root_whose_path_names_the_submodule_folder_keeps_its_own_frames(superproject, tmp_path):
    """Guard: a CI root under a folder spelt as the submodule's (`/srv/libs/sub/top`) is not the
    submodule: the superproject's pkg/mod.py frame there is still the superproject's."""
    clone = _clone_without_submodules(superproject["top"], tmp_path / "clone")
    trace = ("Traceback (most recent call last):\n"
             '  File "/srv/libs/sub/top/run.py", line 5, in <module>\n    g(1)\n'
             '  File "/srv/libs/sub/top/pkg/mod.py", line 2, in f\n    return x + 2\n'
             "NameError: name 'y' is not defined\n")
    doc = suspects(clone, trace)
    assert any(e.get("path") == "pkg/mod.py" and e["kind"] == "frame-line" for s in doc["suspects"]
               for e in s["evidence"]), doc
    assert not [h for h in doc["hints"] if "submodule" in h], doc["hints"]


# -- 3. the editor on a linked worktree -----------------------------------------------------------------

@asyncio_test
async def test_the_editor_on_a_linked_worktree_of_an_indexed_repository_ranks_without_asking(git_repo, tmp_path):
    shas = _history(git_repo)
    _index(git_repo.root)
    linked = tmp_path / "linked"
    git_repo.git("worktree", "add", "-q", "-b", "side", str(linked))
    (linked / "crash.txt").write_text((git_repo.root / "crash.txt").read_text())  # the trace, not committed
    async with session([linked], answer="Not now") as (client, offers):
        found = await command(client, "rca.suspects", {"uri": open_doc(client, linked / "crash.txt")})
        assert "error" not in found, found
        assert not offers, [o.message for o in offers]
        assert [s["commit"] for s in found["suspects"][:2]] == [shas["calc"], shas["culprit"]]
        assert found["root"] == str(linked)
    own = git_repo.root / ".git/worktrees/linked/rca/index.db"
    assert own.exists()  # its own, not the main checkout's


# -- 4. hooks in a folder whose name is not UTF-8 ---------------------------------------------------------

def test_a_hook_in_a_non_utf8_folder_says_what_went_wrong(tmp_path):
    repo = GitRepoBuilder(tmp_path / os.fsdecode(b"caf\xe9") / "repo")
    repo.commit("One", {"pkg/mod.py": "def f(x):\n    return x + 1\n"})
    assert rca("hooks", "install", cwd=repo.root).returncode == 0
    trace = 'Traceback (most recent call last):\n  File "pkg/mod.py", line 2, in f\n    return x + 1\nTypeError: boom\n'
    assert rca("failures", "add", cwd=repo.root, input=trace).returncode == 0
    (repo.root / ".git/rca/failures.db").write_bytes(b"not a database, torn by a crash")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("Two", {"other.py": "x = 1\n"})
    repo.git("checkout", "-q", "main")
    merge = git("merge", "-q", "side", cwd=repo.root)
    assert "UnicodeEncodeError" not in merge.stderr, merge.stderr
    assert "open failures not checked" in merge.stderr, merge.stderr
    log = (repo.root / ".git/rca/hooks.log").read_text(encoding="utf-8")
    assert "post-merge: open failures not checked" in log and "caf\\udce9" in log, log

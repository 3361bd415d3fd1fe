"""HEAD moved after the suspects were shown (a commit, a branch switch, a reset; an `hg commit`):
the lenses, diagnostics and hovers went on naming the suspects ranked before, some of them commits
no longer in the history, until the user ranked again. Now the server reads HEAD from the VCS's own
files while suspects are shown (`rca_lsp.lsp.heads`): what is shown says it was ranked before HEAD
moved, a lens ranks the same failure again, and HEAD moved back makes it current again. With the
real server over stdio, the real git and hg, and a real Neovim.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _hg import HgRepoBuilder, needs_hg
from conftest import GitRepoBuilder
from lsp_helpers import command, open_doc, session, until
from lsprotocol import types as lsp
from test_edges_editor_s36 import NUMBER, NUMBER_PY, SOURCE, SUSPECTS, TESTS, humble, pytest_output  # noqa: F401
from test_lsp_nvim import _run, needs_nvim

from rca_lsp.lsp import heads

asyncio_test = pytest.mark.asyncio(loop_scope="function")
MOVED = "ranked before HEAD moved"
TEST_PY = "tests/test_number.py"


# -- reading HEAD from the files ---------------------------------------------------------------
def test_git_head_read_from_loose_packed_and_detached_refs(git_repo):
    first = git_repo.commit("one", {"a.txt": "1\n"})
    git_dir = str(git_repo.root / ".git")
    assert heads.git_head(git_dir, git_dir) == first
    git_repo.git("pack-refs", "--all")
    assert heads.git_head(git_dir, git_dir) == first  # from packed-refs
    second = git_repo.commit("two", {"a.txt": "2\n"})
    assert heads.git_head(git_dir, git_dir) == second  # a loose ref again, newer than packed-refs
    git_repo.git("checkout", "-q", "--detach", first)
    assert heads.git_head(git_dir, git_dir) == first


def test_git_head_of_a_linked_worktree_and_an_unborn_branch(git_repo, tmp_path):
    first = git_repo.commit("one", {"a.txt": "1\n"})
    second = git_repo.commit("two", {"a.txt": "2\n"})
    git_repo.git("worktree", "add", "-q", "-b", "side", str(tmp_path / "side"), first)
    common = str(git_repo.root / ".git")
    own = str(git_repo.root / ".git" / "worktrees" / "side")
    assert heads.git_head(own, common) == first
    assert heads.git_head(common, common) == second
    git_repo.git("checkout", "-q", "--orphan", "fresh")
    assert heads.git_head(common, common) == heads.NULL_NODE


def test_git_head_the_files_cannot_tell_asks_the_backend_at_most_once_an_interval(git_repo, monkeypatch):
    from rca_lsp.vcs import open_repo

    head = git_repo.commit("one", {"a.txt": "1\n"})
    (git_repo.root / ".git" / "HEAD").write_text("ref: refs/heads/.invalid\n")  # as a reftable repository has
    (git_repo.root / ".git" / "reftable").mkdir()
    repo = open_repo(str(git_repo.root))
    assert heads.read_head(repo) is None
    asked = []
    monkeypatch.setattr(repo, "head", lambda: asked.append(1) or head)
    watch = heads.Watch()
    watch.watch(repo.root, repo)
    assert [watch.current(repo.root) for _ in range(5)] == [head, None, None, None, None]
    assert len(asked) == 1


@needs_hg
def test_hg_head_read_from_the_dirstate(tmp_path):
    repo = HgRepoBuilder(tmp_path / "hg")
    assert heads.hg_head(str(repo.root / ".hg")) == heads.NULL_NODE
    repo.commit("one", {"a.txt": "1\n"})
    second = repo.commit("two", {"a.txt": "2\n"})
    assert heads.hg_head(str(repo.root / ".hg")) == second
    repo.hg("update", "-q", "-r", "0")
    assert heads.hg_head(str(repo.root / ".hg")) == repo.hg("log", "-r", ".", "-T", "{node}")


# -- the real server -----------------------------------------------------------------------------
def _stale(client, uri: str) -> bool:
    return any(d.message.startswith(MOVED) for d in client.diagnostics.get(uri, []))


def _fresh(client, uri: str) -> bool:
    found = client.diagnostics.get(uri, [])
    return bool(found) and not any(MOVED in d.message for d in found)


@asyncio_test
async def test_a_commit_marks_what_is_shown_stale_and_the_lens_ranks_again(humble, tmp_path):
    repo, _ = humble
    trace = pytest_output(repo, tmp_path / "out.txt")
    source = (repo.root / TEST_PY).as_uri()  # pytest's short trace names the test's line
    async with session([repo.root]) as (client, _):
        found = await command(client, "rca.suspects", {"uri": open_doc(client, trace)})
        assert found.get("suspects"), found
        await until(lambda: _fresh(client, source))
        fix = repo.commit("Fix intword", {NUMBER_PY: NUMBER})  # HEAD moves
        await until(lambda: _stale(client, source))
        message = next(d.message for d in client.diagnostics[source] if MOVED in d.message)
        assert f"({repo.git('rev-parse', 'HEAD~1').strip()[:7]} → {fix[:7]})" in message, message
        assert "find suspects again" in message, message
        await until(lambda: any(MOVED in m.message for m in client.messages))  # sent after the diagnostics
        assert any(MOVED in m.message for m in client.messages), [m.message for m in client.messages]
        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(source)))
        again = lenses[0].command
        assert again.title.startswith(MOVED) and again.title.endswith(": rank again"), again
        assert lenses[1].command.command == "rca.showCommit", lenses[1]
        line = lenses[0].range.start.line
        hover = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(source), lsp.Position(line, 4)))
        assert "Ranked before HEAD moved" in hover.contents.value, hover.contents.value
        ranked = await command(client, again.command, *again.arguments)
        assert "error" not in ranked, ranked
        await until(lambda: _fresh(client, source))
        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(source)))
        assert not any(MOVED in lens.command.title for lens in lenses), lenses


@asyncio_test
async def test_a_branch_switch_and_back(humble, tmp_path):
    """Checked out an older branch: stale; back where it was ranked: current again, nothing to do."""
    repo, _ = humble
    trace = pytest_output(repo, tmp_path / "out.txt")
    source = (repo.root / TEST_PY).as_uri()
    branch = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    async with session([repo.root]) as (client, _):
        await command(client, "rca.suspects", {"uri": open_doc(client, trace)})
        await until(lambda: _fresh(client, source))
        repo.git("checkout", "-q", "-b", "old", "HEAD~2")
        await until(lambda: _stale(client, source))
        repo.git("checkout", "-q", branch)
        await until(lambda: _fresh(client, source))


@needs_hg
@asyncio_test
async def test_an_hg_commit_marks_what_is_shown_stale(tmp_path):
    repo = HgRepoBuilder(tmp_path / "humble")
    repo.commit("Add intword and ordinal", {"src/humble/__init__.py": "", NUMBER_PY: NUMBER,
                                            "tests/test_number.py": TESTS})
    repo.commit("Speed up intword with integer division", {NUMBER_PY: NUMBER.replace("value / 1000", "value // 1000")})
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(repo.root), "-q"], check=True)
    trace = ("Traceback (most recent call last):\n"
             f'  File "{repo.root}/{NUMBER_PY}", line 8, in intword\n    chopped = value // 1000\n'
             "AssertionError: 1.0 thousand\n")
    source = (repo.root / NUMBER_PY).as_uri()
    async with session([repo.root]) as (client, _):
        found = await command(client, "rca.suspects", {"text": trace})
        assert found.get("suspects"), found
        await until(lambda: _fresh(client, source))
        repo.commit("Docs", {"README.md": "humble\n"})
        await until(lambda: _stale(client, source))


# -- a real Neovim ---------------------------------------------------------------------------------
@needs_nvim
def test_neovim_shows_the_stale_lens_and_runs_it(humble, tmp_path):
    """A commit made from Neovim's own shell after `:Rca suspects`: the lens on the frame line says
    the ranking is from before HEAD moved; running that lens ranks again, and the quickfix list and
    lens are current."""
    repo, _ = humble
    trace = pytest_output(repo, tmp_path / "out.txt")
    script = SUSPECTS + SOURCE.replace(f"/{NUMBER_PY}", f"/{TEST_PY}") + r"""
local function first_lens()
  local s = state()
  return s.lenses[1] and s.lenses[1].title or ''
end
wait('lens', 20000, function() return first_lens():find('suspect #', 1, true) ~= nil end)
out.before = first_lens()
out.commit = vim.fn.system({ 'git', '-C', vim.env.RCA_TEST_REPO, '-c', 'user.name=Dana', '-c', 'user.email=dana@example.com', 'commit', '-q', '--allow-empty', '-m', 'Later' })
wait('stale lens', 20000, function() out.now = state(); return vim.startswith(first_lens(), 'ranked before HEAD moved') end)
out.stale = state()
vim.api.nvim_win_set_cursor(0, { out.stale.lenses[1].line, 0 })
vim.ui.select = function(items, _, on_choice) -- two lenses on the line: the user picks the first
  out.choices = vim.tbl_map(function(item) return item.lens and item.lens.command.title or item.command.title end, items)
  on_choice(items[1], 1)
end
vim.lsp.codelens.run()
wait('ranked again', 30000, function()
  local t = first_lens()
  return t:find('suspect #', 1, true) ~= nil and not vim.startswith(t, 'ranked before')
end)
out.after = state()
out.qf_title = vim.fn.getqflist({ title = 0 }).title
out.qf = #vim.fn.getqflist()
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""
    result = _run(script, tmp_path, repo.root, env={"RCA_TEST_TRACE": str(trace)})
    stale = result["stale"]
    assert stale["lenses"][0]["title"].endswith(": rank again"), stale
    assert any(MOVED in d["message"] for d in stale["diagnostics"]), stale["diagnostics"]
    assert not any(MOVED in d["message"] for d in result["after"]["diagnostics"]), result["after"]
    assert result["qf"] > 0, result


# -- what VS Code showed on python-humanize -----------------------------------------------------------
def test_a_line_many_failures_pass_is_named_once_with_their_count():
    """pytest's 17 failures of one parametrized test end on the same test line: the diagnostic read
    `[frame 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 of the trace]`."""
    from rca_lsp.lsp.convert import frame_numbers
    from rca_lsp.lsp.findings import Marker
    from rca_lsp.types import Frame

    frame = Frame(0, "tests/test_number.py:141: AssertionError", "tests/test_number.py", 141, path="tests/test_number.py")
    assert frame_numbers(Marker("tests/test_number.py", 141, (frame,) * 17, None, (), False)) == \
        "frame 1 of the trace, 17 times"
    other = Frame(2, "x", "tests/test_number.py", 141, path="tests/test_number.py")
    assert frame_numbers(Marker("tests/test_number.py", 141, (frame, other), None, (), False)) == \
        "frame 1, 3 of the trace"

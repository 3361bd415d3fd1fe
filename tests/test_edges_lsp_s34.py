"""`rca serve` as an editor meets it, over stdio: a workspace opened through a symlink (the editor
knows only the symlinked path), and `exit` with and without `shutdown` before it (the spec's exit codes)."""

from __future__ import annotations

import subprocess

import pytest
from conftest import GitRepoBuilder
from lsp_helpers import SERVER, command, open_doc, session, until
from lsprotocol import types as lsp
from test_cli import _history
from test_edges_lsp_s33 import _message, _messages
from test_edges_paths_s34 import superproject  # noqa: F401 - a fixture
from test_lsp_server import _index

asyncio_test = pytest.mark.asyncio(loop_scope="function")
CALC = "src/main/java/org/example/Calc.java"


@pytest.fixture
def linked(tmp_path):
    """The calc history indexed in tmp/real/repo, opened by the editor as tmp/link (a symlink to it)."""
    repo = GitRepoBuilder(tmp_path / "real" / "repo")
    _history(repo)
    _index(repo.root)
    link = tmp_path / "link"
    link.symlink_to(repo.root, target_is_directory=True)
    return repo.root, link


@asyncio_test
async def test_a_workspace_opened_through_a_symlink_gets_diagnostics_on_the_paths_it_opened(linked):
    """git names the resolved root (tmp/real/repo): the diagnostics were published there, on paths
    the editor never opened, so it showed none of them."""
    _, link = linked
    async with session([link]) as (client, _):
        calc_uri = (link / CALC).as_uri()
        test_uri = (link / "src/test/java/org/example/CalcTest.java").as_uri()
        found = await command(client, "rca.suspects", {"uri": open_doc(client, link / "crash.txt")})
        assert "error" not in found, found
        await until(lambda: len(client.diagnostics) >= 2)
        assert set(client.diagnostics) == {calc_uri, test_uri}, set(client.diagnostics)
        assert sorted(d.range.start.line for d in client.diagnostics[calc_uri]) == [4, 8]

        # what the editor asks about its own paths is answered (the server resolves those itself)
        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(calc_uri)))
        assert sorted(lens.range.start.line for lens in lenses) == [4, 8], lenses


@asyncio_test
async def test_a_workspace_opened_through_a_symlink_gets_links_and_locations_on_its_paths(linked):
    """The trace's document links, and the frames and suspect locations of the answer (the editor's
    quick pick and Neovim's quickfix list open them), pointed into tmp/real/repo: a second copy of
    each file, beside the one the editor had open."""
    _, link = linked
    async with session([link]) as (client, _):
        calc_uri = (link / CALC).as_uri()
        trace_uri = open_doc(client, link / "crash.txt")
        links = await client.text_document_document_link_async(
            lsp.DocumentLinkParams(lsp.TextDocumentIdentifier(trace_uri)))
        test_uri = (link / "src/test/java/org/example/CalcTest.java").as_uri()
        assert sorted(link.target for link in links) == [f"{calc_uri}#L5", f"{calc_uri}#L9", f"{test_uri}#L7"], links

        found = await command(client, "rca.suspects", {"uri": trace_uri})
        assert "error" not in found, found
        assert found["root"] == str(link)
        uris = {f["uri"] for f in found["frames"]} | {s["location"]["uri"] for s in found["suspects"] if s["location"]}
        assert uris == {calc_uri, test_uri}, uris


def _exit_code(tmp_path, *messages: bytes) -> subprocess.CompletedProcess[bytes]:
    start = [_message("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}, 1),
             _message("initialized", {})]
    return subprocess.run(SERVER, input=b"".join(start + list(messages)), capture_output=True, timeout=60)


def test_exit_without_shutdown_exits_1_and_after_shutdown_0(tmp_path):
    """The spec: "exit code 0 if the shutdown request has been received before; otherwise 1". pygls
    raised SystemExit(1) and caught it itself: `rca serve` exited 0, and a client could not tell a
    server that ended cleanly from one told to go without being shut down."""
    abrupt = _exit_code(tmp_path, _message("exit", None))
    assert abrupt.returncode == 1, abrupt.stderr
    assert [m["id"] for m in _messages(abrupt.stdout) if "id" in m] == [1]  # initialize answered, nothing after
    assert b"Traceback" not in abrupt.stderr, abrupt.stderr.decode()

    clean = _exit_code(tmp_path, _message("shutdown", None, 2), _message("exit", None))
    assert clean.returncode == 0, clean.stderr
    assert b"Traceback" not in clean.stderr, clean.stderr.decode()

    before = subprocess.run(SERVER, input=_message("exit", None), capture_output=True, timeout=60)
    assert before.returncode == 1 and before.stdout == b"", before.stderr


@asyncio_test
async def test_a_trace_into_a_submodule_links_no_frame_to_the_superprojects_file_of_that_name(superproject):
    """The trace's frames in the submodule libs/sub (pkg/mod.py there) were linked to the
    superproject's own pkg/mod.py, a different file, as ranking credited it before: now they link
    nowhere, as ranking reads them, and the superproject's own frame (run.py) still links."""
    top = superproject["top"].root
    (top / "crash.txt").write_text(superproject["trace"])
    async with session([top]) as (client, _):
        links = await client.text_document_document_link_async(
            lsp.DocumentLinkParams(lsp.TextDocumentIdentifier(open_doc(client, top / "crash.txt"))))
        targets = sorted(link.target.split("#")[0] for link in links)
        assert targets == [(top / "run.py").as_uri()], targets

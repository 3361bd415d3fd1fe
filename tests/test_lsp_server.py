"""`rca serve` end to end over stdio (pytest-lsp) on real git repositories built in tmp."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys

import pytest
from lsp_helpers import command, open_doc, session, until
from lsprotocol import types as lsp
from conftest import GitRepoBuilder
from test_cli import TRACE, _history

from tests._hg import HgRepoBuilder

pytestmark = pytest.mark.asyncio(loop_scope="function")

CALC = "src/main/java/org/example/Calc.java"


def _index(root) -> None:
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(root), "-q"], check=True)


@pytest.fixture
def calc_repo(request, tmp_path):
    """The calc history indexed, in a git repository, or in the VCS a test asks for with
    `@pytest.mark.parametrize("calc_repo", [...], indirect=True)`."""
    kind = getattr(request, "param", "git")
    if kind == "hg":
        pytest.importorskip("hglib")
        if shutil.which("hg") is None:
            pytest.skip("needs Mercurial")
    repo = HgRepoBuilder(tmp_path / "repo") if kind == "hg" else GitRepoBuilder(tmp_path / "repo")
    shas = _history(repo)
    _index(repo.root)
    return repo, shas


BOTH = pytest.mark.parametrize("calc_repo", ["git", "hg"], indirect=True)


@BOTH
async def test_suspects_show_on_frame_lines_and_links(calc_repo):
    repo, shas = calc_repo
    async with session([repo.root]) as (client, offers):
        trace_uri = open_doc(client, repo.root / "crash.txt")
        calc_uri = open_doc(client, repo.root / CALC, "java")
        found = await command(client, "rca.suspects", {"uri": trace_uri})
        assert "error" not in found, found
        assert {s["commit"] for s in found["suspects"][:2]} == {shas["culprit"], shas["calc"]}
        culprit = next(s for s in found["suspects"] if s["commit"] == shas["culprit"])
        assert culprit["title"].startswith(f"suspect #{culprit['rank']} {shas['culprit'][:7]} 'Simplify parse' (Carol, ")
        assert culprit["location"]["path"] == CALC and culprit["location"]["line"] == 5
        assert not offers  # the index exists: nothing to offer

        await until(lambda: client.diagnostics.get(calc_uri))
        diagnostics = {d.range.start.line: d for d in client.diagnostics[calc_uri]}
        assert set(diagnostics) == {4, 8}  # frames 3 and 4: Calc.java lines 5 and 9
        line5 = diagnostics[4]
        assert line5.severity == lsp.DiagnosticSeverity.Information and line5.source == "rca"
        assert f"{shas['culprit'][:7]} 'Simplify parse' (Carol, " in line5.message

        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(calc_uri)))
        by_line = {lens.range.start.line: lens.command for lens in lenses}
        assert set(by_line) == {4, 8}
        assert by_line[4].command == "rca.showCommit" and list(by_line[4].arguments) == [shas["culprit"]]
        assert by_line[4].title.startswith("suspect #")

        hover = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(calc_uri), lsp.Position(4, 3)))
        assert "changed Calc.parse, frame 3 of the trace, at line 5" in hover.contents.value
        assert await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(calc_uri), lsp.Position(0, 0))) is None

        links = await client.text_document_document_link_async(
            lsp.DocumentLinkParams(lsp.TextDocumentIdentifier(trace_uri)))
        targets = sorted(link.target for link in links)
        assert targets == sorted([calc_uri + "#L5", calc_uri + "#L9",
                                  (repo.root / "src/test/java/org/example/CalcTest.java").as_uri() + "#L7"])
        assert all(link.range.start.line in (4, 5, 6) for link in links)

        shown = await command(client, "rca.showCommit", shas["culprit"])  # what every code lens runs
        assert "error" not in shown, shown
        assert shown["commit"] == shas["culprit"] and shown["text"].startswith(f"commit {shas['culprit']}\n")
        assert "Simplify parse" in shown["text"] and "Author:" in shown["text"] and "Carol" in shown["text"]
        assert f"diff --git a/{CALC} b/{CALC}" in shown["text"] and "return Integer.parseInt(s);" in shown["text"]

        reports = [r for rs in client.progress_reports.values() for r in rs]
        assert any(isinstance(r, lsp.WorkDoneProgressBegin) for r in reports)
        assert any(isinstance(r, lsp.WorkDoneProgressEnd) for r in reports)


async def test_selection_and_text_arguments(calc_repo):
    repo, shas = calc_repo
    padded = repo.root / "build.log"
    padded.write_text("[INFO] building\n[INFO] running tests\n" + TRACE + "[INFO] done\n")
    async with session([repo.root]) as (client, _):
        uri = open_doc(client, padded)
        span = {"start": {"line": 2, "character": 0}, "end": {"line": 8, "character": 0}}
        found = await command(client, "rca.suspects", {"uri": uri, "range": span})
        assert shas["culprit"] in {s["commit"] for s in found["suspects"][:2]}
        pasted = await command(client, "rca.suspects", {"text": TRACE, "uri": (repo.root / CALC).as_uri()})
        assert [s["commit"] for s in pasted["suspects"]] == [s["commit"] for s in found["suspects"]]


async def test_no_index_offers_to_index_and_does_not_fail(git_repo):
    shas = _history(git_repo)
    async with session([git_repo.root], answer="Not now") as (client, offers):
        await until(lambda: offers)  # offered at startup
        uri = open_doc(client, git_repo.root / "crash.txt")
        declined = await command(client, "rca.suspects", {"uri": uri})
        assert "no index" in declined["error"] and len(offers) == 2
        assert any("no index" in m.message for m in client.messages)
        assert offers[0].actions[0].title == "Index now"
        indexed = await command(client, "rca.index")
        assert "indexed 4 new commit(s)" in indexed["message"]
        found = await command(client, "rca.suspects", {"uri": uri})
        assert shas["culprit"] in {s["commit"] for s in found["suspects"][:2]}


async def test_index_now_from_the_offer(git_repo):
    shas = _history(git_repo)
    async with session([git_repo.root], answer="Index now") as (client, offers):
        await until(lambda: any("indexed 4 new commit(s)" in m.message for m in client.messages))
        found = await command(client, "rca.suspects", {"text": TRACE})
        assert shas["culprit"] in {s["commit"] for s in found["suspects"][:2]}
        assert len(offers) == 1


async def test_a_failure_in_the_test_alone_suggests_its_coverage_once(calc_repo):
    """An assertion that fails in the test names no code under test: the server says once that the
    failing test's coverage (the `coverage` setting) would tell more; a trace into the code does not."""
    from rca_lsp.suspects.retrieve import COVERAGE_HINT

    repo, _ = calc_repo
    asserted = ("--- org.example.CalcTest::testTwice\njunit.framework.AssertionFailedError: expected:<4> but was:<5>\n"
                "\tat org.example.CalcTest.testTwice(CalcTest.java:7)\n")
    hint = f"rca: {COVERAGE_HINT}"
    async with session([repo.root]) as (client, _):
        into_code = await command(client, "rca.suspects", {"uri": open_doc(client, repo.root / "crash.txt")})
        assert into_code["hints"] == [] and into_code["suspects"]
        for _ in range(2):
            found = await command(client, "rca.suspects", {"text": asserted})
            assert found["hints"] == [COVERAGE_HINT] and found["suspects"]
        await until(lambda: any(m.message == hint for m in client.messages))
        shown = [m for m in client.messages if m.message == hint]
        assert len(shown) == 1 and shown[0].type == lsp.MessageType.Info


@BOTH
async def test_bad_input_gets_a_clear_message_and_the_server_stays_up(calc_repo, tmp_path):
    repo, shas = calc_repo
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.py").write_text("password = 1\n")
    async with session([repo.root], options={"top": "many", "device": "tpu", "colour": 1}) as (client, _):
        await until(lambda: len(client.messages) >= 3)
        warnings = [m.message for m in client.messages]
        assert any('top: "many" is not valid' in w and "using the default 20" in w for w in warnings)
        assert any('device: "tpu"' in w for w in warnings) and any("'colour'" in w for w in warnings)

        nothing = await command(client, "rca.suspects", {"text": "hello\nworld\n"})
        assert "no stack trace found" in nothing["error"]

        stray = ('Traceback (most recent call last):\n'
                 f'  File "{outside}/secret.py", line 1, in <module>\n'
                 '  File "/etc/passwd", line 1, in <module>\n'
                 'ValueError: boom\n')
        unresolved = await command(client, "rca.suspects", {"text": stray})
        assert "error" not in unresolved and unresolved["frames"] == []
        await until(lambda: any("no frame of the trace is in this repository" in m.message for m in client.messages))

        for bad in ("--output=/tmp/x", "HEAD", "zz" * 20, 42):
            answer = await command(client, "rca.showCommit", bad)
            assert "not a commit hash" in answer["error"]
        unknown = await command(client, "rca.showCommit", "0" * 40)
        assert "unknown revision" in unknown["error"]

        found = await command(client, "rca.suspects", {"text": TRACE})  # still up, still right
        assert shas["culprit"] in {s["commit"] for s in found["suspects"][:2]}
    assert not (tmp_path / "x").exists()


async def test_not_a_repository_and_no_folder(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    async with session([plain]) as (client, offers):
        answer = await command(client, "rca.suspects", {"text": TRACE})
        assert "no git or Mercurial repository found" in answer["error"] and not offers
        indexed = await command(client, "rca.index")
        assert "no git or Mercurial repository found" in indexed["error"]
    async with session([]) as (client, _):
        answer = await command(client, "rca.suspects", {"text": TRACE})
        assert "no git or Mercurial repository found" in answer["error"]


async def test_several_folders_keep_their_own_suspects(calc_repo, make_git_repo):
    repo, shas = calc_repo
    other = make_git_repo("other")
    other_shas = _history(other)
    _index(other.root)
    async with session([repo.root, other.root]) as (client, _):
        first = await command(client, "rca.suspects", {"uri": open_doc(client, repo.root / "crash.txt")})
        second = await command(client, "rca.suspects", {"uri": open_doc(client, other.root / "crash.txt")})
        assert first["root"] == str(repo.root) and second["root"] == str(other.root)
        assert other_shas["culprit"] in {s["commit"] for s in second["suspects"][:2]}
        for root, culprit in ((repo.root, shas["culprit"]), (other.root, other_shas["culprit"])):
            lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(
                lsp.TextDocumentIdentifier((root / CALC).as_uri())))
            assert culprit in {lens.command.arguments[0] for lens in lenses}


async def test_cancel_while_waiting_then_work_on(git_repo):
    """$/cancelRequest reaches the work itself: the offer is answered after the cancel, and
    nothing is indexed or ranked for the cancelled request."""
    _history(git_repo)
    gate = asyncio.Event()
    async with session([git_repo.root], answer="Index now", answer_after=gate) as (client, offers):
        await until(lambda: offers)
        gate.set()  # startup offer: index now
        await until(lambda: any("indexed" in m.message for m in client.messages))
        gate.clear()
        (git_repo.root / ".git/rca/index.db").unlink()  # the index is gone again
        request = asyncio.wrap_future(client.protocol.send_request(lsp.WORKSPACE_EXECUTE_COMMAND, lsp.ExecuteCommandParams(
            command="rca.suspects", arguments=[{"text": TRACE}]), msg_id="cancel-me"))
        await until(lambda: len(offers) == 2)
        client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="cancel-me"))
        with pytest.raises(Exception, match="cancel"):
            await request
        gate.set()
        await until(lambda: any("finding suspects cancelled" in m.message for m in client.messages))
        found = await command(client, "rca.index")
        assert "indexed 4 new commit(s)" in found["message"]


def _long_history(root, commits: int = 1500) -> None:
    """Many small commits in one `git fast-import`: long enough that indexing can be cancelled."""
    lines = []
    for n in range(commits):
        body = "".join(f"    static int f{k}() {{ return {k + (n if k == n % 50 else 0)}; }}\n" for k in range(50))
        data = f"class Big {{\n{body}}}\n".encode()
        message = f"change {n}".encode()
        lines += [b"commit refs/heads/main", f"mark :{n + 1}".encode(),
                  f"committer A <a@example.com> {1_600_000_000 + n * 60} +0000".encode(),
                  f"data {len(message)}".encode(), message]
        if n:
            lines.append(f"from :{n}".encode())
        lines += [f"M 100644 inline src/Big{n % 7}.java".encode(), f"data {len(data)}".encode(), data]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"\n".join(lines) + b"\n", check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True)


async def test_cancel_indexing_from_its_progress(git_repo):
    _long_history(git_repo.root)
    async with session([git_repo.root], answer="Not now") as (client, offers):
        await until(lambda: offers)
        before = set(client.progress_reports)
        request = asyncio.ensure_future(command(client, "rca.index"))
        await until(lambda: set(client.progress_reports) - before)
        token, = set(client.progress_reports) - before
        client.protocol.notify(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL, lsp.WorkDoneProgressCancelParams(token=token))
        answer = await request
        assert answer.get("cancelled") is True, answer
        assert any("indexing cancelled" in m.message for m in client.messages)
        assert isinstance(client.progress_reports[token][-1], lsp.WorkDoneProgressEnd)
        finished = await command(client, "rca.index")  # carries on from the whole batches already written
        assert "1500 reachable from HEAD" in finished["message"]


async def test_ranker_and_device_settings_pass_through(calc_repo):
    """`ranker: "llm"` re-ranks when the model is there; without it the retrieval order comes back
    with a warning, never an error."""
    repo, shas = calc_repo
    async with session([repo.root], options={"ranker": "llm", "device": "cuda", "rerankTop": 4}) as (client, _):
        found = await command(client, "rca.suspects", {"text": TRACE})
        assert "error" not in found, found
        assert {s["commit"] for s in found["suspects"]} >= {shas["culprit"], shas["calc"]}
        assert not any("is not valid" in m.message for m in client.messages)

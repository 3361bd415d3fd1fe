"""`rca serve` at its edges, over stdio: shutdown while a command runs, a folder that becomes a
repository, ranges and URIs that name no text, one "Index it now?" at a time, the log file, and
messages that name the client's values as JSON."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from conftest import GitRepoBuilder
from lsp_helpers import SERVER, command, open_doc, session, until
from test_cli import TRACE, _history
from test_lsp_server import _long_history

asyncio_test = pytest.mark.asyncio(loop_scope="function")


@asyncio_test
async def test_shutdown_while_indexing_cancels_it_and_answers_null(git_repo):
    """Cancelling the command answers it; pygls must not be walking its requests meanwhile (it
    answered the shutdown with `RuntimeError: dictionary changed size during iteration`)."""
    _long_history(git_repo.root)
    async with session([git_repo.root], answer="Not now") as (client, offers):
        await until(lambda: offers)
        before = set(client.progress_reports)
        request = asyncio.ensure_future(command(client, "rca.index"))
        await until(lambda: set(client.progress_reports) - before)  # indexing under way
    # leaving the session sent `shutdown` (an error answer raises there) and `exit`
    answer = await request
    assert answer == {"error": "indexing cancelled", "cancelled": True}
    assert any(m.message == "rca: indexing cancelled" for m in client.messages)


@asyncio_test
async def test_shutdown_while_a_request_waits_for_the_index_offer(git_repo):
    """The question is never answered: the request is cancelled rather than left to pygls."""
    _history(git_repo)
    async with session([git_repo.root], answer_after=asyncio.Event()) as (client, offers):
        await until(lambda: offers)
        request = asyncio.ensure_future(command(client, "rca.suspects", {"text": TRACE}))
        await asyncio.sleep(0.5)  # the request is waiting for the same answer
    assert await request == {"error": "finding suspects cancelled", "cancelled": True}


@asyncio_test
async def test_a_folder_that_becomes_a_repository_is_found_without_a_restart(tmp_path):
    folder = tmp_path / "later"
    folder.mkdir()
    async with session([folder]) as (client, _):
        before = await command(client, "rca.index")
        assert before["error"].startswith(f"no git or Mercurial repository found ({folder}")
        repo = GitRepoBuilder(folder)
        _history(repo)
        after = await command(client, "rca.index")
        assert "error" not in after, after
        assert "indexed 4 new commit(s)" in after["message"] and after["root"] == str(folder)


@pytest.fixture
def history(git_repo):
    _history(git_repo)
    return git_repo


@asyncio_test
async def test_a_range_with_negative_or_reversed_lines_is_invalid(history):
    async with session([history.root]) as (client, _):
        uri = open_doc(client, history.root / "crash.txt")
        for start, end in ((-5, -1), (-1, 3), (4, 2)):
            span = {"start": {"line": start, "character": 0}, "end": {"line": end, "character": 0}}
            answer = await command(client, "rca.suspects", {"uri": uri, "range": span})
            assert answer["error"].startswith(f"invalid range {json.dumps(span)}: lines count from 0"), answer


@asyncio_test
async def test_a_document_neither_open_nor_a_file_is_named(history):
    async with session([history.root]) as (client, _):
        answer = await command(client, "rca.suspects", {"uri": "untitled:Untitled-1"})
        assert answer["error"] == ("untitled:Untitled-1 is not open in the editor and is not a file "
                                   "(hint: open the document, or pass its text)")


@asyncio_test
async def test_a_request_while_the_index_offer_is_open_waits_for_its_answer(history):
    gate = asyncio.Event()
    async with session([history.root], answer="Not now", answer_after=gate) as (client, offers):
        await until(lambda: offers)  # the startup offer, not answered yet
        request = asyncio.ensure_future(command(client, "rca.suspects", {"text": TRACE}))
        with pytest.raises(AssertionError):  # no second offer; the time it takes to make one, if any
            await until(lambda: len(offers) > 1 or request.done(), timeout=2.0)
        gate.set()
        answer = await request
        assert answer["error"].startswith(f"no index of {history.root} yet"), answer
        assert len(offers) == 1


def test_an_unwritable_log_file_is_a_usage_error(tmp_path):
    proc = subprocess.run([*SERVER, "--log-file", str(tmp_path / "no" / "such" / "x.log")], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [f"Error: cannot write the log file {tmp_path}/no/such/x.log: "
                                        "No such file or directory"]


def _message(method: str, params: dict, msg_id: int | None = None) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}
                      | ({"id": msg_id} if msg_id is not None else {})).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_the_log_goes_to_stderr_and_to_the_log_file(tmp_path):
    log_file = tmp_path / "serve.log"
    stream = b"".join([_message("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, 1),
                       _message("initialized", {}),
                       _message("workspace/didChangeConfiguration", {"settings": {"rca": {"colour": 1}}}),
                       _message("shutdown", None, 2), _message("exit", None)])
    proc = subprocess.run([*SERVER, "--log-file", str(log_file)], input=stream, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    warning = "WARNING rca_lsp.lsp.server: unknown rca setting 'colour' ignored"
    assert warning in proc.stderr.decode() and warning in log_file.read_text()


@asyncio_test
async def test_messages_name_the_clients_values_as_json(history):
    options = {"rerankTop": 10**30, "device": None, "diagnostics": 1, "top": "many"}
    async with session([history.root], options=options) as (client, _):
        await until(lambda: len(client.messages) >= 4)
        shown = {m.message for m in client.messages}
        assert {"rca setting rerankTop: 1000000000000000000000000000000 is not valid (expected an integer from 2 "
                "to 20); using the default 20",
                'rca setting device: null is not valid (expected "auto", "cpu" or "cuda"); using the default "auto"',
                "rca setting diagnostics: 1 is not valid (expected true or false); using the default true",
                'rca setting top: "many" is not valid (expected an integer from 0 to 1000); using the default 20'} <= shown
        for given, named in ((12345, "12345"), ("HEAD", '"HEAD"'), ([1], "[1]")):
            answer = await command(client, "rca.showCommit", given)
            assert answer["error"] == f"not a commit hash: {named} (hint: pass the hex hash of a suspect)"


def test_a_whole_rca_section_of_the_wrong_type_is_said_as_the_sections():
    """Neovim's `settings = { rca = 'oops' }`: the section is not an object, not a setting named rca."""
    from rca_lsp.lsp.options import Options, parse_options

    for value, got in (("oops", "a string"), ([1], "an array"), (3, "a number")):
        options, problems = parse_options({"rca": value})
        assert problems == [f"rca settings must be an object, got {got}; using the defaults"], problems
        assert options == Options()
    options, problems = parse_options({"rca": {"top": 5}})
    assert problems == [] and options.top == 5

"""`rca serve` fed what a new user's editor sends, over stdio: requests before `initialize` and after
`shutdown`, `exit` without `shutdown` while indexing, trace documents with form feeds and emoji
(LSP lines and UTF-16 columns), and a repository nested in another workspace folder's."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time

import pytest
from conftest import GitRepoBuilder
from lsp_helpers import SERVER, command, session
from lsprotocol import types as lsp
from test_cli import TRACE, _history
from test_lsp_server import _index, _long_history

asyncio_test = pytest.mark.asyncio(loop_scope="function")
CALC = "src/main/java/org/example/Calc.java"


def _message(method: str, params, msg_id: int | None = None) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}
                      | ({"id": msg_id} if msg_id is not None else {})).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _messages(data: bytes) -> list[dict]:
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                     .split(b":")[1])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


def test_requests_before_initialize_and_after_shutdown_get_the_errors_the_spec_names(tmp_path):
    """pygls ran a request before `initialize` on no workspace (a traceback in the log, "internal
    error" to the user) and dropped every request after `shutdown` (the client waited forever)."""
    hover = {"textDocument": {"uri": (tmp_path / "x.txt").as_uri()}, "position": {"line": 0, "character": 0}}
    stream = b"".join([
        _message("workspace/executeCommand", {"command": "rca.suspects", "arguments": [{"text": TRACE}]}, 1),
        _message("textDocument/hover", hover, 2),
        _message("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}, 3),
        _message("initialized", {}),
        _message("shutdown", None, 4),
        _message("textDocument/hover", hover, 5),
        _message("shutdown", None, 6),
        _message("exit", None)])
    proc = subprocess.run(SERVER, input=stream, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    answers = {m["id"]: m for m in _messages(proc.stdout) if "id" in m and "method" not in m}
    assert set(answers) == {1, 2, 3, 4, 5, 6}
    for msg_id, method in ((1, "workspace/executeCommand"), (2, "textDocument/hover")):
        assert answers[msg_id]["error"] == {"code": -32002, "message": "the rca server is not initialized: send "
                                                                       f"`initialize` before {method}"}
    assert "result" in answers[3] and answers[4]["result"] is None
    for msg_id, method in ((5, "textDocument/hover"), (6, "shutdown")):
        assert answers[msg_id]["error"] == {"code": -32600, "message": f"the rca server is shut down: {method} is "
                                            "not answered after `shutdown`; send `exit`, then start the server again"}
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()


class _RawClient:
    """The server over stdio with a client that answers its requests (progress, the index offer)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.received: queue.Queue[dict] = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        stdout = self.proc.stdout
        while True:
            length = None
            while (line := stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                return
            message = json.loads(stdout.read(length))
            if "method" in message and "id" in message:  # the server's request: answer as an editor does
                result = {"title": "Not now"} if message["method"] == "window/showMessageRequest" else None
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            self.received.put(message)

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def wait_for(self, predicate, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message


def test_exit_without_shutdown_while_indexing_stops_at_once_and_quietly(git_repo):
    """The indexing thread went on after `exit`, its progress and answer written to the closed stdout:
    thousands of "I/O operation on closed file" tracebacks, the process held until indexing ended."""
    _long_history(git_repo.root, commits=3000)
    client = _RawClient()
    try:
        client.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": git_repo.root.as_uri(),
            "capabilities": {"window": {"workDoneProgress": True}}}})
        client.wait_for(lambda m: m.get("id") == 1)
        client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        client.send({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                     "params": {"command": "rca.index", "arguments": []}})
        client.wait_for(lambda m: m.get("method") == "$/progress"
                        and "commits" in m["params"]["value"].get("message", ""))
        client.send({"jsonrpc": "2.0", "method": "exit"})
        started = time.monotonic()
        client.proc.wait(timeout=30)
        assert time.monotonic() - started < 5
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
    time.sleep(0.2)  # the stderr reader's last lines
    log = b"".join(client.stderr).decode("utf-8", "replace")
    assert "Traceback" not in log and "closed file" not in log, log[-3000:]


@pytest.fixture
def history(git_repo):
    _history(git_repo)
    _index(git_repo.root)
    return git_repo


@asyncio_test
async def test_trace_links_count_lines_and_columns_as_the_editor_does(history):
    """A form feed in the exception's message put every later link a line low (`str.splitlines`
    breaks there, LSP does not), and an emoji before `Calc.java:5` put its link a column early
    (code points, not the UTF-16 units the client counts)."""
    text = TRACE.replace("For input", "For\x0cinput").replace("Calc.parse(", "Calc.parse\U0001F600(")
    async with session([history.root]) as (client, _):
        uri = (history.root / "crash.log").as_uri()
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="log", version=1, text=text)))
        found = await command(client, "rca.suspects", {"uri": uri})
        assert "error" not in found, found
        links = await client.text_document_document_link_async(lsp.DocumentLinkParams(lsp.TextDocumentIdentifier(uri)))
        got = sorted((link.range.start.line, link.range.start.character, link.range.end.character, link.target)
                     for link in links)
        lines = text.split("\n")

        def utf16(s: str) -> int:
            return len(s.encode("utf-16-le")) // 2

        parse_line = lines.index("\tat org.example.Calc.parse\U0001F600(Calc.java:5)")
        start = lines[parse_line].index("Calc.java:5")
        calc = (history.root / CALC).as_uri()
        assert (parse_line, utf16(lines[parse_line][:start]), utf16(lines[parse_line][:start]) + 11,
                f"{calc}#L5") in got, got
        twice_line = lines.index("\tat org.example.Calc.twice(Calc.java:9)")
        assert (twice_line, 27, 38, f"{calc}#L9") in got, got

        # a selection of the frames' lines, counted as the editor counts them, is those frames
        span = {"start": {"line": parse_line, "character": 0}, "end": {"line": twice_line + 1, "character": 0}}
        selected = await command(client, "rca.suspects", {"uri": uri, "range": span})
        assert [f["line"] for f in selected["frames"]] == [5, 9], selected


@asyncio_test
async def test_a_repository_nested_in_another_shows_its_own_code_lenses(tmp_path):
    """With suspects in both, the outer repository's were looked up for the inner one's files (the
    first root holding the file, not the innermost): the inner file got no lens."""
    outer = GitRepoBuilder(tmp_path / "outer")
    _history(outer)
    inner = GitRepoBuilder(tmp_path / "outer" / "inner")
    _history(inner)
    _index(outer.root)
    _index(inner.root)
    async with session([outer.root, inner.root]) as (client, _):
        for repo in (outer, inner):
            found = await command(client, "rca.suspects", {"uri": (repo.root / "crash.txt").as_uri()})
            assert "error" not in found and found["root"] == str(repo.root), found
        lenses = await client.text_document_code_lens_async(
            lsp.CodeLensParams(lsp.TextDocumentIdentifier((inner.root / CALC).as_uri())))
        assert sorted(lens.range.start.line for lens in lenses) == [4, 8], lenses


@asyncio_test
async def test_a_repository_moved_away_while_the_server_runs_is_said_to_be_gone(history, tmp_path):
    """The server kept the repository it had opened: the next request said "no index of ... yet" and
    offered to index a folder that no longer existed."""
    async with session([history.root]) as (client, offers):
        assert "error" not in await command(client, "rca.suspects", {"text": TRACE})
        history.root.rename(tmp_path / "moved")
        answer = await command(client, "rca.suspects", {"text": TRACE})
        assert answer["error"] == (f"no git or Mercurial repository found ({history.root}) "
                                   "(hint: open a folder inside a git or Mercurial work tree)"), answer
        assert not offers


@asyncio_test
async def test_a_null_rca_section_means_the_defaults_as_its_message_says(history):
    """`{"rca": null}` said "using the defaults" but kept the settings sent before it (top 1)."""
    async with session([history.root]) as (client, _):
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={"rca": {"top": 1}}))
        assert len((await command(client, "rca.suspects", {"text": TRACE}))["suspects"]) == 1
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={"rca": None}))
        answer = await command(client, "rca.suspects", {"text": TRACE})
        assert len(answer["suspects"]) == 4, answer
        assert "rca settings must be an object, got null; using the defaults" in {m.message for m in client.messages}

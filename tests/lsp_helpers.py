"""Starting the real `rca serve` over stdio for tests, with a client that answers like an editor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, client_capabilities

SERVER = [sys.executable, "-m", "rca_lsp", "serve"]


@contextlib.asynccontextmanager
async def session(folders: list[Path], options: dict | None = None, answer: str | None = "Not now",
                  answer_after: asyncio.Event | None = None, env: dict[str, str] | None = None):
    """A client like VS Code's, initialized on `folders`; showMessageRequest gets `answer`
    (after `answer_after` is set, when given); the server runs with `env` added to ours.
    Yields (client, offers)."""
    config = ClientServerConfig(server_command=SERVER, server_env={**os.environ, **env} if env else None)
    client = await config.start()
    offers: list[lsp.ShowMessageRequestParams] = []

    @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    async def on_request(params: lsp.ShowMessageRequestParams):
        offers.append(params)
        if answer_after is not None:
            await answer_after.wait()
        return lsp.MessageActionItem(answer) if answer else None

    @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def on_refresh(params) -> None:
        return None

    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=folders[0].as_uri() if folders else None,
        workspace_folders=[lsp.WorkspaceFolder(f.as_uri(), f.name) for f in folders] or None,
        initialization_options=options))
    try:
        yield client, offers
    finally:
        await client.shutdown_session()


async def command(client, name: str, *args):
    return await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command=name, arguments=list(args)))


def open_doc(client, path: Path, language: str = "plaintext") -> str:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=path.read_text())))
    return uri


async def until(predicate, timeout: float = 20.0):
    """Wait for the server's notifications to make `predicate()` true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.02)

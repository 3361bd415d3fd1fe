"""`rca serve`: start the language server over stdio. Logs go to stderr (and a file), never stdout."""

from __future__ import annotations

import logging
import sys
from typing import cast

import click


@click.command("serve")
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin/stdout (the default and only transport).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also write the log to this file (appended; stderr keeps it too).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def serve_cmd(stdio: bool, log_file: str | None, log_level: str) -> None:
    """Run the rca language server (for VS Code, Neovim and other LSP clients)."""
    level = getattr(logging, log_level.upper())
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file))
        except OSError as exc:  # before the protocol starts: a usage error, not a server that dies at once
            raise click.ClickException(f"cannot write the log file {log_file}: {exc.strerror or exc}") from exc
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    if level > logging.DEBUG:  # pygls logs every message at INFO
        logging.getLogger("pygls").setLevel(logging.WARNING)
    try:
        from rca_lsp.lsp.protocol import RcaProtocol
        from rca_lsp.lsp.server import server
    except ImportError as exc:  # pragma: no cover - pygls is a dependency; a broken install says so
        raise click.ClickException(f"the language server needs pygls>=2 and lsprotocol ({exc})") from exc
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the protocol stream
    server.start_io(stdin, stdout)
    code = cast(RcaProtocol, server.protocol).exit_code
    if code:  # `exit` with no `shutdown` before it: 1, as the LSP spec says (pygls swallows its own)
        sys.exit(code)

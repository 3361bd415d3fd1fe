"""`rca serve`: start the language server over stdio. Logs go to stderr or a file, never stdout."""

from __future__ import annotations

import logging
import sys

import click


@click.command("serve")
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin/stdout (the default and only transport).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also write the log to this file.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def serve_cmd(stdio: bool, log_file: str | None, log_level: str) -> None:
    """Run the rca language server (for VS Code, Neovim and other LSP clients)."""
    level = getattr(logging, log_level.upper())
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level > logging.DEBUG:  # pygls logs every message at INFO
        logging.getLogger("pygls").setLevel(logging.WARNING)
    try:
        from rca_lsp.lsp.server import server
    except ImportError as exc:  # pragma: no cover - pygls is a dependency; a broken install says so
        raise click.ClickException(f"the language server needs pygls>=2 and lsprotocol ({exc})") from exc
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the protocol stream
    server.start_io(stdin, stdout)

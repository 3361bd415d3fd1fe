"""Groups of `rca` subcommands, each in its own module and registered at the end of `rca_lsp.cli`."""

from __future__ import annotations

import click


def _repo_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An empty path is a variable that was not set: said as such, not taken for the current
    folder (the empty path is "."), where it would index or rank whatever repository that is."""
    if not value.strip():
        raise click.BadParameter("an empty path: name the repository, or leave the option out")
    return value


REPO = click.option("--repo", default=".", type=click.Path(file_okay=False), callback=_repo_path,
                    help="Repository (default: here).")

"""`rca hooks install|status|uninstall`: keep the index current after every pull, check pushes."""

from __future__ import annotations

import click

from rca_lsp.commands import REPO


@click.group("hooks")
def hooks_group() -> None:
    """VCS hooks: index what a pull brings (in the background), check pulls and pushes against open failures."""


def _repo(path: str):
    from rca_lsp.vcs import open_repo

    return open_repo(path)


@hooks_group.command("install")
@REPO
@click.option("--force", is_flag=True, help="Install into a hooks folder inside the work tree (core.hooksPath).")
def install_cmd(repo: str, force: bool) -> None:
    """Install the hooks, keeping (and calling first) any hook already there. Idempotent."""
    from rca_lsp.hook_install import install

    for line in install(_repo(repo), force=force):
        click.echo(line)


@hooks_group.command("uninstall")
@REPO
def uninstall_cmd(repo: str) -> None:
    """Remove rca's hooks and put back exactly what was there before."""
    from rca_lsp.hook_install import uninstall

    lines = uninstall(_repo(repo))
    for line in lines or ["no rca hooks installed"]:
        click.echo(line)


@hooks_group.command("status")
@REPO
def status_cmd(repo: str) -> None:
    """Which hooks are installed, what they chain to, the index's state and the last log lines."""
    from rca_lsp.hook_install import status
    from rca_lsp.hooks import LOG_NAME, indexed
    from rca_lsp.index.paths import index_dir

    backend = _repo(repo)
    for state in status(backend):
        text = "installed" if state.installed else "not installed"
        if state.chained:
            text += f", chains to {state.chained}"
        if state.note:
            text += f" ({state.note})"
        click.echo(f"{state.name:<14} {text}")
    snapshot = indexed(backend.checkout_dir)
    head = backend.head()
    if snapshot is None:
        click.echo("index: none yet (`rca index`)")
    else:
        current = "current" if snapshot[1] == head else "behind HEAD"
        click.echo(f"index: {len(snapshot[0])} commit(s), {current}")
    log = index_dir(backend.meta_dir) / LOG_NAME
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-3:]
        click.echo(f"last hook runs ({log}):")
        for line in tail:
            click.echo(f"  {line}")

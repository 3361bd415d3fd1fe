"""`rca failures add|list|resolve`: failures being chased, checked by the hooks on pull and push."""

from __future__ import annotations

import json
import time

import click


@click.group("failures")
def failures_group() -> None:
    """Open failures: pulls report the arriving commits that may have caused them, pushes the leaving ones."""


def _repo(path: str):
    from rca_lsp.vcs import open_repo

    return open_repo(path)


@failures_group.command("add")
@click.option("--repo", default=".", type=click.Path(file_okay=False), help="Repository (default: here).")
@click.option("--trace", "trace", default="-", show_default=True, help="Trace or test-output file, or - for stdin.")
def add_cmd(repo: str, trace: str) -> None:
    """Record a failure (a trace or test output) as open."""
    from rca_lsp import failures
    from rca_lsp.traces.read import read_trace

    text = read_trace(trace)
    backend = _repo(repo)
    failure = failures.add(backend.meta_dir, text, head=backend.head())
    click.echo(f"#{failure.id}  {failure.title}")


@failures_group.command("list")
@click.option("--repo", default=".", type=click.Path(file_okay=False), help="Repository (default: here).")
@click.option("--all", "everything", is_flag=True, help="Resolved failures too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(repo: str, everything: bool, fmt: str) -> None:
    """The open failures (with --all, the resolved ones too)."""
    from rca_lsp import failures

    items = failures.listing(_repo(repo).meta_dir, include_resolved=everything)
    if fmt == "json":
        click.echo(json.dumps([{"id": f.id, "title": f.title, "created": f.created, "head": f.head,
                                "resolved": f.resolved, "open": f.open} for f in items], indent=2))
        return
    for f in items:
        state = "open" if f.open else "resolved"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.created))
        click.echo(f"#{f.id:<4} {state:<8} {when}  {f.title}")
    if not items:
        click.echo("no open failures" if not everything else "no failures recorded", err=True)


@failures_group.command("resolve")
@click.argument("failure_id", type=int)
@click.option("--repo", default=".", type=click.Path(file_okay=False), help="Repository (default: here).")
@click.option("--culprit", default=None, help="The commit that caused it: recorded as a label (`rca labels`).")
def resolve_cmd(failure_id: int, repo: str, culprit: str | None) -> None:
    """Mark a failure resolved: hooks stop checking commits against it."""
    from rca_lsp import failures

    backend = _repo(repo)
    if culprit is not None:
        from rca_lsp import service

        # labelled before resolving: a refused culprit leaves the failure open
        label, lid = service.label_failure(backend, failures.get(backend.meta_dir, failure_id).trace, culprit,
                                           "failure")
        rank = f"#{label.rank} of {label.total}" if label.rank else "not ranked"
        click.echo(f"label #{lid}: culprit {label.culprit[:10]} was {rank} ({label.ranker})")
    failure = failures.resolve(backend.meta_dir, failure_id)
    click.echo(f"#{failure.id}  resolved  {failure.title}")

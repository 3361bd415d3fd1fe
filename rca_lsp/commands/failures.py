"""`rca failures add|list|resolve`: failures being chased, checked by the hooks on pull and push."""

from __future__ import annotations

import json
import time

import click

from rca_lsp.commands import REPO


@click.group("failures")
def failures_group() -> None:
    """Open failures: pulls report the arriving commits that may have caused them, pushes the leaving ones."""


def _named(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An empty value is a variable that was not set: said as such, not as "trace file . is a
    directory" or "refusing revision ''" (words about what the user never wrote)."""
    if value is not None and not value.strip():
        if param.name == "trace":
            raise click.BadParameter("an empty file name: name the trace file, or - for stdin")
        raise click.BadParameter("an empty revision: name the commit")
    return value


def _repo(path: str):
    from rca_lsp.vcs import open_repo

    return open_repo(path)


@failures_group.command("add")
@REPO
@click.option("--trace", "trace", default="-", show_default=True, callback=_named,
              help="Trace or test-output file, or - for stdin.")
def add_cmd(repo: str, trace: str) -> None:
    """Record a failure (a trace or test output) as open."""
    from rca_lsp import failures
    from rca_lsp.traces.read import read_trace

    text = read_trace(trace)
    backend = _repo(repo)
    failure = failures.add(backend.meta_dir, text, head=backend.head())
    click.echo(f"#{failure.id}  {failure.title}")


@failures_group.command("list")
@REPO
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
@REPO
@click.option("--culprit", default=None, callback=_named,
              help="The commit that caused it: recorded as a label (`rca labels`); "
                   "a failure resolved without one may be given it later.")
def resolve_cmd(failure_id: int, repo: str, culprit: str | None) -> None:
    """Mark a failure resolved: hooks stop checking commits against it."""
    from rca_lsp import failures

    backend = _repo(repo)
    failure = failures.get(backend.meta_dir, failure_id)
    if culprit is not None:
        _label(backend, failure, culprit)  # before resolving: a refused culprit leaves the failure open
    failure = failures.resolve(backend.meta_dir, failure_id)
    click.echo(f"#{failure.id}  resolved  {failure.title}")


def _label(backend, failure, culprit: str) -> None:
    from rca_lsp import service

    same = None if failure.open else _recorded(backend, failure, culprit)
    if same is None:
        recorded = service.record_label(backend, failure.trace, culprit, "failure")
        label = recorded.label
        if recorded.added:
            rank = f"#{label.rank} of {label.total}" if label.rank else "not ranked"
            click.echo(f"label #{recorded.id}: culprit {label.culprit[:10]} was {rank} ({label.ranker})")
            return
        same = recorded.id, label.culprit
    click.echo(f"label #{same[0]} already recorded: culprit {same[1][:10]} (not added again)")


def _recorded(backend, failure, culprit: str) -> tuple[int, str] | None:
    """For a resolved failure, the label that records `culprit` for it (its id, the culprit's hash);
    None when its labels record no culprit (it was resolved without one). Another culprit is refused:
    labels that contradict each other would both count in `rca model tune` and `stats`."""
    from rca_lsp.failures import FailureResolved
    from rca_lsp.labels.store import culprits_of

    labels = culprits_of(backend.meta_dir, failure.trace)
    if not labels:
        return None
    wanted = backend.resolve(culprit)
    for label_id, recorded in labels:
        if recorded == wanted:
            return label_id, recorded
    named = "; ".join(f"culprit {recorded[:10]}, label #{label_id}" for label_id, recorded in labels)
    raise FailureResolved(
        f"failure #{failure.id} is already resolved ({named}), not with {wanted[:10]}",
        hint=f"if that culprit was wrong, `rca labels remove {labels[0][0]}`, then resolve #{failure.id} again "
             "with the right one")

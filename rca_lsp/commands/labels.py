"""`rca labels list|export|import`: the confirmed culprits this clone has recorded (nothing leaves it)."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import time
from pathlib import Path

import click

from rca_lsp.commands import REPO


def _meta(repo: str) -> str:
    from rca_lsp.vcs import open_repo

    return open_repo(repo).meta_dir


@click.group("labels")
def labels_group() -> None:
    """Confirmed culprits (resolved failures, confirmed bisections, the editor's "this was it")."""


@labels_group.command("list")
@REPO
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(repo: str, fmt: str) -> None:
    """One line per label: when, how it was confirmed, the culprit and its rank then."""
    from rca_lsp.failures import title_of
    from rca_lsp.labels.store import listing

    labels = listing(_meta(repo))
    if fmt == "json":
        click.echo(json.dumps([{k: v for k, v in label.to_json().items() if k not in ("candidates", "failure")}
                               | {"title": title_of(label.failure)} for label in labels], indent=2))
        return
    for label in labels:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(label.created))
        rank = f"#{label.rank}" if label.rank else "rank ?"
        click.echo(f"#{label.id:<4} {when}  {label.source:<7} {label.culprit[:10]}  {rank:>8} of {label.total:<5} "
                   f"({label.ranker})  {title_of(label.failure)[:60]}")
    if not labels:
        click.echo("no labels recorded (`rca failures resolve ID --culprit REV`, a confirmed `rca bisect`)", err=True)


@labels_group.command("export")
@REPO
@click.option("-o", "--output", default="-", show_default=True, help="JSONL file, or - for stdout.")
def export_cmd(repo: str, output: str) -> None:
    """Every label as JSONL (one per line): what a team would pool."""
    from rca_lsp.labels.store import export_jsonl, listing

    if not output.strip():
        raise click.BadParameter("an empty file name: name a file, or - for stdout", param_hint="'-o' / '--output'")
    labels = listing(_meta(repo))
    if output == "-":
        _to_stdout(labels)
    else:
        _write(Path(output), output, labels)
    click.echo(f"exported {len(labels)} label(s)", err=True)


def _to_stdout(labels) -> None:
    """JSONL is UTF-8 whatever the terminal's encoding (`rca labels import` reads it so): a latin-1 or
    cp1252 standard output would otherwise turn a summary's é into a byte that import refuses."""
    from rca_lsp.labels.store import export_jsonl

    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # closed (the write says so), or a stream of text only
        export_jsonl(labels, sys.stdout)
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n", write_through=True)
    try:
        export_jsonl(labels, out)
        out.flush()
    finally:
        out.detach()  # sys.stdout's buffer stays open


def _write(path: Path, name: str, labels) -> None:
    """A file replaced whole (a temporary beside it, removed on any failure); a pipe or a device
    such as /dev/stdout written as it is."""
    from rca_lsp.labels.store import LabelError, export_jsonl

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise LabelError(f"cannot write labels to {name}: {exc.strerror or exc}") from None
    if (mode is not None and stat.S_ISDIR(mode)) or name.endswith(("/", os.sep)):
        raise LabelError(f"cannot write labels to {name}: it {'is' if mode else 'names'} a directory",
                         hint="name a file, e.g. labels.jsonl")
    if not path.parent.is_dir():
        raise LabelError(f"cannot write labels to {name}: the folder {path.parent} does not exist")
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with open(path, "w", encoding="utf-8") as fh:
                export_jsonl(labels, fh)
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as fh:  # "x": never another's file
                export_jsonl(labels, fh)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise LabelError(f"cannot write labels to {name}: {exc.strerror or exc}") from None


@labels_group.command("remove")
@click.argument("label_id", type=click.IntRange(min=1, max=2**63 - 1))
@REPO
def remove_cmd(label_id: int, repo: str) -> None:
    """Delete one label: a culprit confirmed by mistake (`rca labels export` first keeps a copy)."""
    from rca_lsp.labels.store import remove

    label = remove(_meta(repo), label_id)
    click.echo(f"removed label #{label_id}: culprit {label.culprit[:10]} ({label.source})")


@labels_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@REPO
def import_cmd(path: str, repo: str) -> None:
    """Add labels from a JSONL export (a teammate's, or pooled); all or none. A label already
    here (the same failure, culprit and candidates) is skipped."""
    from dataclasses import replace

    from rca_lsp.labels.store import LabelError, read_jsonl, record_all

    if not path.strip():
        raise click.BadParameter("an empty file name: name a JSONL export", param_hint="'PATH'")
    meta = _meta(repo)
    try:
        if path == "-":  # as export's `-`: `rca labels export | ssh other rca labels import -`
            labels = read_jsonl(Path("<stdin>"), sys.stdin.buffer.read().decode("utf-8"))
        else:  # every line checked before any is written, then one transaction
            labels = read_jsonl(Path(path))
    except UnicodeDecodeError as exc:  # a file of another encoding, or not text: no label is read
        raise LabelError(f"cannot read labels from {path}: not UTF-8 text (byte {exc.start})",
                         hint="import a file that `rca labels export` wrote: UTF-8 JSONL") from None
    stored = record_all(meta, [replace(label, source="import", id=None) for label in labels])
    added = sum(new for _, new in stored)
    skipped = f", skipped {len(stored) - added} already present" if added < len(stored) else ""
    click.echo(f"imported {added} label(s){skipped}")

"""`rca model tune|use|list|eval|stats|export-triton`: the learned fusion adapted to this repository,
measured, rolled back, watched; and the ranker laid out for Triton."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from rca_lsp.commands import REPO
from rca_lsp.errors import ModelError


def _meta(repo: str) -> str:
    from rca_lsp.vcs import open_repo

    return open_repo(repo).meta_dir


NUMPY_HINT = ("pip install 'numpy>=1.24' (a dependency of rca-lsp: `pip install -e .` in its checkout "
              "installs it); `rca model stats` and `rca suspects` run without it")


def _needs_numpy(command: str) -> None:
    """`tune` fits and `eval` scores with numpy: where it cannot be imported (an install from before
    it was a dependency), one line that says so, before anything is read."""
    try:
        import numpy  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"rca model {command} needs numpy ({exc})", hint=NUMPY_HINT) from None


def _labels(meta: str, path: str | None):
    from rca_lsp.labels.store import listing, read_jsonl

    return read_jsonl(Path(path)) if path else listing(meta)


@click.command("tune")
@REPO
@click.option("--labels", "labels_file", default=None, type=click.Path(dir_okay=False),
              help="JSONL labels (pooled) instead of this repository's.")
def tune_cmd(repo: str, labels_file: str | None) -> None:
    """Refit the learned fusion on the labels; kept (a new version, made current) only if it wins on
    leave-one-out: a higher MRR than retrieval on the same labels, and a top-1 no lower."""
    _needs_numpy("tune")
    from rca_lsp.labels import fit, versions
    from rca_lsp.labels.evaluate import label_cases

    meta = _meta(repo)
    labels = _labels(meta, labels_file)
    cases = [c for c in label_cases(labels) if c.bic is not None]
    if len(cases) < fit.MIN_LABELS:
        raise ModelError(f"tuning needs at least {fit.MIN_LABELS} labels with the culprit among the candidates; "
                         f"there are {len(cases)}", hint="resolve failures with --culprit, or confirm with rca bisect")
    t0 = time.perf_counter()
    tuning = fit.tune(cases)
    click.echo(f"leave-one-out on {len(cases)} labels (λ={tuning.l2:g}):        n   top-1   top-5     MRR")
    click.echo(f"  retrieval                                 {tuning.retrieval.row()}")
    click.echo(f"  tuned fusion                              {tuning.tuned.row()}")
    click.echo(f"  tuned vs retrieval: {fit.paired(list(tuning.ranks), list(tuning.base_ranks))}")
    if not tuning.wins:
        raise ModelError("the tuned fusion does not beat retrieval on leave-one-out (MRR higher, top-1 no lower); "
                         "not kept", hint="more labels may change that; `rca suspects` ranks as before")
    model = fit.fit(cases, tuning.l2)
    info = {"created": int(time.time()), "labels": len(cases), "max_label_id": max((lb.id or 0) for lb in labels),
            "source": labels_file or "local", "l2": tuning.l2, "loo": tuning.tuned.__dict__,
            "retrieval_loo": tuning.retrieval.__dict__, "seconds": round(time.perf_counter() - t0, 2)}
    name = versions.save(meta, model, info)
    click.echo(f"kept: {name} is now current (`rca model use none` goes back to retrieval)")


@click.command("use")
@click.argument("version")
@REPO
def use_cmd(version: str, repo: str) -> None:
    """Rank with this repository's tuned fusion VERSION (v1, v2, ... made by `rca model tune`; see
    `rca model list`), or `none` for retrieval. A version's name, not a path; and not the language
    model of `--ranker llm`, which `rca model build` makes."""
    from rca_lsp.labels.versions import use

    meta = _meta(repo)
    if version != "none" and _a_path(version):
        raise _path_given(meta, version)
    now = use(meta, version)
    click.echo(f"current: {now} (tuned fusion: `rca suspects` and the editor rank with it)" if now
               else "current: none (retrieval)")


def _a_path(text: str) -> bool:
    """Whether `use` was given a path where it takes a version's name (v1, none)."""
    from rca_lsp.labels.versions import VERSION

    if VERSION.match(text):
        return False
    return "/" in text or "\\" in text or text.endswith((".json", ".onnx")) or Path(text).exists()


def _path_given(meta: str, given: str) -> ModelError:
    """What `rca model use PATH` says: what `use` takes, that nothing changed, and what the path
    may have been meant for (the language model's folder, a version file, a fusion from elsewhere)."""
    from rca_lsp.labels.versions import VERSION, current_name, listing, models_dir
    from rca_lsp.ranker.store import MANIFEST

    path = Path(given)
    known = ", ".join(v.name for v in listing(meta)) or "none tuned yet"
    folder = models_dir(meta)
    if path.suffix == ".json" and VERSION.match(path.stem) and path.is_file() and \
            path.resolve().parent == folder.resolve():
        hint = f"name the version: `rca model use {path.stem}`"
    elif (path / MANIFEST).is_file() or path.name == MANIFEST or path.suffix == ".onnx":
        hint = ("that is the language model of `--ranker llm`: `rca model build` makes it (in RCA_MODEL_DIR, "
                "else ~/.cache/rca-lsp/models) and `rca suspects --ranker llm` uses it; `use` does not pick it")
    elif path.suffix == ".json":
        hint = f"a fusion file from elsewhere: copy it into {folder} as vN.json, then `rca model use vN`"
    else:
        hint = "`rca model list` shows the versions; `rca model use none` ranks with retrieval"
    return ModelError(f"`rca model use` takes the name of a tuned fusion version of this repository (from "
                      f"`rca model tune`; versions: {known}) or `none`, not a path: {given}; nothing changed "
                      f"(current: {current_name(meta) or 'none, retrieval'})", hint=hint)


@click.command("list")
@REPO
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(repo: str, fmt: str) -> None:
    """The tuned versions, the current one marked with *."""
    from rca_lsp.labels.versions import listing

    items = listing(_meta(repo))
    if fmt == "json":
        click.echo(json.dumps([{"version": v.name, "current": v.current, **v.info} for v in items], indent=2))
        return
    for v in items:
        loo, base = v.info.get("loo", {}), v.info.get("retrieval_loo", {})
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.info.get("created", 0)))
        click.echo(f"{'*' if v.current else ' '} {v.name:<5} {when}  {v.info.get('labels', '?')} labels  "
                   f"LOO MRR {loo.get('mrr', 0):.3f} (retrieval {base.get('mrr', 0):.3f}), "
                   f"top-1 {loo.get('top1', 0):.1f}% ({base.get('top1', 0):.1f}%)")
    if not any(v.current for v in items):
        click.echo("  current: none (retrieval)")


@click.command("eval")
@REPO
@click.option("--labels", "labels_file", default=None, type=click.Path(dir_okay=False),
              help="JSONL labels instead of this repository's.")
@click.option("--bench", default=None, type=click.Path(file_okay=False),
              help="A folder of benchmark case feature files (scripts/dataset_features.py).")
@click.option("--model", "version", default=None, help="A tuned version (default: the current one).")
def eval_cmd(repo: str, labels_file: str | None, bench: str | None, version: str | None) -> None:
    """Top-1/top-5/MRR of the tuned fusion in use and of the shipped fusion for regressions (as `rca
    suspects` applies it) beside retrieval's."""
    _needs_numpy("eval")
    from rca_lsp.labels import versions
    from rca_lsp.labels.evaluate import HEADER, bench_cases, compare, label_cases, shipped
    from rca_lsp.suspects.learned import load

    meta = _meta(repo)
    name = version or versions.current_name(meta)
    model = None
    if name:
        path = versions.models_dir(meta) / f"{name}.json"
        if not path.is_file():
            raise ModelError(f"no tuned fusion {name!r}", hint="`rca model list` shows the versions")
        model = load(path)
    labels = _labels(meta, labels_file)
    cases = bench_cases(Path(bench)) if bench else None  # every input read before the first line is printed
    if not labels:
        where = "`rca failures resolve ID --culprit REV`, a confirmed `rca bisect` or `rca labels import`"
        if labels_file and cases is None:  # a file named to evaluate on that holds none is an error, not a result
            raise ModelError(f"no labels in {labels_file} to evaluate on",
                             hint=f"give a JSONL file as `rca labels export` writes it (labels come from {where})")
        click.echo(f"no labels {f'in {labels_file} ' if labels_file else ''}to evaluate on (labels come from "
                   f"{where})", err=True)
        if cases is None:
            return
    click.echo(HEADER)
    models = ([(f"tuned {name}", model)] if model is not None else []) + shipped()
    if labels:
        click.echo("\n".join(compare("labels", label_cases(labels), models)))
    tuned = (json.loads(path.read_text()).get("tuned") or {}) if model is not None else {}
    if model is not None and labels and not labels_file and tuned.get("source") == "local":
        newer = [lb for lb in labels if (lb.id or 0) > tuned.get("max_label_id", 0)]
        trained = f"(labels {len(labels) - len(newer)} of {len(labels)} trained {name}; "
        if newer:
            click.echo(trained + "held out since:)")
            click.echo("\n".join(compare("newer", label_cases(newer), models)))
        else:
            click.echo(trained + "none held out since)")
    if cases is not None:
        click.echo("\n".join(compare("bench", cases, models)))
    if model is None:
        click.echo("no tuned fusion in use: retrieval is the ranker (`rca model tune`)")


@click.command("stats")
@REPO
@click.option("--by", "period", type=click.Choice(["month", "week"]), default="month", show_default=True)
def stats_cmd(repo: str, period: str) -> None:
    """How often the confirmed culprit was #1 / in the top 5 of what the user saw, over time."""
    from rca_lsp.labels.evaluate import stats
    from rca_lsp.labels.store import listing

    labels = listing(_meta(repo))
    if not labels:
        click.echo("no labels recorded yet", err=True)
        return
    click.echo(f"{period:<8} labels   #1 shown  top-5 shown   #1 retrieval  top-5 retrieval")
    for key, n, t1, t5, r1, r5 in stats(labels, period):
        click.echo(f"{key:<8} {n:>6}   {t1:7.1f}%  {t5:10.1f}%   {r1:11.1f}%  {r5:14.1f}%")
    rankers = sorted({lb.ranker for lb in labels})
    click.echo(f"rankers seen: {', '.join(rankers)}")


@click.command("export-triton")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--onnx", "onnx_path", default=None, type=click.Path(dir_okay=False),
              help="The ONNX graph (default: the built model's --variant, verified).")
@click.option("--variant", type=click.Choice(["fp16", "fp32", "int8"]), default="fp16", show_default=True)
@click.option("--name", default="rca-ranker", show_default=True, help="The Triton model name.")
def export_triton_cmd(dest: str, onnx_path: str | None, variant: str, name: str) -> None:
    """Write a Triton model repository (ONNX Runtime backend) for the ranker: DEST/NAME/config.pbtxt
    (DEST/NAME is made; an existing one is never written over)."""
    from rca_lsp.ranker.triton import write_repository

    if onnx_path is None:  # only the variant exported is checked: another one missing or changed is no matter
        from rca_lsp.ranker.store import Manifest, model_dir, variant_files, verify

        folder = model_dir()
        manifest = Manifest.read(folder)
        verify(folder, manifest, variant_files(manifest, variant))
        onnx_path = str(folder / variant / "model.onnx")
    out = write_repository(Path(dest), Path(onnx_path), name)
    click.echo(f"wrote {out / 'config.pbtxt'}")


COMMANDS = (tune_cmd, use_cmd, list_cmd, eval_cmd, stats_cmd, export_triton_cmd)

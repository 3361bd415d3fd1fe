#!/usr/bin/env python3
"""Tune the Llama scorer with every choice made on the training repositories, then measure it once
on repositories it never saw.

`run` starts these jobs side by side (`--jobs`; one GPU takes them all, a CPU one or two):
- one fold per training repository (or `--folds N`: the repositories dealt into N groups, in
  name order): a LoRA trained on the other repositories scores that fold's cases (out-of-fold
  scores);
- `full`: a LoRA trained on every training example scores the held-out examples: with the failure,
  with the failure replaced by "N/A" (the shortcut check) and each seeded culprit against its own
  commit before the mutation (the other one);
- `base`: the base model alone scores the held-out examples the same three ways.
Each training job goes through the stages of `--epochs` (5,15: the later stage resumes from the
earlier one's checkpoint, which is the same as an unbroken run) and scores at every stage; each
stage's scores are written as it ends, so a stopped run keeps them and `run` again does the rest.

`report` then chooses the stage and the fusion weight by the out-of-fold figures alone (the
training repositories), and gives the held-out figures for that choice with paired tests against
retrieval, beside every other stage and weight (labelled as not chosen).

    python scripts/llm_loro.py run --train train.jsonl --held track.jsonl --out RUN --device cuda --jobs 9
    python scripts/llm_loro.py report --out RUN [--markdown]

Examples come from scripts/llm_data.py; every repository trained on is listed in models/DATA.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

WEIGHTS = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)  # the fusion weights the out-of-fold figures choose among


def folds(train, n: int = 0) -> list[list[str]]:
    """The training repositories in `n` groups (0: one each), dealt in name order: each a fold's held part."""
    projects = sorted({e.project for e in train})
    n = n or len(projects)
    return [g for g in (projects[i::n] for i in range(n)) if g]


def jobs(train, held: bool, n_folds: int = 0, base: bool = True) -> list[str]:
    out = [f"fold:{'+'.join(g)}" for g in folds(train, n_folds)] + ["full"]
    return out + (["base"] if held and base else [])


def run_job(job: str, args: argparse.Namespace) -> str:
    """One job (see the module docstring); writes OUT/<job>/result.json and returns its name."""
    import torch

    from llm_train import autocast, load
    from rca_lsp.ranker import tune
    from rca_lsp.ranker.prompt import REL_NA

    torch.set_num_threads(args.threads)
    train = tune.read_examples(args.train)
    held = tune.read_examples(args.held) if args.held else []
    kind, _, names = job.partition(":")
    part = set(names.split("+"))
    fit = [e for e in train if e.project not in part] if kind == "fold" else train
    test = [e for e in train if e.project in part] if kind == "fold" else held
    out = args.out / job.replace(":", "-")
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "log.txt").open("a", encoding="utf-8")

    def say(line: str) -> None:
        log.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        log.flush()

    model, codec = load(args)
    settings = tune.Settings(rank=args.rank, alpha=2 * args.rank, lr=args.lr, group=args.group, seed=args.seed,
                             save_every=10**9, contrast=args.contrast, clean=args.clean, flat=args.flat)
    result: dict = {"job": job, "train_cases": len(fit), "test_cases": [e.case_id for e in test], "stages": {}}
    if kind != "base":
        model = tune.with_lora(model, settings)
    model = model.to(args.device)
    for epochs in ([0] if kind == "base" else args.epochs):
        stage: dict = {}
        if kind != "base":
            with autocast(args):
                progress = tune.train(model, codec, fit, out, epochs * len(fit), settings, say)
            stage.update(steps=progress.step, tokens_per_s=round(progress.tokens_per_s, 1),
                         train_seconds=round(progress.seconds, 1), loss_last_epoch=_mean(progress.losses[-len(fit):]))
            shutil.copytree(out / "adapter", out / f"adapter-e{epochs}", dirs_exist_ok=True)
        started = time.perf_counter()
        with autocast(args):
            stage["scores"] = {e.case_id: v for e, v in tune.evaluate(model, codec, test)}
            if kind != "fold":
                stage["na"] = {e.case_id: v for e, v in tune.evaluate(model, codec, test, REL_NA)}
                stage["clean"] = {e.case_id: [m, c] for e, m, c in tune.clean_check(model, codec, test)}
        stage["eval_seconds_per_case"] = round((time.perf_counter() - started) / max(len(test), 1), 3)
        result["stages"][str(epochs)] = stage
        say(f"stage {epochs} epochs done")
        _write(out / "result.json", result)  # each stage as it ends: a run stopped later keeps it
    _write(out / "result.json", dict(result, complete=True))
    return job


def _write(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.replace(path)


def _complete(path: Path) -> bool:
    return path.is_file() and bool(json.loads(path.read_text(encoding="utf-8")).get("complete"))


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _one(pair):
    job, args = pair
    try:
        return run_job(job, args), ""
    except Exception as exc:  # a failed job is reported and the others carry on
        import traceback

        return job, traceback.format_exc()


def run(args: argparse.Namespace) -> int:
    from rca_lsp.ranker import tune

    train = tune.read_examples(args.train)
    todo = [j for j in jobs(train, bool(args.held), args.folds, not args.no_base) if not _complete(args.out / j.replace(":", "-") / "result.json")]
    print(f"{len(todo)} jobs: {', '.join(todo)}", flush=True)
    started = time.perf_counter()
    failed = 0
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for job, error in pool.imap_unordered(_one, [(j, args) for j in todo]):
            failed += bool(error)
            print(f"{time.perf_counter() - started:7.1f} s  {job}: {'FAILED' if error else 'done'}", flush=True)
            if error:
                print(error, file=sys.stderr, flush=True)
    return 1 if failed else 0


# --- report ---------------------------------------------------------------------------------------


def ranks_for(examples, scores: dict, weight: float | None) -> list[int]:
    """`tune.culprit_ranks` for examples whose scores are keyed by case."""
    from rca_lsp.ranker import tune

    return tune.culprit_ranks([(e, scores.get(e.case_id)) for e in examples], weight)


def figures(ranks: list[int]) -> dict:
    n = len(ranks) or 1
    return {"top1": round(100 * sum(r == 1 for r in ranks) / n, 1), "top5": round(100 * sum(r <= 5 for r in ranks) / n, 1),
            "mrr": round(sum(1 / r for r in ranks) / n, 3), "n": len(ranks)}


def choose(train, results: dict) -> tuple[str, float, dict]:
    """(stage, weight) with the best out-of-fold fused MRR over the training repositories (ties: the
    smaller weight, then the earlier stage), and the out-of-fold table it was chosen from."""
    folds = [r for job, r in results.items() if job.startswith("fold:")]
    table = {}
    # a stopped run: the stages every fold and the full run reached
    reached = [s for s in folds[0]["stages"] if all(s in r["stages"] for r in [*folds, results["full"]])]
    for stage in reached:
        scores = {k: v for r in folds for k, v in r["stages"][stage]["scores"].items()}
        covered = [e for e in train if e.case_id in scores]
        table[stage] = {"model": figures(ranks_for(covered, scores, None))}
        for w in WEIGHTS:
            table[stage][w] = figures(ranks_for(covered, scores, w))
    best = max(((s, w) for s in table for w in WEIGHTS),
                key=lambda sw: (table[sw[0]][sw[1]]["mrr"], -sw[1], -int(sw[0])))
    return best[0], best[1], table


def report(args: argparse.Namespace) -> int:
    from llm_train import chance
    from ltr_train import paired
    from rca_lsp.ranker import tune

    results = {json.loads(p.read_text())["job"]: json.loads(p.read_text()) for p in args.out.glob("*/result.json")}
    train = tune.read_examples(args.train)
    held = tune.read_examples(args.held)
    stage, weight, table = choose(train, results)
    retrieval_oof = figures([e.retrieval_rank or e.label + 1 for e in train])
    print(f"out-of-fold, training repositories ({len(train)} cases, {len({e.project for e in train})} repositories): "
          f"retrieval {retrieval_oof}; chance in the top K {chance(train)}")
    scored = {k for job, r in results.items() if job.startswith("fold:") for st in r["stages"].values() for k in st["scores"]}
    unscored = sorted({e.project for e in train if e.case_id not in scored})
    if unscored:  # a fold that failed or has not run: the choice below reads fewer cases than it should
        print(f"  WARNING: out-of-fold scores for {len(scored)} of {len(train)} cases only; none for "
              f"{', '.join(unscored)} (run again to finish the missing folds)")
    for s, row in table.items():
        print(f"  {s} epochs: model alone {row['model']}; " +
              "; ".join(f"w={w}: {row[w]['top1']}% / {row[w]['mrr']}" for w in WEIGHTS))
    print(f"chosen on the training repositories: {stage} epochs, weight {weight}")
    retrieval = [e.retrieval_rank or e.label + 1 for e in held]
    print(f"\nheld out ({len(held)} cases of {', '.join(sorted({e.project for e in held}))}): retrieval {figures(retrieval)}; "
          f"chance in the top K {chance(held)}")
    full, base = results["full"]["stages"], results.get("base", {}).get("stages", {})
    for name, stages in (("base", base), ("tuned", full)):
        for s, st in stages.items():
            tag = "chosen" if (name == "tuned" and s == stage) else "not chosen" if name == "tuned" else "reference"
            alone = ranks_for(held, st["scores"], None)
            na = ranks_for(held, st["na"], None)
            clean = st["clean"].values()
            above = sum(m > c for m, c in clean)
            print(f"  {name} {s} epochs ({tag}): model alone {figures(alone)}; failure N/A {figures(na)}; "
                  f"alone vs N/A: {paired(alone, na)}; mutant above its clean commit in {above} of {len(clean)}")
            if name == "tuned":
                for w in WEIGHTS[1:]:
                    fused = ranks_for(held, st["scores"], w)
                    mark = " <- chosen" if (s == stage and w == weight) else ""
                    print(f"    fused w={w}: {figures(fused)}; vs retrieval: {paired(fused, retrieval)}{mark}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    p = sub.add_parser("report")
    for q in (r, p):
        q.add_argument("--train", type=Path, required=True, help="training examples (scripts/llm_data.py)")
        q.add_argument("--held", type=Path, help="held-out examples: other repositories")
        q.add_argument("--out", type=Path, required=True)
    r.add_argument("--epochs", type=lambda s: sorted(int(x) for x in s.split(",")), default=[5, 15])
    r.add_argument("--device", default="cpu")
    r.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="see llm_train.py")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--threads", type=int, default=1, help="torch threads per job")
    r.add_argument("--base", choices=["smollm2", "tiny"], default="smollm2")
    r.add_argument("--rank", type=int, default=8)
    r.add_argument("--lr", type=float, default=2e-4)
    r.add_argument("--group", type=int, default=8)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--contrast", type=int, default=0, help="see llm_train.py train --contrast")
    r.add_argument("--clean", action="store_true", help="see llm_train.py train --clean")
    r.add_argument("--flat", action="store_true", help="see llm_train.py train --flat")
    r.add_argument("--no-base", action="store_true", help="leave out the base model's job (another run has it)")
    r.add_argument("--folds", type=int, default=0, help="repositories dealt into this many folds (0: one each)")
    args = ap.parse_args(argv)
    if args.cmd == "report" and not args.held:
        ap.error("report needs --held")
    return run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    sys.exit(main())

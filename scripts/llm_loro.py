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
retrieval, beside every other stage and weight (labelled as not chosen). It also fits a learned
fusion (a conditional logit over retrieval's score, the model's z-score and whether each is the
candidate's first) on the out-of-fold scores, its stage chosen out of fold too; `fuse` applies it
to held-out examples that another command scored (`llm_train.py eval --onnx ... --json`).

    python scripts/llm_loro.py run --train train.jsonl --held track.jsonl --out RUN --device cuda --jobs 9 \
        --folds 7 --contrast 2 --flat       # on one H200 at fp32 a job holds 7-13 GB: 17 did not fit
    python scripts/llm_loro.py report --train train.jsonl --held track.jsonl --out RUN
    python scripts/llm_loro.py fuse --train train.jsonl --held other.jsonl --out RUN --scores other.json --stage 6

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
        scores, _ = oof_scores(results, stage)
        covered = [e for e in train if e.case_id in scores]
        table[stage] = {"model": figures(ranks_for(covered, scores, None))}
        for w in WEIGHTS:
            table[stage][w] = figures(ranks_for(covered, scores, w))
    best = max(((s, w) for s in table for w in WEIGHTS),
                key=lambda sw: (table[sw[0]][sw[1]]["mrr"], -sw[1], -int(sw[0])))
    return best[0], best[1], table


# --- a learned fusion over the top K -----------------------------------------------------------

FUSION_FEATURES = ("retrieval score / the case's best", "model z-score", "retrieval's first", "the model's first")
FUSION_L2 = (0.01, 0.1, 1.0)


def fusion_rows(e, values: list[float]):
    """Per candidate of `e`, the learned fusion's features (FUSION_FEATURES): it can learn when to
    follow the model's first choice over retrieval's, which a fixed weight on z-scores cannot."""
    import numpy as np

    from rca_lsp.ranker.fusion import zscores

    top = max(e.scores) or 1.0
    first_r = max(range(len(e.scores)), key=lambda j: (e.scores[j], -j))
    first_m = max(range(len(values)), key=lambda j: (values[j], -j))
    z = zscores(values)
    return np.array([[e.scores[j] / top, z[j], j == first_r, j == first_m] for j in range(len(values))], dtype=float)


def fit_fusion(examples, scores: dict, groups: dict, l2: float | None = None, rows=None,
               grid: tuple[float, ...] = FUSION_L2) -> dict:
    """A conditional logit (scripts/ltr_train.py's) over `rows` (default `fusion_rows`), fitted on the
    examples whose culprit is in the top K; the L2 penalty (of `grid`) chosen by leave-one-group-out
    MRR unless given."""
    from types import SimpleNamespace

    from ltr_train import clogit_fit

    rows = rows or fusion_rows
    usable = [e for e in examples if e.case_id in scores and e.within and e.scores]
    if not usable:
        raise ValueError("no example to fit the fusion on (none has its culprit in the top K and scores)")
    if l2 is None and len({groups[e.case_id] for e in usable}) < 2:
        l2 = grid[1]  # one group: nothing to leave out
    if l2 is None:
        best = None
        for value in grid:
            ranks = []
            for g in sorted({groups[e.case_id] for e in usable}):
                model = fit_fusion([e for e in usable if groups[e.case_id] != g], scores, groups, value, rows)
                ranks += fusion_ranks(model, [e for e in usable if groups[e.case_id] == g], scores, rows)
            mrr = sum(1 / r for r in ranks) / len(ranks)
            best = max(best or (mrr, value), (mrr, value), key=lambda t: (t[0], -t[1]))
        l2 = best[1]
    cases = [SimpleNamespace(X=rows(e, scores[e.case_id]), bic=e.label) for e in usable]
    return dict(clogit_fit(cases, list(range(cases[0].X.shape[1])), l2), l2=l2)


def fusion_ranks(model: dict, examples, scores: dict, rows=None) -> list[int]:
    """Each example's culprit rank under the fitted fusion (a culprit below K keeps retrieval's rank)."""
    from rca_lsp.ranker import tune

    rows = rows or fusion_rows
    out = []
    for e in examples:
        if not e.within:
            out.append(e.retrieval_rank)
            continue
        x = (rows(e, scores[e.case_id]) - model["mean"]) / model["scale"]
        out.append(tune.rank_of(list(x @ model["weights"]), e.label))
    return out


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
    learned_stage, fits = learned(train, results)
    print(f"\nlearned fusion ({', '.join(FUSION_FEATURES)}; conditional logit): out of fold, leave one fold out"
          + ("" if fits else ": needs the results of two folds at least"))
    for s, (oof, model) in fits.items():
        fused = fusion_ranks(model, held, full[s]["scores"])
        mark = " <- chosen (best out of fold)" if s == learned_stage else ""
        print(f"  {s} epochs: out of fold {figures(oof)}; weights {[round(float(w), 3) for w in model['weights']]}, "
              f"l2 {model['l2']}; held out {figures(fused)}; vs retrieval: {paired(fused, retrieval)}{mark}")
    return 0


def oof_scores(results: dict, stage: str) -> tuple[dict, dict]:
    """The folds' out-of-fold scores at `stage`, and each case's fold."""
    scores, groups = {}, {}
    for job, r in results.items():
        if job.startswith("fold:") and stage in r["stages"]:
            for k, v in r["stages"][stage]["scores"].items():
                scores[k], groups[k] = v, job
    return scores, groups


def learned(train, results: dict) -> tuple[str, dict]:
    """For each stage every fold reached: the learned fusion's out-of-fold ranks (fitted with one
    fold left out, then scoring it) and the fusion fitted on every fold's scores; the stage chosen
    is the one with the best out-of-fold MRR."""
    folds = [r for job, r in results.items() if job.startswith("fold:")]
    if len(folds) < 2:
        return "", {}  # nothing to leave out
    reached = [s for s in folds[0]["stages"] if all(s in r["stages"] for r in folds)]
    fits = {}
    for stage in reached:
        scores, groups = oof_scores(results, stage)
        covered = [e for e in train if e.case_id in scores]
        ranks = []
        for g in sorted(set(groups.values())):
            model = fit_fusion([e for e in covered if groups[e.case_id] != g], scores, groups)
            ranks += fusion_ranks(model, [e for e in covered if groups[e.case_id] == g], scores)
        fits[stage] = (ranks, fit_fusion(covered, scores, groups))
    best = max(fits, key=lambda s: (figures(fits[s][0])["mrr"], -int(s)))
    return best, fits


def fuse_cmd(args: argparse.Namespace) -> int:
    """The learned fusion fitted on RUN's out-of-fold scores at `--stage`, applied to other held-out
    examples scored by the full run's model elsewhere (`llm_train.py eval --onnx ... --json`)."""
    from ltr_train import paired
    from rca_lsp.ranker import tune

    results = {json.loads(p.read_text())["job"]: json.loads(p.read_text()) for p in args.out.glob("*/result.json")}
    train = tune.read_examples(args.train)
    held = tune.read_examples(args.held)
    given = {d["case_id"]: d["model"] for d in json.loads(args.scores.read_text(encoding="utf-8"))}
    scores, groups = oof_scores(results, args.stage)
    model = fit_fusion([e for e in train if e.case_id in scores], scores, groups)
    retrieval = [e.retrieval_rank or e.label + 1 for e in held]
    print(f"held out ({len(held)} cases of {', '.join(sorted({e.project for e in held}))}): retrieval {figures(retrieval)}")
    print(f"  model alone: {figures(ranks_for(held, given, None))}")
    for w in WEIGHTS[1:]:
        fused = ranks_for(held, given, w)
        print(f"  fused w={w}: {figures(fused)}; vs retrieval: {paired(fused, retrieval)}")
    fused = fusion_ranks(model, held, given)
    print(f"  learned fusion ({args.stage} epochs, l2 {model['l2']}): {figures(fused)}; vs retrieval: {paired(fused, retrieval)}")
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
    f = sub.add_parser("fuse", help="the learned fusion on other held-out examples (scores from llm_train.py eval --json)")
    f.add_argument("--train", type=Path, required=True)
    f.add_argument("--held", type=Path, required=True)
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--scores", type=Path, required=True)
    f.add_argument("--stage", required=True, help="the stage (epochs) whose out-of-fold scores it is fitted on")
    args = ap.parse_args(argv)
    if args.cmd == "report" and not args.held:
        ap.error("report needs --held")
    return {"run": run, "report": report, "fuse": fuse_cmd}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

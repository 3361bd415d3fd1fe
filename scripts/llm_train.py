#!/usr/bin/env python3
"""Tune SmolLM2-135M as a relevance scorer (LoRA, listwise), measure it, and check its shortcuts.

    # examples: scripts/llm_data.py; every repository trained on is listed in models/DATA.md
    python scripts/llm_train.py train --data train.jsonl --out RUN --steps 2000 [--minutes 170] [--device cuda]
    python scripts/llm_train.py eval --data held.jsonl [--adapter RUN/adapter] [--failure-na]
    python scripts/llm_train.py eval --data held.jsonl --onnx MODEL_DIR [--variant int8]   # as ranking scores
    rca model build --adapter RUN/adapter --force          # the tuned model, ONNX, what `--ranker llm` loads

`train` resumes from RUN's checkpoint (the same settings), stops cleanly after `--minutes`, and
prints tokens/s. `--exclude` leaves repositories out (held out by repository). `eval` ranks every
candidate of each example with the torch model (the base alone without `--adapter`) and prints
top-1 / top-5 / MRR beside retrieval's (a culprit retrieval left below K keeps its rank for both); `--failure-na` replaces the
failure by "N/A": a scorer that reads the failure must fall toward chance there (the shortcut check);
`--clean-check` scores each seeded culprit against the same commit before its mutation (the other one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


WEIGHTS = (0.25, 0.5, 1.0)


def metrics(ranks: list[int]) -> str:
    n = len(ranks) or 1
    return (f"top-1 {100 * sum(r == 1 for r in ranks) / n:.1f}%  top-5 {100 * sum(r <= 5 for r in ranks) / n:.1f}%  "
            f"MRR {sum(1 / r for r in ranks) / n:.3f}  ({len(ranks)} cases)")


def chance(examples) -> str:
    n = len(examples) or 1
    top1 = sum(1 / len(e.candidates) for e in examples) / n
    mrr = sum(sum(1 / r for r in range(1, len(e.candidates) + 1)) / len(e.candidates) for e in examples) / n
    return f"top-1 {100 * top1:.1f}%  MRR {mrr:.3f}"


def load(args):
    from rca_lsp.ranker.export import load_base, tiny_model, tiny_tokenizer_json
    from rca_lsp.ranker.score import Codec

    if args.base == "tiny":  # for trying the pipeline in seconds
        return tiny_model(0), Codec(tiny_tokenizer_json())
    model, tokenizer_json = load_base(progress=lambda line: print(line, file=sys.stderr))
    specials = [t["content"] for t in json.loads(tokenizer_json).get("added_tokens", []) if t.get("special")]
    return model, Codec(tokenizer_json, specials)


def autocast(args):
    """bf16 autocast where asked for; else full precision (TF32 matrix products on a GPU)."""
    import torch

    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    return torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16")


def say(line: str) -> None:
    print(line, flush=True)  # a long run's log is read while it runs


def select(examples, exclude: str):
    out = {p for p in exclude.split(",") if p}
    return [e for e in examples if e.project not in out]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "eval"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True, help="examples, JSON lines (scripts/llm_data.py)")
        p.add_argument("--base", choices=["smollm2", "tiny"], default="smollm2")
        p.add_argument("--device", default="cpu", help="cpu or cuda")
        p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                       help="bf16: autocast (cuda). Not the default: a LoRA update starts far below one bf16 step "
                            "of the activation it is added to, and the first GPU run in bf16 stayed near chance "
                            "(BENCHMARKS.md)")
        p.add_argument("--exclude", default="", help="projects to leave out, comma-separated")
        p.add_argument("--threads", type=int, default=0)
    t = sub.choices["train"]
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--steps", type=int, required=True, help="steps in all (one case per step)")
    t.add_argument("--minutes", type=float, help="stop cleanly after this long (a chunk)")
    t.add_argument("--rank", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--group", type=int, default=8)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--save-every", type=int, default=25)
    t.add_argument("--contrast", type=int, default=0,
                   help="also read each culprit under this many other cases' failures (same project first), "
                        "as negatives in its group: a prior over commits alone cannot lower the loss")
    t.add_argument("--clean", action="store_true",
                   help="also read each seeded culprit's commit before its mutation, under its own failure, "
                        "as a negative: only the mutated line tells the two apart")
    t.add_argument("--flat", action="store_true",
                   help="run each step's sequences whole in one batch (a GPU: fewer launches) instead of "
                        "sharing the failure's prefix (a CPU: less arithmetic)")
    e = sub.choices["eval"]
    e.add_argument("--adapter", type=Path)
    e.add_argument("--onnx", type=Path, metavar="MODEL_DIR",
                   help="score through a built model (rca model build [--adapter]) with ONNX Runtime, as ranking "
                        "does, and time each case, instead of torch")
    e.add_argument("--variant", default="auto", help="with --onnx: int8, fp16 or fp32")
    e.add_argument("--failure-na", action="store_true")
    e.add_argument("--json", type=Path, help="write each case's model scores here")
    e.add_argument("--weights", type=lambda v: [float(x) for x in v.split(",")], default=list(WEIGHTS),
                   help="fusion weights to show (fixed, never fitted on these cases)")
    e.add_argument("--clean-check", action="store_true",
                   help="score each seeded culprit against its own commit before the mutation")
    args = ap.parse_args(argv)

    import torch

    from rca_lsp.ranker import tune

    if args.threads:
        torch.set_num_threads(args.threads)
    examples = select(tune.read_examples(args.data), args.exclude)
    if args.cmd == "eval" and args.onnx:
        return onnx_eval_cmd(args, examples)
    model, codec = load(args)
    return (train_cmd if args.cmd == "train" else eval_cmd)(args, model, codec, examples)


def train_cmd(args, model, codec, examples) -> int:
    import torch

    from rca_lsp.ranker import tune

    settings = tune.Settings(rank=args.rank, alpha=2 * args.rank, lr=args.lr, group=args.group, seed=args.seed,
                             save_every=args.save_every, contrast=args.contrast, clean=args.clean, flat=args.flat)
    model = tune.with_lora(model, settings).to(args.device)
    deadline = time.monotonic() + 60 * args.minutes if args.minutes else None
    with autocast(args):
        progress = tune.train(model, codec, examples, args.out, args.steps, settings, say, deadline)
    print(f"{progress.step} steps, {progress.tokens} tokens in {progress.seconds:.0f} s: "
          f"{progress.tokens_per_s:.1f} tokens/s; adapter: {args.out / 'adapter'}")
    return 0


def eval_cmd(args, model, codec, examples) -> int:
    import torch

    from rca_lsp.ranker import tune
    from rca_lsp.ranker.prompt import REL_NA

    if args.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(args.adapter))
    model = model.to(args.device)
    if args.clean_check:
        pairs = list(tune.clean_check(model, codec, examples))
        above = sum(m > c for _, m, c in pairs)
        gaps = [m - c for _, m, c in pairs]
        print(f"the mutant scores above the commit before it in {above} of {len(pairs)} cases "
              f"(median gap {statistics.median(gaps or [0.0]):+.3f}; a scorer blind to the failure: about half, gap 0)")
        return 0
    started = time.perf_counter()
    with autocast(args):
        scored = list(tune.evaluate(model, codec, examples, REL_NA if args.failure_na else None))
    seconds = time.perf_counter() - started
    print(f"model alone in the top K{' (failure N/A)' if args.failure_na else ''}: "
          f"{metrics(tune.culprit_ranks(scored))}; {seconds / max(len(examples), 1):.2f} s per case")
    return report(args, examples, scored)


def report(args, examples, scored) -> int:
    """Retrieval, chance, wins and losses, the fusion at fixed weights, and the scores (--json)."""
    from rca_lsp.ranker import tune

    retrieval = [e.retrieval_rank or e.label + 1 for e in examples]
    ranks = tune.culprit_ranks(scored)
    print(f"retrieval: {metrics(retrieval)}")
    print(f"chance in the top K: {chance(examples)}")
    print(f"top-1 won / lost against retrieval: {wins(ranks, retrieval)}")
    if all(e.scores for e in examples):
        for weight in args.weights:  # not fitted here: every weight asked for is shown
            fused = tune.culprit_ranks(scored, weight)
            print(f"fused, weight {weight}: {metrics(fused)}; top-1 won / lost {wins(fused, retrieval)}")
    if args.json:
        args.json.write_text(json.dumps([{"case_id": e.case_id, "project": e.project, "model": v,
                                          "label": e.label, "retrieval_rank": e.retrieval_rank}
                                         for e, v in scored]), encoding="utf-8")
    return 0


def onnx_eval_cmd(args, examples) -> int:
    """The built model through ONNX Runtime, exactly as `--ranker llm` scores (score.relevance, the
    prefix's KV cache once per case): its ranks and the time each case's K candidates take."""
    from rca_lsp.ranker import tune
    from rca_lsp.ranker.prompt import REL_NA
    from rca_lsp.ranker.score import relevance
    from rca_lsp.ranker.session import LogProbModel

    started = time.perf_counter()
    model = LogProbModel(args.onnx, variant=args.variant, threads=args.threads, device=args.device)
    load_s = time.perf_counter() - started
    scored, seconds = [], []
    for e in examples:
        t = time.perf_counter()
        scored.append((e, relevance(model, REL_NA if args.failure_na else e.failure, e.candidates, e.test)))
        seconds.append(time.perf_counter() - t)
    print(f"{model.variant} on {model.provider}: model alone in the top K"
          f"{' (failure N/A)' if args.failure_na else ''}: {metrics(tune.culprit_ranks(scored))}")
    print(f"K={len(examples[0].candidates) if examples else 0}: {statistics.median(seconds or [0.0]):.3f} s median a case "
          f"(min {min(seconds or [0.0]):.3f}, max {max(seconds or [0.0]):.3f}); model load {load_s:.2f} s")
    return report(args, examples, scored)


def wins(ranks: list[int], base: list[int]) -> str:
    won = sum(m == 1 and r != 1 for m, r in zip(ranks, base))
    lost = sum(m != 1 and r == 1 for m, r in zip(ranks, base))
    return f"{won} / {lost}"


if __name__ == "__main__":
    sys.exit(main())

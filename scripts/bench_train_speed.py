#!/usr/bin/env python3
"""Training tokens per second of SmolLM2-135M on this machine's CPU, to size the tuned scorer.

Loads the model from the PyPI GGUF (as `rca model build` does), then times forward+backward+step
on random token batches of the shapes a relevance scorer trains on, for each way of training it:
full fine-tuning, LoRA (peft) on every layer, LoRA on the top layers only (the layers below are
frozen, so backward stops at them), and a linear head on frozen last-layer features (forward only).
Prints a table of median tokens/s over the timed steps. Needs the `export` extra and peft.

    python scripts/bench_train_speed.py [--seq 512] [--batch 4] [--steps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def load_model():
    from transformers import AutoModelForCausalLM

    from rca_lsp.ranker.export import find_gguf

    gguf = find_gguf()
    return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")


def lora(model, layers: list[int] | None):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                     layers_to_transform=layers, task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def time_steps(model, batch: int, seq: int, steps: int, forward_only: bool = False) -> float:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4) if params and not forward_only else None
    ids = torch.randint(0, 49152, (batch, seq))
    times = []
    for step in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        if forward_only:
            with torch.no_grad():
                model(input_ids=ids, output_hidden_states=True)
        else:
            out = model(input_ids=ids, labels=ids)
            out.loss.backward()
            opt.step()
            opt.zero_grad()
        if step:
            times.append(time.perf_counter() - t0)
    return batch * seq / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=6, help="layers trained by 'LoRA, top layers'")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    model = load_model()
    n = model.config.num_hidden_layers
    rows.append(("frozen model, forward only (a head on its features)",
                 time_steps(model.eval(), args.batch, args.seq, args.steps, forward_only=True)))
    model.train()
    rows.append(("full fine-tuning", time_steps(model, args.batch, args.seq, args.steps)))
    rows.append(("LoRA r=8, all layers", time_steps(lora(load_model(), None), args.batch, args.seq, args.steps)))
    rows.append((f"LoRA r=8, top {args.top} of {n} layers",
                 time_steps(lora(load_model(), list(range(n - args.top, n))), args.batch, args.seq, args.steps)))
    print(f"SmolLM2-135M, batch {args.batch} x {args.seq} tokens, {args.threads} threads, median of {args.steps} steps\n")
    print("| training | tokens/s |\n|---|---|")
    for name, tps in rows:
        print(f"| {name} | {tps:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

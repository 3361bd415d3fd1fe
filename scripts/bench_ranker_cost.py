#!/usr/bin/env python3
"""What the Llama ranker costs on this machine: loading a built model and scoring K candidates.

For each model directory given (`--model DIR[=PYTHONPATH]`, the code to load it with after the `=`,
so that a build of an older format is measured with the code of its day), alternating in one run:
model load (verify, session, tokenizer, tables) in `--loads` fresh processes, then the relevance
formulation (the tuned scorer's: the failure and the test's code once, then each candidate) over
the examples of `--data` (scripts/llm_data.py JSON lines: K candidates each), timed per case, and
the process's peak RSS. Prints medians and the ratios between the first directory and the others,
and the largest difference between their scores (a build that changes the numbers shows here).

    python scripts/bench_ranker_cost.py --data held.jsonl --cases 12 --model NEW --model OLD=/path/to/old/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, resource, statistics, sys, time
if os.environ.get("RCA_BENCH_CODE"):  # another checkout's code: ahead of an editable install's finder too
    sys.path.insert(0, os.environ["RCA_BENCH_CODE"])
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
started = time.perf_counter()
from rca_lsp.ranker.session import LogProbModel
from rca_lsp.ranker.score import relevance
imported = time.perf_counter()
model = LogProbModel(sys.argv[1], variant=sys.argv[2], threads=int(sys.argv[3]))
loaded = time.perf_counter()
out = {"import_s": imported - started, "load_s": loaded - imported, "provider": model.provider}
if sys.argv[4]:
    examples = [json.loads(line) for line in open(sys.argv[4], encoding="utf-8") if line.strip()][:int(sys.argv[5])]
    for ex in examples:
        ex["candidates"] = ex["candidates"][:int(sys.argv[6])]
    times, scores = [], []
    for ex in examples:
        t = time.perf_counter()
        scores.append(relevance(model, ex["failure"], ex["candidates"], ex.get("test", "")))
        times.append(time.perf_counter() - t)
    out |= {"case_s": times, "scores": scores, "k": len(examples[0]["candidates"]) if examples else 0}
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["code"] = sys.modules["rca_lsp"].__file__
print(json.dumps(out))
"""


def child(directory: str, pythonpath: str | None, args, data: str = "") -> dict:
    env = dict(os.environ)
    env.pop("RCA_BENCH_CODE", None)
    if pythonpath:
        env["RCA_BENCH_CODE"] = pythonpath
    proc = subprocess.run([sys.executable, "-c", CHILD, directory, args.variant, str(args.threads), data,
                           str(args.cases), str(args.k)], env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        raise SystemExit(f"{directory}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="DIR or DIR=PYTHONPATH")
    ap.add_argument("--data", required=True, help="examples (scripts/llm_data.py)")
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--k", type=int, default=20, help="the first K candidates of each example")
    ap.add_argument("--loads", type=int, default=5, help="fresh processes that only load, per model")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the cases, models alternating")
    ap.add_argument("--variant", default="int8")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    models = [(m.split("=", 1) + [None])[:2] for m in args.model]
    loads: dict[str, list[float]] = {d: [] for d, _ in models}
    for _ in range(args.loads):  # alternating, so that the machine's noise falls on all alike
        for directory, path in models:
            loads[directory].append(child(directory, path, args)["load_s"])
    runs: dict[str, dict] = {}
    for _ in range(args.rounds):  # a case's time is its median over the rounds
        for directory, path in models:
            run = child(directory, path, args, args.data)
            if directory in runs:
                runs[directory]["rounds"].append(run["case_s"])
                runs[directory]["peak_mb"] = max(runs[directory]["peak_mb"], run["peak_mb"])
            else:
                runs[directory] = {**run, "rounds": [run["case_s"]]}
    for run in runs.values():
        run["case_s"] = [statistics.median(times) for times in zip(*run["rounds"])]
    first = models[0][0]
    for directory, _ in models:
        run = runs[directory]
        line = (f"{directory}: load {statistics.median(loads[directory]):.2f} s median of {args.loads} "
                f"(min {min(loads[directory]):.2f}); K={run['k']}: {statistics.median(run['case_s']):.2f} s median "
                f"a case over {len(run['case_s'])} cases x {args.rounds} rounds (min {min(run['case_s']):.2f}, max {max(run['case_s']):.2f}); "
                f"peak {run['peak_mb']:.0f} MB; {run['provider']}; code {run['code']}")
        if directory != first:
            diff = max(abs(a - b) for x, y in zip(runs[first]["scores"], run["scores"]) for a, b in zip(x, y))
            paired = statistics.median(a / b for a, b in zip(runs[first]["case_s"], run["case_s"]))
            line += (f"; first/this: load {statistics.median(loads[first]) / statistics.median(loads[directory]):.2f}, "
                     f"a case's K (median of paired ratios) {paired:.2f}; "
                     f"largest score difference {diff:.4f}")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Does the Llama ranker help? Retrieval alone vs retrieval fused with the model, on the dev cases.

For each case: retrieval ranks every commit (in process, the index must exist: run bench_run.py
first), then the model scores retrieval's top K (20) with each formulation; the per-case data is
cached so the fusion can be refitted without the model. The fusion weight is fitted with
leave-one-project-out validation (fitted on the other projects, measured on this one), so the fused
figures are honest. Latency is the model's time per case for K candidates (median); peak memory is
the high-water mark (VmHWM) of a real `rca suspects --ranker llm` process on a few cases. Not
ru_maxrss: Linux starts a forked child's ru_maxrss at its parent's, and this parent holds the model.

    rca model build
    python scripts/bench_ranker.py --cache /tmp/rca-ranker.json [--only Lang,Cli] [--formulations likelihood]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import default_bench_dir, load_cases, parse_only  # noqa: E402
from bench_metrics import print_table, summarize  # noqa: E402

GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5)


def collect(case: dict, model, k: int, formulations: list[str], since_good: bool = False) -> dict:
    from rca_lsp.index import Index
    from rca_lsp.ranker.fusion import model_scores
    from rca_lsp.suspects import find_suspects
    from rca_lsp.vcs import open_repo

    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    repo = open_repo(case["repo"])
    with Index.open(repo.meta_dir, readonly=True) as index:
        started = time.perf_counter()
        result = find_suspects(repo, index, text, top=0, since=case["good"] if since_good else None)
        retrieval_s = time.perf_counter() - started
    hashes = [s.commit.hash for s in result.suspects]
    row = {"case_id": case["case_id"], "project": case["project"], "bic": case["bic"],
           "retrieval_rank": hashes.index(case["bic"]) + 1 if case["bic"] in hashes else None,
           "top": hashes[:k], "retrieval": [s.score for s in result.suspects[:k]], "retrieval_s": retrieval_s,
           "model": {}, "model_s": {}}
    result.suspects = result.suspects[:k]
    for name in formulations:
        started = time.perf_counter()
        row["model"][name] = model_scores(model, result, text, repo, k, name)
        row["model_s"][name] = time.perf_counter() - started
    return row


def fused_rank(row: dict, name: str, weight: float) -> int | None:
    from rca_lsp.ranker.fusion import fuse

    if row["bic"] not in row["top"]:
        return row["retrieval_rank"]
    raw = row["model"][name]
    if name == "choice":
        order = sorted(range(len(raw)), key=lambda i: (-raw[i], i))
        raw = [0.0] * len(raw)
        for pos, i in enumerate(order):
            raw[i] = -math.log(pos + 1)
    fused = fuse(row["retrieval"], raw, weight)
    ranked = sorted(range(len(fused)), key=lambda i: (-fused[i], i))
    return [row["top"][i] for i in ranked].index(row["bic"]) + 1


def objective(rows: list[dict], name: str, weight: float) -> float:
    s = summarize([fused_rank(r, name, weight) for r in rows])
    return s["mrr"] + s["top5"] / 1000.0


def fit(rows: list[dict], name: str) -> float:
    return max(GRID, key=lambda w: (objective(rows, name, w), -w))


def peak_memory(cases: list[dict], n: int) -> list[float]:
    """MiB of the peak resident set (VmHWM) of `rca suspects --ranker llm`, one process per case."""
    out = []
    for case in cases[:n]:
        cmd = [sys.executable, "-c", "import sys; from rca_lsp.cli import run; code = run(sys.argv[1:]); "
               "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0].split()[1]; "
               "print(hwm, file=sys.stderr); sys.exit(code)",
               "suspects", "--repo", case["repo"], "--trace", case["trace"], "--ranker", "llm", "--no-update",
               "--format", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode == 0:
            out.append(int(proc.stderr.strip().splitlines()[-1]) / 1024.0)
        else:
            print(f"{case['case_id']}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
    return out


def table(rows: list[dict], formulations: list[str]) -> None:
    projects = sorted({r["project"] for r in rows})
    lines = {"retrieval alone": [r["retrieval_rank"] for r in rows]}
    for name in formulations:
        lopo = []
        for project in projects:
            weight = fit([r for r in rows if r["project"] != project], name)
            lopo += [fused_rank(r, name, weight) for r in rows if r["project"] == project]
            print(f"{name} fold {project}: weight {weight}", file=sys.stderr)
        lines[f"fused, {name}, LOPO"] = lopo
        lines[f"model alone in top K, {name}"] = [fused_rank(r, name, 1e6) for r in rows]
        print(f"{name}: weight fitted on all cases {fit(rows, name)}", file=sys.stderr)
    print_table("system", lines)
    for name in formulations:
        times = [r["model_s"][name] for r in rows if name in r["model_s"]]
        print(f"latency of the model, {name}, K={len(rows[0]['top'])}: median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s per case")
    print(f"retrieval: median {statistics.median(r['retrieval_s'] for r in rows):.2f} s per case")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_bench_dir())
    ap.add_argument("--only")
    ap.add_argument("--cache", type=Path, help="reuse/save the per-case scores here")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--since-good", action="store_true",
                    help="rank only the commits after each case's `good` revision (the Python track's window)")
    ap.add_argument("--formulations", default="likelihood,choice")
    ap.add_argument("--memory-cases", type=int, default=3, help="cases run as real processes for peak memory")
    args = ap.parse_args()
    formulations = [f for f in args.formulations.split(",") if f]
    cases = load_cases(args.dir, parse_only(args.only))
    rows = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else []
    done = {r["case_id"] for r in rows}
    todo = [c for c in cases if c["case_id"] not in done]
    if todo:
        from rca_lsp.ranker.session import LogProbModel

        model = LogProbModel()
        print(f"model {model.manifest.name}: {model.provider}, {model.variant}", file=sys.stderr)
        for case in todo:
            rows.append(collect(case, model, args.k, formulations, args.since_good))
            print(f"{case['case_id']}: retrieval rank {rows[-1]['retrieval_rank']}, "
                  f"model {', '.join(f'{n} {s:.2f} s' for n, s in rows[-1]['model_s'].items())}", file=sys.stderr)
            if args.cache:
                args.cache.write_text(json.dumps(rows))
    wanted = {c["case_id"] for c in cases}
    table([r for r in rows if r["case_id"] in wanted], formulations)
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.memory_cases:
        mem = peak_memory(cases, args.memory_cases)
        if mem:
            print(f"peak memory of `rca suspects --ranker llm` (VmHWM, {len(mem)} cases): max {max(mem):.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Weights for `rca suspects --coverage`, fitted on some repositories and measured on others.

With the failing test's coverage the *executed* feature joins the others, and the weights fitted
without it (on the Java dev split) need not suit it. This script reads the folders that
`bench_coverage.py --work DIR` kept (a clone, its index and the coverage.py report of each case),
runs `rca suspects --explain --top 0 --coverage` once per case over the whole history, keeps every
candidate's features, then grid-searches the weights on the `--train` cases and measures them on
the `--test` cases, whose repositories the fit never saw. It also prints leave-one-repository-out
figures inside the training set, the default weights' figures beside every fitted row, and paired
tests (McNemar on top-1, Wilcoxon on reciprocal rank) against the default weights (`Weights()`,
fitted on the Java dev split, which `--coverage` uses).

    python scripts/bench_coverage_fit.py --train ~/.cache/rca-dataset:~/.cache/rca-covwork-ds \\
        --test ~/.cache/rca-pytrack2:~/.cache/rca-covwork [--cache /tmp/covrows.json] [--hold recency]
    python scripts/bench_coverage_fit.py --train ~/.cache/rca-dataset:W --cache ROWS.json --collect-only
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_tune  # noqa: E402
from bench_common import PROJECT_ROOT, load_cases  # noqa: E402
from bench_metrics import summarize  # noqa: E402

from rca_lsp.suspects.retrieve import Weights  # noqa: E402

FEATURES = ("frame", "code", "words", "recency", "file", "owner", "authorship", "coupling", "data", "executed",
            "since_test")
GRID = {"frame": (1.0, 1.5, 2.0), "code": (1.0,), "words": (0.5, 1.0), "recency": (0.2, 0.4, 0.7, 1.0, 1.5, 2.0),
        "file": (0.0, 0.25), "owner": (0.25,), "authorship": (0.0, 0.25, 0.5), "coupling": (0.0, 0.5, 1.0),
        "data": (0.0,), "executed": (0.5, 1.0, 2.0, 3.0), "since_test": (0.75, 1.5, 3.0)}


def as_dict(weights: Weights = Weights()) -> dict[str, float]:
    """The default weights (those fitted on the Java dev split), or `weights`, as a dict."""
    return {k: float(getattr(weights, k)) for k in FEATURES}


def collect(case: dict, work: Path) -> dict | None:
    """Every candidate's features with the case's coverage report, or None when the kept folder
    has no usable report (the failing tests did not fail again under coverage)."""
    clone, report = work / case["case_id"], work / f"{case['case_id']}.cov.json"
    if not report.is_file() or not (clone / ".git").is_dir():
        return None
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--repo", str(clone), "--trace", case["trace"],
                           "--format", "json", "--top", "0", "--explain", "--coverage", str(report)],
                          capture_output=True, text=True, timeout=900, cwd=PROJECT_ROOT)
    if proc.returncode != 0:  # an empty report (the run under coverage did not fail), say
        print(f"  left out {case['case_id']}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    doc = json.loads(proc.stdout)
    return {"case_id": case["case_id"], "project": case["project"], "bic": case["bic"],
            "rows": [(s["commit"], s.get("features", {})) for s in doc["suspects"]]}


def gather(spec: str, cache: dict) -> list[dict]:
    folder, _, work = spec.partition(":")
    out = []
    for case in load_cases(Path(folder).expanduser(), None):
        if case["case_id"] not in cache:
            found = collect(case, Path(work).expanduser())
            if found is None:
                continue
            cache[case["case_id"]] = found
            print(f"  collected {case['case_id']}: {len(found['rows'])} candidates", file=sys.stderr, flush=True)
        out.append(cache[case["case_id"]])
    return out


def rank(case: dict, weights: dict[str, float]) -> int | None:
    """The culprit's 1-based rank under `weights` (ties broken by recency, as rca does)."""
    return bench_tune.rank(case, weights, FEATURES)


def fit(cases: list[dict]) -> dict[str, float]:
    """The grid point with the best MRR (+ top-5 / 100) over `cases`; the first such point wins."""
    best, best_score = as_dict(), -1.0
    for values in itertools.product(*(GRID[k] for k in FEATURES)):  # GRID: see --hold
        weights = dict(zip(FEATURES, values))
        s = summarize([rank(c, weights) for c in cases])
        score = s["mrr"] + s["top5"] / 100.0
        if score > best_score:
            best, best_score = weights, score
    return best


def line(label: str, ranks: list[int | None]) -> str:
    s = summarize(ranks)
    return (f"| {label} | {s['cases']} | {s['top1']:.1f}% | {s['top5']:.1f}% | {s['top10']:.1f}% | {s['mrr']:.3f} |")


def paired(base: list[int | None], new: list[int | None]) -> str:
    from scipy.stats import binomtest, wilcoxon

    won = sum(1 for a, b in zip(base, new) if b == 1 and a != 1)
    lost = sum(1 for a, b in zip(base, new) if a == 1 and b != 1)
    rr = [(1 / b if b else 0.0) - (1 / a if a else 0.0) for a, b in zip(base, new)]
    changed = [d for d in rr if d != 0]
    mc = binomtest(won, won + lost).pvalue if won + lost else 1.0
    wx = wilcoxon(changed).pvalue if changed else 1.0
    return f"top-1 won {won} / lost {lost} (McNemar p = {mc:.3f}); RR changed in {len(changed)} (Wilcoxon p = {wx:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="CASES_DIR:WORK_DIR of the repositories to fit on.")
    parser.add_argument("--test", help="CASES_DIR:WORK_DIR of the held-out repositories.")
    parser.add_argument("--cache", type=Path, help="Keep the collected features here and reuse them.")
    parser.add_argument("--collect-only", action="store_true", help="Only collect --train's rows into --cache "
                        "(what `ltr_shape.py --coverage` reads), fit nothing.")
    parser.add_argument("--hold", default="", help="Comma-separated features held at the default weight "
                        "(recency: fit what coverage adds without learning the training cases' ages).")
    args = parser.parse_args(argv)
    for name in filter(None, args.hold.split(",")):
        GRID[name] = (as_dict()[name],)
    if args.collect_only and not args.cache:
        parser.error("--collect-only needs --cache (where the rows go)")
    if not args.collect_only and not args.test:
        parser.error("--test is required (or --collect-only)")
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    train = gather(args.train, cache)
    if args.collect_only:
        args.cache.write_text(json.dumps(cache))
        print(f"{args.cache}: {len(cache)} cases")
        return 0
    test = gather(args.test, cache)
    if args.cache:
        args.cache.write_text(json.dumps(cache))
    overlap = {c["project"] for c in train} & {c["project"] for c in test}
    if overlap:
        raise SystemExit(f"train and test share repositories: {sorted(overlap)}")
    print(f"train: {len(train)} cases from {len({c['project'] for c in train})} repositories; "
          f"test: {len(test)} cases from {len({c['project'] for c in test})} ({', '.join(sorted({c['project'] for c in test}))})")
    print("| whole history, `--coverage` | cases | top-1 | top-5 | top-10 | MRR |\n|---|---|---|---|---|---|")
    base = as_dict()
    # Leave one repository out inside the training set.
    loro_base, loro_fit = [], []
    for project in sorted({c["project"] for c in train}):
        held = [c for c in train if c["project"] == project]
        weights = fit([c for c in train if c["project"] != project])
        loro_base += [rank(c, base) for c in held]
        loro_fit += [rank(c, weights) for c in held]
    print(line("train, default weights", loro_base))
    print(line("train, fitted leaving its repository out", loro_fit))
    weights = fit(train)
    base_test, fit_test = [rank(c, base) for c in test], [rank(c, weights) for c in test]
    print(line("test, default weights", base_test))
    print(line("test, fitted on train (held out by repository)", fit_test))
    print(line("test, fitted on test (in-sample, a ceiling)", [rank(c, fit(test)) for c in test]))
    print(f"\ntrain, leave one repository out vs default: {paired(loro_base, loro_fit)}")
    print(f"test, fitted on train vs default: {paired(base_test, fit_test)}")
    print(f"weights fitted on all of train: {weights}")
    print(f"default: {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

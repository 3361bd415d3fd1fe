#!/usr/bin/env python3
"""How much the fusion for regressions should learn from deep cases (culprits older than the
window, `dataset_build.py --deep`), chosen leaving one repository out on the training cases alone.

Refitted on 838 cases (161 deep), the fusion lowered its bet on recency and lost to the shipped
fit (584 cases, 70 deep) on the held-out Python sets (BENCHMARKS.md, "The fusion for regressions
retrained on 838 cases"). Here each deep case's term in the listwise loss is weighted by w (window
cases 1; `ltr_train.clogit_fit`'s case_weight), for each w of a grid, and w is chosen by the
leave-one-repository-out MRR (then top-5) of the window cases in the regime: a culprit among the
newest 50-100 commits is what a regression that a committed test catches looks like, and what the
held-out Python sets hold. What each w costs on deep cases is printed beside it.

    python scripts/ltr_depth.py --data ~/.cache/rca-dataset --cache /tmp/train.pkl \
        --weights 0,0.25,0.5,1 --l2 1.0 [--save rca_lsp/suspects/fusion/regression.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ltr_regime as lr  # noqa: E402
from bench_metrics import summarize  # noqa: E402
from ltr_data import Case  # noqa: E402
from ltr_train import clogit_fit, paired  # noqa: E402

SYSTEM = "listwise + context"


def weigh(w: float) -> Callable[[Case], float]:
    return lambda c: w if lr.deep(c) else 1.0


def loro(data: list[Case], w: float, l2: float) -> list[int | None]:
    """Every case's rank (in `data`'s order) by the fit on the other repositories' cases in the regime."""
    return lr.loro(data, lambda train: lr.linear(clogit_fit(train, lr.SYSTEMS[SYSTEM], l2, case_weight=weigh(w))))


def choose(data: list[Case], grid: list[float], l2: float) -> float:
    """The weight of a deep case whose fits rank the window cases in the regime best, leaving one
    repository out; each weight's figures on every kind of case printed."""
    best, best_key = grid[0], (-1.0, -1.0)
    print("| deep-case weight | window cases in the regime | deep cases in the regime | all cases |")
    print("|---|---|---|---|")
    for w in grid:
        ranks = loro(data, w, l2)
        parts = {"window": [r for c, r in zip(data, ranks) if lr.bounded(c) and not lr.deep(c)],
                 "deep": [r for c, r in zip(data, ranks) if lr.bounded(c) and lr.deep(c)], "all": ranks}
        cells = [lr.figures(v) for v in parts.values()]
        print(f"| {w:g} | " + " | ".join(cells) + " |", flush=True)
        s = summarize(parts["window"])
        if (s["mrr"], s["top5"]) > best_key:
            best, best_key = w, (s["mrr"], s["top5"])
    print(f"chosen, by the window cases' MRR then top-5: w = {best:g}")
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="dataset_build.py's folder")
    ap.add_argument("--cache", type=Path, help="ltr_regime.py's cache of the training cases")
    ap.add_argument("--weights", default="0,0.25,0.5,1", help="the grid of deep-case weights")
    ap.add_argument("--l2", type=float, default=1.0, help="the L2 penalty (ltr_regime.py's choice for the system)")
    ap.add_argument("--held", default="", help="name=folder,... of ltr_collect.py rows of held-out repositories")
    ap.add_argument("--save", type=Path, help="write the fit with the chosen weight here")
    args = ap.parse_args(argv)
    data = lr.load_training(args.data, args.cache)
    regime = [c for c in data if lr.bounded(c)]
    print(f"training: {len(data)} cases of {len({c.project for c in data})} repositories; "
          f"{len(regime)} in the regime ({sum(map(lr.deep, regime))} deep); {SYSTEM}, L2 {args.l2}")
    w = choose(data, [float(x) for x in args.weights.split(",")], args.l2)
    model = clogit_fit(regime, lr.SYSTEMS[SYSTEM], args.l2, case_weight=weigh(w))
    if args.save:
        lr.save(model, args.l2, regime, args.save, deep_weight=w, by="scripts/ltr_depth.py --save")
    for spec in filter(None, args.held.split(",")):
        name, folder = spec.split("=", 1)
        cases = lr.load_held(Path(folder))
        shipped, mine = lr.shipped_ranks(cases), lr.gated(lr.linear(model), cases, lr.shortest(regime))
        print(f"held out: {name} ({len(cases)}): shipped weights {lr.figures(shipped)}; "
              f"w = {w:g} {lr.figures(mine)}; {paired(mine, shipped)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

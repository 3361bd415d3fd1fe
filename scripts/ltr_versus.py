#!/usr/bin/env python3
"""A saved fusion for regressions against a refit on more data, on repositories the saved one never saw.

Does more training data still help the fusion? The saved fit (`rca_lsp/suspects/fusion/
regression.json`, or any file `ltr_regime.py --save` wrote) ranks the cases of repositories it was
not trained on; the refit on every dataset case ranks each of those repositories with that
repository left out (`ltr_depth.py`'s system, L2 and deep-case weight). Both are held out; the
only difference is the data. The weighted sum is printed beside them.

    python scripts/ltr_versus.py --data ~/.cache/rca-dataset --cache /tmp/train.pkl \\
        --model rca_lsp/suspects/fusion/regression.json --repos xmltodict,isort,tablib
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ltr_depth as ld  # noqa: E402
import ltr_regime as lr  # noqa: E402
from ltr_train import clogit_fit, paired  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="dataset_build.py's folder")
    ap.add_argument("--cache", type=Path, help="ltr_regime.py's cache of the training cases")
    ap.add_argument("--model", type=Path, required=True, help="the saved fit")
    ap.add_argument("--repos", required=True, help="comma-separated repositories the saved fit never saw")
    ap.add_argument("--deep-weight", type=float, default=0.0, help="the refit's deep-case weight")
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args(argv)
    saved = json.loads(args.model.read_text())
    repos = [r for r in args.repos.split(",") if r]
    seen = sorted(set(repos) & set(saved["trained"]["repositories"]))
    if seen:
        raise SystemExit(f"{args.model} was trained on {', '.join(seen)}: not held out")
    data = lr.load_training(args.data, args.cache)
    missing = sorted(set(repos) - {c.project for c in data})
    if missing:
        raise SystemExit(f"no case of {', '.join(missing)} in {args.data}")
    model, min_candidates, _ = lr.read_fusion(args.model, lr.COLUMNS)
    weighted, old, new = [], [], []
    for p in repos:
        test = [c for c in data if c.project == p]
        train = [c for c in data if c.project != p and lr.bounded(c)]
        refit = clogit_fit(train, lr.SYSTEMS[ld.SYSTEM], args.l2, case_weight=ld.weigh(args.deep_weight))
        weighted += lr.shipped_ranks(test)
        old += lr.gated(model, test, min_candidates)
        new += lr.gated(lr.linear(refit), test, lr.shortest(train))
    print(f"{len(old)} cases of {len(repos)} repositories; the saved fit {saved['version']} never saw them")
    print("| system | top-1 / top-5 / MRR |\n|---|---|")
    print(f"| weighted sum | {lr.figures(weighted)} |")
    print(f"| saved fit ({saved['trained']['cases']} cases) | {lr.figures(old)} |")
    print(f"| refit on {len({c.case_id for c in data})} cases, each repository left out | {lr.figures(new)} |")
    print(f"refit against the saved fit: {paired(new, old)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

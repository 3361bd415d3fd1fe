#!/usr/bin/env python3
"""A learned fusion for `--since GOOD` rankings, against the shipped weights, held out by repository.

Inside `--since GOOD` every candidate is recent and since_test draws no line. This asks whether a
listwise model fitted on the dataset's rows since each window's base (`dataset_build.py` keeps them
beside the whole history's) carries to repositories it never saw. Deep cases are left out: their
good revision is drawn just before the culprit, so since it the culprit is nearly the oldest
commit. The systems and the L2 choice (leaving one training repository out) are
`scripts/ltr_regime.py`'s; held-out rows are `ltr_collect.py` folders (their `since` rows).

    python scripts/ltr_since.py --data ~/.cache/rca-dataset --held mi=/tmp/rows-mi,p3=/tmp/rows-p3
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ltr_regime as lr  # noqa: E402
from ltr_train import clogit_fit, clogit_ranks, paired  # noqa: E402


def since_cases(paths) -> list:
    out = []
    for path in paths:
        doc = json.loads(gzip.open(path).read())
        if doc.get("since"):
            out.append(lr.to_case(doc["case_id"], doc["project"], doc["bic"], doc["since"]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="dataset_build.py's folder")
    ap.add_argument("--held", required=True, help="name=folder,... of ltr_collect.py rows of held-out repositories")
    args = ap.parse_args(argv)
    paths = sorted((args.data / "features").glob("*.json.gz"))
    train = [c for c in since_cases(p for p in paths if not lr.re.search(r"-w\d+-d\d+\.json\.gz$", p.name))
             if c.bic is not None]
    print(f"training: {len(train)} window cases of {len({c.project for c in train})} repositories, since each window's base")
    held = {}
    for spec in filter(None, args.held.split(",")):
        name, folder = spec.split("=", 1)
        held[name] = since_cases(sorted(Path(folder).glob("*.json.gz")))
    for system, cols in lr.SYSTEMS.items():
        l2 = lr.choose_l2(train, cols)
        model = clogit_fit(train, cols, l2)
        print(f"\n{system} (L2 {l2}, chosen leaving one repository out)")
        print("| held out, since GOOD | cases | shipped | model | against shipped |")
        print("|---|---|---|---|---|")
        pooled_s: list = []
        pooled_m: list = []
        for name, cases in held.items():
            s, m = lr.shipped_ranks(cases), clogit_ranks(model, cases)
            pooled_s += s
            pooled_m += m
            print(f"| {name} | {len(cases)} | {lr.figures(s)} | {lr.figures(m)} | {paired(m, s)} |")
        print(f"| pooled | {len(pooled_s)} | {lr.figures(pooled_s)} | {lr.figures(pooled_m)} | {paired(pooled_m, pooled_s)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Two runs of `bench_run.py --json` on the same cases, side by side, with paired tests.

    python scripts/bench_run.py --system rca --json /tmp/plain.json
    python scripts/bench_run.py --system rca --coverage --json /tmp/covered.json
    python scripts/bench_paired.py /tmp/plain.json /tmp/covered.json [--by-project]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import summarize  # noqa: E402
from ltr_train import paired  # noqa: E402


def ranks(path: Path, system: str) -> dict[str, dict]:
    doc = json.loads(path.read_text())
    if system not in doc["systems"]:
        raise SystemExit(f"{path} has no run of {system} (it has {', '.join(doc['systems'])})")
    return {c["case_id"]: c for c in doc["systems"][system]["cases"]}


def line(name: str, rs: list[int | None]) -> str:
    s = summarize(rs)
    return f"| {name} | {len(rs)} | {s['top1']:.1f}% | {s['top5']:.1f}% | {s['top10']:.1f}% | {s['mrr']:.3f} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--system", default="rca")
    ap.add_argument("--by-project", action="store_true")
    args = ap.parse_args()
    a, b = ranks(args.base, args.system), ranks(args.new, args.system)
    if set(a) != set(b):
        raise SystemExit(f"the runs rank different cases: {len(set(a) ^ set(b))} in one only")
    groups = {"all": sorted(a)}
    if args.by_project:
        for cid in sorted(a):
            groups.setdefault(a[cid]["project"], []).append(cid)
    print("| run | cases | top-1 | top-5 | top-10 | MRR |\n|---|---|---|---|---|---|")
    for name, ids in groups.items():
        ra, rb = [a[i]["rank"] for i in ids], [b[i]["rank"] for i in ids]
        print(line(f"{name}: {args.base.name}", ra))
        print(line(f"{name}: {args.new.name}", rb))
    ra, rb = [a[i]["rank"] for i in groups["all"]], [b[i]["rank"] for i in groups["all"]]
    inf = 10 ** 9
    up = sum((y or inf) < (x or inf) for x, y in zip(ra, rb))
    down = sum((y or inf) > (x or inf) for x, y in zip(ra, rb))
    print(f"\n{args.new.name} against {args.base.name}: culprit up in {up} cases, down in {down}; {paired(rb, ra)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The weight of `since_test` (the failing test's last change, rca_lsp/suspects/test_change.py),
fitted leave-one-repository-out on feature rows, and what it does to the ranks.

For each case of `--dir` (a cases.json of bench_cases.py, pytrack_cases.py or dataset_build.py):
where the failing test was last changed (the tool's own rule, on the case's index), and every
candidate's feature row (`--rows`: the folder of `<case>.json.gz` files that dataset_build.py or
ltr_collect.py writes, collected by code without the feature or with it). Each case is then ranked
by the shipped weights with `since_test` set to each value of the grid; the weight is chosen by
MRR on the other repositories (leave-one-repository-out) and measured on the one held out. With
`--since`, the rows of the commits after the last good revision are ranked instead.

    python scripts/bench_test_change.py --dir ~/.cache/rca-dataset --rows ~/.cache/rca-dataset/features
    python scripts/ltr_collect.py --cases ~/.cache/rca-pytrack2/cases.json --out /tmp/rows-mi
    python scripts/bench_test_change.py --dir ~/.cache/rca-pytrack2 --rows /tmp/rows-mi --fixed 1.5
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tune  # noqa: E402
from bench_common import load_cases  # noqa: E402

from rca_lsp import service  # noqa: E402
from rca_lsp.index.store import Index  # noqa: E402
from rca_lsp.suspects.code_view import CodeView  # noqa: E402
from rca_lsp.suspects.history import History  # noqa: E402
from rca_lsp.suspects.test_change import last_test_change  # noqa: E402
from rca_lsp.traces import parse, resolve  # noqa: E402
from rca_lsp.vcs import open_repo  # noqa: E402

GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def boundary(case: dict) -> tuple[int | None, int]:
    """(the position of the failing test's last change or None, the number of candidates)."""
    repo = open_repo(case["repo"])
    service.ensure_index(repo)
    text = Path(case["trace"]).read_text(errors="replace")
    live = set(repo.modified_files()) | set(repo.untracked_files())
    traces = resolve(parse(text), sorted(set(repo.tracked_files()) | live))
    with Index.open(repo.meta_dir, readonly=True) as index:
        history = History(index, repo.reachable(None))
        found = last_test_change(CodeView(index, repo.root, live), history, traces, live)
        return (found.position if found else None), history.candidates


BASE = bench_tune.shipped()


def rank(case: dict, weight: float) -> int | None:
    """The culprit's rank under the shipped weights with since_test at `weight` (bench_tune's ranking)."""
    return bench_tune.rank(case, {**BASE, "since_test": weight})


def with_limit(rows: list, limit: int | None) -> list:
    """The rows with since_test as the tool sets it: 1 from the test's last change on (rows collected
    by code without the feature lack it; those with it are set again from `limit`)."""
    n = len(rows)
    out = []
    for sha, row in rows:
        row = {k: v for k, v in row.items() if k != "since_test"}
        if limit is not None and round(row["position"] * n) <= limit:
            row["since_test"] = 1.0
        out.append((sha, row))
    return out


def _back(case: dict) -> float:
    """How far back in history the culprit lies (0 = HEAD, 1 = the first commit)."""
    return next((row["position"] for sha, row in case["rows"] if sha == case["bic"]), 1.0)


def figures(ranks: list[int | None]) -> str:
    n = len(ranks) or 1
    top1 = sum(r == 1 for r in ranks) / n * 100
    top5 = sum(1 for r in ranks if r and r <= 5) / n * 100
    mrr = sum(1 / r for r in ranks if r) / n
    return f"top-1 {top1:.1f}%  top-5 {top5:.1f}%  MRR {mrr:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--rows", type=Path, required=True)
    ap.add_argument("--since", action="store_true", help="rank the rows after the last good revision")
    ap.add_argument("--fixed", type=float, help="measure this weight only (no fit)")
    ap.add_argument("--deep", choices=("only", "none", "both"), default="both",
                    help="the dataset's deep cases (older culprits, ids `<window>-dNN`): only them, none, or both")
    args = ap.parse_args(argv)
    cases = []
    for case in load_cases(args.dir):
        last = case["case_id"].rsplit("-", 1)[-1]
        deep = last.startswith("d") and last[1:].isdigit()
        if (args.deep == "only" and not deep) or (args.deep == "none" and deep):
            continue
        path = args.rows / f"{case['case_id']}.json.gz"
        if not path.exists():
            continue
        data = json.loads(gzip.open(path).read())
        rows = data["since" if args.since else "whole"]
        if not rows:
            continue
        limit, candidates = boundary(case)
        if not args.since and candidates != len(rows):
            print(f"{case['case_id']}: {len(rows)} rows against {candidates} candidates; left out", file=sys.stderr)
            continue
        cases.append({"case_id": case["case_id"], "project": case["project"], "bic": case["bic"],
                      "rows": with_limit(rows, limit), "bounded": limit is not None})
    bounded = sum(1 for c in cases if c["bounded"])
    print(f"{len(cases)} cases, a committed failing test changed before HEAD in {bounded}")
    print(f"without since_test: {figures([rank(c, 0.0) for c in cases])}")
    if args.fixed is not None:
        print(f"since_test {args.fixed}: {figures([rank(c, args.fixed) for c in cases])}")
        for label, low, high in (("the newest 10%", 0.0, 0.1), ("10% to 20%", 0.1, 0.2), ("20% and older", 0.2, 1.01)):
            part = [c for c in cases if low <= _back(c) < high]
            if part:
                print(f"  culprit {label} back ({len(part)}): without {figures([rank(c, 0.0) for c in part])}; "
                      f"with {figures([rank(c, args.fixed) for c in part])}")
        return 0
    for weight in GRID:
        print(f"  in-sample, since_test {weight}: {figures([rank(c, weight) for c in cases])}")
    held, chosen = [], []
    for project in sorted({c["project"] for c in cases}):
        train = [c for c in cases if c["project"] != project]

        def mrr(weight: float) -> float:
            return sum(1 / x for x in (rank(c, weight) for c in train) if x)

        best = max(GRID, key=lambda w: (mrr(w), -w))
        chosen.append(best)
        held += [rank(c, best) for c in cases if c["project"] == project]
    print(f"leave-one-repository-out: {figures(held)}  (weights chosen: {sorted(chosen)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

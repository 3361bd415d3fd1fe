#!/usr/bin/env python3
"""How the hit rate grows with a repository's own labels: `rca model tune` on n of one repository's
cases, measured on the rest of that repository's cases.

For the repository with the most cases in a folder of per-case feature files
(scripts/dataset_features.py; `since` rows, from the last good revision, when the case has them,
else `whole`), for each n (0, 5, 10, 20, 50, capped by what exists, always leaving test cases):
`--repeats` seeded draws of n labels, the fusion tuned on them exactly as `rca model tune` does
(λ by leave-one-out, kept only with at least MIN_LABELS labels and a win, else retrieval stays;
the fit without that gate is shown beside), then top-1/top-5/MRR on the
repository's other cases, beside retrieval's on the same cases. Each case is capped as a label
is (retrieval's top `MAX_ROWS` rows and the culprit). Prints a Markdown table (means over repeats)
and the paired test pooled over repeats.

    python scripts/bench_labels_curve.py --features /work/ltr/track [--project NAME] [--repeats 5]
    python scripts/bench_labels_curve.py --cases ~/.cache/rca-pytrack2/cases.json --features /tmp/curve
        # extracts the features of the project with the most cases first (rca suspects --explain)
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rca_lsp.labels import fit  # noqa: E402
from rca_lsp.labels.store import MAX_ROWS  # noqa: E402


def extract(cases_json: Path, folder: Path, project: str | None) -> None:
    """Feature files for one project's cases of a cases.json (scripts/pytrack_cases.py), if missing."""
    from dataset_features import extract_case

    cases = json.loads(cases_json.read_text())["cases"]
    project = project or Counter(c["project"] for c in cases).most_common(1)[0][0]
    for i, case in enumerate(c for c in cases if c["project"] == project):
        case = {**case, "case_id": case.get("case_id") or f"{project}-{i}"}
        try:
            extract_case(case, folder)
        except Exception as exc:  # noqa: BLE001 - one case that cannot be ranked is left out, said once
            print(f"  {case['case_id']}: left out ({exc})", file=sys.stderr)


def load(folder: Path, project: str | None, rows: str = "auto") -> tuple[str, list[fit.Case], str]:
    docs = []
    for path in sorted(folder.glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            docs.append(json.load(fh))
    if not docs:
        raise SystemExit(f"no case feature files in {folder}")
    counts = Counter(d["project"] for d in docs)
    project = project or counts.most_common(1)[0][0]
    rows_key = rows if rows != "auto" else (
        "since" if all(d.get("since") for d in docs if d["project"] == project) else "whole")
    cases = []
    for d in docs:
        if d["project"] != project:
            continue
        rows = d.get(rows_key) or d["whole"]
        kept = rows[:MAX_ROWS] + [r for r in rows[MAX_ROWS:] if r[0] == d["bic"]]
        cases.append(fit.case_of([(h, f) for h, f in kept], d["bic"]))
    return project, cases, rows_key


def tuned_ranks(train: list[fit.Case], test: list[fit.Case]) -> tuple[list, list, bool]:
    """What a user with these labels gets (the tuned fusion when `rca model tune` keeps it: enough
    labels and a win on leave-one-out, else retrieval), and the fit without that gate."""
    usable = [c for c in train if c.bic is not None]
    base = fit.retrieval_ranks(test)
    if len(usable) < 2:
        return base, base, False
    tuning = fit.tune(usable)
    ungated = fit.model_ranks(fit.fit(usable, tuning.l2), test)
    keep = tuning.wins and len(usable) >= fit.MIN_LABELS
    return (ungated if keep else base), ungated, keep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", type=Path, default=Path("/work/ltr/track"))
    ap.add_argument("--cases", type=Path, default=None, help="a cases.json: extract its features first")
    ap.add_argument("--project", default=None)
    ap.add_argument("--sizes", default="0,5,10,20,50")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-test", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rows", choices=["auto", "since", "whole"], default="auto",
                    help="candidates since the last good revision, or the whole history (auto: since where "
                         "every case has it)")
    args = ap.parse_args()
    if args.cases:
        extract(args.cases, args.features, args.project)
    project, cases, rows_key = load(args.features, args.project, args.rows)
    print(f"{project}: {len(cases)} cases ({rows_key} rows), {sum(c.bic is None for c in cases)} with the culprit "
          f"not ranked; {args.repeats} seeded draws per n", file=sys.stderr)
    sizes = [n for n in map(int, args.sizes.split(",")) if n <= len(cases) - args.min_test]
    print("| labels | test cases | kept | top-1 % | top-5 % | MRR | retrieval top-1 % | top-5 % | MRR "
          "| ungated fit MRR | paired, as kept vs retrieval (pooled) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        t0 = time.perf_counter()
        tuned_all, base_all, kept, sums = [], [], 0, []
        for r in range(args.repeats if n else 1):
            order = list(range(len(cases)))
            random.Random(args.seed * 1000 + r).shuffle(order)
            train, test = [cases[i] for i in order[:n]], [cases[i] for i in order[n:]]
            ranks, ungated, used = tuned_ranks(train, test)
            base = fit.retrieval_ranks(test)
            kept += used
            tuned_all += ranks
            base_all += base
            sums.append((fit.summarize(ranks), fit.summarize(base), fit.summarize(ungated)))
        k = len(sums)
        mean = [sum(getattr(s[i], m) for s in sums) / k for i in (0, 1, 2) for m in ("top1", "top5", "mrr")]
        print(f"| {n} | {sums[0][0].n} | {kept}/{k} | {mean[0]:.1f} | {mean[1]:.1f} | {mean[2]:.3f} | "
              f"{mean[3]:.1f} | {mean[4]:.1f} | {mean[5]:.3f} | {mean[8]:.3f} | {fit.paired(tuned_all, base_all)} |",
              flush=True)
        print(f"  n={n}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What a change to retrieval costs: `rca suspects` on dataset cases by the code of a revision
(`--before`, unpacked with `git archive`) and by the working tree's, alternating on each case, with
the median time a case (retrieval's own `timings.total`) and the median of the paired ratios.

    python scripts/bench_retrieval_cost.py --before HEAD~1 --dir ~/.cache/rca-dataset --cases 24
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import load_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def seconds(code: Path, case: dict) -> float:
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run([sys.executable, "-m", "rca_lsp", "suspects", "--repo", case["repo"], "--trace", case["trace"],
                          "--format", "json", "--top", "20"], capture_output=True, text=True, env=env,
                         cwd=tempfile.gettempdir(), check=True)
    return float(json.loads(out.stdout)["timings"]["total"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the revision whose rca_lsp is the baseline")
    ap.add_argument("--dir", type=Path, default=Path.home() / ".cache/rca-dataset")
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--seed", type=int, default=24)
    args = ap.parse_args(argv)
    cases = load_cases(args.dir)
    random.Random(args.seed).shuffle(cases)
    cases = cases[:args.cases]
    with tempfile.TemporaryDirectory() as tmp:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "rca_lsp"], capture_output=True, check=True).stdout
        tarfile.open(fileobj=BytesIO(blob)).extractall(tmp, filter="data")
        codes = {"before": Path(tmp), "now": ROOT}
        times: dict[str, list[float]] = {"before": [], "now": []}
        for i, case in enumerate(cases):
            for name in (("before", "now") if i % 2 == 0 else ("now", "before")):
                times[name].append(seconds(codes[name], case))
    ratios = [b / a for a, b in zip(times["before"], times["now"])]
    print(f"{len(cases)} cases of {args.dir}: median a case {statistics.median(times['before']):.3f} s ({args.before}) "
          f"against {statistics.median(times['now']):.3f} s (working tree); median of the paired ratios "
          f"{statistics.median(ratios):.3f}, largest {max(ratios):.2f}; slowest now {max(times['now']):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

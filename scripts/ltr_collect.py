#!/usr/bin/env python3
"""Features of every candidate of a benchmark's cases (scripts/dataset_features.py), for
scripts/ltr_train.py: the dev split (bench_cases.py's cases.json) or the Python track
(pytrack_cases.py's). Indexes each case first if needed (the tool does); a case already
collected is skipped, so an interrupted run carries on.

    python scripts/ltr_collect.py --cases ~/.cache/rca-bench/cases.json --out /tmp/ltr/dev
    python scripts/ltr_collect.py --cases ~/.cache/rca-pytrack2/cases.json --out /tmp/ltr/track
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset_features import extract_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--force", action="store_true", help="collect again cases already collected")
    args = ap.parse_args(argv)
    cases = [c for c in json.loads(args.cases.read_text())["cases"] if c.get("built", True)]
    for i, case in enumerate(cases, 1):
        t0 = time.monotonic()
        try:
            extract_case(case, args.out, force=args.force)
        except Exception as e:  # one broken case must not stop the collection
            print(f"[{i}/{len(cases)}] {case['case_id']}: {e}", file=sys.stderr)
            continue
        print(f"[{i}/{len(cases)}] {case['case_id']} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

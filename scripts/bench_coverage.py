#!/usr/bin/env python3
"""Python track: the culprit's rank over the whole history without and with the failing test's
coverage (`rca suspects --coverage`), the report written by the real coverage.py.

For each built case of `<dir>/cases.json` (scripts/pytrack_cases.py): a clone of the case's
repository (the case folder itself is not written to), its failing tests run at HEAD under
`coverage run` with the case's own interpreter and arguments (coverage is made importable through
a folder that holds only it, so the case's environment is otherwise untouched), `coverage json`,
then `rca index` and `rca suspects --top 100000` without and with `--coverage`, over the whole
history and over the commits after the case's last good revision (`--since GOOD`). A case whose
failing tests do not fail again under coverage is reported and left out of the figures.

`--per-test` also runs the case's whole suite at HEAD under coverage with a context per test
(coverage's `dynamic_context = test_function`; `coverage json --show-contexts`) and ranks with that
report (`per_test`, `per_test_since_good`: the contexts that name a failing test give the executed
lines, rca_lsp.traces.coverage.PerTest), and with the same report stripped of its contexts
(`suite_as_one_run`: every line the suite ran counts as the failing test's, which is what a report
without contexts says). The figures are over the cases measured every way.

    python scripts/bench_coverage.py --dir ~/.cache/rca-pytrack2 --limit 10 [--json out.json] [--work DIR] [--per-test]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import PROJECT_ROOT, load_cases, parse_only  # noqa: E402
from bench_run import rank_of  # noqa: E402


def run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def coverage_only_path(work: Path) -> Path:
    """A folder holding only the `coverage` package, for PYTHONPATH."""
    import coverage

    folder = work / "coverage-only"
    folder.mkdir(exist_ok=True)
    link = folder / "coverage"
    if not link.exists():
        link.symlink_to(Path(coverage.__file__).parent)
    return folder


def covered_run(case: dict, clone: Path, only_coverage: Path) -> tuple[Path | None, str]:
    """The coverage.py JSON report of the failing tests' run in `clone`, or None and why not."""
    argv = shlex.split(case["test_command"])
    if argv[1:3] != ["-m", "pytest"]:
        return None, f"test command is not `python -m pytest`: {case['test_command'][:80]}"
    empty = only_coverage / "coveragerc"  # the project's own coverage settings (plugins, say) left out
    empty.touch()
    env = {**os.environ, "PYTHONPATH": str(only_coverage), "COVERAGE_FILE": str(clone / ".coverage-bench"),
           "COVERAGE_RCFILE": str(empty)}
    proc = run([argv[0], "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider", *argv[3:]], clone, env)
    if proc.returncode != 1:
        return None, f"failing tests exited {proc.returncode} under coverage: {proc.stdout[-200:]!r}"
    report = clone.parent / f"{clone.name}.cov.json"
    proc = run([argv[0], "-m", "coverage", "json", "-o", str(report)], clone, env)
    if proc.returncode != 0:
        return None, f"coverage json exited {proc.returncode}: {proc.stderr[-200:]}"
    return report, ""


def suite_run(case: dict, clone: Path, only_coverage: Path) -> tuple[Path | None, str]:
    """The coverage.py JSON report, a context per test, of the whole suite's run in `clone`."""
    report = clone.parent / f"{clone.name}.pertest.json"
    if report.exists():
        return report, ""
    argv = shlex.split(case["test_command"])
    failing = set(case["failing_tests"])
    args = [a for a in argv[3:] if a not in failing and a != "-x"]
    rc = only_coverage / "per-test.rc"
    rc.write_text("[run]\ndynamic_context = test_function\n")
    env = {**os.environ, "PYTHONPATH": str(only_coverage), "COVERAGE_FILE": str(clone / ".coverage-suite"),
           "COVERAGE_RCFILE": str(rc)}
    try:
        proc = run([argv[0], "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider",
                    "--continue-on-collection-errors", *args], clone, env,
                   timeout=1800)
    except subprocess.TimeoutExpired:
        return None, "the suite timed out under coverage"
    if proc.returncode not in (0, 1):
        return None, f"the suite exited {proc.returncode} under coverage: {proc.stdout[-200:]!r}"
    proc = run([argv[0], "-m", "coverage", "json", "--show-contexts", "-o", str(report)], clone, env)
    if proc.returncode != 0:
        return None, f"coverage json exited {proc.returncode}: {proc.stderr[-200:]}"
    return report, ""


def copy_index(source: Path, clone: Path) -> None:
    """Start the clone's index from the case repository's, when it has one (the same commits):
    `rca index` then only brings it up to date instead of indexing the whole history again."""
    import sqlite3

    found = source / ".git" / "rca" / "index.db"
    if not found.is_file():
        return
    target = clone / ".git" / "rca" / "index.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{found}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def rca(clone: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = run([sys.executable, "-m", "rca_lsp", *args, "--repo", str(clone)], clone, env)
    if proc.returncode != 0:
        raise RuntimeError(f"rca {args[0]} exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout) if args[0] == "suspects" else {}


def one_case(case: dict, work: Path, only_coverage: Path, per_test: bool = False) -> dict:
    clone = work / case["case_id"]
    kept = clone.parent / f"{clone.name}.cov.json"
    if clone.exists() and kept.exists():  # a kept --work folder: clone, report and index are reused
        report, why = kept, ""
    else:
        run(["git", "clone", "-q", case["repo"], str(clone)], work)
        copy_index(Path(case["repo"]), clone)
        report, why = covered_run(case, clone, only_coverage)
    row = {"case": case["case_id"], "commits": case.get("commits"), "skipped": why}
    if report is None:
        return row
    files = json.loads(report.read_text())["files"]
    rca(clone, "index", "-q")
    query = ["suspects", "--trace", case["trace"], "--format", "json", "--top", "100000"]
    since = ["--since", case["good"]]
    runs = [("plain", []), ("coverage", ["--coverage", str(report)]),
            ("plain_since_good", since), ("coverage_since_good", [*since, "--coverage", str(report)])]
    if per_test:
        suite, why = suite_run(case, clone, only_coverage)
        row["per_test_skipped"] = why
        if suite is not None:
            union = suite.with_suffix(".union.json")  # the same report read as one run: no contexts
            doc = json.loads(suite.read_text())
            for entry in doc["files"].values():
                entry.pop("contexts", None)
            union.write_text(json.dumps(doc))
            runs += [("per_test", ["--coverage", str(suite)]), ("per_test_since_good", [*since, "--coverage", str(suite)]),
                     ("suite_as_one_run", ["--coverage", str(union)])]
    for label, extra in runs:
        started = time.monotonic()
        doc = rca(clone, *query, *extra)
        row[f"{label}_s"] = round(time.monotonic() - started, 3)
        row[label] = rank_of(case["bic"], [s["commit"] for s in doc["suspects"]])
    row["covered_files"] = sum(1 for f in files.values() if f["executed_lines"])
    row["warnings"] = doc["warnings"]
    return row


def summary(rows: list[dict], label: str) -> str:
    ranks = [r[label] for r in rows]
    top = {n: sum(1 for k in ranks if k is not None and k <= n) / len(ranks) for n in (1, 5, 10)}
    mrr = statistics.mean(1 / k if k else 0.0 for k in ranks)
    secs = statistics.median(r[f"{label}_s"] for r in rows)
    return (f"{label:19s} top-1 {top[1]:.1%}  top-5 {top[5]:.1%}  top-10 {top[10]:.1%}  MRR {mrr:.3f}  "
            f"median rca suspects {secs:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path.home() / ".cache" / "rca-pytrack2")
    parser.add_argument("--only", help="Comma-separated case ids or projects.")
    parser.add_argument("--limit", type=int, default=0, help="At most this many cases (0: all).")
    parser.add_argument("--json", type=Path, help="Write the rows here.")
    parser.add_argument("--work", type=Path, help="Keep clones, reports and indexes here and reuse them "
                        "(default: a temporary folder, removed at the end).")
    parser.add_argument("--per-test", action="store_true", help="Also rank with the whole suite's coverage, "
                        "a context per test.")
    args = parser.parse_args(argv)
    cases = load_cases(args.dir, parse_only(args.only))
    cases = cases[:args.limit] if args.limit > 0 else cases
    rows = []
    with tempfile.TemporaryDirectory(prefix="rca-bench-cov-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        only_coverage = coverage_only_path(work)
        for case in cases:
            row = one_case(case, work, only_coverage, args.per_test)
            rows.append(row)
            print(json.dumps(row), flush=True)
    measured = [r for r in rows if not r["skipped"] and (not args.per_test or "per_test" in r)]
    print(f"{len(measured)} of {len(rows)} cases measured (others: the failing tests did not fail again"
          f"{', or the suite could not run under coverage' if args.per_test else ''})")
    labels = ["plain", "coverage", "plain_since_good", "coverage_since_good"]
    labels += ["per_test", "per_test_since_good", "suite_as_one_run"] if args.per_test else []
    for label in labels if measured else ():
        print(summary(measured, label))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

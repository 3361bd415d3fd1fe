#!/usr/bin/env python3
"""Test runs of `rca bisect` against `git bisect run` on the same cases, and whether they agree.

A cases folder holds `cases.json`: {"cases": [{"case_id", "repo", "good", "bad", "test_command",
"bic", "trace"}, ...]}; `repo` is a path (relative to the folder or absolute), `good`/`bad` the
window, `bic` the culprit's full hash, `trace` the failure's text or a file holding it (optional).
Each case is bisected twice, each time in its own `git clone --shared` checked out at `bad` (the
case's repository is never touched): by `git bisect run` through a wrapper that counts the runs of
the test, and by `rca bisect --format json`. With a trace, rca does not run the test at `bad`
(git bisect never does: it is told bad and good); `--no-trace` makes rca run it there and count it.

    python scripts/bench_bisect.py [CASES_DIR]            # default ~/.cache/rca-pytrack
    python scripts/bench_bisect.py --synthetic /tmp/bb    # build a synthetic cases folder, then run it
    python scripts/bench_bisect.py DIR --rca-arg=--prior-temperature=0.5   # tune the prior

Prints per case: window size, runs of each, culprits (= bic?), the ratio; then the totals, the ratio
sum(rca runs) / sum(git bisect runs) and the median per-case ratio. The target is <= 0.6.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
COUNTER = """#!/bin/sh
echo run >> "$RCA_BENCH_COUNT"
sh -c "$RCA_BENCH_TEST"
"""


def git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def clone_at(repo: Path, rev: str, where: Path) -> Path:
    git(where.parent, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(where))
    git(where, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", rev)
    return where


def git_bisect(case: dict, repo: Path, work: Path) -> dict:
    clone = clone_at(repo, case["bad"], work / "git-bisect")
    counter, count = work / "count.sh", work / "count.txt"
    counter.write_text(COUNTER)
    count.write_text("")
    git(clone, "bisect", "start", case["bad"], case["good"])
    env = {**os.environ, "RCA_BENCH_COUNT": str(count), "RCA_BENCH_TEST": case["test_command"]}
    started = time.perf_counter()
    proc = subprocess.run(["git", "bisect", "run", "sh", str(counter)], cwd=clone, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    culprit = None
    if "is the first bad commit" in proc.stdout:
        culprit = git(clone, "rev-parse", "refs/bisect/bad").strip()
    return {"culprit": culprit, "runs": len(count.read_text().split()), "seconds": round(seconds, 2)}


def rca_bisect(case: dict, repo: Path, work: Path, trace: Path | None, extra: list[str]) -> dict:
    clone = clone_at(repo, case["bad"], work / "rca")
    args = [sys.executable, "-m", "rca_lsp", "bisect", "--repo", str(clone), "--test", case["test_command"],
            "--good", case["good"], "--bad", case["bad"], "--format", "json", *extra]
    if trace is not None:
        args += ["--trace", str(trace)]
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return {"culprit": None, "runs": None, "error": proc.stderr.strip()[-300:], "seconds": round(seconds, 2)}
    out = json.loads(proc.stdout)
    return {"culprit": out["culprit"], "runs": out["test_runs"], "confirmed": out["confirmed"],
            "rank": (out.get("culprit_commit") or {}).get("rank"), "seconds": round(seconds, 2)}


def trace_file(case: dict, base: Path, work: Path) -> Path | None:
    value = case.get("trace")
    if not value:
        return None
    path = Path(value) if Path(value).is_absolute() else base / value
    if len(value) < 4096 and "\n" not in value and path.is_file():
        return path
    out = work / "trace.txt"
    out.write_text(value)
    return out


def run_case(case: dict, base: Path, use_trace: bool, extra: list[str]) -> dict:
    repo = Path(case["repo"]) if Path(case["repo"]).is_absolute() else base / case["repo"]
    with tempfile.TemporaryDirectory(prefix="rca-bench-bisect-") as tmp:
        work = Path(tmp)
        window = int(git(repo, "rev-list", "--count", case["bad"], "--not", case["good"]).strip())
        plain = git_bisect(case, repo, work)
        ours = rca_bisect(case, repo, work, trace_file(case, base, work) if use_trace else None, extra)
    return {"case_id": case["case_id"], "window": window, "bic": case.get("bic"), "git": plain, "rca": ours}


def report(rows: list[dict]) -> None:
    print(f"{'case':<24} {'window':>6} {'git':>4} {'rca':>4} {'ratio':>6}  {'rank':>4}  agree  =bic")
    ratios, git_total, rca_total, agree, comparable = [], 0, 0, 0, 0
    for r in rows:
        g, o = r["git"], r["rca"]
        ratio = o["runs"] / g["runs"] if o["runs"] is not None and g["runs"] else None
        same = g["culprit"] is not None and o["culprit"] == g["culprit"]
        if g["culprit"] is not None:
            comparable += 1
            agree += same
        if ratio is not None:
            ratios.append(ratio)
            git_total += g["runs"]
            rca_total += o["runs"]
        print(f"{r['case_id'][:24]:<24} {r['window']:>6} {g['runs']:>4} {o['runs']!s:>4} "
              f"{(f'{ratio:.2f}' if ratio is not None else '-'):>6}  {o.get('rank')!s:>4}  "
              f"{'yes' if same else 'NO':<5}  {'yes' if o['culprit'] == r['bic'] else 'no'}"
              + (f"  error: {o['error']}" if o.get("error") else ""))
    print(f"cases: {len(rows)}; same culprit as git bisect: {agree} of {comparable} where git found one")
    if ratios:
        print(f"test runs: rca {rca_total}, git bisect {git_total}; ratio of sums {rca_total / git_total:.3f}; "
              f"median per-case ratio {statistics.median(ratios):.3f} (target <= 0.6)")


# -- a synthetic cases folder ------------------------------------------------------------------------

def make_synthetic(folder: Path, commits: int = 130, bugs: int = 6, seed: int = 3) -> None:
    """One repository with `bugs` independent regressions (each breaks one function of its own
    module, raising inside it); a case per regression with a window of 50 to 70 commits around it."""
    rng = random.Random(seed)
    repo = folder / "repo"
    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty")
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com"), ("commit.gpgsign", "false")):
        git(repo, "config", key, value)
    modules = [f"rates_{j}" for j in range(bugs)]
    bug_at = sorted(rng.sample(range(60, commits - 25), bugs))
    helpers: dict[str, int] = dict.fromkeys(modules, 0)
    cases, shas = [], []

    def source(name: str, broken: bool) -> str:
        body = "    return FACTORS[key] * amount\n" if broken else "    return FACTORS.get(key, 1) * amount\n"
        extra = "".join(f"\n\ndef helper_{k}(x):\n    return x * {k}\n" for k in range(helpers[name]))
        return (f'"""{name}: amounts scaled by a factor per key."""\n\nFACTORS = {{"a": 2, "b": 3}}\n\n\n'
                f"def scale(key, amount):\n{body}{extra}")

    broken: set[str] = set()
    for i in range(commits):
        if i == 0:
            for name in modules:
                (repo / f"{name}.py").write_text(source(name, False))
            message = "Initial rates modules"
        elif i in bug_at:
            name = modules[bug_at.index(i)]
            broken.add(name)
            (repo / f"{name}.py").write_text(source(name, True))
            message = f"{name}: index the factor table directly, it is faster"
        else:
            name = rng.choice(modules)
            helpers[name] += 1
            (repo / f"{name}.py").write_text(source(name, name in broken))
            message = f"{name}: add helper_{helpers[name] - 1}"
        git(repo, "add", "-A")
        env_date = f"{1_600_000_000 + 3600 * i} +0000"
        subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": env_date, "GIT_COMMITTER_DATE": env_date})
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    for n, at in enumerate(bug_at):
        before, after = rng.randint(35, 55), rng.randint(15, 20)
        good, bad = shas[max(at - before, 0)], shas[min(at + after, commits - 1)]
        command = f"{sys.executable} -c \"import {modules[n]} as m; m.scale('z', 2)\""
        proc = subprocess.run(command, shell=True, cwd=repo, capture_output=True, text=True, check=False)
        cases.append({"case_id": f"synthetic-{n}", "repo": "repo", "good": good, "bad": bad,
                      "test_command": command, "bic": shas[at], "trace": proc.stderr})
    (folder / "cases.json").write_text(json.dumps({"cases": cases}, indent=2))
    print(f"built {len(cases)} cases in {folder}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases_dir", nargs="?", default=str(Path.home() / ".cache" / "rca-pytrack"))
    parser.add_argument("--synthetic", metavar="DIR", help="build a synthetic cases folder in DIR and use it")
    parser.add_argument("--no-trace", action="store_true", help="rca runs the test at bad too (and counts it)")
    parser.add_argument("--case", action="append", default=[], help="only these case ids (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many cases")
    parser.add_argument("--rca-arg", action="append", default=[], help="extra argument for rca bisect")
    parser.add_argument("--json", metavar="FILE", help="also write the per-case rows here")
    args = parser.parse_args(argv)
    base = Path(args.synthetic or args.cases_dir).expanduser().resolve()
    if args.synthetic:
        make_synthetic(base)
    listing = base / "cases.json"
    if not listing.is_file():
        print(f"no {listing}: build the cases first (or pass --synthetic DIR)", file=sys.stderr)
        return 2
    cases = json.loads(listing.read_text())["cases"]
    cases = [c for c in cases if not args.case or c["case_id"] in args.case]
    cases = cases[:args.limit] if args.limit else cases
    if shutil.which("git") is None:
        print("git is needed", file=sys.stderr)
        return 2
    rows = []
    for case in cases:
        rows.append(run_case(case, base, not args.no_trace, args.rca_arg))
        print(f"... {case['case_id']}: git {rows[-1]['git']['runs']}, rca {rows[-1]['rca']['runs']}",
              file=sys.stderr)
    report(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

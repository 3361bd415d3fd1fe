"""Index build speed against `git log -p --unified=0`, no-op re-run time, index size and peak memory.

    python scripts/bench_index.py REPO [--runs 3]

Works on a copy's index only: the index of REPO (in its .git/rca) is deleted and rebuilt.
Every figure is measured in this one run: the ratio is what the target is stated in.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one command, via /usr/bin/time-free wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return elapsed, usage.ru_maxrss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trace", type=Path, help="also time `rca suspects` on this trace (median of 5)")
    args = ap.parse_args()
    repo = args.repo.resolve()
    rca = [sys.executable, "-m", "rca_lsp", "index", "-q", "--repo", str(repo)]
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout.strip()
    gitlog, build, noop, rss = [], [], [], []
    for _ in range(args.runs):
        gitlog.append(timed(["git", "log", "-p", "--unified=0", "HEAD"], repo)[0])
        shutil.rmtree(repo / ".git" / "rca", ignore_errors=True)
        seconds, peak = timed(rca, repo)
        build.append(seconds)
        rss.append(peak)
        noop.append(timed(rca, repo)[0])
    size = sum(p.stat().st_size for p in (repo / ".git" / "rca").glob("index.db*"))
    g, b = statistics.median(gitlog), statistics.median(build)
    print(f"repository: {repo} ({commits} commits reachable from HEAD), {args.runs} runs, medians")
    print(f"git log -p --unified=0: {g:.2f} s")
    print(f"rca index (full build): {b:.2f} s = {b / g:.1f}x git log")
    print(f"rca index (nothing new): {statistics.median(noop):.2f} s")
    print(f"peak RSS of the build: {max(rss) / 1024:.0f} MiB (main process; workers are forks of similar size)")
    print(f"index size: {size / 1e6:.1f} MB")
    if args.trace:
        query = [sys.executable, "-m", "rca_lsp", "suspects", "--repo", str(repo), "--trace",
                 str(args.trace.resolve()), "--format", "json"]
        runs = [timed(query, repo) for _ in range(5)]
        print(f"rca suspects: {statistics.median(r[0] for r in runs):.2f} s median of 5 "
              f"(process start included), peak RSS {max(r[1] for r in runs) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

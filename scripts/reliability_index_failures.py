#!/usr/bin/env python3
"""Figures for issue #12 items 2 and 3: killed indexer processes, and missing objects.

    python scripts/reliability_index_failures.py kills REPO [--runs 5]
    python scripts/reliability_index_failures.py partial [--commits 1500] [--code DIR]

`kills` SIGKILLs, in REPO (git, at least 500 commits so the parser pool runs), a parser worker,
the `git log` child and a worker's `git cat-file`, each as soon as it exists, `--runs` times, and
prints the exit codes, the seconds from the kill to the end of `rca index` (median) and whether
the next run finished. `partial` builds a synthetic history, clones it with `--filter=blob:none`
and prints the blobs in the clone before and after `rca index`, and its time; `--code DIR` runs
the rca of another checkout (DIR), to measure the code before a change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


from reliability_common import find_git_log as _git_log  # noqa: E402
from reliability_common import find_worker as _worker  # noqa: E402
from reliability_common import find_worker_reader as _worker_reader  # noqa: E402
from reliability_common import indexed_commits as _indexed  # noqa: E402


def _rca(code: Path | None) -> tuple[list[str], dict[str, str], Path | None]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return [sys.executable, "-m", "rca_lsp"], env, code


def kill_once(repo: Path, find) -> tuple[int, float, str] | None:
    """(exit code, seconds from the kill to the exit, last stderr line), None if nothing was found."""
    proc = subprocess.Popen([sys.executable, "-m", "rca_lsp", "index", "--repo", str(repo)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    victim = None
    while victim is None and proc.poll() is None:
        victim = find(proc.pid)
        if victim is None:
            time.sleep(0.005)
    if victim is None:
        proc.communicate()
        return None
    os.kill(victim, signal.SIGKILL)
    killed = time.perf_counter()
    err = proc.communicate(timeout=600)[1]
    return proc.returncode, time.perf_counter() - killed, (err.strip().splitlines() or [""])[-1]


def kills(repo: Path, runs: int) -> None:
    db = repo / ".git" / "rca" / "index.db"
    midway = (lambda rca: _git_log(rca) if _indexed(db) else None)  # once a first batch is written
    for name, find in (("parser worker", _worker), ("git log", _git_log), ("git log midway", midway),
                       ("worker's git cat-file", _worker_reader)):
        codes, waits = [], []
        line = ""
        for _ in range(runs):
            shutil.rmtree(repo / ".git" / "rca", ignore_errors=True)
            got = kill_once(repo, find)
            if got is None:
                continue
            code, wait, line = got
            codes.append(code)
            waits.append(wait)
            nxt = subprocess.run([sys.executable, "-m", "rca_lsp", "index", "-q", "--repo", str(repo)],
                                 capture_output=True, text=True, timeout=3600)
            codes.append(f"next:{nxt.returncode}")
        print(f"{name}: {len(waits)} kills, exits {codes}, kill to exit median {statistics.median(waits):.2f} s "
              f"(max {max(waits):.2f} s); e.g. {line}")


def _blobs(repo: Path) -> int:
    out = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"],
                         capture_output=True, text=True, check=True).stdout
    return out.split().count("blob")


def partial(commits: int, code: Path | None) -> None:
    from make_synthetic_repo import make

    with tempfile.TemporaryDirectory() as tmp:
        source = make(commits, Path(tmp) / "source", seed=3)
        subprocess.run(["git", "-C", str(source), "config", "uploadpack.allowFilter", "true"], check=True)
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", "--no-local", "--filter=blob:none", f"file://{source}", str(clone)],
                       check=True)
        cmd, env, cwd = _rca(code)
        before = _blobs(clone)
        start = time.perf_counter()
        run = subprocess.run([*cmd, "index", "--repo", str(clone)], capture_output=True, text=True, env=env, cwd=cwd)
        took = time.perf_counter() - start
        print(f"{commits} commits, blob:none clone: {_blobs(source)} blobs in the source, {before} in the clone; "
              f"rca index exit {run.returncode} in {took:.1f} s; blobs after: {_blobs(clone)} "
              f"({_blobs(clone) - before} fetched)")
        print("  " + "\n  ".join(run.stderr.strip().splitlines()[-2:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kills")
    k.add_argument("repo", type=Path)
    k.add_argument("--runs", type=int, default=5)
    p = sub.add_parser("partial")
    p.add_argument("--commits", type=int, default=1500)
    p.add_argument("--code", type=Path, default=None)
    args = ap.parse_args()
    if args.what == "kills":
        kills(args.repo.resolve(), args.runs)
    else:
        partial(args.commits, args.code.resolve() if args.code else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

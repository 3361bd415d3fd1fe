"""SIGKILL `rca index` at random points and check the index after every kill.

    python scripts/reliability_kill.py REPO [--kills 60] [--seed 1] [--max-delay SECONDS]

REPO's own index (.git/rca) is deleted and rebuilt many times. First one uninterrupted build
is the reference. Then, again and again, `rca index` runs on the current index and is killed
after a random delay (uniform in 0..max-delay, default: the reference build's time). After
every kill:
  - PRAGMA integrity_check is ok;
  - no commit is half-indexed: every commit row has exactly the files, hunks, changed_symbols
    and full-text rows the reference build has for it, and no row lacks its commit;
  - no process (pool worker, git) is left running, and nothing printed a traceback.
When a run is not killed (it finished first), the index must equal the reference, row for row
by commit hash; then it is deleted and the next run starts from nothing. So every chain of
kills ends with a run that finishes and is compared.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_common import (RCA, check_consistent, diff_snapshots, kill_after,  # noqa: E402
                                per_commit_counts, snapshot)


def run_kills(repo: Path, kills: int, seed: int = 1, max_delay: float | None = None,
              min_delay: float = 0.0, log=print) -> dict:
    repo = Path(repo).resolve()
    folder = repo / ".git" / "rca"
    db = folder / "index.db"
    cmd = [*RCA, "index", "-q", "--repo", str(repo)]
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    killed, err = kill_after(cmd, repo, 3600)
    full = time.perf_counter() - start
    assert not killed, err
    reference = snapshot(db)
    ref_counts = per_commit_counts(db)
    total = len(ref_counts)
    shutil.rmtree(folder)
    rng = random.Random(seed)
    max_delay = full if max_delay is None else max_delay
    stats = {"kills": 0, "mid_history": 0, "before_any_commit": 0, "after_all_commits": 0, "completed_runs": 0,
             "compared_equal": 0, "problems": [], "reference_seconds": full, "commits": total}
    while stats["kills"] < kills:
        delay = rng.uniform(min_delay, max_delay)
        killed, err = kill_after(cmd, repo, delay)
        if "Traceback" in err:
            stats["problems"].append(f"traceback after a kill at {delay:.2f} s: {err[-300:]}")
        if not killed:
            _compare_finished(stats, db, reference)
            shutil.rmtree(folder)
            continue
        stats["kills"] += 1
        problems = check_consistent(db, ref_counts)
        have = len(per_commit_counts(db)) if db.exists() and db.stat().st_size else 0
        phase = ("before_any_commit" if have == 0 else "after_all_commits" if have == total else "mid_history")
        stats[phase] += 1
        if problems:
            stats["problems"].append(f"kill {stats['kills']} at {delay:.2f} s ({have} commits): {problems[:3]}")
        log(f"kill {stats['kills']:>3} at {delay:5.2f} s: {have:>6}/{total} commits, "
            f"{'ok' if not problems else problems[0]}")
    # the last chain: finish it and compare
    killed, err = kill_after(cmd, repo, 3600)
    _compare_finished(stats, db, reference)
    return stats


def _compare_finished(stats: dict, db: Path, reference) -> None:
    """A run that finished: its index must equal the uninterrupted build, row for row."""
    stats["completed_runs"] += 1
    diff = diff_snapshots(snapshot(db), reference)
    if diff:
        stats["problems"].append(f"finished index differs from the reference: {diff}")
    else:
        stats["compared_equal"] += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--kills", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay", type=float, default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    stats = run_kills(args.repo, args.kills, args.seed, args.max_delay)
    print(f"repository: {args.repo} ({stats['commits']} commits), reference build {stats['reference_seconds']:.1f} s")
    print(f"kills: {stats['kills']} (before any commit was written: {stats['before_any_commit']}, "
          f"mid-history: {stats['mid_history']}, after the last commit (HEAD code / state): "
          f"{stats['after_all_commits']})")
    print(f"runs that finished: {stats['completed_runs']}, equal to the reference: {stats['compared_equal']}")
    print(f"problems: {len(stats['problems'])}")
    for p in stats["problems"]:
        print("  -", p)
    print(f"took {time.perf_counter() - started:.0f} s")
    return 1 if stats["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

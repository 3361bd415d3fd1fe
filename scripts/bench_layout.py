"""How many of a history's hunks only move layout, and what telling them costs.

    python scripts/bench_layout.py REPO [REPO ...] [--rounds 3]

Reads each repository's whole history through the index's own reader (`GitRepo.log`, which marks
each hunk with `diffparse.layout_only`), then times
`layout_only` alone over the same hunks (median of --rounds), and prints one row per repository:
hunks, layout-only hunks and their share, the parse's seconds and the check's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rca_lsp.vcs.diffparse import layout_only  # noqa: E402
from rca_lsp.vcs.git import GitRepo  # noqa: E402

def sides(repo: Path) -> tuple[list[tuple[str, str, str]], tuple[int, int], float]:
    """(path, removed, added) of every hunk (`--no-renames`, for timing the check alone), the
    reader's hunks and layout-only ones, and the reader's seconds."""
    git = GitRepo(str(repo))
    started = time.perf_counter()
    flags = [h.layout for logged in git.log(list(reversed(git.reachable())))
             for change in logged.changes for h in change.hunks]
    seconds = time.perf_counter() - started
    hunks: list[tuple[str, str, str]] = []
    # the sides again, whole, for timing the check alone
    out = subprocess.run(["git", "-C", str(repo), "log", "-p", "--unified=0", "--no-color", "--no-renames",
                          "--format=%x1e%H"], capture_output=True, check=True).stdout
    path, open_hunk = "", False
    for line in out.split(b"\n"):
        if line.startswith(b"diff --git "):
            path, open_hunk = line.rsplit(b" b/", 1)[-1].decode("utf-8", "replace"), False
        elif line.startswith(b"@@"):
            hunks.append((path, "", ""))
            open_hunk = True
        elif open_hunk and line[:1] in (b"+", b"-") and not line.startswith((b"+++ ", b"--- ")):
            p, removed, added = hunks[-1]
            text = line[1:].decode("utf-8", "replace") + "\n"
            hunks[-1] = (p, removed + text, added) if line[:1] == b"-" else (p, removed, added + text)
    return hunks, (len(flags), sum(flags)), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print("| repository | hunks | layout only | share | read s (git log and parse) | check alone s (median) |")
    print("|---|---|---|---|---|---|")
    for repo in args.repos:
        hunks, (read, layout), parse_s = sides(repo)
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for path, removed, added in hunks:
                layout_only(removed, added, path)
            times.append(time.perf_counter() - started)
        print(f"| {repo.name} | {read} | {layout} | {100 * layout / max(read, 1):.1f}% | "
              f"{parse_s:.2f} | {statistics.median(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

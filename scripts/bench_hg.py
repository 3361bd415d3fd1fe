"""The same history in git and in Mercurial: same suspects? index time hg/git?

    python scripts/bench_hg.py ~/.cache/rca-bench/cases/Cli-10 [--trace FILE] [--runs 3]

Copies the git repository (work tree changes included) to a temporary folder, converts it with
`hg convert` (the convert extension, enabled for that one command), copies the same work tree
changes into the hg checkout, builds both indexes from scratch (median of --runs), runs the same
trace on both and prints the top-10 overlap (hg changesets mapped back to git commits through
convert's shamap) and the index time ratio. Targets: same suspects, hg within 2x of git.
Needs `pip install mercurial python-hglib`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()[:500]}")
    return proc.stdout


def timed_index(repo: Path, meta: str) -> float:
    shutil.rmtree(repo / meta / "rca", ignore_errors=True)
    start = time.perf_counter()
    run([sys.executable, "-m", "rca_lsp", "index", "-q", "--repo", str(repo)])
    return time.perf_counter() - start


def suspects(repo: Path, trace: Path, top: int) -> list[str]:
    out = run([sys.executable, "-m", "rca_lsp", "suspects", "--no-update", "--repo", str(repo), "--trace",
               str(trace), "--top", str(top), "--format", "json"], cwd=repo)
    return [s["commit"] for s in json.loads(out)["suspects"]]


def convert(src: Path, dest: Path) -> dict[str, str]:
    """hg changeset -> git commit for the converted history, the checkout at git's HEAD."""
    start = time.perf_counter()
    run(["hg", "--config", "extensions.convert=", "convert", "-q", str(src), str(dest)])
    shamap = {}
    for line in (dest / ".hg" / "shamap").read_text().splitlines():
        git_sha, hg_node = line.split()
        shamap[hg_node] = git_sha
    head = run(["git", "rev-parse", "HEAD"], cwd=src).strip()
    node = {g: h for h, g in shamap.items()}[head]
    run(["hg", "update", "-q", "-r", node], cwd=dest)
    print(f"hg convert: {len(shamap)} changesets in {time.perf_counter() - start:.1f} s")
    return shamap


def copy_worktree_changes(src: Path, dest: Path) -> int:
    names = run(["git", "ls-files", "-z", "--modified", "--others", "--exclude-standard"], cwd=src).split("\0")
    names = [n for n in names if n]
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (src / name).is_file():
            shutil.copy2(src / name, target)
    return len(names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--trace", type=Path, help="default: REPO.trace beside the case folder")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    source = args.repo.resolve()
    trace = (args.trace or source.with_suffix(".trace")).resolve()
    with tempfile.TemporaryDirectory(prefix="rca-bench-hg-") as tmp:
        git_repo, hg_repo = Path(tmp) / "git", Path(tmp) / "hg"
        shutil.copytree(source, git_repo, symlinks=True)
        shutil.rmtree(git_repo / ".git" / "rca", ignore_errors=True)
        shamap = convert(git_repo, hg_repo)
        changed = copy_worktree_changes(git_repo, hg_repo)
        git_times, hg_times = [], []
        for _ in range(args.runs):  # interleaved, so a busy machine slows both alike
            git_times.append(timed_index(git_repo, ".git"))
            hg_times.append(timed_index(hg_repo, ".hg"))
        from_git = suspects(git_repo, trace, args.top)
        from_hg = [shamap.get(h, h) for h in suspects(hg_repo, trace, args.top)]
    g, h = statistics.median(git_times), statistics.median(hg_times)
    overlap = len(set(from_git) & set(from_hg))
    same_order = from_git == from_hg
    print(f"repository: {source} ({len(shamap)} commits; {changed} work tree change(s) copied); trace {trace.name}")
    print(f"rca index from scratch, median of {args.runs}: git {g:.2f} s, hg {h:.2f} s, ratio hg/git {h / g:.2f}x "
          f"(target <= 2x: {'met' if h / g <= 2 else 'missed'})")
    print(f"top-{args.top} suspects: overlap {overlap}/{max(len(from_git), 1)}, same order: {same_order}")
    for rank, (a, b) in enumerate(zip(from_git, from_hg), 1):
        print(f"  #{rank:<3} git {a[:10]}  hg->git {b[:10]}{'' if a == b else '  (differs)'}")
    return 0 if overlap == len(from_git) else 1


if __name__ == "__main__":
    sys.exit(main())

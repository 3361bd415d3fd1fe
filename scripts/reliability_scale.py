"""Time and memory of `rca index` on a big history, and whether memory grows with history.

    python scripts/reliability_scale.py REPO [--keep]

Deletes REPO's index (.git/rca) and builds it with `rca index`. Reports the wall time, the main
process's peak RSS (`os.wait4` ru_maxrss) and, sampled from /proc every 0.2 s, the peak of the
whole process tree (the indexer, its fork pool of parsers, git): the sum of RSS (which counts
pages shared between the forks once per process) and the sum of PSS (shared pages split
between their users: the real footprint). To show whether memory grows with history, the
tree's PSS is also printed at each tenth of the commits written, and a second run after 1,000
more commits (made by `git commit --allow-empty` plus a few edits) shows the incremental case.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import indexed_commits  # noqa: E402

RCA = [sys.executable, "-m", "rca_lsp", "index", "-q"]


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _mem(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, anonymous PSS) in KiB of one process; zeros when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            rss = pss = anon = 0
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Pss_Anon:"):
                    anon = int(line.split()[1])
            return rss, pss, anon
    except OSError:
        return 0, 0, 0


def _kind(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return "gone"
    if argv and argv[0].endswith(b"git"):
        return "git " + (argv[-2] if argv[-1] == b"" and len(argv) > 1 else argv[-1]).decode()[:12]
    return "parser worker"


def measure(repo: Path, total: int) -> dict:
    db = repo / ".git" / "rca" / "index.db"
    start = time.perf_counter()
    proc = subprocess.Popen([*RCA, "--repo", str(repo)], stderr=subprocess.PIPE)
    peak = {"rss": 0, "pss": 0, "anon": 0, "procs": 0}
    marks: dict[int, tuple[float, int]] = {}
    kinds: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        tick = 0
        while not done.is_set():
            pids = _tree(proc.pid)
            mems = [_mem(p) for p in pids]
            for pid, m in zip(pids, mems):
                kind = "indexer" if pid == proc.pid else _kind(pid)
                kinds[kind] = max(kinds.get(kind, 0), m[1])
            rss, pss, anon = sum(m[0] for m in mems), sum(m[1] for m in mems), sum(m[2] for m in mems)
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            peak["anon"] = max(peak["anon"], anon)
            peak["procs"] = max(peak["procs"], len(pids))
            tick += 1
            if tick % 5 == 0 and total:
                tenth = min(10, indexed_commits(db) * 10 // total)
                prev = marks.get(tenth, (0.0, 0, 0))
                marks[tenth] = (time.perf_counter() - start, max(prev[1], pss), max(prev[2], anon))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rca index failed: {err}")
    return {"seconds": seconds, "maxrss": usage.ru_maxrss, "tree_rss": peak["rss"], "tree_pss": peak["pss"], "tree_anon": peak["anon"],
            "procs": peak["procs"], "marks": marks, "kinds": kinds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--more", type=int, default=1000, help="commits to add for the incremental run")
    args = ap.parse_args()
    repo = args.repo.resolve()
    total = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True,
                               check=True).stdout)
    shutil.rmtree(repo / ".git" / "rca", ignore_errors=True)
    full = measure(repo, total)
    size = sum(p.stat().st_size for p in (repo / ".git" / "rca").glob("index.db*"))
    print(f"repository: {repo} ({total} commits reachable from HEAD)")
    print(f"full build: {full['seconds']:.0f} s ({total / full['seconds']:.0f} commits/s), index {size / 1e6:.0f} MB")
    print(f"  main process peak RSS (wait4): {full['maxrss'] / 1024:.0f} MiB")
    print(f"  process tree peak ({full['procs']} processes): RSS sum {full['tree_rss'] / 1024:.0f} MiB, "
          f"PSS sum {full['tree_pss'] / 1024:.0f} MiB, of it anonymous (not file pages) "
          f"{full['tree_anon'] / 1024:.0f} MiB")
    print("  peak PSS per process: " + ", ".join(f"{k} {v / 1024:.0f}" for k, v in sorted(full["kinds"].items()))
          + " (MiB)")
    print("  tree PSS (anonymous) by tenth of the commits written: " + ", ".join(
        f"{k * 10}%: {v[1] / 1024:.0f} ({v[2] / 1024:.0f})" for k, v in sorted(full["marks"].items())) + " MiB")
    if args.more:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        env = {**os.environ, "GIT_AUTHOR_NAME": "Eve", "GIT_AUTHOR_EMAIL": "eve@example.com",
               "GIT_COMMITTER_NAME": "Eve", "GIT_COMMITTER_EMAIL": "eve@example.com"}
        stream = []
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                              check=True).stdout.strip()
        for i in range(args.more):
            body = f"def more_{i}(x):\n    return x + {i}\n".encode()
            stream.append(b"commit refs/heads/main\ncommitter Eve <eve@example.com> %d +0000\n" % (2_000_000_000 + i))
            stream.append(b"data %d\nMore %d\n" % (len(f"More {i}\n"), i))
            if i == 0:
                stream.append(f"from {head}\n".encode())
            stream.append(f"M 100644 inline app/more/m{i % 20}.py\n".encode())
            stream.append(b"data %d\n%s\n" % (len(body), body))
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True, env=env)
        subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
        inc = measure(repo, 0)
        print(f"incremental run (+{args.more} commits): {inc['seconds']:.1f} s, main peak RSS "
              f"{inc['maxrss'] / 1024:.0f} MiB, tree PSS {inc['tree_pss'] / 1024:.0f} MiB")
        noop = measure(repo, 0)
        print(f"nothing new: {noop['seconds']:.1f} s, main peak RSS {noop['maxrss'] / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

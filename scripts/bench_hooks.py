"""What the hooks add to a `git pull` that brings 50 commits, and how soon the index is current.

    python scripts/bench_hooks.py [--runs 7] [--commits 50] [--base 300]

Builds, in a temporary folder, an upstream repository (`--base` commits of Python and Java files),
a bare origin and an indexed clone. Each run pushes `--commits` new commits upstream and times
`git pull` in the clone, alternately with rca's hooks installed and without (the index then
brought up to date by hand, so every run starts alike). Prints the medians, their difference (the
hook time added to the pull), the hook shim timed on its own, and the time from the end of the
pull until the background indexer has made the index current.
Targets: added time median <= 100 ms; index current within 5 s.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
ENV.update({"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"})


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


def rca(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, check=True, capture_output=True)


def add_commits(repo: Path, count: int, start: int) -> None:
    for i in range(start, start + count):
        kind = i % 3
        if kind == 0:
            path, text = f"src/pkg/mod{i % 40}.py", f"def f{i}(x):\n    return x + {i}\n"
        elif kind == 1:
            path, text = f"src/main/java/p/C{i % 40}.java", f"class C{i % 40} {{\n  int m{i}() {{ return {i}; }}\n}}\n"
        else:
            path, text = f"docs/n{i % 20}.md", f"note {i}\n"
        full = repo / path
        full.parent.mkdir(parents=True, exist_ok=True)
        with open(full, "a") as fh:
            fh.write(text)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", f"Change {i}", cwd=repo)


def indexed_head(meta: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{meta / 'rca' / 'index.db'}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT value FROM state WHERE key = 'head'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="pulls with hooks (and as many without)")
    ap.add_argument("--commits", type=int, default=50)
    ap.add_argument("--base", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rca-bench-hooks-") as tmp:
        root = Path(tmp)
        up, origin, clone = root / "up", root / "origin.git", root / "clone"
        up.mkdir()
        git("init", "-q", "-b", "main", cwd=up)
        add_commits(up, args.base, 0)
        git("clone", "-q", "--bare", str(up), str(origin), cwd=root)
        git("remote", "add", "origin", str(origin), cwd=up)
        git("clone", "-q", str(origin), str(clone), cwd=root)
        git("config", "pull.rebase", "false", cwd=clone)
        rca("index", "-q", cwd=clone)
        with_hooks, without, current, shim = [], [], [], []
        serial = args.base
        for run in range(2 * args.runs):
            hooked = run % 2 == 0
            rca("hooks", "install" if hooked else "uninstall", cwd=clone)
            add_commits(up, args.commits, serial)
            serial += args.commits
            git("push", "-q", "origin", "main", cwd=up)
            start = time.perf_counter()
            git("pull", "-q", cwd=clone)
            pulled = time.perf_counter()
            (with_hooks if hooked else without).append(pulled - start)
            head = git("rev-parse", "HEAD", cwd=clone).strip()
            if hooked:
                while indexed_head(clone / ".git") != head and time.perf_counter() - pulled < 60:
                    time.sleep(0.01)
                current.append(time.perf_counter() - pulled)
                t = time.perf_counter()  # the shim alone, index current: spawn and return
                subprocess.run([str(clone / ".git" / "hooks" / "post-merge"), "0"], cwd=clone, env=ENV, check=True)
                shim.append(time.perf_counter() - t)
            else:
                rca("index", "-q", cwd=clone)
        time.sleep(1)  # let the last background no-op indexer finish before the folder goes
    added = statistics.median(with_hooks) - statistics.median(without)
    print(f"git pull bringing {args.commits} commits, {args.runs} runs each, medians:")
    print(f"  without hooks: {statistics.median(without) * 1000:.0f} ms; with hooks: "
          f"{statistics.median(with_hooks) * 1000:.0f} ms; added by the hooks: {added * 1000:.0f} ms "
          f"(target <= 100 ms: {'met' if added <= 0.1 else 'missed'})")
    print(f"  post-merge shim run on its own: {statistics.median(shim) * 1000:.0f} ms median "
          f"(max {max(shim) * 1000:.0f} ms)")
    print(f"  index current after the pull returned: {statistics.median(current):.2f} s median, "
          f"{max(current):.2f} s worst (target <= 5 s: {'met' if max(current) <= 5 else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

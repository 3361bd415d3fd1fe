"""Two `rca index` runs, `rca suspects` and a reader at the same time, while new commits arrive.

    python scripts/reliability_load.py [--rounds 20] [--commits 400] [--per-round 30] [--dir DIR]

A synthetic repository (scripts/make_synthetic_repo.py) is indexed once; then, each round,
`--per-round` new commits are made and two `rca index` processes and one `rca suspects` start
together. All the while a reader process opens the index read-only (`Index.open(readonly=True)`)
over and over and runs plain SELECTs (a count, a full-text query, a join over hunks), timing each
read from open to last row, and every 20th read calls `rca_lsp.suspects.find_suspects` in-process.
After each round: every process exited 0, no stderr mentions "locked", and the index holds
exactly the commits reachable from HEAD (none lost). The reader's latencies (max, p99, median)
are printed at the end; the target is that no read waits more than 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from reliability_common import RCA, connect  # noqa: E402

TRACE = """java.lang.IllegalStateException: bad total
\tat org.acme.core.OrderService.totalItem(OrderService.java:7)
\tat org.acme.api.PriceParser.parseLine(PriceParser.java:12)
"""

READS = [
    "SELECT count(*) FROM commits",
    "SELECT rowid FROM commit_text WHERE commit_text MATCH 'total OR price' LIMIT 50",
    "SELECT c.hash, sum(h.new_len) FROM commits c JOIN hunks h ON h.commit_id = c.id"
    " WHERE c.id > (SELECT max(id) - 200 FROM commits) GROUP BY c.id",
]


def reader(repo: str, stop_file: str, out_file: str) -> None:
    """Read until `stop_file` exists; write latencies (s) and errors to `out_file` as JSON."""
    from rca_lsp.errors import RcaError
    from rca_lsp.index import Index
    from rca_lsp.suspects import find_suspects
    from rca_lsp.vcs.git import GitRepo

    git = GitRepo(repo)
    latencies: list[float] = []
    suspects: list[float] = []
    errors: list[str] = []
    n = 0
    while not os.path.exists(stop_file):
        n += 1
        start = time.perf_counter()
        try:
            with Index.open(git.meta_dir, readonly=True) as index:
                for sql in READS:
                    index.conn.execute(sql).fetchall()
            latencies.append(time.perf_counter() - start)
            if n % 20 == 0:
                start = time.perf_counter()
                with Index.open(git.meta_dir, readonly=True) as index:
                    find_suspects(git, index, TRACE, top=10)
                suspects.append(time.perf_counter() - start)
        except RcaError as exc:
            if "no stack trace" not in str(exc):
                errors.append(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.005)
    with open(out_file, "w") as fh:
        json.dump({"latencies": latencies, "suspects": suspects, "errors": errors}, fh)


def _commit(repo: Path, i: int) -> None:
    path = repo / "app" / "load" / f"mod{i % 7}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text() if path.exists() else '"""Load."""\n'
    path.write_text(old + f"\n\ndef step_{i}(x):\n    return x + {i}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "Eve", "GIT_AUTHOR_EMAIL": "eve@example.com",
           "GIT_COMMITTER_NAME": "Eve", "GIT_COMMITTER_EMAIL": "eve@example.com"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", f"Load step {i}"], cwd=repo, check=True, env=env)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_load(repo: Path, rounds: int, per_round: int, log=print) -> dict:
    repo = Path(repo).resolve()
    first = subprocess.run([*RCA, "index", "-q", "--repo", str(repo)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    tmp = Path(tempfile.mkdtemp(prefix="rca-load-"))
    stop, out = tmp / "stop", tmp / "reader.json"
    (repo / "crash.txt").write_text(TRACE)
    reader_proc = subprocess.Popen([sys.executable, __file__, "--reader", str(repo), str(stop), str(out)])
    problems: list[str] = []
    made = 0
    try:
        time.sleep(0.5)
        for r in range(rounds):
            for _ in range(per_round):
                _commit(repo, made)
                made += 1
            procs = [subprocess.Popen([*RCA, "index", "-q", "--repo", str(repo)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
            procs.append(subprocess.Popen([*RCA, "suspects", "--repo", str(repo), "--trace", "crash.txt",
                                           "--format", "json", "--top", "5"], cwd=repo, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
            for p in procs:
                _, err = p.communicate(timeout=300)
                if p.returncode != 0 or "locked" in err or "Traceback" in err:
                    problems.append(f"round {r}: {' '.join(p.args[2:4])} exited {p.returncode}: {err.strip()[:300]}")
            reachable = set(subprocess.run(["git", "rev-list", "HEAD"], cwd=repo, capture_output=True, text=True,
                                           check=True).stdout.split())
            conn = connect(repo / ".git" / "rca" / "index.db")
            indexed = {h for (h,) in conn.execute("SELECT hash FROM commits")}
            conn.close()
            if indexed != reachable:
                problems.append(f"round {r}: index has {len(indexed)} commits, {len(reachable)} reachable "
                                f"({len(reachable - indexed)} missing)")
            log(f"round {r + 1}: {len(indexed)} commits indexed, {len(problems)} problems so far")
    finally:
        stop.write_text("")
        reader_proc.wait(timeout=120)
    data = json.loads(out.read_text())
    lat = data["latencies"]
    return {"rounds": rounds, "new_commits": made, "reads": len(lat), "problems": problems + data["errors"],
            "read_max": max(lat, default=0), "read_p99": percentile(lat, 99), "read_median": percentile(lat, 50),
            "suspects_calls": len(data["suspects"]), "suspects_max": max(data["suspects"], default=0),
            "suspects_median": percentile(data["suspects"], 50)}


def reads_during_build(repo: Path) -> dict:
    """Reader latencies while `rca index` builds the whole history from nothing (big transactions,
    the fork pool, checkpoints): the reader starts once the first batch is committed."""
    import shutil

    repo = Path(repo).resolve()
    shutil.rmtree(repo / ".git" / "rca", ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix="rca-build-"))
    stop, out = tmp / "stop", tmp / "reader.json"
    build = subprocess.Popen([*RCA, "index", "-q", "--repo", str(repo)], stderr=subprocess.PIPE, text=True)
    db = repo / ".git" / "rca" / "index.db"
    while build.poll() is None:
        try:
            conn = connect(db)
            if conn.execute("SELECT count(*) FROM commits").fetchone()[0]:
                conn.close()
                break
            conn.close()
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.05)
    reader_proc = subprocess.Popen([sys.executable, __file__, "--reader", str(repo), str(stop), str(out)])
    _, err = build.communicate()
    stop.write_text("")
    reader_proc.wait(timeout=120)
    data = json.loads(out.read_text())
    lat = data["latencies"]
    return {"reads": len(lat), "read_max": max(lat, default=0), "read_p99": percentile(lat, 99),
            "read_median": percentile(lat, 50), "problems": data["errors"] + ([err] if build.returncode else [])}


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--reader":
        reader(*sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--commits", type=int, default=400, help="size of the starting history")
    ap.add_argument("--per-round", type=int, default=30, help="new commits before each round")
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    from make_synthetic_repo import make

    folder = args.dir or Path(tempfile.mkdtemp(prefix="rca-load-repo-")) / "repo"
    make(args.commits, folder)
    stats = run_load(folder, args.rounds, args.per_round)
    ms = 1000
    print(f"{stats['rounds']} rounds, {stats['new_commits']} new commits, 2 x rca index + rca suspects per round")
    print(f"reader: {stats['reads']} reads, latency max {stats['read_max'] * ms:.1f} ms, "
          f"p99 {stats['read_p99'] * ms:.1f} ms, median {stats['read_median'] * ms:.1f} ms")
    print(f"find_suspects in the reader: {stats['suspects_calls']} calls, median "
          f"{stats['suspects_median'] * ms:.0f} ms, max {stats['suspects_max'] * ms:.0f} ms")
    build = reads_during_build(folder)
    print(f"reads during a full build of {args.commits + stats['new_commits']} commits: {build['reads']} reads, "
          f"latency max {build['read_max'] * ms:.1f} ms, p99 {build['read_p99'] * ms:.1f} ms, "
          f"median {build['read_median'] * ms:.1f} ms")
    problems = stats["problems"] + build["problems"]
    print(f"problems: {len(problems)}")
    for p in problems:
        print("  -", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

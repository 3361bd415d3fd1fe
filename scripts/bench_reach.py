#!/usr/bin/env python3
"""Reach: in how many cases does the code the failure points at include code the culprit changed?

For each built dev case (or Python-track case), the targets retrieval's *code* feature uses are
computed as `rca suspects` computes them (the frames' functions, and what the failing test reaches
through the call graph), and compared with the functions the culprit commit changed (by file stem
and qualified name, as the feature matches them). Printed per case and in total:

- test: the failing test's walk reaches a function the culprit changed;
- frame: a frame's function is one the culprit changed;
- code: either (the culprit gets points from the code feature);
- time: seconds to build the view and walk (retrieval's share of this feature).

    python scripts/bench_reach.py [--dir ~/.cache/rca-bench] [--only Lang,Cli-10] [--misses]
        [--json OUT]

The cases must be indexed (`scripts/bench_run.py --system rca` leaves them so); an index behind
HEAD is brought up to date first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import default_bench_dir, load_cases, parse_only  # noqa: E402

from rca_lsp import service  # noqa: E402
from rca_lsp.index import Index  # noqa: E402
from rca_lsp.suspects.code_view import CodeView, stem  # noqa: E402
from rca_lsp.suspects.reach import failure_targets  # noqa: E402
from rca_lsp.testpaths import is_test_path  # noqa: E402
from rca_lsp.traces import parse, resolve  # noqa: E402
from rca_lsp.vcs import open_repo  # noqa: E402


def changed_symbols(index: Index, commit: str) -> set[tuple[str, str]]:
    """(file stem, qualname) of every non-test function the commit changed."""
    rows = index.conn.execute(
        "SELECT cs.qualname, f.path FROM changed_symbols cs JOIN files f ON f.id = cs.file_id"
        " JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?", (commit,)).fetchall()
    return {(stem(path), qualname) for qualname, path in rows if not is_test_path(path)}


def case_reach(case: dict) -> dict:
    repo = open_repo(case["repo"])
    service.ensure_index(repo)
    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    live = set(repo.modified_files()) | set(repo.untracked_files())
    traces = resolve(parse(text), sorted(set(repo.tracked_files()) | live))
    with Index.open(repo.meta_dir, readonly=True) as index:
        started = time.perf_counter()
        view = CodeView(index, repo.root, live)
        frames, tests = failure_targets(view, traces)
        seconds = time.perf_counter() - started
        culprit = changed_symbols(index, case["bic"])
    keys = {"test": {(stem(t.path), t.symbol.qualname) for t in tests},
            "frame": {(stem(t.path), t.symbol.qualname) for t in frames}}
    hit = {name: sorted(culprit & found) for name, found in keys.items()}
    repo.close()
    return {"case_id": case["case_id"], "project": case["project"], "test": bool(hit["test"]),
            "frame": bool(hit["frame"]), "code": bool(hit["test"] or hit["frame"]), "targets": len(keys["test"]),
            "culprit_changed": sorted(q for _, q in culprit)[:12], "seconds": round(seconds, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=default_bench_dir())
    parser.add_argument("--only", help="case ids or projects, comma-separated")
    parser.add_argument("--misses", action="store_true", help="list the cases the test's walk misses")
    parser.add_argument("--json", type=Path, help="write every case's row here")
    args = parser.parse_args()
    rows = [case_reach(c) for c in load_cases(args.dir, parse_only(args.only))]
    n = len(rows)
    for name in ("test", "frame", "code"):
        k = sum(r[name] for r in rows)
        print(f"{name:>5}: {k}/{n} = {100 * k / max(n, 1):.1f}%")
    projects = sorted({r["project"] for r in rows})
    print("by project (test / code): " + "; ".join(
        f"{p} {sum(r['test'] for r in rows if r['project'] == p)}/{sum(r['code'] for r in rows if r['project'] == p)}"
        f" of {sum(r['project'] == p for r in rows)}" for p in projects))
    print(f"targets of the test's walk: median {statistics.median(r['targets'] for r in rows)}; "
          f"view and walk: median {statistics.median(r['seconds'] for r in rows):.3f} s, "
          f"max {max(r['seconds'] for r in rows):.3f} s")
    if args.misses:
        for r in rows:
            if not r["test"]:
                print(f"  miss {r['case_id']}: culprit changed {', '.join(r['culprit_changed']) or '(no function)'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

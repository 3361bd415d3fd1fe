#!/usr/bin/env python3
"""Time the code layer on a real tree: parse every supported file, build the call graph.

    python scripts/bench_code.py DIR [--callees N] [--hops 2,4] [--tests]

Prints the file count, seconds, symbols and calls of the graph build, the
time of ``symbols()`` alone over the same files (the per-version cost the
commit index pays), and the time of N ``callees`` queries at each walk depth of ``--hops``
(``--tests``: from test methods, as retrieval walks, rather than from any method).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from statistics import median

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rca_lsp.code.graph import CallGraph, source_files  # noqa: E402
from rca_lsp.code.languages import language_for_path  # noqa: E402
from rca_lsp.code.symbols import symbols  # noqa: E402
from rca_lsp.testpaths import is_test_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--callees", type=int, default=200, help="callees() queries to time")
    parser.add_argument("--hops", default="2", help="walk depths to time, comma-separated")
    parser.add_argument("--tests", action="store_true", help="start from methods of test files only")
    args = parser.parse_args()

    started = time.perf_counter()
    paths = source_files(args.root)
    blobs = []
    for rel in paths:
        with open(os.path.join(args.root, rel), "rb") as handle:
            blobs.append((rel, handle.read()))
    read_s = time.perf_counter() - started
    lines = sum(b.count(b"\n") for _, b in blobs)
    languages = Counter(language_for_path(p) for p, _ in blobs)

    started = time.perf_counter()
    graph = CallGraph.build(blobs)
    build_s = time.perf_counter() - started
    print(f"files      {len(graph)} ({', '.join(f'{k} {v}' for k, v in languages.most_common())})")
    print(f"lines      {lines}")
    print(f"read       {read_s:.2f} s")
    print(f"build      {build_s:.2f} s ({lines / max(build_s, 1e-9) / 1000:.0f}k lines/s)")
    print(f"symbols    {graph.symbol_count()}")
    print(f"calls      {graph.call_count()}")

    started = time.perf_counter()
    only = sum(len(symbols(blob, language_for_path(rel) or "")) for rel, blob in blobs)
    print(f"symbols()  {time.perf_counter() - started:.2f} s for all files ({only} symbols; what the index pays)")

    methods = [(p, s.qualname) for p in graph.paths() for s in graph.symbols(p)
               if s.kind != "class" and (is_test_path(p) or not args.tests)]
    sample = methods[: args.callees]
    for hops in (int(h) for h in args.hops.split(",")):
        times, sizes = [], []
        for p, q in sample:
            started = time.perf_counter()
            sizes.append(len(graph.callees(p, q, hops=hops)))
            times.append(time.perf_counter() - started)
        if sample:
            print(f"callees    hops {hops}: {len(sample)} queries, {sum(times):.2f} s, median {1000 * median(times):.2f} ms,"
                  f" max {1000 * max(times):.1f} ms; symbols reached median {median(sizes)}, max {max(sizes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

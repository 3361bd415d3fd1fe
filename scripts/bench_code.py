#!/usr/bin/env python3
"""Time the code layer on a real tree: parse every supported file, build the call graph.

    python scripts/bench_code.py DIR [--callees N]

Prints the file count, seconds, symbols and calls of the graph build, the
time of ``symbols()`` alone over the same files (the per-version cost the
commit index pays), and the time of N two-hop ``callees`` queries.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rca_lsp.code.graph import CallGraph, source_files  # noqa: E402
from rca_lsp.code.languages import language_for_path  # noqa: E402
from rca_lsp.code.symbols import symbols  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--callees", type=int, default=200, help="callees() queries to time")
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

    methods = [(p, s.qualname) for p in graph.paths() for s in graph.symbols(p) if s.kind != "class"]
    sample = methods[: args.callees]
    started = time.perf_counter()
    reached = sum(len(graph.callees(p, q, hops=2)) for p, q in sample)
    query_s = time.perf_counter() - started
    if sample:
        print(f"callees    {len(sample)} queries, {query_s:.2f} s, {reached / len(sample):.1f} symbols each")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Facts about the built cases that help design a ranker (no ranking involved).

Per project: cases, commits reachable from HEAD (median), commits between the BIC and HEAD
(median), commits in the mirror; and over all cases: how many traces have an in-repo frame,
a non-test one, and how often the BIC touches a frame's file.

    python scripts/bench_facts.py [--only Lang] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    DEFAULT_MIRRORS, PathIndex, default_bench_dir, find_mirror, git_out, in_repo_frames,
    is_test_path, load_cases, parse_frames, parse_only, worktree_paths,
)
from bench_metrics import median  # noqa: E402


def touched_files(repo: Path, commit: str) -> list[str]:
    """Paths a commit changed (against its first parent; the root commit against nothing)."""
    parents = git_out(["rev-list", "--parents", "-n1", commit], cwd=repo).split()[1:]
    if len(parents) > 1:
        out = git_out(["diff", "--name-only", "--no-renames", parents[0], commit], cwd=repo)
    else:
        out = git_out(["diff-tree", "-r", "--root", "--name-only", "--no-commit-id", "--no-renames", commit], cwd=repo)
    return [p for p in out.splitlines() if p]


def case_facts(case: dict) -> dict:
    repo = Path(case["repo"])
    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    frames = in_repo_frames(parse_frames(text), PathIndex(worktree_paths(repo)))
    prod = [rf for rf in frames if not rf.is_test]
    bic_files = touched_files(repo, case["bic"])
    prod_suffixes = {rf.frame.path_suffix() for rf in prod}
    all_suffixes = {rf.frame.path_suffix() for rf in frames}

    def touches(suffixes: set[str]) -> bool:  # by package path, so a moved source root still matches
        return any(f == s or f.endswith("/" + s) for f in bic_files for s in suffixes)

    return {
        "case_id": case["case_id"],
        "project": case["project"],
        "commits": case["commits"],
        "bic_distance": case["bic_distance"],
        "bic_is_merge": len(git_out(["rev-list", "--parents", "-n1", case["bic"]], cwd=repo).split()) > 2,
        "bic_files": len(bic_files),
        "in_repo_frames": len(frames),
        "non_test_frames": len(prod),
        "bic_touches_non_test_frame_file": touches(prod_suffixes),
        "bic_touches_any_frame_file": touches(all_suffixes),
        "bic_touches_test_file": any(is_test_path(f) for f in bic_files),
    }


def mirror_sizes(mirrors: Path, upstreams: list[str]) -> dict[str, dict]:
    sizes = {}
    for up in upstreams:
        gd = find_mirror(mirrors, up)
        sizes[up] = {
            "all_refs": int(git_out(["rev-list", "--count", "--all"], git_dir=gd)),
            "default_branch": int(git_out(["rev-list", "--count", "HEAD"], git_dir=gd)),
        }
    return sizes


def project_rows(facts: list[dict], cases: list[dict], sizes: dict[str, dict]) -> list[str]:
    lines = ["| project | cases | median commits reachable | min-max | median BIC distance | "
             "mirror commits (all refs / default branch) |", "|---|---|---|---|---|---|"]
    for project in sorted({f["project"] for f in facts}):
        fs = [f for f in facts if f["project"] == project]
        up = next(c["upstream"] for c in cases if c["project"] == project)
        commits = [f["commits"] for f in fs]
        lines.append(f"| {project} | {len(fs)} | {median(commits):.0f} | {min(commits)}-{max(commits)} | "
                     f"{median(f['bic_distance'] for f in fs):.0f} | "
                     f"{sizes[up]['all_refs']} / {sizes[up]['default_branch']} |")
    return lines


def count_lines(facts: list[dict]) -> list[str]:
    n = len(facts)

    def share(key: str) -> str:
        k = sum(1 for f in facts if f[key])
        return f"{k}/{n} ({100 * k / n:.1f}%)"

    return [
        f"- traces with an in-repo frame: {share('in_repo_frames')}",
        f"- traces with an in-repo non-test frame: {share('non_test_frames')}",
        f"- BIC touches the file of an in-repo non-test frame: {share('bic_touches_non_test_frame_file')}",
        f"- BIC touches the file of any in-repo frame (tests included): {share('bic_touches_any_frame_file')}",
        f"- BIC touches a test file: {share('bic_touches_test_file')}",
        f"- BIC is a merge: {share('bic_is_merge')}",
        f"- median files touched by the BIC: {median(f['bic_files'] for f in facts):.0f}",
        f"- median commits reachable from HEAD, all cases: {median(f['commits'] for f in facts):.0f}; "
        f"median BIC distance (commits in bic..HEAD): {median(f['bic_distance'] for f in facts):.0f}",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_bench_dir())
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--only", help="comma-separated case ids or project names")
    ap.add_argument("--json", type=Path, help="write per-case facts here")
    args = ap.parse_args(argv)
    cases = load_cases(args.dir, parse_only(args.only))
    facts = [case_facts(c) for c in cases]
    sizes = mirror_sizes(args.mirrors, sorted({c["upstream"] for c in cases}))
    print("\n".join(project_rows(facts, cases, sizes) + [""] + count_lines(facts)))
    if args.json:
        args.json.write_text(json.dumps({"cases": facts, "mirrors": sizes}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

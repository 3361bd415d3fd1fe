#!/usr/bin/env python3
"""Build JavaScript RANKING cases: the jstrack mutations inserted further back in history.

Per case of scripts/jstrack_cases.py (--src cases.json; culprit on top of the pinned commit P):
the mutated line L is followed back along P's first-parent chain (300 commits at most) while no
first-parent diff comes within 3 lines of it; C = P~k, k >= 1, is drawn among those commits with
random.Random(f"{seed}:{case_id}"). cases/<case_id>/ (under --dir) is a fresh clone at C (its own
history; no remote, other refs or reflog), the mutation committed on it (the culprit, "bic"), then
each first-parent commit of C..P replayed as its first-parent diff (`git apply --index`, else -3)
with its own author, committer, dates and message; a failed apply redraws k nearer P (5 tries).
The final tree must equal the source case's HEAD tree; with node_modules symlinked from the
source's scratch clone, the source's suite output is cases/<case_id>.trace (no failure: dropped).
cases.json (source entry + bic, repo, trace, bic_distance, commits, source_case) is written after
each case, reruns skip built ones; skipped.json gives reasons. Default --dir ~/.cache/rca-jstrack-deep.

    nice -n 5 python scripts/jstrack_deep.py                  # all cases, seed 1
    python scripts/jstrack_deep.py --only js-yaml-01,ramda
    python scripts/bench_run.py --system rca --dir ~/.cache/rca-jstrack-deep
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import DEFAULT_MIRRORS, find_mirror  # noqa: E402
from jstrack_cases import REPOS, WHO, clone_head, log, parse_spec, run_suite  # noqa: E402
from pytrack_git import git_env, out, run_git  # noqa: E402

HORIZON, NEAR, TRIES = 300, 3, 5
# The culprit's message names nothing of the code: until the thirteenth sitting it was "Seeded
# regression: <operator> in <file>:<line>", whose file name the words feature matched against the
# failure (lib/snippet.js for a failing "Snippet" test), a hint no real culprit is sure to give.
CULPRIT_MESSAGE = b"Minor changes"
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)
DIFF = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"]


class Skip(Exception):
    """Why a case (or one insertion point) cannot be built."""


def git_bytes(args: list[str], cwd: Path, data: bytes | None = None, env: dict | None = None):
    """git with bytes in and out (patches and messages need not be UTF-8)."""
    return subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
                          cwd=cwd, input=data, capture_output=True, env=git_env(env))


def back_map(repo: Path, x: str, path: str, n: int) -> int | None:
    """Line n of `path` at first-parent commit x mapped to x^1, or None if x's diff comes within
    NEAR lines of it (a file new at x is one hunk over all its lines)."""
    shift = 0
    for m in HUNK.finditer(out([*DIFF, "-U0", f"{x}^1", x, "--", path], cwd=repo)):
        a, b, c, d = (int(g) if g is not None else 1 for g in m.groups())
        lo, hi = (c, c + d - 1) if d else (c, c + 1)  # d == 0: lines removed between c and c+1
        if lo <= n + NEAR and hi >= n - NEAR:
            return None
        shift += (b - d) if c < n else 0
    return n + shift


def unchanged_span(repo: Path, p: str, path: str, line: int) -> tuple[list[str], list[int]]:
    """P's first-parent chain (P, P~1, ...) as far back as L is untouched, and L's line in each;
    the last commit is the one whose diff last came near L (or HORIZON back, or the root)."""
    chain = out(["rev-list", "--first-parent", f"-n{HORIZON + 1}", p], cwd=repo).split()
    lines = [line]
    for x in chain[:-1]:
        if (n := back_map(repo, x, path, lines[-1])) is None:
            break
        lines.append(n)
    return chain[:len(lines)], lines


def commit_env(repo: Path, rev: str) -> dict[str, str]:
    keys = [f"GIT_{r}_{k}" for r in ("AUTHOR", "COMMITTER") for k in ("NAME", "EMAIL", "DATE")]
    vals = out(["log", "-1", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI", rev], cwd=repo)
    return dict(zip(keys, vals.rstrip("\n").split("\0")))


def commit(dest: Path, message: bytes, env: dict[str, str]) -> str:
    """Commit the index (missing blobs allowed) on HEAD and move HEAD there."""
    tree = out(["write-tree", "--missing-ok"], cwd=dest).strip()
    proc = git_bytes(["commit-tree", tree, "-p", "HEAD", "-F", "-"], dest, message, env)
    if proc.returncode:
        raise Skip(f"commit-tree: {proc.stderr.decode(errors='replace').strip()[:200]}")
    run_git(["update-ref", "HEAD", sha := proc.stdout.decode().strip()], cwd=dest)
    return sha


def build_repo(case: dict, mirror: Path, dest: Path, chain: list[str], k: int, line_c: int) -> str:
    """The case repository with the mutation at C = chain[k] and chain[k-1..0] replayed; the bic."""
    mut, c = case["mutation"], chain[k]
    shutil.rmtree(dest, ignore_errors=True)
    clone_head(mirror, dest, c)
    run_git(["remote", "remove", "origin"], cwd=dest)
    branch = out(["symbolic-ref", "HEAD"], cwd=dest).strip()
    for ref in out(["for-each-ref", "--format=%(refname)"], cwd=dest).split():
        if ref != branch:
            run_git(["update-ref", "-d", ref], cwd=dest)
    run_git(["reflog", "expire", "--expire=now", "--all"], cwd=dest)
    lines = (dest / mut["file"]).read_text(encoding="utf-8").split("\n")
    if lines[line_c - 1] != mut["before"]:
        raise Skip(f"{mut['file']}:{line_c} at {c[:10]} is {lines[line_c - 1]!r}, not the mutated line")
    lines[line_c - 1] = mut["after"]
    (dest / mut["file"]).write_text("\n".join(lines), encoding="utf-8")
    run_git(["add", "--", mut["file"]], cwd=dest)
    when = datetime.fromisoformat(commit_env(dest, c)["GIT_COMMITTER_DATE"]) + timedelta(seconds=1)
    env = {f"GIT_{r}_{f}": v for r in ("AUTHOR", "COMMITTER") for f, v in zip(("NAME", "EMAIL", "DATE"),
                                                                                (*WHO, when.isoformat()))}
    bic = commit(dest, CULPRIT_MESSAGE, env)
    for x in reversed(chain[:k]):
        patch = git_bytes([*DIFF, "--binary", "--full-index", f"{x}^1", x], dest)
        if patch.returncode:
            raise Skip(f"diff of {x[:10]}: {patch.stderr.decode(errors='replace').strip()[:200]}")
        if patch.stdout.strip():
            for how in ("--index", "-3"):  # apply is atomic: a failed --index leaves nothing behind
                if not (got := git_bytes(["apply", "--whitespace=nowarn", how], dest, patch.stdout)).returncode:
                    break
            else:
                raise Skip(f"apply of {x[:10]} failed: {got.stderr.decode(errors='replace').strip()[:200]}")
        raw = git_bytes(["cat-file", "commit", x], dest).stdout
        commit(dest, raw.split(b"\n\n", 1)[1] if b"\n\n" in raw else b"", commit_env(dest, x))
    run_git(["reflog", "expire", "--expire=now", "--all"], cwd=dest)
    return bic


def build_case(case: dict, args: argparse.Namespace, bench: Path, src_bench: Path) -> dict:
    """One deep case (its cases.json entry); raises Skip with the reason."""
    t0, mut, case_id = time.monotonic(), case["mutation"], case["case_id"]
    spec = next((s for s in REPOS if s.name == case["project"]), None)
    if spec is None or spec.test_command != case["test_command"]:
        raise Skip(f"no repository spec matches project {case['project']}")
    src, mirror = Path(case["repo"]), find_mirror(args.mirrors, spec.upstream)
    p = out(["rev-parse", f"{case['bic']}^1"], cwd=src).strip()
    chain, lines = unchanged_span(src, p, mut["file"], mut["line"])
    if len(chain) < 2:
        raise Skip(f"{mut['file']}:{mut['line']} changed (within {NEAR} lines) at P itself")
    rng, dest = random.Random(f"{args.seed}:{case_id}"), bench / "cases" / case_id
    hi, why, bic, tries = len(chain) - 1, "", None, 0
    while bic is None and tries < TRIES and hi >= 1:
        k, tries = rng.randint(1, hi), tries + 1
        try:
            bic = build_repo(case, mirror, dest, chain, k, lines[k])
        except Skip as err:
            why, hi = str(err), k - 1
            log(f"  {case_id}: k={k} of {len(chain) - 1}: {why}")
    if bic is None:
        raise Skip(f"no insertion point replays cleanly: {why}")
    want, got = (out(["rev-parse", "HEAD^{tree}"], cwd=r).strip() for r in (src, dest))
    if want != got:
        raise Skip(f"final tree {got[:10]} differs from the source case's {want[:10]} (k={k})")
    (dest / "node_modules").symlink_to(src_bench / "work" / spec.name / "node_modules")
    with open(dest / ".git" / "info" / "exclude", "a", encoding="utf-8") as fh:
        fh.write("/node_modules\n")
    output, timed_out = run_suite(dest, spec, args.timeout)
    failed = list(dict.fromkeys(parse_spec(output)[1]))
    if timed_out or not failed:
        raise Skip("the suite timed out" if timed_out else "no test fails at HEAD")
    trace = bench / "cases" / f"{case_id}.trace"
    trace.write_text(output, encoding="utf-8")
    return {**case, "bic": bic, "repo": str(dest), "trace": str(trace), "failing_tests": failed,
            "mutation": {**mut, "line_at_bic": lines[k]}, "seed": args.seed,
            "seconds": round(time.monotonic() - t0, 1), "bic_distance": k, "untouched": len(chain) - 1,
            "commits": int(out(["rev-list", "--count", "HEAD"], cwd=dest)), "source_case": case_id}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=Path.home() / ".cache" / "rca-jstrack" / "cases.json")
    ap.add_argument("--dir", type=Path, default=Path.home() / ".cache" / "rca-jstrack-deep")
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", help="comma-separated case ids or project names")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per suite run")
    args = ap.parse_args(argv)
    src_index, bench = args.src.expanduser().resolve(), args.dir.expanduser().resolve()
    (bench / "cases").mkdir(parents=True, exist_ok=True)
    index, skipped_path = bench / "cases.json", bench / "skipped.json"
    cases = json.loads(index.read_text())["cases"] if index.exists() else []
    skipped = json.loads(skipped_path.read_text()) if skipped_path.exists() else {}
    done, start = {c["case_id"] for c in cases if Path(c["repo"]).is_dir()}, time.monotonic()
    for case in json.loads(src_index.read_text())["cases"]:
        cid, c0 = case["case_id"], time.monotonic()
        if args.only and not {cid, case["project"]} & set(args.only.split(",")) or cid in done:
            continue
        try:
            entry = build_case(case, args, bench, src_index.parent)
        except Skip as why:  # its repository, if any, goes
            shutil.rmtree(bench / "cases" / cid, ignore_errors=True)
            skipped[cid] = str(why)
            log(f"{cid}: skipped: {why}")
        else:
            cases = [c for c in cases if c["case_id"] != cid] + [entry]
            skipped.pop(cid, None)
            log(f"{cid}: bic {entry['bic'][:10]} {entry['bic_distance']} back of {entry['commits']} commits, "
                f"{len(entry['failing_tests'])} failing ({time.monotonic() - c0:.0f}s)")
        index.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
        skipped_path.write_text(json.dumps(skipped, indent=1) + "\n")
    log(f"done in {time.monotonic() - start:.0f}s: {len(cases)} cases in {index}, {len(skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Run a ranking system over the built benchmark cases and print its figures.

Systems:
  rca                  the real tool: `python -m rca_lsp index --repo R`, then
                       `python -m rca_lsp suspects --repo R --trace T --format json --top 100000`
  recency-frame-files  commits touching the file of any in-repo frame, newest first
  blame-frames         `git blame` of every in-repo frame line, newest first (Sentry's rule);
                       the work tree's lines by default (see --blame-at)
  blame-frames-365     the same, only commits under 365 days older than HEAD
  git-stacktrace       pinterest's git-stacktrace (PyPI `git-stacktrace`) over the whole history
  baselines | all      the four baselines | those and rca

    python scripts/bench_cases.py                 # once: builds the cases
    python scripts/bench_run.py --system baselines --jobs 2 --json /tmp/baselines.json
    python scripts/bench_run.py --system rca --only Lang-48,Cli
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    PROJECT_ROOT, PathIndex, ResolvedFrame, default_bench_dir, git, git_out, head_paths,
    in_repo_frames, load_cases, parse_frames, parse_only, worktree_paths,
)
from bench_metrics import TOP_NS, summarize_rows  # noqa: E402

BASELINES = ["recency-frame-files", "blame-frames", "blame-frames-365", "git-stacktrace"]
SYSTEMS = ["rca", *BASELINES]
YEAR_S = 365 * 86400
_print_lock = threading.Lock()


def log(msg: str) -> None:
    with _print_lock:
        print(msg, file=sys.stderr, flush=True)


@dataclass
class Ranking:
    commits: list[str]  # best first
    index_s: float = 0.0
    query_s: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Options:
    rca_cmd: list[str]
    timeout: float
    blame_at: str  # "worktree" (the lines the trace numbers) or "HEAD" (committed content)
    rca_fresh: bool = False  # drop the tool's index (.git/rca) first, to time a full build
    coverage: Path | None = None  # the failing tests' reports: <case>.xml (bench_jacoco.py), .info (bench_jscov.py), .gocover (bench_gocov.py)
    since_good: bool = False  # rank only the commits after each case's last good revision (`good`)


@dataclass
class CaseRow:
    case_id: str
    project: str
    system: str
    rank: int | None
    ranked: int
    index_s: float | None
    query_s: float | None
    error: str = ""
    top: list[str] = field(default_factory=list)  # the first 10 commits ranked
    extra: dict = field(default_factory=dict)


# --- the trace, against the repository --------------------------------------------


def resolved_frames(case: dict) -> list[ResolvedFrame]:
    """In-repo frames of the case's trace (test frames included), mapped to work-tree paths."""
    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    return in_repo_frames(parse_frames(text), PathIndex(worktree_paths(Path(case["repo"]))))


def commit_time(repo: Path, rev: str = "HEAD") -> int:
    return int(git_out(["log", "-1", "--format=%ct", rev], cwd=repo).strip())


def newest_first(times: dict[str, int]) -> list[str]:
    """Commits by committer time, newest first; ties keep the order they were found in."""
    order = {c: i for i, c in enumerate(times)}
    return sorted(times, key=lambda c: (-times[c], order[c]))


# --- baselines ----------------------------------------------------------------------


def rank_recency_frame_files(case: dict, opts: Options) -> Ranking:
    repo = Path(case["repo"])
    paths = sorted({p for rf in resolved_frames(case) for p in rf.paths})
    if not paths:
        return Ranking([], extra={"frame_files": 0})
    out = git_out(["log", "--format=%H %ct", "HEAD", "--", *paths], cwd=repo)
    times = {h: int(t) for h, t in (line.split() for line in out.splitlines() if line)}
    return Ranking(newest_first(times), extra={"frame_files": len(paths)})


def blame_line(repo: Path, path: str, line: int, at: str) -> tuple[str, int] | None:
    """(commit, committer time) that last changed `path:line`, or None."""
    rev = ["HEAD"] if at == "HEAD" else []
    proc = git(["blame", "--porcelain", "-L", f"{line},{line}", *rev, "--", path], cwd=repo, check=False)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if not lines:
        return None
    sha = lines[0].split()[0]
    if set(sha) == {"0"}:
        return None  # not committed yet
    ctime = next((int(x.split()[1]) for x in lines if x.startswith("committer-time ")), 0)
    return sha, ctime


def blame_frames(case: dict, opts: Options, max_age_s: int | None) -> Ranking:
    repo = Path(case["repo"])
    at_head = set(head_paths(repo)) if opts.blame_at == "HEAD" else None
    times: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for rf in resolved_frames(case):
        line = rf.frame.line
        for path in rf.paths:
            if line is None or (path, line) in seen or (at_head is not None and path not in at_head):
                continue
            seen.add((path, line))
            hit = blame_line(repo, path, line, opts.blame_at)
            if hit:
                times.setdefault(*hit)
    if max_age_s is not None:
        floor = commit_time(repo) - max_age_s
        times = {c: t for c, t in times.items() if t >= floor}
    return Ranking(newest_first(times), extra={"frame_lines": len(seen)})


def rank_blame_frames(case: dict, opts: Options) -> Ranking:
    return blame_frames(case, opts, None)


def rank_blame_frames_365(case: dict, opts: Options) -> Ranking:
    return blame_frames(case, opts, YEAR_S)


def rank_git_stacktrace(case: dict, opts: Options) -> Ranking:
    """pinterest/git-stacktrace's API in a child process run inside the case repository."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--gst-worker", case["trace"]]
    proc = subprocess.run(cmd, cwd=case["repo"], capture_output=True, text=True, timeout=opts.timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"git-stacktrace failed: {proc.stderr.strip()[-500:]}")
    doc = json.loads(proc.stdout)
    return Ranking(doc["commits"], extra={"dropped_lines": doc["dropped_lines"]})


JAVA_FRAME = re.compile(r"^\tat [^\s()]+\([^\s():]+(?::\d+)?\)$|^\tat [^\s()]+\((?:Native Method|Unknown Source)\)$")


def gst_sanitize(text: str) -> tuple[str, int]:
    """git-stacktrace's Java parser rejects a whole trace for one tab-indented line that is
    not a frame (`\\t... 35 more`, a message's continuation): keep other lines, drop those."""
    kept, dropped = [], 0
    for line in text.splitlines():
        if line.startswith("\t") and not JAVA_FRAME.match(line):
            dropped += 1
            continue
        kept.append(line)
    return "\n".join(kept), dropped


def gst_worker(trace: str) -> int:
    from git_stacktrace import api  # imported here: only this baseline needs it

    text, dropped = gst_sanitize(Path(trace).read_text(encoding="utf-8", errors="replace"))
    tb = api.parse_trace(text)
    results = api.lookup_stacktrace(tb, "HEAD", fast=True)
    commits = [r.commit for r in results.get_sorted_results()]
    print(json.dumps({"commits": commits, "dropped_lines": dropped}))
    return 0


# --- the tool ----------------------------------------------------------------------


def run_tool(cmd: list[str], repo: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - start


class StepError(RuntimeError):
    """A tool step failed; carries the time of the steps that did run."""

    def __init__(self, msg: str, index_s: float | None = None) -> None:
        super().__init__(msg)
        self.index_s = index_s


def rank_rca(case: dict, opts: Options) -> Ranking:
    repo = Path(case["repo"])
    if opts.rca_fresh:
        shutil.rmtree(repo / ".git" / "rca", ignore_errors=True)
    proc, index_s = run_tool(opts.rca_cmd + ["index", "--repo", str(repo)], repo, opts.timeout)
    if proc.returncode != 0:
        raise StepError(f"rca index exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    query = ["suspects", "--repo", str(repo), "--trace", case["trace"], "--format", "json", "--top", "100000"]
    if opts.since_good:
        if not case.get("good"):
            raise StepError(f"{case['case_id']} has no last good revision (`good`) to rank after")
        query += ["--since", case["good"]]
    reports = [opts.coverage / f"{case['case_id']}{ext}" for ext in (".xml", ".info", ".gocover")] if opts.coverage else []
    report = next((r for r in reports if r.exists()), None)
    if report is not None:  # none where the test did not compile: ranked without, as a user is
        query += ["--coverage", str(report)]
    proc, query_s = run_tool(opts.rca_cmd + query, repo, opts.timeout)
    if proc.returncode != 0:
        raise StepError(f"rca suspects exit {proc.returncode}: {proc.stderr.strip()[-500:]}", index_s)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise StepError(f"rca suspects printed no JSON ({exc}): {proc.stdout[:200]!r}", index_s) from exc
    commits = [s["commit"] for s in doc.get("suspects", [])]
    extra = {"candidates": doc.get("candidates"), "timings": doc.get("timings"), "coverage": "--coverage" in query}
    return Ranking(commits, index_s=index_s, query_s=query_s, extra=extra)


RANKERS: dict[str, Callable[[dict, Options], Ranking]] = {
    "rca": rank_rca,
    "recency-frame-files": rank_recency_frame_files,
    "blame-frames": rank_blame_frames,
    "blame-frames-365": rank_blame_frames_365,
    "git-stacktrace": rank_git_stacktrace,
}


# --- harness -----------------------------------------------------------------------


def rank_of(bic: str, commits: list[str]) -> int | None:
    """1-based position of the BIC; abbreviated hashes (7+ characters) match as prefixes."""
    for i, c in enumerate(commits, 1):
        if c == bic or (len(c) >= 7 and bic.startswith(c)):
            return i
    return None


def run_case(system: str, case: dict, opts: Options) -> CaseRow:
    start = time.monotonic()
    try:
        r = RANKERS[system](case, opts)
    except (RuntimeError, OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
        index_s = getattr(exc, "index_s", None)
        return CaseRow(case["case_id"], case["project"], system, None, 0,
                       None if index_s is None else round(index_s, 3), None, error=str(exc)[:1000])
    if system != "rca":  # baselines have no index: the whole run is the query
        r.query_s = time.monotonic() - start
    return CaseRow(case["case_id"], case["project"], system, rank_of(case["bic"], r.commits),
                   len(r.commits), round(r.index_s, 3), round(r.query_s, 3),
                   top=r.commits[:10], extra=r.extra)


def run_system(system: str, cases: list[dict], opts: Options, jobs: int) -> list[CaseRow]:
    done = [0]

    def one(case: dict) -> CaseRow:
        row = run_case(system, case, opts)
        done[0] += 1
        status = f"error: {row.error[:200]}" if row.error else f"rank {row.rank} of {row.ranked}"
        log(f"[{system} {done[0]}/{len(cases)}] {case['case_id']}: {status} "
            f"({row.index_s or 0:.1f}s + {row.query_s or 0:.1f}s)")
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, cases))


def fmt(v: float | int | None, pct: bool = False, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}%" if pct else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def table(results: dict[str, list[CaseRow]], by_project: bool) -> str:
    head = ["system", "cases", *[f"top-{n}" for n in TOP_NS], "MRR", "med ranked",
            "med index s", "med query s", "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system, rows in results.items():
        groups = [(system, rows)]
        if by_project:
            for project in sorted({r.project for r in rows}):
                groups.append((f"  {system} / {project}", [r for r in rows if r.project == project]))
        for label, group in groups:
            s = summarize_rows([asdict(r) for r in group])
            cells = [label, fmt(s["cases"]), *[fmt(s[f"top{n}"], pct=True) for n in TOP_NS],
                     fmt(s["mrr"], digits=3), fmt(s["median_ranked"], digits=0),
                     fmt(s["median_index_s"], digits=2), fmt(s["median_query_s"], digits=2), fmt(s["errors"])]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, results: dict[str, list[CaseRow]], args: argparse.Namespace) -> None:
    doc = {
        "bench_dir": str(args.dir),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jobs": args.jobs,
        "blame_at": args.blame_at,
        "coverage": str(args.coverage_dir or args.dir / "coverage") if args.coverage else None,
        "since_good": args.since_good,
        "systems": {
            system: {"summary": summarize_rows([asdict(r) for r in rows]), "cases": [asdict(r) for r in rows]}
            for system, rows in results.items()
        },
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


def systems_of(choice: str) -> list[str]:
    return {"all": SYSTEMS, "baselines": BASELINES}.get(choice, [choice])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", default="all", choices=[*SYSTEMS, "baselines", "all"])
    ap.add_argument("--dir", type=Path, default=default_bench_dir(), help="where bench_cases.py built the cases")
    ap.add_argument("--only", help="comma-separated case ids or project names")
    ap.add_argument("--json", type=Path, help="write per-case ranks and times here")
    ap.add_argument("--jobs", type=int, default=1, help="cases run in parallel (timings then share the CPU)")
    ap.add_argument("--by-project", action="store_true", help="add a row per project")
    ap.add_argument("--rca-cmd", default=f"{shlex.quote(sys.executable)} -m rca_lsp",
                    help="how to call the tool (default: this python -m rca_lsp, with the project on PYTHONPATH)")
    ap.add_argument("--rca-fresh", action="store_true",
                    help="delete each case's tool index (.git/rca) first, so index time is a full build")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per tool call")
    ap.add_argument("--blame-at", choices=["worktree", "HEAD"], default="worktree",
                    help="blame the work tree, whose lines the trace numbers (default; uncommitted lines "
                         "count for nothing; what the bench README measured), or HEAD's committed content "
                         "at the same line numbers")
    ap.add_argument("--coverage", action="store_true",
                    help="rank with each case's failing-test coverage (`rca suspects --coverage`): the reports "
                         "scripts/bench_jacoco.py (JaCoCo), bench_jscov.py (LCOV) or bench_gocov.py (Go) wrote in --coverage-dir")
    ap.add_argument("--coverage-dir", type=Path, help="where the reports are (default <dir>/coverage)")
    ap.add_argument("--since-good", action="store_true",
                    help="rank only the commits after each case's last good revision (`rca suspects --since GOOD`)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["--gst-worker"]:
        return gst_worker(raw[1])
    args = parse_args(raw)
    cases = load_cases(args.dir, parse_only(args.only))
    if not cases:
        raise SystemExit("no built case selected")
    coverage = (args.coverage_dir or args.dir / "coverage") if args.coverage else None
    opts = Options(shlex.split(args.rca_cmd), args.timeout, args.blame_at, args.rca_fresh, coverage, args.since_good)
    results: dict[str, list[CaseRow]] = {}
    for system in systems_of(args.system):
        start = time.monotonic()
        results[system] = run_system(system, cases, opts, args.jobs)
        log(f"{system}: {len(cases)} cases in {time.monotonic() - start:.0f}s")
    print(table(results, args.by_project))
    if args.json:
        write_json(args.json, results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

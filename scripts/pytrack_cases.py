#!/usr/bin/env python3
"""Build the Python-track benchmark: failures that follow recent changes.

For each pinned repository (REPOS: upstream, pinned head, package folders, test folders),
seeded draws of windows of 50-100 consecutive commits on the first-parent history are
linearised (drawn windows are taken in turn until `windows` of them gave cases, so one
whose replay conflicts or that gives nothing is replaced by the next): the window's
non-merge commits (`rev-list --topo-order --reverse --no-merges base..end`) are
cherry-picked in order onto the window's base, keeping author, committer,
dates and messages (so the rebuilt hashes are reproducible). One window commit that added
lines to a library .py file becomes the culprit: a seeded, ast/tokenize-checked mutation
of one line it added that survives to the window's end (comparison flip, and/or swap,
dropped `not`, integer off by one, True/False swap, +/- swap, negated if/while condition,
sole if-body statement -> `pass`) is amended into it and the later commits are replayed
on top (a conflict rejects the candidate). A case is kept only if, with real pytest runs:
some test that passes at the clean window end fails at the mutated end, and each chosen
test passes at the window base and at the culprit's parent, and fails at the culprit.

Output (default ~/.cache/rca-pytrack, or $RCA_PYTRACK_DIR, or --dir):
  cases/<id>/       a standalone git repository at the window's end (branch master)
  cases/<id>.trace  the real pytest output of the failing tests there
  cases.json        {"cases": [...]}, the shape scripts/bench_run.py reads
  work/             linearised windows and scratch checkouts (reused by reruns)

    python scripts/pytrack_cases.py                       # all repositories, seed 1
    python scripts/pytrack_cases.py --only sqlparse --per-window 3
    python scripts/bench_run.py --system rca --dir ~/.cache/rca-pytrack
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import DEFAULT_MIRRORS, find_mirror
from pytrack_git import (
    checkout,
    committer_env,
    linearise,
    non_merges_reached,
    out,
    replay,
    run_git,
    window_commits,
)
from pytrack_candidates import Candidate, by_operator, candidates, shape_full  # noqa: F401  (by_operator: tests)
from pytrack_candidates import blame_window_lines, is_library_file  # noqa: F401  (tests, dataset_build)
from pytrack_mutations import OPERATORS, Mutation, apply_mutation
from pytrack_repos import REPOS, RepoSpec  # noqa: F401  (RepoSpec: other scripts import it from here)
from pytrack_guided import MANY_TARGETS, MAX_TARGETS, guided_targets  # noqa: F401  (guided_targets: dataset_deep, tests)
from pytrack_pytest import (
    SUITE_TIMEOUT,
    TEST_TIMEOUT,
    passing_tests,
    relevant_tests,
    run_existing,
    run_pytest,
)

DEFAULT_SEED = 1
WINDOW_MIN, WINDOW_MAX = 50, 100
MAX_FAILING = 3  # failing tests kept per case (the first ones pytest reports)
BARREN_TRIES = 20  # a window whose first 20 candidates gave no case is given up


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_dir() -> Path:
    env = os.environ.get("RCA_PYTRACK_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rca-pytrack"


# --- windows ----------------------------------------------------------------------


@dataclass
class Window:
    project: str
    index: int
    base: str  # upstream first-parent commit before the window
    end: str  # upstream first-parent commit at the window's end
    commits: list[str]  # upstream non-merge commits replayed, in order


WINDOW_SPARES = 4  # candidate windows drawn per window wanted


def choose_windows(spec: RepoSpec, mirror: Path, rng: random.Random, count: int) -> list[Window]:
    """Up to `count` seeded, non-overlapping windows of 50-100 non-merge commits between two
    first-parent commits of the pinned head, after `spec.since`, in the seeded order in
    which they are drawn (index 1, 2, ...): the build takes them in turn until enough of
    them gave cases, so a window whose replay conflicts is replaced by the next one."""
    fp = out(["rev-list", "--first-parent", f"--since={spec.since_cutoff}", spec.head], git_dir=mirror).split()
    fp.reverse()  # oldest first
    reached = non_merges_reached(mirror, spec.head, fp)
    taken: list[tuple[int, int]] = []
    windows: list[Window] = []
    ends = list(range(len(fp)))
    rng.shuffle(ends)
    for e in ends:
        if len(windows) >= count:
            break
        want = rng.randint(WINDOW_MIN, WINDOW_MAX)
        b = e - 1
        n = 0
        while b >= 0:
            n = reached[e] - reached[b]  # `git rev-list --count --no-merges fp[b]..fp[e]`
            if n >= want:
                break
            b -= max(1, (want - n) // 3)
        if b < 0 or not WINDOW_MIN <= n <= WINDOW_MAX:
            continue
        if any(not (e <= tb or b >= te) for tb, te in taken):
            continue
        commits = window_commits(mirror, fp[b], fp[e])
        taken.append((b, e))
        windows.append(Window(spec.name, len(windows) + 1, fp[b], fp[e], commits))
    return windows


def take_windows(windows: list[Window], want: int, build) -> list[dict]:
    """The cases of `windows` built in turn (`build(window)`) until `want` of them gave some:
    a window whose replay conflicts or that gives no case is replaced by the next drawn."""
    cases: list[dict] = []
    good = 0
    for win in windows:
        if good >= want:
            break
        got = build(win)
        good += bool(got)
        cases.extend(got)
    return cases


# --- one window -------------------------------------------------------------------


def write_file(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text, encoding="utf-8", newline="")


@dataclass
class CaseRecord:
    case_id: str
    project: str
    upstream: str
    bic: str
    repo: str
    trace: str
    built: bool = True
    reason: str = ""
    commits: int = 0  # reachable from HEAD
    bic_distance: int = 0  # commits in bic..HEAD
    good: str = ""
    bad: str = ""
    test_command: str = ""
    failing_tests: list[str] = field(default_factory=list)
    window: dict = field(default_factory=dict)
    culprit_upstream: str = ""
    seed: int = 0
    mutation: dict = field(default_factory=dict)
    seconds: float = 0.0


def prepare_window(spec: RepoSpec, mirror: Path, win: Window, bench: Path,
                   python: Path) -> tuple[Path, Path, list[str], set[str]] | None:
    """The window linearised in a clone (`work`), a worktree beside it (`scratch`), the rebuilt
    commits (the base first) and the tests that pass at the end; None (and why, counted) where the
    replay conflicts or too few tests pass."""
    work = bench / "work" / f"{spec.name}-w{win.index}"
    scratch = bench / "work" / f"{spec.name}-w{win.index}-scratch"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    run_git(["clone", "-q", "--no-checkout", str(mirror), str(work)])
    rebuilt_tail = linearise(work, win.base, win.commits)
    if rebuilt_tail is None:
        log(f"  {spec.name} w{win.index}: replay conflicts; window dropped")
        REJECTED["window: replay conflicts"] = REJECTED.get("window: replay conflicts", 0) + 1
        return None
    rebuilt = [win.base, *rebuilt_tail]
    end = rebuilt[-1]
    same_tree = out(["rev-parse", f"{end}^{{tree}}"], cwd=work) == out(["rev-parse", f"{win.end}^{{tree}}"], cwd=work)
    run_git(["worktree", "add", "-q", "--detach", str(scratch), win.base], cwd=work)
    passed_end, failed_end = passing_tests(python, work, spec)
    log(f"  {spec.name} w{win.index}: {len(win.commits)} commits {win.base[:8]}..{win.end[:8]}, "
        f"end tree {'=' if same_tree else '!='} upstream, {len(passed_end)} tests pass at end, {failed_end} fail")
    if len(passed_end) < 20:
        REJECTED["window: under 20 tests pass at its end"] = REJECTED.get("window: under 20 tests pass at its end", 0) + 1
        run_git(["worktree", "remove", "--force", str(scratch)], cwd=work, check=False)
        return None
    return work, scratch, rebuilt, passed_end


def build_window(spec: RepoSpec, mirror: Path, win: Window, bench: Path, python: Path, seed: int,
                 per_window: int, max_tries: int, operators: tuple[str, ...] = OPERATORS,
                 balance: bool = False, shape_cap: int = 0) -> list[dict]:
    """Up to `per_window` cases, one per culprit commit, at most `shape_cap` of a shape (0: any)."""
    prepared = prepare_window(spec, mirror, win, bench, python)
    if prepared is None:
        return []
    work, scratch, rebuilt, passed_end = prepared
    end = rebuilt[-1]
    rng = random.Random(f"{seed}:{spec.name}:{win.index}")
    cases: list[dict] = []
    used_k: set[int] = set()
    tries = 0
    targets = guided_targets(spec, work, end, rebuilt[0], passed_end, python) if COVERAGE_GUIDED else None
    keep = (lambda path, line: (path, line) in targets) if targets is not None else None
    order = candidates(work, spec, end, rebuilt, rng, operators, balance, keep)
    if targets is not None:
        log(f"  {spec.name} w{win.index}: {len(order)} candidates on lines that tests passing at base and end run")
    for cand in order:
        if len(cases) >= per_window or tries >= max_tries or (not cases and tries >= BARREN_TRIES):
            break
        if cand.k in used_k:
            continue
        if shape_full(cases, cand.mutation.operator, shape_cap):
            continue
        tries += 1
        rec = try_candidate(spec, win, work, scratch, rebuilt, passed_end, cand, bench, python, seed,
                            f"{spec.name}-w{win.index}-{len(cases) + 1:02d}",
                            targets.get((cand.end_path, cand.end_line)) if targets is not None else None)
        if rec is not None:
            used_k.add(cand.k)
            cases.append(rec)
    log(f"  {spec.name} w{win.index}: {len(cases)} cases from {tries} tries")
    run_git(["worktree", "remove", "--force", str(scratch)], cwd=work, check=False)
    return cases


# The training-data builder (scripts/dataset_build.py) sets this; the benchmark leaves it off. On:
# one whole-suite run under coverage at the window's end says which tests run each line, and only
# lines that some test runs, a test that passes at the end and whose function is already in its
# file at the window's base, become candidates; each is tried on those tests alone. Off, two
# candidates in three were "no test fails" (the line no test runs) and one in five "ground truth
# fails at base" (only a test added in the window runs it), each after a test run.
COVERAGE_GUIDED = False


class Rejected(Exception):
    """A candidate that cannot become a case; the message says why (logged)."""


REJECTED: dict[str, int] = {}  # why candidates were rejected, counted over the run (the data card's)


def try_candidate(spec: RepoSpec, win: Window, work: Path, scratch: Path, rebuilt: list[str],
                  passed_end: set[str], cand: Candidate, bench: Path, python: Path, seed: int,
                  case_id: str, covering: list[str] | None = None) -> dict | None:
    t0 = time.monotonic()
    label = f"    k={cand.k} {cand.end_path}:{cand.end_line} {cand.mutation.operator}"
    try:
        failing = _failing_at_end(spec, work, rebuilt[-1], passed_end, cand, python, covering)
        bic = _amend_culprit(work, rebuilt[cand.k], cand)
        chosen = _ground_truth(spec, scratch, python, failing[:20], rebuilt[0], rebuilt[cand.k - 1], bic)
        bad = _replay_rest(work, rebuilt, bic, cand)
        chosen = chosen[:MAX_FAILING]
        case_dir, trace_path = _export_case(spec, work, bench, python, case_id, bad, chosen)
    except Rejected as why:
        log(f"{label}: {why}")
        REJECTED[str(why)] = REJECTED.get(str(why), 0) + 1
        return None
    m = cand.mutation
    test_cmd = " ".join(shlex.quote(x) for x in [str(python), "-m", "pytest", "-x", "-q", *spec.pytest_args, *chosen])
    rec = CaseRecord(
        case_id=case_id, project=spec.name, upstream=spec.upstream, bic=bic, repo=str(case_dir),
        trace=str(trace_path),
        commits=int(out(["rev-list", "--count", "HEAD"], cwd=case_dir)),
        bic_distance=int(out(["rev-list", "--count", f"{bic}..HEAD"], cwd=case_dir)),
        good=rebuilt[0], bad=bad, test_command=test_cmd, failing_tests=chosen,
        window={"base": win.base, "end": win.end, "first": win.commits[0], "last": win.commits[-1],
                "size": len(win.commits), "index": win.index},
        culprit_upstream=win.commits[cand.k - 1], seed=seed,
        mutation={"file": cand.path, "line": cand.line, "end_file": cand.end_path, "end_line": cand.end_line,
                  "operator": m.operator, "before": m.before, "after": m.after},
        seconds=round(time.monotonic() - t0, 1),
    )
    log(f"{label}: case {case_id} ({len(chosen)} failing, {rec.seconds}s)")
    return asdict(rec)


def _failing_at_end(spec: RepoSpec, work: Path, end: str, passed_end: set[str], cand: Candidate,
                    python: Path, covering: list[str] | None = None) -> list[str]:
    """1. The mutation at the clean end: which passing tests of the module (or, guided, of those
    that run the line: `covering`) fail?"""
    checkout(work, end)
    end_src = (work / cand.end_path).read_text(encoding="utf-8")
    write_file(work, cand.end_path, apply_mutation(end_src, cand.mutation))
    if covering:
        targets = covering if len(covering) <= MAX_TARGETS else sorted({t.split("::", 1)[0] for t in covering})
        # many tests run a hot line: give them a whole suite's time (prompt_toolkit's timed out at 30 s)
        failing = _failing_in(spec, work, passed_end, python, targets,
                              SUITE_TIMEOUT if len(covering) > MANY_TARGETS else TEST_TIMEOUT)
        if not failing:
            raise Rejected("no test fails")
        return failing
    targets = relevant_tests(work, spec, cand.end_path)  # [] runs the whole suite
    failing = _failing_in(spec, work, passed_end, python, targets)
    if not failing and targets and WIDER_FAILING:
        failing = _failing_in(spec, work, passed_end, python, [])
    if not failing:
        raise Rejected("no test fails")
    return failing


# The training-data builder (scripts/dataset_build.py) sets this; the benchmark leaves it off, so
# that its cases rebuild as before. On: a test module that fails to collect (a test dependency
# missing, code of another Python) no longer hides every other module's failures in a whole-suite
# run, and a mutation that no test file named after its module catches is tried on the whole suite
# (a single-module library's tests are spread over many files: pycodestyle's, parse's).
WIDER_FAILING = False


def _failing_in(spec: RepoSpec, work: Path, passed_end: set[str], python: Path, targets: list[str],
                timeout: float | None = None) -> list[str]:
    """The tests of `targets` ([]: the whole suite) that pass at the clean end and fail now."""
    extra = ["-q", "-rfE", "--tb=no"]
    if WIDER_FAILING:
        extra.append("--continue-on-collection-errors")
    if timeout is None:
        timeout = SUITE_TIMEOUT if WIDER_FAILING and not targets else TEST_TIMEOUT
    run = run_pytest(python, work, spec, targets, extra, timeout=timeout)
    if run.timed_out:
        raise Rejected("tests time out")
    return [t for t in run.failed if t in passed_end]


def _amend_culprit(work: Path, culprit: str, cand: Candidate) -> str:
    """2. The mutation amended into the culprit commit; the amended commit's hash."""
    m = cand.mutation
    checkout(work, culprit)
    at_k = (work / cand.path).read_text(encoding="utf-8")
    try:
        write_file(work, cand.path, apply_mutation(at_k, Mutation(m.operator, cand.line, m.before, m.after)))
    except ValueError:
        raise Rejected("line differs at the culprit") from None
    run_git(["commit", "-q", "-a", "--amend", "--no-edit", "--allow-empty"], cwd=work,
            env=committer_env(work, culprit))
    return out(["rev-parse", "HEAD"], cwd=work).strip()


def _ground_truth(spec: RepoSpec, scratch: Path, python: Path, chosen: list[str], base: str, parent: str,
                  bic: str) -> list[str]:
    """3. Before the costlier replay: the tests that pass at base and at the culprit's parent, and
    fail at the culprit."""
    for rev, want_pass in ((base, True), (parent, True), (bic, False)):
        checkout(scratch, rev)
        chosen, r = run_existing(python, scratch, spec, chosen)
        if r is None or r.timed_out or r.rc not in (0, 1):
            chosen = []
        elif want_pass:
            chosen = [t for t in chosen if t not in r.failed]
        else:
            chosen = [t for t in chosen if t in r.failed]
        if not chosen:
            where = "base" if rev == base else "parent" if want_pass else "culprit"
            raise Rejected(f"ground truth fails at {where}")
    return chosen


def _replay_rest(work: Path, rebuilt: list[str], bic: str, cand: Candidate) -> str:
    """4. The later commits replayed on top: the end must differ from the clean end by the line."""
    checkout(work, bic)
    tail = replay(work, rebuilt[cand.k + 1:])
    if tail is None:
        raise Rejected("a later commit conflicts")
    bad = tail[-1] if tail else bic
    diff = out(["diff", "--numstat", rebuilt[-1], bad], cwd=work).split("\n")
    if [d for d in diff if d] != [f"1\t1\t{cand.end_path}"]:
        raise Rejected("end differs from the mutated end beyond the line")
    return bad


def _export_case(spec: RepoSpec, work: Path, bench: Path, python: Path, case_id: str, bad: str,
                 chosen: list[str]) -> tuple[Path, Path]:
    """5. The case repository at the mutated end, and the real trace there."""
    case_dir = bench / "cases" / case_id
    shutil.rmtree(case_dir, ignore_errors=True)
    run_git(["update-ref", "refs/pytrack/case", bad], cwd=work)
    run_git(["init", "-q", "-b", "master", str(case_dir)])
    run_git(["fetch", "-q", "--no-tags", "--update-head-ok", str(work), "refs/pytrack/case:refs/heads/master"], cwd=case_dir)
    run_git(["reset", "-q", "--hard", "master"], cwd=case_dir)
    for name in ("FETCH_HEAD", "ORIG_HEAD"):
        (case_dir / ".git" / name).unlink(missing_ok=True)
    run_git(["reflog", "expire", "--expire=now", "--all"], cwd=case_dir)
    trace = run_pytest(python, case_dir, spec, chosen)
    if trace.rc != 1 or not set(chosen) <= set(trace.failed):
        shutil.rmtree(case_dir, ignore_errors=True)
        raise Rejected("the trace run at the end does not fail as expected")
    trace_path = bench / "cases" / f"{case_id}.trace"
    trace_path.write_text(trace.output, encoding="utf-8")
    return case_dir, trace_path


# --- main -------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_dir())
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--python", type=Path, help="interpreter with pytest (default <dir>/venv/bin/python)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--only", help="comma-separated repository names")
    ap.add_argument("--windows", type=int, help="windows that must give cases, per repository "
                    "(default: each REPOS entry's)")
    ap.add_argument("--per-window", type=int, default=10, help="cases per window at most")
    ap.add_argument("--max-tries", type=int, default=60, help="candidates tried per window at most")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = args.dir.expanduser()
    python = args.python or bench / "venv" / "bin" / "python"
    if not python.exists():
        # pytest 8: boltons' old conftest hook `pytest_ignore_collect(path, config)` is refused by pytest 9
        raise SystemExit(f"{python} missing: python -m venv {bench}/venv && "
                         f"{bench}/venv/bin/pip install 'pytest>=8,<9'")
    only = set(args.only.split(",")) if args.only else None
    (bench / "cases").mkdir(parents=True, exist_ok=True)
    index_path = bench / "cases.json"
    old = json.loads(index_path.read_text())["cases"] if index_path.exists() else []
    start = time.monotonic()
    new: list[dict] = []
    rebuilt_projects = only or {s.name for s in REPOS}
    keep = [c for c in old if c["project"] not in rebuilt_projects]

    def write_index() -> list[dict]:
        """cases.json as it stands (after each window, so an interrupted build keeps its cases)."""
        cases = keep + new
        doc = {"cases": cases, "built": len(cases), "seed": args.seed, "argv": sys.argv[1:],
               "repos": [asdict(s) for s in REPOS], "seconds": round(time.monotonic() - start, 1)}
        index_path.write_text(json.dumps(doc, indent=1) + "\n")
        return cases

    for spec in REPOS:
        if only and spec.name not in only:
            continue
        mirror = find_mirror(args.mirrors, spec.upstream)
        for stale in (bench / "cases").glob(f"{spec.name}-w*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        rng = random.Random(f"{args.seed}:{spec.name}")
        want = args.windows or spec.windows
        windows = choose_windows(spec, mirror, rng, want * WINDOW_SPARES)
        log(f"{spec.name}: {want} windows wanted, {len(windows)} drawn")

        def build(win: Window, spec: RepoSpec = spec, mirror: Path = mirror) -> list[dict]:
            got = build_window(spec, mirror, win, bench, python, args.seed, args.per_window, args.max_tries)
            new.extend(got)
            write_index()
            return got

        take_windows(windows, want, build)
    cases = write_index()
    by = {}
    for c in cases:
        by[c["project"]] = by.get(c["project"], 0) + 1
    log(f"{len(new)} new cases in {time.monotonic() - start:.0f}s; {len(cases)} in {index_path}: {by}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

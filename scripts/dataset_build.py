#!/usr/bin/env python3
"""Training data for the ranker: regressions seeded in many real Python repositories.

The Python-track builder (scripts/pytrack_cases.py) made resumable and wider: every repository of
scripts/dataset_repos.json (pinned head, package folders, `since`, test dependencies), none of them
a Defects4J project or a Python-track benchmark library, each tested in its own virtual
environment; regressions of fourteen shapes (pytrack_mutations.ALL_OPERATORS, taken in turn so no
one shape dominates); every case confirmed by real pytest runs (fails at the culprit and at the
end, passes at the window's base and at the culprit's parent). After each window its cases'
candidates are ranked by `rca suspects --explain` over the whole history and since the last good
revision, and every candidate's features are kept (scripts/dataset_features.py), so training needs
no repository.

Resumable: `<dir>/state.json` records each finished window (its cases, or why it gave none), and
is written after every window; an interrupted run starts again at the window it was building.

    python scripts/dataset_build.py                         # every repository, seed 1
    python scripts/dataset_build.py --only click,attrs --windows 2
    python scripts/dataset_build.py --status                # what is built, by repository
    python scripts/dataset_build.py --hours 2.5             # start no window after 2.5 h
    python scripts/dataset_build.py --deep 8                # + up to 8 old-culprit cases per built window
    python scripts/dataset_build.py --dir D --beyond models/DATA.md --windows 2   # 2 windows the card lacks

Deep cases (scripts/dataset_deep.py) take a built window's end and seed the regression in an
older commit, before the window, so that culprits lie at every depth of the history and not only
in its last 100 commits; their ids end in `-dNN` and state.json keeps them under "<window>d".

Repositories are taken breadth first: a window with cases from each, then a second from each, ...

Output (default ~/.cache/rca-dataset, or $RCA_DATASET_DIR, or --dir): cases/<id>/ (a standalone
git repository at the window's end), cases/<id>.trace (pytest's real output), features/<id>.json,
cases.json (every case, the shape scripts/bench_run.py reads), venvs/<repo>/, work/.
models/DATA.md is the data card: repositories, ranges, seed, counts, and what was dropped
(`--card`, `--check-card` and `--beyond` are scripts/dataset_card.py).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import DEFAULT_MIRRORS, find_mirror  # noqa: E402
from dataset_features import extract_case  # noqa: E402
from pytrack_cases import REJECTED, WINDOW_SPARES, RepoSpec, Window, build_window, choose_windows  # noqa: E402
import pytrack_cases  # noqa: E402
import pytrack_git  # noqa: E402
from pytrack_mutations import ALL_OPERATORS  # noqa: E402
from dataset_deep import build_deep_window  # noqa: E402
from dataset_card import beyond_card, card_windows, check_card, write_card  # noqa: E402

REPOS_FILE = Path(__file__).resolve().parent / "dataset_repos.json"
DEFAULT_SEED = 1
PYTEST_REQ = "pytest>=8,<9"
COVERAGE_REQ = "pytest-cov>=5"  # which tests run which line (pytrack_cases.COVERAGE_GUIDED)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_dir() -> Path:
    env = os.environ.get("RCA_DATASET_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rca-dataset"


def load_specs(path: Path = REPOS_FILE) -> list[RepoSpec]:
    """The repositories, in the order they are built."""
    specs = []
    for r in json.loads(path.read_text())["repos"]:
        specs.append(RepoSpec(r["name"], r["upstream"], r["head"], tuple(r["packages"]), r["since"],
                              windows=r.get("windows", 3), pytest_args=tuple(r.get("pytest_args", ())),
                              deps=tuple(r.get("deps", ())), dist=r.get("dist", "")))
    return specs


def ensure_venv(root: Path, spec: RepoSpec) -> Path:
    """<root>/venvs/<name> with pytest 8 and the repository's test dependencies (not the library
    itself: tests import it from the checkout). Rebuilt when the requirements change. A library
    that reads its own version from its installed metadata at import (`spec.dist`: prettytable's
    pkg_resources.get_distribution) gets that metadata alone, no code."""
    venv = root / "venvs" / spec.name
    python = venv / "bin" / "python"
    reqs = [PYTEST_REQ, COVERAGE_REQ, *spec.deps]
    stamp = venv / "rca-requirements.txt"
    want = "\n".join(reqs) + "\n" + (f"# metadata of {spec.dist}\n" if spec.dist else "")
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs], check=True)
    if spec.dist:
        add_metadata(python, spec.dist)
    stamp.write_text(want)
    return python


def add_metadata(python: Path, dist: str) -> None:
    """A `.dist-info` of `dist` (version 0.0.0, no files) in the venv of `python`: importlib.metadata
    and pkg_resources find the distribution, while its code is still imported from the checkout."""
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    info = Path(site) / f"{dist.replace('-', '_')}-0.0.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.0\n")
    (info / "INSTALLER").write_text("rca-dataset\n")
    (info / "RECORD").write_text("")


class State:
    """state.json: {"seed", "repos": {name: {"windows": {index: {"cases": [...], "base", "end"}}}}}."""

    def __init__(self, root: Path, seed: int) -> None:
        self.path = root / "state.json"
        doc = json.loads(self.path.read_text()) if self.path.exists() else {"seed": seed, "repos": {}}
        if doc["seed"] != seed:
            raise SystemExit(f"{self.path} was built with seed {doc['seed']}, not {seed}: use another --dir")
        self.doc = doc

    def windows(self, name: str) -> dict[str, dict]:
        return self.doc["repos"].setdefault(name, {"windows": {}})["windows"]

    def record(self, name: str, win: Window, cases: list[dict], seconds: float, rejected: dict[str, int],
               deep: bool = False, shape_cap: int = 0) -> None:
        """A window's cases; its deep cases (older culprits, scripts/dataset_deep.py) are kept
        under the key "<index>d". A window built with a shape cap records it (a rebuild needs it)."""
        rec = {"base": win.base, "end": win.end, "size": len(win.commits),
               "cases": cases, "seconds": round(seconds, 1), "rejected": rejected}
        if shape_cap:
            rec["shape_cap"] = shape_cap
        self.windows(name)[f"{win.index}{'d' if deep else ''}"] = rec
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1) + "\n")
        os.replace(tmp, self.path)

    def all_cases(self) -> list[dict]:
        return [c for repo in self.doc["repos"].values() for w in repo["windows"].values() for c in w["cases"]]


def hold(root: Path):
    """The folder's lock, held while this process builds in it or merges into it: a second writer
    (a builder left running, a merge begun beside it) would rewrite state.json from its own copy
    and lose the other's windows. Refused with the holder's pid; released when the process ends."""
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / "build.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise SystemExit(f"{root} is being written by another process (pid {holder}): wait for it to end, "
                         f"or build in another --dir and --merge it afterwards") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def write_index(root: Path, state: State, specs: list[RepoSpec]) -> list[dict]:
    cases = state.all_cases()
    doc = {"cases": cases, "built": len(cases), "seed": state.doc["seed"],
           "repos": [{"name": s.name, "upstream": s.upstream, "head": s.head} for s in specs]}
    (root / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    return cases


def build_repo(spec: RepoSpec, args: argparse.Namespace, state: State, specs: list[RepoSpec],
               deadline: float, want: int) -> None:
    """Windows of `spec` until `want` of them gave cases (or the drawn ones run out)."""
    try:
        mirror = find_mirror(args.mirrors, spec.upstream)
    except FileNotFoundError as e:
        log(f"{spec.name}: skipped: {e}")
        return
    most = args.windows or spec.windows
    done = state.windows(spec.name)
    good = sum(1 for k, w in done.items() if w["cases"] and not k.endswith("d"))
    if not args.deep and good >= min(want, most):
        return  # this round asks nothing more of it: no window to draw, no environment to check
    python = ensure_venv(args.dir, spec)
    rng = random.Random(f"{args.seed}:{spec.name}")
    windows = choose_windows(spec, mirror, rng, most * WINDOW_SPARES + len(args.beyond.get(spec.name, ())))
    if args.beyond:
        windows = beyond_card(windows, mirror, args.beyond.get(spec.name, set()))
    if args.deep:
        build_deep(spec, args, state, specs, deadline, windows, mirror, python)
        return
    for win in windows:
        if good >= min(want, most) or time.monotonic() > deadline:
            break
        if str(win.index) in done:
            continue
        t0 = time.monotonic()
        before = dict(REJECTED)
        got = build_window(spec, mirror, win, args.dir, python, args.seed, args.per_window, args.max_tries,
                           operators=ALL_OPERATORS, balance=True, shape_cap=args.shape_cap)
        got = with_features(got, args.dir / "features")
        rejected = {k: v - before.get(k, 0) for k, v in REJECTED.items() if v > before.get(k, 0)}
        state.record(spec.name, win, got, time.monotonic() - t0, rejected, shape_cap=args.shape_cap)
        good += bool(got)
        total = len(write_index(args.dir, state, specs))
        log(f"[{spec.name}] w{win.index}: {len(got)} cases in {time.monotonic() - t0:.0f}s; {total} cases in all")


def with_features(cases: list[dict], folder: Path, force: bool = False) -> list[dict]:
    """The cases whose candidates' features were extracted; one where `rca suspects` fails or
    runs out of time is dropped (logged and counted) rather than stopping the build."""
    kept = []
    for case in cases:
        try:
            extract_case(case, folder, force=force)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            why = "features: rca suspects failed or timed out"
            log(f"    {case['case_id']}: dropped: {why}: {str(e)[-200:]}")
            REJECTED[why] = REJECTED.get(why, 0) + 1
            continue
        kept.append(case)
    return kept


def build_deep(spec: RepoSpec, args: argparse.Namespace, state: State, specs: list[RepoSpec], deadline: float,
               windows: list[Window], mirror: Path, python: Path) -> None:
    """Deep cases at the end of the next window that gave window cases and has none yet (one window
    a call, so that rounds stay breadth first)."""
    done = state.windows(spec.name)
    for win in windows:
        if time.monotonic() > deadline:
            break
        if not done.get(str(win.index), {}).get("cases") or f"{win.index}d" in done:
            continue
        t0 = time.monotonic()
        before = dict(REJECTED)
        got = build_deep_window(spec, mirror, win, args.dir, python, args.seed, args.deep, args.max_tries,
                                ALL_OPERATORS)
        # force: a run stopped before recording the window left other cases of these ids
        got = with_features(got, args.dir / "features", force=True)
        rejected = {k: v - before.get(k, 0) for k, v in REJECTED.items() if v > before.get(k, 0)}
        state.record(spec.name, win, got, time.monotonic() - t0, rejected, deep=True)
        total = len(write_index(args.dir, state, specs))
        log(f"[{spec.name}] w{win.index} deep: {len(got)} cases in {time.monotonic() - t0:.0f}s; {total} cases in all")
        return


def _continues(mine: dict[str, dict], theirs: dict[str, dict]) -> bool:
    """Whether the other folder's windows of a repository agree with ours where both have one (same
    base, same cases): it began as a copy of this state.json, and each folder may have gone on."""
    return all(theirs[key]["base"] == win["base"]
               and [c["case_id"] for c in theirs[key]["cases"]] == [c["case_id"] for c in win["cases"]]
               for key, win in mine.items() if key in theirs)


def merge(root: Path, other: Path, specs: list[RepoSpec]) -> int:
    """Take in the repositories another build folder made (two builders run side by side on
    disjoint repositories, each in its own --dir): their state, cases, traces, features and
    virtual environments move here, and the cases' paths are rewritten. A repository that has
    cases here too is refused (nothing is moved) unless the other folder carried on from a copy of
    this state.json (the windows both have agree: its new windows are taken in, ours stay); one whose
    windows here all gave none (tried by an older builder, say) takes the other folder's windows in
    their place."""
    theirs = json.loads((other / "state.json").read_text())
    state = State(root, theirs["seed"])
    clash = sorted(name for name, repo in theirs["repos"].items()
                   if repo["windows"] and any(w["cases"] for w in state.windows(name).values())
                   and not _continues(state.windows(name), repo["windows"]))
    if clash:
        raise SystemExit(f"both folders built {', '.join(clash)}: nothing merged")
    for name, repo in theirs["repos"].items():
        mine = state.windows(name)
        carried_on = any(w["cases"] for w in mine.values())
        new = {key: win for key, win in repo["windows"].items() if not (carried_on and key in mine)}
        if not new:
            continue
        for win in new.values():
            for case in win["cases"]:
                cid = case["case_id"]
                for src, dst in ((other / "cases" / cid, root / "cases" / cid),
                                 (other / "cases" / f"{cid}.trace", root / "cases" / f"{cid}.trace"),
                                 (other / "features" / f"{cid}.json.gz", root / "features" / f"{cid}.json.gz")):
                    if src.exists():
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        shutil.rmtree(dst, ignore_errors=True) if dst.is_dir() else dst.unlink(missing_ok=True)
                        shutil.move(str(src), str(dst))
                case["repo"], case["trace"] = str(root / "cases" / cid), str(root / "cases" / f"{cid}.trace")
                case["test_command"] = case["test_command"].replace(str(other / "venvs"), str(root / "venvs"))
        venv = other / "venvs" / name
        if venv.exists() and not (root / "venvs" / name).exists():
            shutil.move(str(venv), str(root / "venvs" / name))
        if carried_on:
            mine.update(new)
        else:
            state.doc["repos"][name] = repo
    tmp = state.path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.doc, indent=1) + "\n")
    os.replace(tmp, state.path)
    print(f"merged {other} into {root}: {len(write_index(root, state, specs))} cases in all")
    return 0


def status(root: Path, specs: list[RepoSpec]) -> int:
    state = State(root, json.loads((root / "state.json").read_text())["seed"]) if (root / "state.json").exists() else None
    total = 0
    for spec in specs:
        wins = state.windows(spec.name) if state else {}
        n = sum(len(w["cases"]) for w in wins.values())
        deep = sum(len(w["cases"]) for k, w in wins.items() if k.endswith("d"))
        total += n
        plain = [w for k, w in wins.items() if not k.endswith("d")]
        print(f"{spec.name:24} {len(plain):3} windows tried, {sum(1 for w in plain if w['cases']):3} "
              f"with cases, {n:4} cases ({deep} deep)")
    print(f"{total} cases in {root}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_dir())
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--repos", type=Path, default=REPOS_FILE)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--only", help="comma-separated repository names")
    ap.add_argument("--windows", type=int, help="windows that must give cases, per repository")
    ap.add_argument("--per-window", type=int, default=12, help="cases per window at most")
    ap.add_argument("--max-tries", type=int, default=50, help="candidates tried per window at most")
    ap.add_argument("--shape-cap", type=int, default=0, metavar="N",
                    help="cases of one regression shape per window at most (0: no cap; windows built "
                         "before the eleventh sitting had none, and wrong_var was 115 of 265 cases)")
    ap.add_argument("--deep", type=int, default=0, metavar="N",
                    help="instead of new windows: up to N cases per built window whose culprit is older than "
                         "the window (scripts/dataset_deep.py)")
    ap.add_argument("--beyond", type=Path, metavar="CARD",
                    help="skip the windows this data card lists (built elsewhere): new windows only")
    ap.add_argument("--check-card", type=Path, metavar="CARD",
                    help="print which of the card's windows this machine's seeded draw gives, and exit")
    ap.add_argument("--hours", type=float, default=1e9, help="start no new window after this many hours")
    ap.add_argument("--status", action="store_true", help="print what is built and exit")
    ap.add_argument("--merge", type=Path, metavar="DIR", help="take in the repositories another --dir built, and exit")
    ap.add_argument("--card", type=Path, help="write the data card's tables (markdown) here and exit")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.dir = args.dir.expanduser()
    pytrack_git.RESOLVE_NON_CODE = True
    pytrack_cases.WIDER_FAILING = True
    pytrack_cases.COVERAGE_GUIDED = True
    specs = load_specs(args.repos)
    args.beyond = card_windows(args.beyond) if args.beyond else {}
    if args.status:
        return status(args.dir, specs)
    if args.check_card:
        return check_card(args.check_card, specs, args.mirrors, args.seed)
    if args.card:
        return write_card(json.loads((args.dir / "state.json").read_text()), specs, args.card)
    if args.merge and not (args.merge.expanduser() / "state.json").is_file():
        raise SystemExit(f"{args.merge}: no state.json there: not a build folder (nothing merged)")
    lock = hold(args.dir)  # noqa: F841 - held until the process ends
    if args.merge:
        hold_other = hold(args.merge.expanduser())  # noqa: F841 - nor may its builder still run
        return merge(args.dir, args.merge.expanduser(), specs)
    (args.dir / "cases").mkdir(parents=True, exist_ok=True)
    state = State(args.dir, args.seed)
    only = set(args.only.split(",")) if args.only else None
    deadline = time.monotonic() + args.hours * 3600
    # Breadth first: one window with cases from every repository, then a second, and so on, so
    # that a build stopped early still spans many repositories (figures are held out by repository).
    active = [s for s in specs if not only or s.name in only]
    failed: dict[str, str] = {}
    for rnd in range(1, max((args.windows or s.windows) for s in active) + 1 if active else 1):
        for i, spec in enumerate(active, 1):
            if time.monotonic() > deadline:
                log("time is up: stopping before the next window (run again to carry on)")
                break
            if spec.name in failed:
                continue
            log(f"[round {rnd}, {i}/{len(active)}] {spec.name}")
            try:
                build_repo(spec, args, state, specs, deadline, want=rnd)
            except (pytrack_git.GitFailed, subprocess.CalledProcessError) as e:
                # One repository's broken mirror or environment must not stop the others. Its
                # window is not recorded (a later run tries it again, once the mirror is mended).
                failed[spec.name] = " ".join(str(e).split("\n"))[-300:]
                log(f"[{spec.name}] stopped: {failed[spec.name]}; going on without it")
    cases = write_index(args.dir, state, specs)
    log(f"{len(cases)} cases in {args.dir / 'cases.json'}")
    for name, why in failed.items():
        log(f"not built (run again once mended): {name}: {why}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

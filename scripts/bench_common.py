"""Shared helpers of the benchmark scripts: the case list, mirrors, git, Java traces, and the loop
of the failing tests' coverage runs.

Standard library only. Used by bench_cases.py, bench_run.py and bench_facts.py; the
scripts put their own folder on sys.path, so `import bench_common` works from anywhere.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rca_lsp.testpaths import is_test_path  # noqa: F401 - the tool's one rule, re-exported for the scripts

SCRIPTS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = SCRIPTS_DIR.parent
DEFAULT_MIRRORS = Path("/work/.mirror")
D4J_REPO = "rjust/defects4j"


def default_bench_dir() -> Path:
    """`$RCA_BENCH_DIR`, else `~/.cache/rca-bench` (never inside the project)."""
    env = os.environ.get("RCA_BENCH_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rca-bench"


def default_csv() -> Path:
    """The dev split: `shared/bench/defects4j-dev.csv` in or beside the checkout."""
    for base in (PROJECT_ROOT / "shared", PROJECT_ROOT.parent / "shared"):
        path = base / "bench" / "defects4j-dev.csv"
        if path.exists():
            return path
    return PROJECT_ROOT.parent / "shared" / "bench" / "defects4j-dev.csv"


@dataclass(frozen=True)
class CaseSpec:
    case_id: str
    project: str
    d4j_id: int
    upstream: str
    bic: str
    buggy: str
    fixed: str


def load_specs(csv_path: Path) -> list[CaseSpec]:
    """Read the case list; the file has CRLF line ends, so every field is stripped."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        CaseSpec(
            case_id=r["case_id"].strip(),
            project=r["project"].strip(),
            d4j_id=int(r["d4j_id"]),
            upstream=r["upstream"].strip(),
            bic=r["bic"].strip(),
            buggy=r["buggy"].strip(),
            fixed=r["fixed"].strip(),
        )
        for r in rows
    ]


def parse_only(only: str | None) -> set[str] | None:
    """`--only Lang-1,Cli-2` -> {"Lang-1", "Cli-2"}; a bare project name selects all its cases."""
    if not only:
        return None
    return {part.strip() for part in only.split(",") if part.strip()}


def selected(case_id: str, project: str, only: set[str] | None) -> bool:
    return only is None or case_id in only or project in only


def find_mirror(mirrors: Path, upstream: str) -> Path:
    """The git directory `fetch` made for `owner/name`: `<mirrors>/owner+name/repo`."""
    base = mirrors / upstream.replace("/", "+")
    for cand in (base / "repo", base, base / ".git"):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    raise FileNotFoundError(f"no mirror of {upstream} under {mirrors} (fetch github:{upstream})")


def git(args: list[str], cwd: Path | None = None, git_dir: Path | None = None,
        stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git; bytes in and out. `git_dir` targets a bare mirror."""
    cmd = ["git"]
    if git_dir is not None:
        cmd.append(f"--git-dir={git_dir}")
    cmd += args
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, env=env)
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {err[:500]}")
    return proc


def git_out(args: list[str], cwd: Path | None = None, git_dir: Path | None = None) -> str:
    return git(args, cwd=cwd, git_dir=git_dir).stdout.decode("utf-8", "replace")


# --- built cases -----------------------------------------------------------------


def load_cases(bench_dir: Path, only: set[str] | None = None, built_only: bool = True) -> list[dict]:
    """Entries of `<dir>/cases.json`, in CSV order, optionally only those that built."""
    path = bench_dir / "cases.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run scripts/bench_cases.py first")
    cases = json.loads(path.read_text())["cases"]
    return [c for c in cases
            if selected(c["case_id"], c["project"], only) and (c.get("built") or not built_only)]


# --- Java traces -----------------------------------------------------------------

FRAME_RE = re.compile(r"^\s*at\s+(?:[\w.$-]+/)?([\w$.<>\[\]/-]+)\((.*)\)\s*$")
BLOCK_RE = re.compile(r"^--- (\S+)")


@dataclass(frozen=True)
class TraceFrame:
    block: int  # index of the `--- Test::method` block
    test: str  # that block's header, Class::method
    qualname: str  # pkg.Cls$Inner.method
    file: str  # File.java, or "" for Native Method / Unknown Source
    line: int | None

    @property
    def class_name(self) -> str:
        return self.qualname.rsplit(".", 1)[0] if "." in self.qualname else ""

    @property
    def package(self) -> str:
        cls = self.class_name
        return cls.rsplit(".", 1)[0] if "." in cls else ""

    @property
    def method(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    def path_suffix(self) -> str:
        """`org/apache/Foo.java` for `at org.apache.Foo$Bar.m(Foo.java:3)`."""
        if not self.file:
            return ""
        pkg = self.package.replace(".", "/")
        return f"{pkg}/{self.file}" if pkg else self.file


def parse_frames(text: str) -> list[TraceFrame]:
    """Every `at ...(...)` frame of a Defects4J trigger-test file, block by block."""
    frames: list[TraceFrame] = []
    block, test = -1, ""
    for raw in text.splitlines():
        head = BLOCK_RE.match(raw)
        if head:
            block, test = block + 1, head.group(1)
            continue
        m = FRAME_RE.match(raw)
        if not m:
            continue
        loc = m.group(2)
        file, line = loc, None
        if ":" in loc:
            file, _, num = loc.rpartition(":")
            line = int(num) if num.isdigit() else None
        if file in ("Native Method", "Unknown Source") or not file.endswith((".java", ".kt", ".groovy", ".scala")):
            file = ""
        frames.append(TraceFrame(max(block, 0), test, m.group(1), file, line))
    return frames


class PathIndex:
    """Maps a frame's `pkg/dir/File.java` to the repository paths that end with it."""

    def __init__(self, paths: list[str]) -> None:
        self.by_name: dict[str, list[str]] = {}
        for p in paths:
            self.by_name.setdefault(p.rsplit("/", 1)[-1], []).append(p)

    def resolve(self, suffix: str) -> list[str]:
        if not suffix:
            return []
        name = suffix.rsplit("/", 1)[-1]
        return sorted(p for p in self.by_name.get(name, []) if p == suffix or p.endswith("/" + suffix))


def head_paths(repo: Path) -> list[str]:
    """Files committed at HEAD."""
    return git_out(["ls-tree", "-r", "--name-only", "-z", "HEAD"], cwd=repo).split("\0")[:-1]


def worktree_paths(repo: Path) -> list[str]:
    """Files of the work tree: committed ones plus untracked, not ignored (new tests)."""
    out = git_out(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo)
    return sorted(set(out.split("\0")[:-1]))


@dataclass(frozen=True)
class ResolvedFrame:
    frame: TraceFrame
    paths: tuple[str, ...]  # repository paths it maps to (work tree)

    @property
    def is_test(self) -> bool:
        return all(is_test_path(p) for p in self.paths)


def in_repo_frames(frames: list[TraceFrame], index: PathIndex) -> list[ResolvedFrame]:
    """The frames whose file exists in the repository, with the paths they map to."""
    out = []
    for fr in frames:
        paths = index.resolve(fr.path_suffix())
        if paths:
            out.append(ResolvedFrame(fr, tuple(paths)))
    return out



# --- the failing tests' coverage runs (bench_jacoco.py, bench_jscov.py, bench_gocov.py) -----------

def coverage_args(description: str, default_dir: Path, jobs: bool = False):
    """The runners' shared options: --dir (default_dir), --only, --timeout, --force and, where the
    runner can run cases side by side, --jobs; parsed."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dir", type=Path, default=default_dir, help="where the cases were built")
    ap.add_argument("--only", help="comma-separated case ids or project names")
    if jobs:
        ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--force", action="store_true", help="run cases that already have a report again")
    return ap.parse_args()


def coverage_runs(cases: list[dict], out_dir: Path, run, force: bool = False, jobs: int = 1) -> dict[str, int]:
    """`run(case)` -> status (a dict with `result` and `seconds`) for each case that has no
    `<out_dir>/<case>.json` yet (every case with `force`), that file written as each ends, one line
    each on stderr; the count of each result over all the cases that have one."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [c for c in cases if force or not (out_dir / f"{c['case_id']}.json").exists()]
    print(f"{len(cases)} cases, {len(todo)} to run", file=sys.stderr)

    def one(case: dict) -> None:
        status = run(case)
        (out_dir / f"{case['case_id']}.json").write_text(json.dumps(status, indent=1))
        print(f"{case['case_id']}: {status['result']} ({status['seconds']} s)", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, todo))
    counts: dict[str, int] = {}
    for case in cases:
        path = out_dir / f"{case['case_id']}.json"
        if path.exists():
            result = json.loads(path.read_text())["result"]
            counts[result] = counts.get(result, 0) + 1
    return counts


def run_verdict(failed: list[str], traced: list[str]) -> str:
    """How a run of the traced failing tests ended: some failed and only traced ones, none, or others."""
    if not failed:
        return "passed"
    return "failed as traced" if set(failed) <= set(traced) else "failed otherwise"

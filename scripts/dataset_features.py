"""Every candidate's features for one case, kept so the ranker trains without the repository.

`extract_case(case, outdir)` runs the real tool on the case (`rca suspects --explain --top 0`, over
the whole history and since the last good revision when the case has one): retrieval's features
and its context (size, age, position, candidates, uncommitted tests: rca_lsp/suspects/context.py),
the same values the ranker computes when it ranks. Each commit's time and `git log --numstat`
size are kept beside them, for the data card. Written as gzipped JSON, `<outdir>/<case_id>.json.gz`:

    {"case_id", "project", "bic", "good", "mutation", "head_time", "dirty_tests",
     "commits": {hash: [commit time, lines changed, files changed]},
     "whole": [[hash, {feature: value}], ...],   # retrieval's order, best first
     "since": [[hash, {feature: value}], ...]}   # absent without a good revision

Used by scripts/dataset_build.py for its cases and by scripts/ltr_collect.py for the dev split.
Standard library only (the tool runs as a subprocess).

A feature added to retrieval after a dataset was built: `--again DIR --to NEW` extracts every
case's whole-history rows again with the working tree's rca into `NEW/features` (the case list
copied beside them), each case's rows in the first extraction's order, so that a fit on them
differs from one on the old rows only by what the code now computes (resumable; checked: the same
candidates, or the case stops the run):

    python scripts/dataset_features.py --again ~/.cache/rca-dataset --to ~/.cache/rca-again/dataset
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

TIMEOUT = 900


def rank_rows(repo: str, trace: str, since: str | None = None) -> list[list]:
    cmd = [sys.executable, "-m", "rca_lsp", "suspects", "--repo", repo, "--trace", trace, "--format", "json",
           "--top", "0", "--explain"]
    if since:
        cmd += ["--since", since]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"rca suspects on {repo}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return [[s["commit"], s.get("features", {})] for s in json.loads(proc.stdout)["suspects"]]


def commit_stats(repo: str) -> tuple[dict[str, list[int]], int]:
    """{hash: [commit time, lines changed, files changed]} of every commit reachable from HEAD, and
    HEAD's commit time."""
    text = subprocess.run(["git", "-C", repo, "log", "--no-renames", "--format=@%H %ct", "--numstat", "HEAD"],
                          capture_output=True, text=True, errors="replace", check=True).stdout
    stats: dict[str, list[int]] = {}
    cur: list[int] | None = None
    head_time = 0
    for line in text.splitlines():
        if line.startswith("@"):
            h, t = line[1:].split()
            cur = stats[h] = [int(t), 0, 0]
            head_time = head_time or int(t)
        elif line.strip() and cur is not None:
            added, deleted, _ = line.split("\t", 2)
            cur[1] += (int(added) if added.isdigit() else 0) + (int(deleted) if deleted.isdigit() else 0)
            cur[2] += 1
    return stats, head_time


def dirty_tests(repo: str) -> int:
    """Test files with uncommitted changes (modified or untracked): a developer who has just
    written a failing test for a bug, rather than a test that passed before and fails now."""
    from rca_lsp.testpaths import is_test_path

    text = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, errors="replace", check=True).stdout
    return sum(1 for line in text.splitlines() if is_test_path(line[3:].strip().strip('"')))


def extract_case(case: dict, outdir: Path, force: bool = False) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{case['case_id']}.json.gz"
    if path.exists() and not force:
        return path
    stats, head_time = commit_stats(case["repo"])
    doc = {"case_id": case["case_id"], "project": case["project"], "bic": case["bic"], "good": case.get("good", ""),
           "mutation": case.get("mutation", {}), "head_time": head_time, "commits": stats,
           "dirty_tests": dirty_tests(case["repo"]),
           "whole": rank_rows(case["repo"], case["trace"])}
    if case.get("good"):
        doc["since"] = rank_rows(case["repo"], case["trace"], case["good"])
    return _write(doc, path)


def _write(doc: dict, path: Path) -> Path:
    """`doc` gzipped to `path`, whole or not at all (a stopped run leaves no half file)."""
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    tmp.replace(path)
    return path


def load_case(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def extract_again(case: dict, old: Path, outdir: Path) -> Path | None:
    """`case`'s whole-history rows by the working tree's rca, in `old`'s order (its first
    extraction, whose other fields are kept; `since` is dropped); None where `old` is missing."""
    path = outdir / f"{case['case_id']}.json.gz"
    if path.exists() or not old.exists():
        return path if path.exists() else None
    doc = load_case(old)
    rows = dict(rank_rows(case["repo"], case["trace"]))
    order = [h for h, _ in doc["whole"]]
    if set(rows) != set(order):
        raise RuntimeError(f"{case['case_id']}: the candidates differ from the first extraction's")
    doc["whole"] = [[h, rows[h]] for h in order]
    doc.pop("since", None)
    return _write(doc, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--again", type=Path, required=True, help="a built dataset folder (cases.json, features/)")
    ap.add_argument("--to", type=Path, required=True, help="where the new features/ and cases.json go")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import load_cases

    (args.to / "features").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.again / "cases.json", args.to / "cases.json")
    cases = load_cases(args.again)
    for i, case in enumerate(cases, 1):
        extract_again(case, args.again / "features" / f"{case['case_id']}.json.gz", args.to / "features")
        if i % 50 == 0 or i == len(cases):
            print(f"{i}/{len(cases)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

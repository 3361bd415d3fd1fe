#!/usr/bin/env python3
"""Build the Go-track benchmark: seeded regressions with real failing `go test` output.

Per repository (REPOS): a scratch clone at its pinned commit (work/<name>) gets a baseline
`go test -count=1 -v` run that says which tests pass (a failing baseline skips the repository).
Candidates: lines of the non-test files that `go list` says the tested packages compile (less
vendor/, testdata/, examples/, cmd/) inside a function body, holding exactly one mutable token
outside comments, strings and runes (== != && || "+ 1" "- 1" true false, and < > <= >= only
between spaces; lines with `<-` are left out), tried in random.Random(seed) order (apply in the
scratch clone, `go test -count=1`, revert) until 12 cases or 40 tries; a build failure is no case.
A try failing some baseline-passing test becomes cases/<name>-NN/: a fresh clone at HEAD (no
remote, other refs or reflog) plus ONE commit with the mutation (the culprit, "bic"); the same
command's raw output there is cases/<name>-NN.trace (no failure there: dropped). cases.json
({"cases": [...]}) is written after each case, reruns skip built ones; repos.json says per
repository its baseline, candidates, tries and cases, or why it was skipped. GOCACHE and GOPATH
live under work/, the module proxy is off and the local toolchain is used. Default output
~/.cache/rca-gotrack (--dir).

    nice -n 5 python scripts/gotrack_cases.py                 # all repositories, seed 1
    python scripts/gotrack_cases.py --only pflag --cases 3
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import find_mirror
from jstrack_cases import Candidate, clone_head, log, run_track, seed_commit, try_candidates  # the same tokens and swaps
from pytrack_git import out, run_git

SKIP_DIRS = {"vendor", "testdata", "examples", "example", "cmd"}


@dataclass(frozen=True)
class RepoSpec:
    name: str
    upstream: str
    packages: tuple[str, ...] = ("./...",)  # "." where subpackages need modules not to be had here
    head: str = ""  # the pinned commit cases are built on (the upstream's HEAD when fetched, 2026-12-05)

    @property
    def test_command(self) -> str:
        return " ".join(["go", "test", "-count=1", *self.packages])


REPOS = [
    RepoSpec("pflag", "spf13/pflag", head="5fdac2d16c16d60605cb8baa887e8c5c38ef623f"),
    RepoSpec("toml", "BurntSushi/toml", head="d733fc535e4a9f3c454e421a87b90ade5d49bf31"),  # needs Go 1.21
    RepoSpec("mux", "gorilla/mux", head="db9d1d0073d27a0a2d9a8c1bc52aa0af4374d265"),
    RepoSpec("jsonparser", "buger/jsonparser", head="6454f95de679fdd0c623a6183f7cff82da56b442"),  # tests need 1.20
]

# == != && || "+ 1" "- 1" true false anywhere; < > <= >= only with a space on both sides
TOKEN = re.compile(r"(?<![=!<>:])[=!]=(?!=)|(?<= )(?:<=|>=|<|>)(?= )|&&|\|\||(?<![+\w.])\+ 1(?![\w.])"
                   r"|(?<![-\w.])- 1(?![\w.])|(?<![\w.])(?:true|false)(?!\w)")
FAIL = re.compile(r"^\s*--- FAIL: (\S+)", re.M)
PASS = re.compile(r"^\s*--- PASS: (\S+)", re.M)
FUNC_HEAD = re.compile(r"(?:^|[^\]\w.])\s*func\s*[(\w]")


def mask_go(src: str) -> str:
    """`src` with comments, interpreted and raw strings and rune literals blanked (newlines kept)."""
    res, i, n = list(src), 0, len(src)
    while i < n:
        c, nxt = src[i], src[i + 1:i + 2]
        if c == "/" and nxt in ("/", "*"):
            end = src.find("\n" if nxt == "/" else "*/", i + 2)
            j = n if end < 0 else end + (2 if nxt == "*" else 0)
        elif c == "`":
            end = src.find("`", i + 1)
            j = n if end < 0 else end + 1
        elif c in "'\"":
            j = i + 1
            while j < n and src[j] not in (c, "\n"):
                j += 2 if src[j] == "\\" else 1
            j = min(n, j + 1)
        else:
            i += 1
            continue
        res[i:j] = [ch if ch == "\n" else " " for ch in res[i:j]]
        i = j
    return "".join(res)


def opens_function(masked: str, i: int) -> bool:
    """Is the `{` at `i` a function body? Its header (back to the previous `{`, `}`, `;`, line break
    or unclosed bracket outside brackets) names `func`, and not as a type after `]` (`[]func() {`)."""
    level, k = 0, i - 1
    while k >= 0:
        ch = masked[k]
        if ch in ")]":
            level += 1
        elif ch in "([":
            if level == 0:
                break
            level -= 1
        elif level == 0 and ch in "{};\n":
            break
        k -= 1
    return bool(FUNC_HEAD.search(masked[k + 1:i]))


def function_depths(masked: str) -> list[int]:
    """For each offset, how many function bodies (declarations and literals) enclose it."""
    depths, stack, depth = [0] * len(masked), [], 0
    for i, c in enumerate(masked):
        if c == "{":
            stack.append(opens_function(masked, i))
            depth += stack[-1]
        elif c == "}" and stack:
            depth -= stack.pop()
        depths[i] = depth
    return depths


def go_env(bench: Path) -> dict[str, str]:
    work = bench / "work"
    return dict(os.environ, GOCACHE=str(work / "gocache"), GOPATH=str(work / "gopath"),
                GOMODCACHE=str(work / "gopath" / "pkg" / "mod"), GOFLAGS="-mod=mod", GOPROXY="off",
                GOSUMDB="off", GONOSUMDB="*", GOTOOLCHAIN="local", GOTELEMETRY="off", LC_ALL="C")


def run_suite(repo: Path, spec: RepoSpec, bench: Path, timeout: float, *flags: str) -> tuple[str, int | None]:
    """`go test -count=1 [flags] packages`: combined stdout+stderr, exit code (None: timed out)."""
    proc = subprocess.Popen(["go", "test", "-count=1", *flags, *spec.packages], cwd=repo, env=go_env(bench),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        return proc.communicate(timeout=timeout)[0].decode("utf-8", "replace"), proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0].decode("utf-8", "replace"), None


def broken_build(output: str) -> bool:
    return bool(re.search(r"\[(?:build|setup) failed\]", output))


def failing(output: str, baseline: set[str]) -> list[str]:
    """Baseline-passing tests that `--- FAIL:` lines name, in order, once each."""
    return list(dict.fromkeys(t for t in FAIL.findall(output) if t in baseline))


def candidates(repo: Path, spec: RepoSpec, bench: Path) -> list[Candidate]:
    """Lines of compiled library files inside a function body that hold exactly one mutable token."""
    listing = subprocess.run(["go", "list", "-f", '{{.Dir}}{{"\\t"}}{{join .GoFiles " "}}', *spec.packages],
                             cwd=repo, env=go_env(bench), capture_output=True, text=True, check=True).stdout
    paths = sorted(os.path.relpath(Path(d) / f, repo) for d, _, files in (ln.partition("\t") for ln in
                   listing.splitlines()) for f in files.split())
    found = []
    for path in paths:
        if path.startswith("..") or path.endswith("_test.go") or SKIP_DIRS & set(path.split("/")[:-1]):
            continue
        masked = mask_go((repo / path).read_text(encoding="utf-8"))
        depths, offset = function_depths(masked), 0
        for no, line in enumerate(masked.split("\n"), 1):
            hits = list(TOKEN.finditer(line))
            if len(hits) == 1 and "<-" not in line and depths[offset + hits[0].start()] > 0:
                found.append(Candidate(path, no, hits[0].start(), hits[0].group()))
            offset += len(line) + 1
    return found


def build_case(spec: RepoSpec, mirror: Path, bench: Path, dest: Path, cand: Candidate, baseline: set[str],
               timeout: float) -> tuple[str, list[str], str] | None:
    """The seeded commit in a fresh clone and the suite run there: (the commit's hash, the
    baseline-passing tests that fail, the output); None if none fails."""
    bic = seed_commit(mirror, spec.head, dest, cand)
    output, code = run_suite(dest, spec, bench, timeout)
    failed = failing(output, baseline)
    if code is None or not failed or broken_build(output):
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return bic, failed, output


def build_repo(spec: RepoSpec, args: argparse.Namespace, bench: Path, cases: list[dict], save) -> dict:
    """Tries of one repository until `args.cases` cases or `args.tries` tries; its summary."""
    t0 = time.monotonic()
    mirror, work = find_mirror(args.mirrors, spec.upstream), bench / "work" / spec.name
    summary = {"project": spec.name, "upstream": spec.upstream, "test_command": spec.test_command,
               "head": out(["rev-parse", "HEAD"], git_dir=mirror).strip()}
    if (work / ".git").is_dir():
        run_git(["checkout", "-q", "-f", "--", "."], cwd=work, check=False)
    else:
        shutil.rmtree(work, ignore_errors=True)
        clone_head(mirror, work, spec.head)
    output, code = run_suite(work, spec, bench, args.timeout, "-v")
    baseline, failed = set(PASS.findall(output)), set(FAIL.findall(output))
    summary.update(baseline_passed=len(baseline), baseline_failed=len(failed))
    log(f"{spec.name}: baseline {len(baseline)} passing tests, {len(failed)} failing, exit {code}")
    if code != 0 or not baseline:
        tail = " | ".join(ln for ln in output.strip().splitlines()[-6:])
        version = subprocess.run(["go", "env", "GOVERSION"], env=go_env(bench), capture_output=True, text=True)
        why = "suite times out at HEAD" if code is None else "no test passes at HEAD" if code == 0 else (
            f"baseline `{spec.test_command}` fails at HEAD with {version.stdout.strip()}: {tail[-500:]}")
        return {**summary, "skipped": why}
    def attempt(cand: Candidate) -> str:
        output, code = run_suite(work, spec, bench, args.timeout)
        return "timed out" if code is None else "build failed" if broken_build(output) else (
            "no baseline-passing test fails" if not failing(output, baseline) else "")

    order = candidates(work, spec, bench)
    summary["candidates"] = len(order)
    return {**summary, **try_candidates(spec, args, bench, cases, save, work, order, attempt,
                                        lambda cand, dest: build_case(spec, mirror, bench, dest, cand, baseline,
                                                                      args.timeout)),
            "seconds": round(time.monotonic() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    return run_track(__doc__, "rca-gotrack", REPOS, build_repo, argv)

if __name__ == "__main__":
    sys.exit(main())

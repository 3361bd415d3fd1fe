#!/usr/bin/env python3
"""Build the JavaScript-track benchmark: seeded regressions with real failing Mocha output.

Per repository (REPOS): a scratch clone at the mirror's HEAD (work/<name>) gets npm dependencies
once and a baseline Mocha run (spec reporter) says which tests pass. Candidates: library lines inside
a function body holding exactly one mutable token outside comments, strings and regexes (=== !==
== != < > <= >= && || "+ 1" "- 1" true false), tried in random.Random(seed) order (apply in the
scratch clone, run the suite, revert) until 12 cases or 40 tries. A try failing some
baseline-passing test becomes cases/<name>-NN/: a fresh clone at HEAD (no remote, other refs or
reflog; node_modules symlinked, excluded) plus ONE commit with the mutation (the culprit, "bic");
the suite's raw output there is cases/<name>-NN.trace (no failure there: dropped). cases.json
({"cases": [...]}) is written after each case, reruns skip built ones; repos.json says per
repository its baseline, candidates, tries and cases, or why it was skipped. Default output
~/.cache/rca-jstrack (--dir).

    nice -n 5 python scripts/jstrack_cases.py                 # all repositories, seed 1
    python scripts/jstrack_cases.py --only picomatch --cases 3
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import DEFAULT_MIRRORS, find_mirror
from pytrack_git import out, run_git

MOCHA = ("npx", "mocha")
WHO, WHEN = ("rca track", "track@example.invalid"), "2024-01-01T00:00:00+00:00"
AUTHOR = {f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER") for k, v in zip(("NAME", "EMAIL", "DATE"), (*WHO, WHEN))}
SKIP_DIRS = {"test", "tests", "dist", "benchmark", "bench", "support", "scripts", "node_modules"}


@dataclass(frozen=True)
class RepoSpec:
    name: str
    upstream: str
    library: tuple[str, ...]  # folders (ending "/") or files holding the library's code
    mocha_args: tuple[str, ...] = ("--reporter", "spec")
    env: tuple[tuple[str, str], ...] = ()
    drop_dev: tuple[str, ...] = ()  # devDependencies npm cannot fetch here, left out of the install
    head: str = ""  # the pinned commit cases are built on (the upstream's HEAD when fetched, 2026-12-05)

    @property
    def test_command(self) -> str:
        return " ".join([*(f"{k}={v}" for k, v in self.env), *MOCHA, *self.mocha_args])


REPOS = [
    RepoSpec("js-yaml", "nodeca/js-yaml", ("lib/",), head="74a01992953302040be3277c08ba214a06f00b87"),
    RepoSpec("picomatch", "micromatch/picomatch", ("lib/", "index.js"), head="4f41a8edade7a5ab19832f7b40ecce46b288767f"),
    # browserify comes from an api.github.com tarball (unreachable); only the browser build uses it
    RepoSpec("ramda", "ramda/ramda", ("source/",), ("--require", "@babel/register", "--reporter", "spec"),
             (("BABEL_ENV", "cjs"),), drop_dev=("browserify",), head="612d6a09d27f6ce19713c2eaf4592f9b9001c398"),
]

# token -> (operator, replacement); TOKEN finds them on a masked line
PAIRS = (("negate-equality", "===", "!=="), ("negate-equality", "==", "!="), ("and-or", "&&", "||"),
         ("off-by-one", "+ 1", "- 1"), ("true-false", "true", "false"))
SWAPS = {a: (op, b) for op, x, y in PAIRS for a, b in ((x, y), (y, x))} | {
    k: ("boundary", v) for k, v in (("<", "<="), (">", ">="), ("<=", "<"), (">=", ">"))}
TOKEN = re.compile(r"===|!==|(?<![=!<>])[=!]=(?!=)|(?<![<=!])<=(?!=)|(?<![>=])>=(?!=)|(?<!<)<(?![<=])"
                   r"|(?<![>=-])>(?![>=])|&&(?!=)|\|\|(?!=)|(?<!\+)\+ 1(?![\w.])|(?<!-)- 1(?![\w.])"
                   r"|(?<![\w$.])(?:true|false)(?![\w$])")
REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
REGEX_KEYWORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw",
                  "instanceof", "yield", "await"}
NOT_FUNC = {"if", "for", "while", "switch", "catch", "with"}
log = functools.partial(print, flush=True)


def mask_js(src: str) -> str:
    """`src` with comments, strings, templates and regex literals blanked (newlines kept)."""
    res, i, n = list(src), 0, len(src)
    while i < n:
        c, nxt, start = src[i], src[i + 1:i + 2], i + 1
        if c == "/" and nxt in ("/", "*"):
            end = src.find("\n" if nxt == "/" else "*/", i + 2)
            j = n if end < 0 else end + (2 if nxt == "*" else 0)
            start = i
        elif c in "'\"`" or c == "/" and _regex_starts("".join(res[max(0, i - 40):i]).rstrip()):
            j, in_class = i + 1, False
            while j < n and (src[j] != c or in_class) and not (c != "`" and src[j] == "\n"):
                if src[j] == "\\":
                    j += 1
                elif c == "/" and src[j] in "[]":
                    in_class = src[j] == "["
                j += 1
        else:
            i += 1
            continue
        res[start:j] = [ch if ch == "\n" else " " for ch in res[start:j]]
        i = j if start == i else j + 1  # a comment ends at j; a literal's closing quote or slash is at j
    return "".join(res)


def _regex_starts(before: str) -> bool:
    """Does a `/` after the code `before` open a regex literal?"""
    return not before or before[-1] in REGEX_AFTER or re.search(r"[\w$]*$", before).group() in REGEX_KEYWORDS


def function_depths(masked: str) -> list[int]:
    """For each offset, how many function bodies (`function ... {`, `=> {`, `name(...) {`) enclose it."""
    depths, stack, depth = [0] * len(masked), [], 0
    for i, c in enumerate(masked):
        if c == "{":
            before = masked[max(0, i - 4000):i].rstrip()
            level, k = 0, len(before) - 1  # before a `)`: find its `(`, then the word before it
            while before.endswith(")") and k > 0 and (level := level + {")": 1, "(": -1}.get(before[k], 0)):
                k -= 1
            word = re.search(r"[\w$]*\s*$", before[:k]).group().strip()
            stack.append(before.endswith("=>") or before.endswith(")") and word not in NOT_FUNC)
            depth += stack[-1]
        elif c == "}" and stack:
            depth -= stack.pop()
        depths[i] = depth
    return depths


@dataclass(frozen=True)
class Candidate:
    file: str
    line: int  # 1-based
    col: int
    token: str


def candidates(repo: Path, spec: RepoSpec) -> list[Candidate]:
    """Lines of library files inside a function body that hold exactly one mutable token."""
    found = []
    for path in sorted(out(["ls-files", "*.js"], cwd=repo).split()):
        if not any(path.startswith(p) if p.endswith("/") else path == p for p in spec.library):
            continue
        if SKIP_DIRS & set(path.split("/")[:-1]) or not (repo / path).is_file():
            continue
        masked = mask_js((repo / path).read_text(encoding="utf-8"))
        depths, offset = function_depths(masked), 0
        for no, line in enumerate(masked.split("\n"), 1):
            hits = list(TOKEN.finditer(line))
            if len(hits) == 1 and depths[offset + hits[0].start()] > 0:
                found.append(Candidate(path, no, hits[0].start(), hits[0].group()))
            offset += len(line) + 1
    return found


def apply(repo: Path, cand: Candidate) -> tuple[str, str, str, str]:
    """Mutate the candidate's token in place: (original text, operator, line before, line after)."""
    text = (repo / cand.file).read_text(encoding="utf-8")
    lines = text.split("\n")
    before, (operator, repl) = lines[cand.line - 1], SWAPS[cand.token]
    assert before[cand.col:cand.col + len(cand.token)] == cand.token, (cand, before)
    lines[cand.line - 1] = after = before[:cand.col] + repl + before[cand.col + len(cand.token):]
    (repo / cand.file).write_text("\n".join(lines), encoding="utf-8")
    return text, operator, before, after


def run_suite(repo: Path, spec: RepoSpec, timeout: float) -> tuple[str, bool]:
    """The suite's combined stdout+stderr, and whether it timed out."""
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | dict(spec.env)
    proc = subprocess.Popen([*MOCHA, *spec.mocha_args], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        return proc.communicate(timeout=timeout)[0].decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0].decode("utf-8", "replace"), True


def parse_spec(output: str) -> tuple[set[str], list[str]]:
    """Passed and failed full titles (suite titles and the test's joined by spaces, as mocha's
    fullTitle()) from the spec reporter's listing; nesting is read from indentation."""
    passed, failed, stack = set(), [], []  # stack: (indent, suite title)
    for raw in output.split("\n"):
        if re.match(r"\s+\d+ (passing|failing|pending)", raw):
            break
        text, indent = raw.strip(), len(raw) - len(raw.lstrip())
        parents = [t for ind, t in stack if ind < indent]
        if m := re.match(r"[✓✔] (.*?)(?: \(\d+ms\))?$", text):
            passed.add(" ".join([*parents, m.group(1)]))
        elif m := re.match(r"\d+\) (.*)$", text):
            failed.append(" ".join([*parents, m.group(1)]))
        elif text and not text.startswith("- "):
            stack = [(ind, t) for ind, t in stack if ind < indent] + [(indent, text)]
    return passed, failed


def clone_head(mirror: Path, dest: Path, head: str = "") -> None:
    """A work tree at the pinned commit (else the mirror's HEAD); blobs absent from the mirror are left
    out (sparse)."""
    run_git(["clone", "-q", "--no-checkout", str(mirror), str(dest)])
    entries = [ln.split("\t", 1) for ln in out(["ls-tree", "-r", "HEAD"], cwd=dest).splitlines()]
    check = subprocess.run(["git", "cat-file", "--batch-check"], cwd=dest, capture_output=True, text=True,
                           input="".join(meta.split()[2] + "\n" for meta, _ in entries), check=True)
    paths = [path for (_, path), got in zip(entries, check.stdout.splitlines()) if got.endswith(" missing")]
    if paths:
        run_git(["sparse-checkout", "set", "--no-cone", "/*", *(f"!/{p}" for p in paths)], cwd=dest)
    run_git(["checkout", "-q", "-f", out(["symbolic-ref", "--short", "HEAD"], cwd=dest).strip()], cwd=dest,
            check=False)  # a missing blob makes the index's cache-tree complain; the files are there
    if head:
        run_git(["reset", "-q", "--hard", head], cwd=dest, check=False)


def prepare_scratch(spec: RepoSpec, mirror: Path, work: Path) -> None:
    """The scratch clone with node_modules installed (kept from an earlier run if there)."""
    if (work / "node_modules").is_dir():
        run_git(["checkout", "-q", "-f", "--", "."], cwd=work, check=False)
        return
    shutil.rmtree(work, ignore_errors=True)
    clone_head(mirror, work, spec.head)
    pkg = work / "package.json"
    doc = json.loads(pkg.read_text(encoding="utf-8"))
    for dep in spec.drop_dev:
        doc.get("devDependencies", {}).pop(dep, None)
    pkg.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    log(f"{spec.name}: npm install in {work}")
    proc = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=work,
                          capture_output=True, text=True)
    run_git(["checkout", "-q", "--", "."], cwd=work, check=False)  # package(-lock).json as committed
    if proc.returncode != 0:
        shutil.rmtree(work / "node_modules", ignore_errors=True)
        raise RuntimeError(f"npm install failed: {proc.stderr.strip()[-400:]}")


def seed_commit(mirror: Path, head: str, dest: Path, cand: Candidate, prepare=None) -> str:
    """A fresh clone at `head` (its branch only: no remote, other refs or reflog), `prepare(dest)` run
    in it, and the mutation committed on top as the culprit; its hash."""
    shutil.rmtree(dest, ignore_errors=True)
    clone_head(mirror, dest, head)
    run_git(["remote", "remove", "origin"], cwd=dest)
    branch = out(["symbolic-ref", "HEAD"], cwd=dest).strip()
    for ref in out(["for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags"], cwd=dest).split():
        if ref != branch:
            run_git(["update-ref", "-d", ref], cwd=dest)
    run_git(["reflog", "expire", "--expire=now", "--all"], cwd=dest)
    if prepare is not None:
        prepare(dest)
    operator = apply(dest, cand)[1]
    run_git(["add", "--", cand.file], cwd=dest)
    tree = out(["write-tree", "--missing-ok"], cwd=dest).strip()  # plain `commit` refuses missing blobs
    msg = f"Seeded regression: {operator} in {cand.file}:{cand.line}"
    bic = run_git(["commit-tree", tree, "-p", "HEAD", "-m", msg], cwd=dest, env=AUTHOR).stdout.strip()
    run_git(["update-ref", "-m", "seeded regression", "HEAD", bic], cwd=dest)
    return bic


def build_case(spec: RepoSpec, mirror: Path, work: Path, dest: Path, cand: Candidate, baseline: set[str],
               timeout: float) -> tuple[str, list[str], str] | None:
    """The seeded commit in a fresh clone (node_modules linked from the scratch clone) and the suite
    run there: (the commit's hash, the baseline-passing tests that fail, the output); None if none fails."""
    def link_modules(repo: Path) -> None:
        (repo / "node_modules").symlink_to(work / "node_modules")
        with open(repo / ".git" / "info" / "exclude", "a", encoding="utf-8") as fh:
            fh.write("/node_modules\n")

    bic = seed_commit(mirror, spec.head, dest, cand, link_modules)
    output, timed_out = run_suite(dest, spec, timeout)
    failed = list(dict.fromkeys(t for t in parse_spec(output)[1] if t in baseline))
    if timed_out or not failed:
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return bic, failed, output


def build_repo(spec: RepoSpec, args: argparse.Namespace, bench: Path, cases: list[dict], save) -> dict:
    """Tries of one repository until `args.cases` cases or `args.tries` tries; its summary."""
    t0 = time.monotonic()
    mirror, work = find_mirror(args.mirrors, spec.upstream), bench / "work" / spec.name
    summary = {"project": spec.name, "upstream": spec.upstream, "test_command": spec.test_command}
    try:
        prepare_scratch(spec, mirror, work)
    except RuntimeError as why:
        return {**summary, "skipped": str(why)}
    output, timed_out = run_suite(work, spec, args.timeout)
    baseline, failing = parse_spec(output)
    summary.update(baseline_passed=len(baseline), baseline_failed=len(failing))
    log(f"{spec.name}: baseline {len(baseline)} passing titles, {len(failing)} failing")
    if timed_out or not baseline:
        return {**summary, "skipped": "suite times out at HEAD" if timed_out else "no test passes at HEAD"}

    def attempt(cand: Candidate) -> str:
        output, timed_out = run_suite(work, spec, args.timeout)
        if timed_out:
            return "timed out"
        if not [t for t in parse_spec(output)[1] if t in baseline]:
            crashed = not re.search(r"^\s+\d+ passing", output, re.M)
            return "no baseline-passing test fails" + (" (the suite did not finish)" if crashed else "")
        return ""

    order = candidates(work, spec)
    summary["candidates"] = len(order)
    return {**summary, **try_candidates(spec, args, bench, cases, save, work, order, attempt,
                                        lambda cand, dest: build_case(spec, mirror, work, dest, cand, baseline,
                                                                      args.timeout)),
            "seconds": round(time.monotonic() - t0, 1)}


def try_candidates(spec, args: argparse.Namespace, bench: Path, cases: list[dict], save, work: Path,
                   order: list[Candidate], attempt, build) -> dict:
    """The candidates in seeded order, each applied in the scratch clone `work` and run there
    (`attempt(cand)`: why it gives no case, "" when a baseline-passing test fails), then built as a
    case (`build(cand, dest)`: (bic, failing tests, output) or None), until `args.cases` cases or
    `args.tries` tries; cases.json entries appended and saved as they come. (JS and Go tracks.)"""
    t0 = time.monotonic()
    done = {(c["mutation"]["file"], c["mutation"]["line"]): c["case_id"] for c in cases if c["project"] == spec.name}
    order = list(order)
    random.Random(args.seed).shuffle(order)
    tries, built, outcomes = 0, 0, {}
    for cand in order[:args.tries]:
        if built >= args.cases:
            break
        tries, c0 = tries + 1, time.monotonic()
        label = f"  try {tries}: {cand.file}:{cand.line} {cand.token!r}->{SWAPS[cand.token][1]!r}"
        if (cand.file, cand.line) in done:
            built += 1
            log(f"{label}: already {done[cand.file, cand.line]}")
            continue
        original, operator, before, after = apply(work, cand)
        try:
            why = attempt(cand)
        finally:
            (work / cand.file).write_text(original, encoding="utf-8")
        case_id = f"{spec.name}-{built + 1:02d}"
        dest, trace = bench / "cases" / case_id, bench / "cases" / f"{case_id}.trace"
        got = None if why else build(cand, dest)
        if got is None:
            why = why or "not reproduced in the case repository"
            outcomes[why] = outcomes.get(why, 0) + 1
            log(f"{label}: {why} ({time.monotonic() - c0:.0f}s)")
            continue
        bic, failed, output = got
        trace.write_text(output, encoding="utf-8")
        built += 1
        cases.append({"case_id": case_id, "project": spec.name, "upstream": spec.upstream, "bic": bic,
                      "repo": str(dest), "trace": str(trace), "built": True, "reason": "",
                      "test_command": spec.test_command, "failing_tests": failed,
                      "mutation": {"file": cand.file, "line": cand.line, "operator": operator,
                                   "before": before, "after": after},
                      "seed": args.seed, "seconds": round(time.monotonic() - c0, 1)})
        save()
        log(f"{label}: case {case_id}, {len(failed)} failing ({time.monotonic() - c0:.0f}s)")
    log(f"{spec.name}: {built} cases from {tries} tries ({time.monotonic() - t0:.0f}s)")
    return {"tries": tries, "cases": built, "no_case": outcomes}


def run_track(doc: str | None, default_dir: str, specs: list, build_repo, argv: list[str] | None) -> int:
    """The command line of a track builder (this one and gotrack_cases.py): each repository of `specs`
    through `build_repo` until it has its cases, cases.json and repos.json saved as they come."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path.home() / ".cache" / default_dir)
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", help="comma-separated repository names")
    ap.add_argument("--cases", type=int, default=12, help="cases per repository")
    ap.add_argument("--tries", type=int, default=40, help="mutations tried per repository at most")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per suite run")
    args = ap.parse_args(argv)
    bench = args.dir.expanduser().resolve()
    (bench / "cases").mkdir(parents=True, exist_ok=True)
    index, repos_path = bench / "cases.json", bench / "repos.json"
    cases = json.loads(index.read_text())["cases"] if index.exists() else []
    repos = {r["project"]: r for r in json.loads(repos_path.read_text())} if repos_path.exists() else {}

    def save() -> None:
        index.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
        repos_path.write_text(json.dumps(list(repos.values()), indent=1) + "\n")

    start = time.monotonic()
    for spec in specs:
        if args.only and spec.name not in args.only.split(","):
            continue
        if sum(c["project"] == spec.name for c in cases) >= args.cases:
            log(f"{spec.name}: {args.cases} cases already built; skipped")
            continue
        repos[spec.name] = build_repo(spec, args, bench, cases, save)
        if "skipped" in repos[spec.name]:
            log(f"{spec.name}: skipped: {repos[spec.name]['skipped']}")
        save()
    by = {s.name: sum(c["project"] == s.name for c in cases) for s in specs}
    log(f"done in {time.monotonic() - start:.0f}s: {by} in {index}")
    return 0



def main(argv: list[str] | None = None) -> int:
    return run_track(__doc__, "rca-jstrack", REPOS, build_repo, argv)

if __name__ == "__main__":
    sys.exit(main())

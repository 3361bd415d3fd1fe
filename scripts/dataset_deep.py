"""Training cases whose culprit is old: a regression seeded in a commit anywhere in the history.

The window cases (scripts/pytrack_cases.py) seed their regression in one of the last 50 to 100
commits, so a ranker trained on them learns "recent means culprit" (models/DATA.md). A deep case
takes a window's end as it is and seeds the regression in an older commit, before the window: one
whose added line still stands, unchanged, at the end (git blame). Replaying hundreds of commits
one by one would be slow and would conflict; instead the history from the culprit to the end is
rewritten in one pass (`git fast-export --no-data | git fast-import`): every commit that descends
from the culprit gets the mutated version of each blob that holds the original line, every other
commit is left as it was. Standard library only.

    cands = deep_candidates(repo, spec, end, rebuilt, rng, ALL_OPERATORS)
    bad, bic = carry_mutation(repo, cand.commit, end, cand.mutation.before, cand.mutation.after)
"""

from __future__ import annotations

import random
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytrack_candidates import blame_origins, enclosing_functions
from pytrack_git import git_env, out, run_git
from pytrack_mutations import Mutation, mutations_of_line

if TYPE_CHECKING:
    from pytrack_cases import RepoSpec

GOOD_BACK = 20  # the last good revision: up to this many first-parent commits before the culprit
LINES_PER_COMMIT = 12  # of a culprit's surviving lines, this many (drawn) are offered for mutation


class NotCarried(Exception):
    """The mutation cannot be carried to the end unambiguously (the message says why)."""


@dataclass
class DeepCandidate:
    commit: str  # the culprit, an upstream commit before the window
    good: str  # the last good revision: a first-parent ancestor of the culprit
    path: str  # file at the culprit
    line: int  # line in the culprit's version
    end_path: str
    end_line: int
    mutation: Mutation  # at the end (line numbers of the end's version)


def _blame_origins(repo: Path, spec: RepoSpec, end: str) -> dict[str, list[tuple[str, int, str, int]]]:
    """{commit: [(path at commit, line there, end path, end line)]} for every library line at `end`."""
    by_commit: dict[str, list[tuple[str, int, str, int]]] = {}
    for commit, path, line, end_path, end_line in blame_origins(repo, spec, end):
        by_commit.setdefault(commit, []).append((path, line, end_path, end_line))
    return by_commit


def deep_candidates(repo: Path, spec: RepoSpec, end: str, rebuilt: list[str], rng: random.Random,
                    operators: tuple[str, ...],
                    keep: Callable[[str, int], bool] | None = None) -> Iterator[DeepCandidate]:
    """Seeded candidates, one per culprit commit in a shuffled order: commits before the window
    (not its base's own merge), after `spec.since`, with one parent, whose added lines stand at
    `end`. The line must be in a function that already existed at the good revision (its tests
    must pass there) and its text must occur once in the end's file. Shapes are taken in turn.
    `keep` (end path, end line), when given, leaves other lines out (coverage guidance)."""
    window = set(rebuilt[1:])
    since = out(["log", "-1", "--format=%ct", f"--until={spec.since_cutoff}", "--first-parent", rebuilt[0]], cwd=repo).strip()
    floor = int(since) if since else 0
    origins = _blame_origins(repo, spec, end)
    info = {}
    for line in out(["log", "--format=%H %ct %P", rebuilt[0]], cwd=repo).splitlines():
        h, t, *parents = line.split()
        info[h] = (int(t), parents)
    eligible = sorted(c for c in origins if c not in window and c in info and len(info[c][1]) == 1
                      and info[c][0] > floor)
    rng.shuffle(eligible)
    end_text: dict[str, str] = {}
    functions: dict[str, list[tuple[int, int, str]]] = {}
    turn = 0
    for commit in eligible:
        back = rng.randint(0, GOOD_BACK)
        fp = out(["rev-list", "--first-parent", f"--max-count={back + 1}", f"{commit}^"], cwd=repo).split()
        good = fp[-1]
        if info.get(good, (0,))[0] <= floor:
            continue
        found: list[DeepCandidate] = []
        at_good: dict[str, str] = {}
        lines_of = [o for o in origins[commit] if keep is None or keep(o[2], o[3])]
        rng.shuffle(lines_of)
        for path, line, end_path, end_line in lines_of[:LINES_PER_COMMIT]:  # parsing a big module per line is slow
            if end_path not in end_text:
                end_text[end_path] = out(["show", f"{end}:{end_path}"], cwd=repo)
                functions[end_path] = enclosing_functions(end_text[end_path])
            text = end_text[end_path]
            names = [n for a, b, n in functions[end_path] if a <= end_line <= b]
            if not names:
                continue
            if path not in at_good:
                shown = run_git(["show", f"{good}:{path}"], cwd=repo, check=False)
                at_good[path] = shown.stdout if shown.returncode == 0 else ""
            if f"def {names[-1]}(" not in at_good[path]:
                continue
            lines = text.splitlines()
            if lines.count(lines[end_line - 1]) != 1:
                continue
            for m in mutations_of_line(text, end_line, operators):
                found.append(DeepCandidate(commit, good, path, line, end_path, end_line, m))
        if not found:
            continue
        # the shape whose turn it is, else the next one that this commit offers
        by_op: dict[str, list[DeepCandidate]] = {}
        for c in found:
            by_op.setdefault(c.mutation.operator, []).append(c)
        for step in range(len(operators)):
            op = operators[(turn + step) % len(operators)]
            if op in by_op:
                turn = (turn + step + 1) % len(operators)
                yield rng.choice(by_op[op])
                break


def _mutated_blob(repo: Path, sha: str, before: str, after: str, cache: dict[str, str]) -> str:
    """The blob with its one line `before` turned into `after` (written to the repository), the
    same blob where the line is absent; NotCarried where it occurs more than once."""
    if sha in cache:
        return cache[sha]
    raw = subprocess.run(["git", "cat-file", "blob", sha], cwd=repo, capture_output=True, check=True,
                         env=git_env()).stdout
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        cache[sha] = sha
        return sha
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == before]
    if len(hits) > 1:
        raise NotCarried("the line occurs twice in a later version")
    if not hits:
        cache[sha] = sha
        return sha
    old = lines[hits[0]]
    lines[hits[0]] = after + old[len(old.rstrip("\r\n")):]
    new = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input="".join(lines).encode("utf-8"),
                         capture_output=True, check=True, env=git_env()).stdout.decode().strip()
    cache[sha] = new
    return new


FILEMODIFY = re.compile(rb"^M (\d{6}) ([0-9a-f]{40}) (.*)$")


def carry_mutation(repo: Path, culprit: str, end: str, before: str, after: str) -> tuple[str, str]:
    """Rewrite culprit..end so that the culprit and every commit descending from it have the line
    `before` as `after`; (new end, new culprit). Commits that do not descend from the culprit
    (branches merged later) keep their trees; authors, committers, dates and messages are kept."""
    run_git(["update-ref", "refs/deep/src", end], cwd=repo)
    exported = subprocess.run(
        ["git", "fast-export", "--no-data", "--show-original-ids", "--reference-excluded-parents",
         "--signed-tags=strip", "--tag-of-filtered-object=drop", f"{culprit}^..refs/deep/src"],
        cwd=repo, capture_output=True, check=True, env=git_env()).stdout
    cache: dict[str, str] = {}
    descends: set[bytes] = set()  # marks of commits that descend from the culprit
    result: list[bytes] = []
    culprit_mark = b""
    pos = 0
    mark = b""
    in_desc = False
    while pos < len(exported):
        nl = exported.find(b"\n", pos)
        nl = len(exported) if nl < 0 else nl
        line = exported[pos:nl]
        pos = nl + 1
        if line.startswith(b"data "):
            n = int(line[5:])
            result.append(line + b"\n" + exported[pos:pos + n])
            pos += n
            continue
        if line.startswith((b"commit ", b"reset ", b"tag ")):
            mark, in_desc = b"", False
        elif line.startswith(b"mark "):
            mark = line[5:]
        elif line.startswith(b"original-oid "):
            if line[13:].decode() == culprit:
                in_desc, culprit_mark = True, mark
        elif line.startswith((b"from ", b"merge ")):
            parent = line.split(b" ", 1)[1]
            in_desc = in_desc or parent in descends
        elif in_desc and (m := FILEMODIFY.match(line)) and m.group(3).rstrip(b'"').endswith(b".py"):
            new = _mutated_blob(repo, m.group(2).decode(), before, after, cache)
            line = b"M " + m.group(1) + b" " + new.encode() + b" " + m.group(3)
        if in_desc and mark:
            descends.add(mark)
        result.append(line)
    if not culprit_mark:
        raise NotCarried("the culprit is not in the history of the end")
    with tempfile.TemporaryDirectory() as tmp:
        marks = Path(tmp) / "marks"
        subprocess.run(["git", "fast-import", "--quiet", "--force", f"--export-marks={marks}"], cwd=repo,
                       input=b"\n".join(result) + b"\n", capture_output=True, check=True, env=git_env())
        table = dict(line.split(" ", 1) for line in marks.read_text().split("\n") if line)
    bad = out(["rev-parse", "refs/deep/src"], cwd=repo).strip()
    run_git(["update-ref", "-d", "refs/deep/src"], cwd=repo)
    return bad, table[culprit_mark.decode()]


def build_deep_window(spec: RepoSpec, mirror: Path, win, bench: Path, python: Path, seed: int,
                      per_window: int, max_tries: int, operators: tuple[str, ...]) -> list[dict]:
    """Up to `per_window` deep cases at the end of window `win` (ids `<repo>-w<i>-dNN`)."""
    import pytrack_cases as pc

    prepared = pc.prepare_window(spec, mirror, win, bench, python)
    if prepared is None:
        return []
    work, scratch, rebuilt, passed_end = prepared
    rng = random.Random(f"{seed}:{spec.name}:{win.index}:deep")
    cases: list[dict] = []
    tries = 0
    # guided (training data): lines a passing test runs at the end; the test's existence at each
    # candidate's good revision is left to the ground-truth runs
    targets = pc.guided_targets(spec, work, rebuilt[-1], None, passed_end, python) if pc.COVERAGE_GUIDED else None
    keep = (lambda path, line: (path, line) in targets) if targets is not None else None
    for cand in deep_candidates(work, spec, rebuilt[-1], rebuilt, rng, operators, keep):
        if len(cases) >= per_window or tries >= max_tries or (not cases and tries >= pc.BARREN_TRIES):
            break
        tries += 1
        rec = try_deep(spec, win, work, scratch, rebuilt, passed_end, cand, bench, python, seed,
                       f"{spec.name}-w{win.index}-d{len(cases) + 1:02d}",
                       targets.get((cand.end_path, cand.end_line)) if targets is not None else None)
        if rec is not None:
            cases.append(rec)
    pc.log(f"  {spec.name} w{win.index}: {len(cases)} deep cases from {tries} tries")
    run_git(["worktree", "remove", "--force", str(scratch)], cwd=work, check=False)
    return cases


def try_deep(spec: RepoSpec, win, work: Path, scratch: Path, rebuilt: list[str], passed_end: set[str],
             cand: DeepCandidate, bench: Path, python: Path, seed: int, case_id: str,
             covering: list[str] | None = None) -> dict | None:
    """One deep candidate through the same checks as a window's (pytrack_cases.try_candidate)."""
    import shlex
    import time
    from dataclasses import asdict

    import pytrack_cases as pc

    t0 = time.monotonic()
    end = rebuilt[-1]
    label = f"    {cand.commit[:8]} {cand.end_path}:{cand.end_line} {cand.mutation.operator}"
    try:
        failing = pc._failing_at_end(spec, work, end, passed_end, cand, python, covering)
        amended = pc._amend_culprit(work, cand.commit, cand)
        parent = out(["rev-parse", f"{cand.commit}^"], cwd=work).strip()
        chosen = pc._ground_truth(spec, scratch, python, failing[:20], cand.good, parent, amended)
        try:
            bad, bic = carry_mutation(work, cand.commit, end, cand.mutation.before, cand.mutation.after)
        except NotCarried as why:
            raise pc.Rejected(str(why)) from None
        if out(["rev-parse", f"{bic}^{{tree}}"], cwd=work) != out(["rev-parse", f"{amended}^{{tree}}"], cwd=work):
            raise pc.Rejected("the rewritten culprit differs from the mutated one")
        diff = [d for d in out(["diff", "--numstat", end, bad], cwd=work).split("\n") if d]
        if diff != [f"1\t1\t{cand.end_path}"]:
            raise pc.Rejected("end differs from the mutated end beyond the line")
        chosen = chosen[:pc.MAX_FAILING]
        case_dir, trace_path = pc._export_case(spec, work, bench, python, case_id, bad, chosen)
    except pc.Rejected as why:
        pc.log(f"{label}: {why}")
        pc.REJECTED[f"deep: {why}"] = pc.REJECTED.get(f"deep: {why}", 0) + 1
        return None
    m = cand.mutation
    test_cmd = " ".join(shlex.quote(x) for x in [str(python), "-m", "pytest", "-x", "-q", *spec.pytest_args, *chosen])
    rec = pc.CaseRecord(
        case_id=case_id, project=spec.name, upstream=spec.upstream, bic=bic, repo=str(case_dir),
        trace=str(trace_path),
        commits=int(out(["rev-list", "--count", "HEAD"], cwd=case_dir)),
        bic_distance=int(out(["rev-list", "--count", f"{bic}..HEAD"], cwd=case_dir)),
        good=cand.good, bad=bad, test_command=test_cmd, failing_tests=chosen,
        window={"base": win.base, "end": win.end, "first": win.commits[0], "last": win.commits[-1],
                "size": len(win.commits), "index": win.index, "deep": True},
        culprit_upstream=cand.commit, seed=seed,
        mutation={"file": cand.path, "line": cand.line, "end_file": cand.end_path, "end_line": cand.end_line,
                  "operator": m.operator, "before": m.before, "after": m.after},
        seconds=round(time.monotonic() - t0, 1),
    )
    pc.log(f"{label}: case {case_id} ({len(chosen)} failing, {rec.bic_distance} commits back, {rec.seconds}s)")
    return asdict(rec)

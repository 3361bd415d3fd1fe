"""Which lines of a window become culprits, for the Python-track benchmark and the training data
(scripts/pytrack_cases.py, scripts/dataset_build.py): the lines each window commit added that
survive to the window's end (git blame), in functions that existed at the window's base, each
with its mutations, in a seeded order. Standard library only.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytrack_git import out, run_git
from pytrack_mutations import OPERATORS, Mutation, mutations_of_line

if TYPE_CHECKING:
    from pytrack_cases import RepoSpec


@dataclass
class Candidate:
    k: int  # index of the culprit in the rebuilt list (1 = first window commit)
    path: str  # file at the culprit
    line: int  # line in the culprit's version
    end_path: str
    end_line: int
    mutation: Mutation


def is_library_file(spec: RepoSpec, path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (path.endswith(".py") and any(path == p or path.startswith(p + "/") for p in spec.packages)
            and "/tests/" not in path and not name.startswith("test_"))


def blame_origins(repo: Path, spec: RepoSpec, end: str) -> Iterator[tuple[str, str, int, str, int]]:
    """(commit, path at that commit, line there, end path, end line) for every library line at
    `end`: the commit that added it (git blame)."""
    for path in out(["ls-tree", "-r", "--name-only", end], cwd=repo).split():
        if not is_library_file(spec, path):
            continue
        text = out(["blame", "--porcelain", end, "--", path], cwd=repo)
        files: dict[str, str] = {}
        cur = None
        for raw in text.splitlines():
            m = re.match(r"^([0-9a-f]{40}) (\d+) (\d+)", raw)
            if m:
                cur = (m.group(1), int(m.group(2)), int(m.group(3)))
            elif raw.startswith("filename ") and cur:
                files[cur[0]] = raw[len("filename "):]
            elif raw.startswith("\t") and cur:
                yield cur[0], files.get(cur[0], path), cur[1], path, cur[2]


def blame_window_lines(repo: Path, spec: RepoSpec, end: str, rebuilt: list[str]) -> dict[int, list[tuple[str, int, str, int]]]:
    """{k: [(path at culprit, line there, end path, end line)]}: lines at the window's end
    that window commit k added (git blame)."""
    pos = {c: k for k, c in enumerate(rebuilt)}  # rebuilt[0] is the base
    by_k: dict[int, list[tuple[str, int, str, int]]] = {}
    for commit, path, line, end_path, end_line in blame_origins(repo, spec, end):
        k = pos.get(commit, 0)
        if k > 0:
            by_k.setdefault(k, []).append((path, line, end_path, end_line))
    return by_k


def enclosing_functions(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of every function of a module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [(n.lineno, n.end_lineno or n.lineno, n.name) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def by_operator(cands: list[Candidate]) -> list[Candidate]:
    """Round-robin over the operators, each in its (shuffled) order: every shape of regression gets
    its turn, however many lines one operator matches (wrong_var matches almost every line)."""
    groups: dict[str, list[Candidate]] = {}
    for c in cands:
        groups.setdefault(c.mutation.operator, []).append(c)
    result: list[Candidate] = []
    while any(groups.values()):
        for op in list(groups):
            if groups[op]:
                result.append(groups[op].pop(0))
    return result


def shape_full(cases: list[dict], operator: str, cap: int) -> bool:
    """Whether a window's `cases` already hold `cap` of this regression shape (0: no cap)."""
    return cap > 0 and sum(c["mutation"]["operator"] == operator for c in cases) >= cap


def candidates(repo: Path, spec: RepoSpec, end: str, rebuilt: list[str], rng: random.Random,
               operators: tuple[str, ...] = OPERATORS, balance: bool = False,
               keep: Callable[[str, int], bool] | None = None) -> list[Candidate]:
    """Seeded order of (commit, line, mutation): commits shuffled, one line and one
    mutation drawn at a time per commit, round-robin over the commits. Only lines in
    functions that already existed at the window's base: a new function's tests are new
    too, so they cannot pass at the base (a rule each case must meet). `keep` (end path, end
    line) leaves other lines out before their mutations are made."""
    by_k = blame_window_lines(repo, spec, end, rebuilt)
    per_k: dict[int, tuple[list[Candidate], list[Candidate]]] = {}
    cache: dict[str, str] = {}
    funcs: dict[str, list[tuple[int, int, str]]] = {}
    base_text: dict[str, str] = {}
    for k in sorted(by_k):
        old: list[Candidate] = []
        new: list[Candidate] = []
        for path, line, end_path, end_line in by_k[k]:
            if keep is not None and not keep(end_path, end_line):
                continue
            if end_path not in cache:
                cache[end_path] = out(["show", f"{end}:{end_path}"], cwd=repo)
                funcs[end_path] = enclosing_functions(cache[end_path])
                shown = run_git(["show", f"{rebuilt[0]}:{end_path}"], cwd=repo, check=False)
                base_text[end_path] = shown.stdout if shown.returncode == 0 else ""
            names = [n for a, b, n in funcs[end_path] if a <= end_line <= b]
            existed = bool(names) and f"def {names[-1]}(" in base_text[end_path]
            for m in mutations_of_line(cache[end_path], end_line, operators):
                (old if existed else new).append(Candidate(k, path, line, end_path, end_line, m))
        if old or new:
            rng.shuffle(old)
            rng.shuffle(new)
            per_k[k] = (by_operator(old), by_operator(new)) if balance else (old, new)
    order = sorted(per_k)
    rng.shuffle(order)
    order.sort(key=lambda k: not per_k[k][0])  # stable: commits touching old functions first
    result: list[Candidate] = []
    for group in (0,):
        depth = 0
        while any(depth < len(per_k[k][group]) for k in order):
            result.extend(per_k[k][group][depth] for k in order if depth < len(per_k[k][group]))
            depth += 1
    return result

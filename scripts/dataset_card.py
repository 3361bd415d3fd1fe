#!/usr/bin/env python3
"""The data card's tools (models/DATA.md): write its tables from a build, read its windows back.

The card is what a rebuild needs: every repository with its pinned head, `since`, test
dependencies and the windows built from it (`w<index> base..end (commits: cases)`), from which the
seeded draw of scripts/dataset_build.py must come back. These are the card's two directions:

- `write_card`: the tables, from a build folder's state.json (`dataset_build.py --card OUT`);
- `card_windows`: the windows a card lists, read back from its table; `check_card` compares them
  with what this machine's draw gives (`--check-card CARD`), and `beyond_card` keeps only drawn
  windows that share no commit with them (`--beyond CARD`: new cases, never near copies).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from bench_common import find_mirror
from pytrack_cases import RepoSpec, Window, choose_windows
import pytrack_git

PINNED = re.compile(r" @ [0-9a-f]{12}$")
WINDOW_RANGE = re.compile(r"\b([0-9a-f]{8})\.\.([0-9a-f]{8})\b")


def windows(doc: dict, name: str) -> dict[str, dict]:
    """A repository's windows in state.json's document (none if it was never tried)."""
    return doc["repos"].get(name, {}).get("windows", {})


def card_windows(card: Path) -> dict[str, set[tuple[str, str]]]:
    """The windows a data card lists, by repository: {name: {(base[:8], end[:8]), ...}}, read from
    the table "Repositories and what came of them" (a row `| name | upstream @ head | ... |`)."""
    listed: dict[str, set[tuple[str, str]]] = {}
    for line in card.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not PINNED.search(cells[1]):  # the header reads "upstream @ pinned head"
            continue
        listed.setdefault(cells[0], set()).update(WINDOW_RANGE.findall(cells[4]))
    if not listed:
        raise SystemExit(f"{card}: no table of repositories and windows in it (is it models/DATA.md?)")
    return listed


def card_commits(mirror: Path, ranges: set[tuple[str, str]]) -> set[str]:
    """The non-merge commits of the card's windows (base..end) in `mirror`."""
    commits: set[str] = set()
    for base, end in ranges:
        commits.update(pytrack_git.out(["rev-list", "--no-merges", f"{base}..{end}"], git_dir=mirror).split())
    return commits


def beyond_card(windows: list[Window], mirror: Path, ranges: set[tuple[str, str]]) -> list[Window]:
    """The windows that share no commit with the card's windows `ranges` (new cases, not near
    copies of the card's: a window drawn at another hour can overlap one the card lists)."""
    built = card_commits(mirror, ranges)
    return [w for w in windows if not built.intersection(w.commits)]


def check_card(card: Path, specs: list[RepoSpec], mirrors: Path, seed: int) -> int:
    """Whether this machine's seeded draw gives the card's windows: per repository, the card's
    windows the draw gives, those it does not, and the drawn windows that share no commit with
    them (what `--beyond` would build)."""
    listed = card_windows(card)
    print(f"{'repository':16} {'card':>4} {'drawn':>5} {'same':>4} {'new':>4}  card windows not drawn")
    same_all = total = 0
    for spec in specs:
        try:
            mirror = find_mirror(mirrors, spec.upstream)
        except FileNotFoundError:
            print(f"{spec.name:16} no mirror")
            continue
        ranges = listed.get(spec.name, set())
        drawn = choose_windows(spec, mirror, random.Random(f"{seed}:{spec.name}"), 4 * len(ranges) + 12)
        same = [w for w in drawn if (w.base[:8], w.end[:8]) in ranges]
        new = beyond_card(drawn, mirror, ranges)
        missing = sorted(ranges - {(w.base[:8], w.end[:8]) for w in drawn})
        same_all += len(same)
        total += len(ranges)
        print(f"{spec.name:16} {len(ranges):4} {len(drawn):5} {len(same):4} {len(new):4}  "
              + ", ".join(f"{b}..{e}" for b, e in missing))
    print(f"{same_all} of the card's {total} windows drawn again")
    return 0


def write_card(doc: dict, specs: list[RepoSpec], out: Path) -> int:
    """models/DATA.md's tables from a build folder's state.json (`doc`): what a rebuild needs
    (repositories, heads, windows, seed) and what came of it (cases by repository and operator,
    rejections and their reasons)."""
    ops: dict[str, int] = {}
    why: dict[str, int] = {}
    lines = ["| repository | upstream @ pinned head | since | test deps | windows (base..end, commits: cases) | cases |",
             "|---|---|---|---|---|---|"]
    total = 0
    for spec in specs:
        wins = windows(doc, spec.name)
        for w in wins.values():
            for c in w["cases"]:
                ops[c["mutation"]["operator"]] = ops.get(c["mutation"]["operator"], 0) + 1
            for k, v in w.get("rejected", {}).items():
                why[k] = why.get(k, 0) + v
        n = sum(len(w["cases"]) for w in wins.values())
        total += n
        shown = ", ".join(f"w{k} {w['base'][:8]}..{w['end'][:8]} ({w['size']}: {len(w['cases'])})" if not k.endswith("d")
                          else f"older culprits at {w['end'][:8]}: {len(w['cases'])}" for k, w in wins.items())
        lines.append(f"| {spec.name} | {spec.upstream} @ {spec.head[:12]} | {spec.since} | "
                     f"{', '.join(spec.deps) or '-'} | {shown or 'not built yet'} | {n} |")
    with_cases = sum(1 for s in specs if any(w["cases"] for w in windows(doc, s.name).values()))
    tried = sum(1 for s in specs if windows(doc, s.name))
    deep = [c for s in specs for k, w in windows(doc, s.name).items() if k.endswith("d") for c in w["cases"]]
    back = sorted(c["bic_distance"] for c in deep)
    near = sorted(c["bic_distance"] for s in specs for k, w in windows(doc, s.name).items() if not k.endswith("d")
                  for c in w["cases"])
    depth = (f" {len(deep)} of them have an older culprit (commits from the culprit to the end: median "
             f"{back[len(back) // 2]}, {back[0]} to {back[-1]}; the window cases' median {near[len(near) // 2]}, "
             f"{near[0]} to {near[-1]})." if back and near else "")
    text = [f"Seed {doc['seed']}; {total} cases from {with_cases} repositories ({tried} of {len(specs)} "
            f"tried so far).{depth}", "", *lines, "", "Cases by regression shape: " +
            ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1])) + ".", "",
            "Candidates rejected, and why: " + "; ".join(f"{k}: {v}" for k, v in sorted(why.items(), key=lambda kv: -kv[1])) + "."]
    out.write_text("\n".join(text) + "\n")
    print(f"wrote {out}")
    return 0

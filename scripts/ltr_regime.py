#!/usr/bin/env python3
"""A learned fusion for one regime only: a committed failing test that passed when it was last
changed (where `since_test` draws its line), measured against the shipped weights.

The fourth learned-fusion run (BENCHMARKS.md, "Learning to rank") found a listwise model with
context that doubles top-1 over a Python library's whole history and halves it where the culprit
is old: a bet on recency that the tool cannot check. A failing test that is committed and older
than HEAD is what a regression looks like, and there the line `since_test` draws says where the
culprit may lie; a new or edited test (every Defects4J case) says nothing of the kind. This script
asks whether a fusion fitted on that regime alone, with `since_test` among its columns, carries to
repositories it never saw, and to old culprits, while every other case keeps the shipped ranking.

Training rows: the dataset's feature files (`dataset_build.py`), `since_test` set from the tool's
own rule on each case's index (`bench_test_change.boundary`) so that rows collected by code
without the feature can be used. Held-out rows: `ltr_collect.py` folders of the Python-track
libraries (collected by code with the feature). Systems, each compared with the shipped weights
(`Weights()`) by paired tests on the same cases:
- `listwise`: a conditional logit over retrieval's features and since_test;
- `listwise + context`: the same plus size, age, position in history and candidate count, and the
  shipped ranking's score, rank and gap.
The L2 penalty, and then the system that `--save` writes, are chosen by leave-one-repository-out
(MRR, then top-5) on the training cases alone.

    python scripts/ltr_regime.py --data ~/.cache/rca-dataset --held mi=/tmp/rows-mi,p3=/tmp/rows-p3
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import re
import sys
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_test_change as btc  # noqa: E402
from bench_common import load_cases  # noqa: E402
from bench_metrics import summarize  # noqa: E402
from ltr_data import Case  # noqa: E402
from ltr_train import L2_GRID, clogit_fit, clogit_ranks, clogit_scorer, paired  # noqa: E402

from rca_lsp.labels.fit import rank_of  # noqa: E402
from rca_lsp.suspects.retrieve import Weights  # noqa: E402

SCORED = ["frame", "code", "words", "recency", "coupling", "file", "owner", "authorship", "data", "since_test"]
CONTEXT = ("log_lines", "log_files", "log_age_days", "position", "log_candidates")
COLUMNS = [*SCORED, *CONTEXT, "score", "log_score_rank", "score_gap"]  # the names learned.SCORE_DERIVED reads
POSITION = COLUMNS.index("position")
SHIPPED = {k: float(getattr(Weights(), k)) for k in (*SCORED, "executed")}


def with_coverage() -> None:
    """The columns of the fusion for runs with a coverage report: retrieval's executed feature too
    (and in the shipped score, at its shipped weight)."""
    with_scored("executed")


def with_scored(name: str) -> None:
    """One more of retrieval's features among the columns (and in the shipped score, at its shipped
    weight: 0 for one that only a learned fusion reads). Call it before any case is loaded."""
    global POSITION
    SCORED.append(name)
    SHIPPED.setdefault(name, float(getattr(Weights(), name)))
    COLUMNS[:] = [*SCORED, *CONTEXT, "score", "log_score_rank", "score_gap"]
    POSITION = COLUMNS.index("position")
    SYSTEMS.update({"listwise": list(range(len(SCORED))), "listwise + context": list(range(len(COLUMNS)))})


def to_case(case_id: str, project: str, bic: str, rows: list) -> Case:
    commits = [sha for sha, _ in rows]
    X = np.zeros((len(rows), len(COLUMNS)))
    base = len(SCORED) + len(CONTEXT)
    for i, (_, row) in enumerate(rows):
        X[i, :base] = [row.get(k, 0.0) for k in (*SCORED, *CONTEXT)]
    linear = X[:, :len(SCORED)] @ np.array([SHIPPED[k] for k in SCORED])
    order = np.lexsort((X[:, POSITION], -linear))  # rca's order: score, then the newer commit
    rank = np.empty(len(rows))
    rank[order] = np.arange(1, len(rows) + 1)
    X[:, base:] = np.column_stack([linear, np.log1p(rank), linear - (linear.max() if len(rows) else 0.0)])
    return Case(case_id, project, commits, X, commits.index(bic) if bic in commits else None)


def bounded(case: Case) -> bool:
    return bool(case.X[:, COLUMNS.index("since_test")].any())


def deep(case: Case) -> bool:
    return re.search(r"-w\d+-d\d+$", case.case_id) is not None


def back(case: Case) -> float:
    return float(case.X[case.bic, POSITION]) if case.bic is not None else 1.0


def load_training(folder: Path, cache: Path | None) -> list[Case]:
    """Every dataset case with its rows; a case `cache` already holds is taken from it (since_test's
    line costs a look at the case's index), so a grown dataset adds only its new cases."""
    cached = {c.case_id: c for c in pickle.loads(cache.read_bytes())} if cache and cache.exists() else {}
    out = []
    for case in load_cases(folder):
        if case["case_id"] in cached:
            out.append(cached[case["case_id"]])
            continue
        path = folder / "features" / f"{case['case_id']}.json.gz"
        if not path.exists():
            continue
        rows = json.loads(gzip.open(path).read())["whole"]
        limit, candidates = btc.boundary(case)
        if not rows or candidates != len(rows):
            continue
        out.append(to_case(case["case_id"], case["project"], case["bic"], btc.with_limit(rows, limit)))
    if cache:
        cache.write_bytes(pickle.dumps(out))
    return out


def load_rows_cache(path: Path, skip: frozenset[str] = frozenset()) -> list[Case]:
    """Cases of a `bench_coverage_fit.py --cache` file (rows collected with `--coverage`), less
    those of the projects in `skip` (held-out sets' that the same cache holds)."""
    doc = json.loads(path.read_text())
    return [to_case(c["case_id"], c["project"], c["bic"], c["rows"]) for c in doc.values() if c["project"] not in skip]


def load_held(folder: Path) -> list[Case]:
    if folder.suffix == ".json":
        return load_rows_cache(folder)
    out = []
    for path in sorted(folder.glob("*.json.gz")):
        doc = json.loads(gzip.open(path).read())
        if doc.get("whole"):
            out.append(to_case(doc["case_id"], doc["project"], doc["bic"], doc["whole"]))
    return out


def shipped_ranks(cases: list[Case]) -> list[int | None]:
    return [rank_of(c, c.X[:, COLUMNS.index("score")]) for c in cases]


def figures(ranks: list[int | None]) -> str:
    s = summarize(ranks)
    return f"{s['top1']:.1f} / {s['top5']:.1f} / {s['mrr']:.3f}"


def choose_l2(train: list[Case], columns: list[int]) -> float:
    projects = sorted({c.project for c in train})
    best, best_score = L2_GRID[0], (-1.0, -1.0)
    for l2 in L2_GRID:
        ranks: list[int | None] = []
        for p in projects:
            model = clogit_fit([c for c in train if c.project != p], columns, l2)
            ranks += clogit_ranks(model, [c for c in train if c.project == p])
        s = summarize(ranks)
        if (s["mrr"], s["top5"]) > best_score:
            best, best_score = l2, (s["mrr"], s["top5"])
    return best


SYSTEMS = {"listwise": list(range(len(SCORED))), "listwise + context": list(range(len(COLUMNS)))}


Scorer = Callable[[Case], np.ndarray]


linear = clogit_scorer  # a conditional-logit fit (`ltr_train.clogit_fit`) as a Scorer


def read_fusion(path: Path, columns: list[str]) -> tuple[Scorer, int, list[str]]:
    """A fusion file as the tool reads it (`learned.load`: linear or trees): its scorer over cases
    whose rows have `columns`, its `min_candidates`, and the repositories it was trained on."""
    from rca_lsp.suspects import learned

    model = learned.load(path)
    cols = [columns.index(c) for c in model.columns]
    return (lambda c: model.predict(c.X[:, cols])), model.min_candidates, \
        json.loads(path.read_text())["trained"]["repositories"]


def gated(score: Scorer, cases: list[Case], min_candidates: int) -> list[int | None]:
    """The model's rank where the tool would use it (the case in the regime, its history at least
    `min_candidates` long: as short as the shortest the fit learned from), the weighted sum's elsewhere."""
    return [rank_of(c, score(c)) if bounded(c) and len(c.commits) >= min_candidates else shipped_ranks([c])[0]
            for c in cases]


def shortest(cases: list[Case]) -> int:
    """The `min_candidates` of a fit on these cases: the fewest candidates of any."""
    return min(len(c.commits) for c in cases)


def loro(data: list[Case], fit: Callable[[list[Case]], Scorer], extra: list[Case] | None = None) -> list[int | None]:
    """Every case's rank (`gated`, in `data`'s order) by `fit` of the other repositories' cases in
    the regime (and of `extra`'s, which only train): leaving one repository out."""
    ranks: list[int | None] = [None] * len(data)
    for p in sorted({c.project for c in data}):
        test = [i for i, c in enumerate(data) if c.project == p]
        train = [c for c in data + (extra or []) if c.project != p and bounded(c)]
        for i, r in zip(test, gated(fit(train), [data[i] for i in test], shortest(train))):
            ranks[i] = r
    return ranks


def report(title: str, cases: list[Case], ranks: dict[str, list[int | None]]) -> None:
    base = ranks["shipped"]
    print(f"\n{title} ({len(cases)} cases, {sum(map(bounded, cases))} in the regime)")
    print("| system | top-1 / top-5 / MRR | against shipped |")
    print("|---|---|---|")
    for name, r in ranks.items():
        print(f"| {name} | {figures(r)} | {'' if name == 'shipped' else paired(r, base)} |")


PER_CASE = ("log_candidates",)  # the same for every candidate of a case: no effect on its order


def save(model: dict, l2: float, train: list[Case], path: Path, deep_weight: float = 1.0,
         by: str = "scripts/ltr_regime.py --save") -> None:
    """The model as `learned.LinearModel` reads it, less the columns that cannot move a ranking
    (a weight of exactly 0, a value the same for every candidate of a case), with its provenance."""
    import datetime

    keep = [j for j, i in enumerate(model["columns"]) if model["weights"][j] != 0.0 and COLUMNS[i] not in PER_CASE]
    projects = sorted({c.project for c in train})
    kind = "regression-coverage" if "executed" in SCORED else "regression"
    # the version a label records as its ranker: which fit, not only which kind
    doc = {"kind": "linear", "version": f"{kind}-{datetime.date.today().isoformat()}-{len(train)}",
           "columns": [COLUMNS[model["columns"][j]] for j in keep],
           "mean": [float(model["mean"][j]) for j in keep], "scale": [float(model["scale"][j]) for j in keep],
           "weights": [float(model["weights"][j]) for j in keep],
           "min_candidates": min(len(c.commits) for c in train),  # shorter histories keep the weighted sum
           "trained": {"by": by, "date": datetime.date.today().isoformat(),
                       "cases": len(train), "deep_cases": sum(map(deep, train)), "repositories": projects,
                       "l2": l2, **({"deep_case_weight": deep_weight} if deep_weight != 1.0 else {}),
                       "data": "models/DATA.md", "figures": "BENCHMARKS.md, the fusion for regressions"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"saved {path}: {len(keep)} columns")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True,
                    help="dataset_build.py's folder, or with --coverage a bench_coverage_fit.py --cache file")
    ap.add_argument("--coverage", action="store_true",
                    help="runs with the failing test's coverage: the executed feature is a column too")
    ap.add_argument("--skip", default="", help="with --coverage: leave these projects (comma-separated) out of the "
                                               "training cases: the held-out sets' that the same cache holds")
    ap.add_argument("--held", default="", help="name=folder,... of ltr_collect.py rows of held-out repositories "
                                               "(or name=file.json, a bench_coverage_fit.py cache)")
    ap.add_argument("--cache", type=Path, help="keep the training cases (with since_test set) here")
    ap.add_argument("--l2", default="", help="skip the choice of the L2 penalty: listwise=V,context=V")
    ap.add_argument("--loro", action="store_true", help="also leave one repository out inside the dataset")
    ap.add_argument("--save", type=Path, help="write the system that leaving one repository out chooses, fitted on "
                                              "every training case in the regime, here "
                                              "(rca_lsp/suspects/fusion/regression.json)")
    args = ap.parse_args(argv)
    if args.coverage:
        with_coverage()
    skip = frozenset(filter(None, args.skip.split(",")))
    data = load_rows_cache(args.data, skip) if args.coverage else load_training(args.data, args.cache)
    regime = [c for c in data if bounded(c)]
    print(f"training: {len(data)} cases of {len({c.project for c in data})} repositories; "
          f"{len(regime)} in the regime ({sum(map(deep, regime))} deep)")
    given = {("listwise + context" if k == "context" else k): float(v)
             for k, v in (item.split("=") for item in filter(None, args.l2.split(",")))}
    l2 = {name: given[name] if name in given else choose_l2(regime, cols) for name, cols in SYSTEMS.items()}
    print(f"L2 chosen leaving one repository out: {l2}")
    chosen = "listwise + context"
    if args.loro or args.save:
        ranks: dict[str, list[int | None]] = {}
        for name, cols in SYSTEMS.items():
            ranks[name] = loro(data, lambda train, cols=cols, l2=l2[name]: linear(clogit_fit(train, cols, l2)))
        ranks = {"shipped": shipped_ranks(data), **ranks}
        for label, keep in (("window cases", lambda c: not deep(c)), ("deep cases", deep),
                            ("in the regime, window", lambda c: bounded(c) and not deep(c)),
                            ("in the regime, deep, culprit in the newest 10%", lambda c: bounded(c) and deep(c) and back(c) < 0.1),
                            ("in the regime, deep, culprit 10% back or more", lambda c: bounded(c) and deep(c) and back(c) >= 0.1)):
            idx = [i for i, c in enumerate(data) if keep(c)]
            report(f"dataset, leave one repository out: {label}", [data[i] for i in idx],
                   {k: [v[i] for i in idx] for k, v in ranks.items()})
        chosen = max(SYSTEMS, key=lambda name: (summarize(ranks[name])["mrr"], summarize(ranks[name])["top5"]))
        print(f"chosen by its leave-one-repository-out MRR (then top-5) on every training case: {chosen}")
    models = {name: clogit_fit(regime, cols, l2[name]) for name, cols in SYSTEMS.items()}
    for name, m in models.items():
        top = sorted(zip(m["weights"], (COLUMNS[i] for i in m["columns"])), key=lambda t: -abs(t[0]))[:6]
        print(f"{name}, fitted on all {len(regime)}: " + ", ".join(f"{k} {w:+.2f}" for w, k in top))
    if args.save:
        save(models[chosen], l2[chosen], regime, args.save)
    for spec in filter(None, args.held.split(",")):
        name, folder = spec.split("=", 1)
        cases = load_held(Path(folder))
        ranks = {"shipped": shipped_ranks(cases),
                 **{k: gated(linear(m), cases, shortest(regime)) for k, m in models.items()}}
        report(f"held out: {name}, whole history", cases, ranks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Can a fusion for regressions weigh old culprits without giving up recent ones?

The shipped fusion (`regression-2026-12-05-797`, deep cases weighed 0) helps recent culprits and
sinks old ones on repositories it never saw (BENCHMARKS.md, "The shipped fusion on ten more new
repositories": deep cases' MRR 0.360 -> 0.295). Its recency is linear in the fraction of history
(recency = 1 - position), so an old culprit loses to every newer commit alike. Candidates, each
ranked on the scored repositories leaving its repository out (trained on the others and on the
`--train` folders' cases), gated as the shipped fusion is (in the regime, histories at least as long
as the shortest trained on):
- C0: conditional logit, listwise + context, deep cases weighed 0 (the shipped procedure refitted);
- C1: the same with deep cases weighed 1;
- C2: C1 plus two shape columns: log1p(commits back) and recency x retrieval's score;
- G1: LightGBM lambdarank over C2's columns, deep cases weighed 1, settings fixed in advance;
- G2: G1 with larger trees (15 leaves, 50 rows a leaf at least, 500 rounds; twenty-third sitting).
Beside them, on the same cases: the weighted sum and the shipped fusion. Paired tests (McNemar on
top-1, Wilcoxon on reciprocal rank) against the shipped fusion, window and deep cases apart.

    python scripts/ltr_shape.py --score ~/.cache/rca-dataset --train ~/.cache/rca-rebuild \\
        --cache /tmp/shape --out /tmp/shape/ranks.json [--systems C0,C1,C2,G1,G2] [--save path --fit G1]

With `--coverage` the executed feature is a column too, the cases are `bench_coverage_fit.py
--cache` files (each case's rows ranked with its failing tests' coverage report) instead of dataset
folders, and the reference is the shipped `--coverage` model (`regression_coverage.json`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ltr_regime as lr  # noqa: E402
from ltr_depth import weigh  # noqa: E402
from ltr_data import Case  # noqa: E402
from ltr_train import SEED, clogit_fit, paired, training_rows  # noqa: E402


SHAPE = ("log_back", "recency_x_score")
EXTENDED = [*lr.COLUMNS, *SHAPE]  # set again by `with_scored`
L2 = 1.0  # ltr_regime.py's choice for listwise + context, kept
G1_PARAMS = {"objective": "lambdarank", "metric": "ndcg", "learning_rate": 0.05, "num_leaves": 7,
             "min_data_in_leaf": 100, "feature_fraction": 0.8, "lambdarank_truncation_level": 20,
             "verbose": -1, "seed": SEED, "num_threads": 2, "deterministic": True}
G1_ROUNDS = 300
G2_PARAMS = {**G1_PARAMS, "num_leaves": 15, "min_data_in_leaf": 50}  # the twenty-third sitting's other candidate
G2_ROUNDS = 500


def shaped(case: Case) -> Case:
    """The case with SHAPE's columns appended (computed from its own columns: no label)."""
    X = case.X
    back = np.rint(X[:, lr.POSITION] * len(case.commits))  # commits after it: an integer (positions are rounded)
    extra = np.column_stack([np.log1p(back), X[:, lr.COLUMNS.index("recency")] * X[:, lr.COLUMNS.index("score")]])
    return Case(case.case_id, case.project, case.commits, np.hstack([X, extra]), case.bic, case.operator)


def clogit(columns: list[int], w: float) -> Callable[[list[Case]], lr.Scorer]:
    return lambda train: lr.linear(clogit_fit(train, columns, L2, case_weight=weigh(w)))


def by_score(case: Case) -> np.ndarray:
    """The case's candidates in retrieval's order (by its fused score, ties in history order)."""
    return np.argsort(-case.X[:, lr.COLUMNS.index("score")], kind="stable")


def lambdarank_booster(train: list[Case], params: dict, rounds: int):
    import lightgbm as lgb

    X, y, groups = training_rows(train, list(range(len(EXTENDED))), by_score)
    return lgb.train(params, lgb.Dataset(X, y, group=groups, feature_name=EXTENDED), num_boost_round=rounds)


def lambdarank(params: dict, rounds: int) -> Callable[[list[Case]], lr.Scorer]:
    def fit(train: list[Case]) -> lr.Scorer:
        model = lambdarank_booster(train, params, rounds)
        return lambda c: model.predict(c.X)
    return fit


def in_summed_order(case: Case) -> Case:
    """The case's rows in the weighted sum's order (its score, then the newer commit): a row cache
    keeps the order of the ranking that collected it, which is the shipped model's, and the fit's
    random negatives are drawn by row; in this order a refit does not depend on which model shipped."""
    order = np.lexsort((case.X[:, lr.POSITION], -case.X[:, lr.COLUMNS.index("score")]))
    bic = None if case.bic is None else int(np.flatnonzero(order == case.bic)[0])
    return Case(case.case_id, case.project, [case.commits[i] for i in order], case.X[order], bic, case.operator)


def load(source: Path, cache: Path, summed: bool = True) -> list[Case]:
    """A dataset folder's cases (rows from its features, cached in `cache`), or a `bench_coverage_fit.py
    --cache` file's (rows ranked with coverage, put in the weighted sum's order unless `summed` is
    false: then in the order that collected them), each with SHAPE's columns."""
    if source.suffix != ".json":
        return [shaped(c) for c in lr.load_training(source, cache)]
    cases = lr.load_rows_cache(source)
    return [shaped(in_summed_order(c) if summed else c) for c in cases]


def save_trees(train: list[Case], path: Path, params: dict = G1_PARAMS, rounds: int = G1_ROUNDS, tag: str = "",
               rows: str = "") -> lr.Scorer:
    """Trees (G1's settings unless given) fitted on `train` (cases in the regime), written as `learned.TreeModel` reads it, with its
    provenance; returns its scorer (the file's own trees, walked as the tool walks them)."""
    import datetime

    from rca_lsp.suspects import learned

    booster = lambdarank_booster(train, params, rounds)
    kind = "regression-coverage-trees" if "executed" in EXTENDED else "regression-trees"
    version = f"{kind}-{datetime.date.today().isoformat()}-{len(train)}" + (f"-{tag}" if tag else "")
    doc = learned.from_lightgbm(booster.dump_model(), version)
    doc["min_candidates"] = lr.shortest(train)
    doc["trained"] = {"by": "scripts/ltr_shape.py --save", "date": datetime.date.today().isoformat(),
                      "cases": len(train), "deep_cases": sum(map(lr.deep, train)),
                      "repositories": sorted({c.project for c in train}), "rounds": rounds,
                      "params": {k: v for k, v in params.items() if k not in ("verbose", "num_threads")},
                      "data": "models/DATA.md", "figures": "BENCHMARKS.md, the fusion for regressions"}
    if rows:
        doc["trained"]["rows"] = rows
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    model = learned.load(path)
    cols = [EXTENDED.index(c) for c in model.columns]
    print(f"saved {path}: {len(model.trees)} trees, {path.stat().st_size} bytes")
    return lambda c: model.predict(c.X[:, cols])


SYSTEMS: dict[str, Callable[[list[Case]], lr.Scorer]] = {}


def systems() -> None:
    """SYSTEMS over the columns as they stand (`lr.COLUMNS` and SHAPE)."""
    base, every = list(range(len(lr.COLUMNS))), list(range(len(EXTENDED)))
    SYSTEMS.update({"C0": clogit(base, 0.0), "C1": clogit(base, 1.0), "C2": clogit(every, 1.0),
                    "G1": lambdarank(G1_PARAMS, G1_ROUNDS), "G2": lambdarank(G2_PARAMS, G2_ROUNDS)})


def with_scored(name: str) -> None:
    """Retrieval's feature `name` among every system's columns (before any case is loaded)."""
    lr.with_scored(name)
    EXTENDED[:] = [*lr.COLUMNS, *SHAPE]
    systems()


systems()
FITS = {"G1": (G1_PARAMS, G1_ROUNDS), "G2": (G2_PARAMS, G2_ROUNDS)}


def loro(name: str, scored: list[Case], extra: list[Case]) -> list[int | None]:
    """`scored`'s ranks (in its order) by system `name`, each repository's by the fit on the others'
    cases and `extra`'s."""
    return lr.loro(scored, SYSTEMS[name], extra)


def table(cases: list[Case], ranks: dict[str, list[int | None]]) -> None:
    parts = {"window cases": [i for i, c in enumerate(cases) if not lr.deep(c)],
             "deep cases": [i for i, c in enumerate(cases) if lr.deep(c)], "all": list(range(len(cases)))}
    for label, idx in parts.items():
        if not idx:
            continue
        print(f"\n{label} ({len(idx)}; {len({cases[i].project for i in idx})} repositories)")
        print("| system | top-1 / top-5 / MRR | against the shipped fusion | against the weighted sum |\n|---|---|---|---|")
        base, ws = [ranks["shipped"][i] for i in idx], [ranks["weighted sum"][i] for i in idx]
        for name, r in ranks.items():
            mine = [r[i] for i in idx]
            print(f"| {name} | {lr.figures(mine)} | {'' if name == 'shipped' else paired(mine, base)} | "
                  f"{'' if name == 'weighted sum' else paired(mine, ws)} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--score", type=Path, required=True, help="dataset folder whose cases are ranked (and train the other"
                    " folds); with --coverage a bench_coverage_fit.py --cache file")
    ap.add_argument("--train", type=Path, action="append", default=[], help="dataset folders (with --coverage: row caches)"
                    " that only train")
    ap.add_argument("--cache", type=Path, required=True, help="a folder for ltr_regime.py's case caches")
    ap.add_argument("--out", type=Path, required=True, help="every system's ranks (JSON; systems already there are kept)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--save", type=Path, help="fit --fit on every case in the regime (scored and training-only) and write it here")
    ap.add_argument("--fit", choices=sorted(FITS), default="G1", help="with --save: which trees")
    ap.add_argument("--tag", default="", help="with --save: a suffix for the version, where the date and the number of"
                    " cases would repeat a shipped file's (the same day, other columns)")
    ap.add_argument("--held", type=Path, action="append", default=[],
                    help="with --save: dataset folders never trained on, ranked by the saved fit and the shipped fusion")
    ap.add_argument("--with", dest="more", action="append", default=[], metavar="FEATURE",
                    help="one more of retrieval's features among the columns (e.g. blamed); the cases' rows must have it")
    ap.add_argument("--coverage", action="store_true", help="runs with the failing tests' coverage: executed is a column,"
                    " cases come from row caches, the reference is the shipped --coverage model")
    ap.add_argument("--model", type=Path, help="the reference fusion (default: the shipped one for the kind of run)")
    ap.add_argument("--row-order", choices=("summed", "collected"), default="summed",
                    help="with --coverage: the row caches' rows in the weighted sum's order (default; a refit does not"
                    " depend on which model collected them) or as collected (how regression-coverage-trees-2026-12-06-937"
                    " was fitted, from rows collected with regression-coverage-1 in place)")
    args = ap.parse_args(argv)
    fusion = Path(__file__).resolve().parents[1] / "rca_lsp/suspects/fusion"
    args.model = args.model or fusion / ("regression_coverage.json" if args.coverage else "regression.json")
    for name in args.more:
        with_scored(name)
    if args.coverage:
        with_scored("executed")
    elif any(p.suffix == ".json" for p in (args.score, *args.train, *args.held)):
        raise SystemExit("row caches (.json) hold runs with coverage: give --coverage")
    args.cache.mkdir(parents=True, exist_ok=True)
    summed = args.row_order == "summed"
    scored = load(args.score, args.cache / f"{args.score.name}.pkl", summed)
    extra = [c for f in args.train for c in load(f, args.cache / f"{f.name}.pkl", summed)]
    score, min_c, seen = lr.read_fusion(args.model, EXTENDED)
    overlap = sorted({c.project for c in scored} & set(seen))
    if overlap and not args.save:  # its ranks of the scored cases sit beside the candidates' left-out ones
        raise SystemExit(f"{args.model} was trained on {', '.join(overlap)}: not held out (give --model)")
    clash = sorted({c.project for c in scored} & {c.project for c in extra})
    if clash:
        raise SystemExit(f"{', '.join(clash)} both scored and training-only: a repository must be one or the other")
    print(f"scored: {len(scored)} cases of {len({c.project for c in scored})} repositories "
          f"({sum(map(lr.deep, scored))} deep); training-only: {len(extra)} cases of {len({c.project for c in extra})}")
    done = json.loads(args.out.read_text()) if args.out.exists() else {}
    ids = [c.case_id for c in scored]
    if done and done.get("cases") != ids:
        raise SystemExit(f"{args.out} ranks other cases: give another --out")
    done.update(cases=ids, ranks=done.get("ranks", {}))
    done["ranks"]["weighted sum"] = lr.shipped_ranks(scored)
    done["ranks"]["shipped"] = lr.gated(score, scored, min_c)
    if args.save:
        train = [c for c in scored + extra if lr.bounded(c)]
        rows = ("" if not args.coverage else "row caches, each case's rows in the weighted sum's order" if summed
                else "row caches, each case's rows as collected (the ranking of the --coverage model then shipped)")
        trees = save_trees(train, args.save, *FITS[args.fit], tag=args.tag, rows=rows)
        min_trees = lr.shortest(train)
        for folder in args.held:
            held = load(folder, args.cache / f"{folder.name}.pkl", summed)
            if {c.project for c in held} & ({c.project for c in train} | set(seen)):
                raise SystemExit(f"{folder} shares repositories with the training cases or {args.model}'s: not held out")
            print(f"\nheld out: {folder} ({len(held)} cases of {len({c.project for c in held})} repositories)")
            ranks = {"weighted sum": lr.shipped_ranks(held), "shipped": lr.gated(score, held, min_c),
                     args.fit: lr.gated(trees, held, min_trees)}
            (args.cache / f"held-{folder.stem if folder.suffix == '.json' else folder.name}.json").write_text(json.dumps({"cases": [c.case_id for c in held], "ranks": ranks}))
            for p in sorted({c.project for c in held}):
                idx = [i for i, c in enumerate(held) if c.project == p]
                print(f"  {p} ({len(idx)}): " + "; ".join(f"{k} {lr.figures([v[i] for i in idx])}" for k, v in ranks.items()))
            table(held, ranks)
        return 0
    for name in filter(None, args.systems.split(",")):
        if name not in done["ranks"]:
            done["ranks"][name] = loro(name, scored, extra)
            args.out.write_text(json.dumps(done))
    args.out.write_text(json.dumps(done))
    table(scored, done["ranks"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

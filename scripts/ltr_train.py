#!/usr/bin/env python3
"""A learned fusion (LightGBM lambdarank) against retrieval's linear weights, measured honestly.

Every figure is held out: on the Defects4J dev split, nested leave-one-project-out (for each
project, the linear weights and the model's hyper-parameters are chosen on the other projects
alone, by an inner leave-one-project-out, then measured on it); on Python, trained on the
dataset's repositories (scripts/dataset_build.py) and measured on the Python track's libraries,
which the dataset never contains, and leave-one-repository-out inside the dataset. Beside each
"better", paired tests on the same cases: McNemar (exact) on top-1, Wilcoxon signed-rank on
reciprocal rank.

    python scripts/ltr_collect.py --out /tmp/ltr/dev                  # dev features (once)
    python scripts/ltr_train.py --dev /tmp/ltr/dev --data ~/.cache/rca-dataset/features \\
        --track /tmp/ltr/track [--save rca_lsp/suspects/fusion/lambdarank.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import print_table, summarize  # noqa: E402
from ltr_data import COLUMNS, RETRIEVAL, Case, load_dir, rank_of  # noqa: E402

LINEAR_GRID = {"frame": (1.0, 1.5, 2.0, 3.0), "code": (1.0,), "words": (0.5, 1.0, 1.5),
               "recency": (0.2, 0.4, 0.7, 1.0), "coupling": (0.0, 0.25, 0.5, 1.0)}  # bench_tune's grid, the rest 0/set
FIXED = {"file": 0.0, "owner": 0.25, "authorship": 0.0}
PARAM_GRID = [{"num_leaves": nl, "min_data_in_leaf": md, "num_boost_round": nr}
              for nl, md, nr in itertools.product((7, 15), (20, 50), (100, 300))]
NEG_TOP, NEG_RANDOM = 100, 100  # negatives kept per case: retrieval's top ones and a random draw
SEED = 1


# --- linear baseline ------------------------------------------------------------------------

def linear_scores(case: Case, w: dict[str, float]) -> np.ndarray:
    return case.X[:, :len(RETRIEVAL)] @ np.array([w[k] for k in RETRIEVAL])


def linear_fit(cases: list[Case]) -> dict[str, float]:
    best, best_score = None, (-1.0, -1.0)
    keys = list(LINEAR_GRID)
    for values in itertools.product(*(LINEAR_GRID[k] for k in keys)):
        w = {**FIXED, **dict(zip(keys, values))}
        s = summarize([rank_of(c, linear_scores(c, w)) for c in cases])
        score = (s["mrr"] + s["top5"] / 100.0, s["top50"])
        if score > best_score:
            best, best_score = w, score
    assert best is not None
    return best


# --- lambdarank -----------------------------------------------------------------------------

def training_rows(cases: list[Case], columns: list[int], order: Callable[[Case], np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Each labelled case's rows to learn from: its culprit, its first NEG_TOP candidates by `order`
    (by default the case's own order, which is retrieval's for ltr_data's cases) and NEG_RANDOM more
    drawn from the rest, in the case's order; with the label (1 for the culprit) and group sizes."""
    rng = np.random.default_rng(SEED)
    Xs, ys, groups = [], [], []
    for c in cases:
        if c.bic is None:
            continue
        ranked = order(c) if order is not None else np.arange(len(c.commits))
        keep = set(ranked[:NEG_TOP].tolist()) | {c.bic}
        rest = ranked[NEG_TOP:]
        if len(rest):
            keep |= set(rng.choice(rest, size=min(NEG_RANDOM, len(rest)), replace=False).tolist())
        rows = sorted(keep)
        Xs.append(c.X[rows][:, columns])
        ys.append(np.array([1.0 if r == c.bic else 0.0 for r in rows]))
        groups.append(len(rows))
    return np.vstack(Xs), np.concatenate(ys), groups


def lgb_fit(cases: list[Case], params: dict, columns: list[int]):
    import lightgbm as lgb

    X, y, groups = training_rows(cases, columns)
    p = {"objective": "lambdarank", "metric": "ndcg", "learning_rate": 0.05, "verbose": -1, "seed": SEED,
         "num_threads": 2, "deterministic": True, "lambdarank_truncation_level": 20,
         "num_leaves": params["num_leaves"], "min_data_in_leaf": params["min_data_in_leaf"]}
    return lgb.train(p, lgb.Dataset(X, y, group=groups), num_boost_round=params["num_boost_round"])


def lgb_ranks(model, cases: list[Case], columns: list[int]) -> list[int | None]:
    return [rank_of(c, model.predict(c.X[:, columns])) for c in cases]


def choose_params(cases: list[Case], columns: list[int], groups_of) -> dict:
    """Hyper-parameters by leave-one-group-out on `cases` alone (MRR, then top-5)."""
    groups = sorted({groups_of(c) for c in cases})
    best, best_score = PARAM_GRID[0], (-1.0, -1.0)
    if len(groups) < 2:
        return best
    for params in PARAM_GRID:
        ranks: list[int | None] = []
        for g in groups:
            train = [c for c in cases if groups_of(c) != g]
            test = [c for c in cases if groups_of(c) == g]
            ranks += lgb_ranks(lgb_fit(train, params, columns), test, columns)
        s = summarize(ranks)
        if (s["mrr"], s["top5"]) > best_score:
            best, best_score = params, (s["mrr"], s["top5"])
    return best


# --- listwise linear (conditional logit) ----------------------------------------------------

L2_GRID = (0.01, 0.1, 1.0)


def clogit_fit(cases: list[Case], columns: list[int], l2: float,
               case_weight: Callable[[Case], float] | None = None) -> dict:
    """Weights maximising the softmax probability of each case's culprit among its candidates (a
    listwise linear ranker: few parameters, so it generalises from few cases), on standardised
    columns, with an L2 penalty. `case_weight` weighs each case's term (a weight of 2 counts a case
    as twice, in the standardisation too; 0 leaves it out); by default all 1."""
    from scipy.optimize import minimize

    data = [(c.X[:, columns], c.bic, 1.0 if case_weight is None else case_weight(c))
            for c in cases if c.bic is not None]
    data = [(x, b, k) for x, b, k in data if k > 0]
    stacked = np.vstack([x for x, _, _ in data])
    rows = np.concatenate([np.full(len(x), k) for x, _, k in data])
    mu = np.average(stacked, axis=0, weights=rows)
    sd = np.sqrt(np.average((stacked - mu) ** 2, axis=0, weights=rows)) + 1e-9
    data = [((x - mu) / sd, b, k) for x, b, k in data]
    mass = sum(k for _, _, k in data)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * w @ w, 2 * l2 * w
        for x, b, k in data:
            s = x @ w
            e = np.exp(s - s.max())
            p = e / e.sum()
            total -= k * (s[b] - s.max() - np.log(e.sum()))
            grad = grad - k * (x[b] - p @ x)
        return total / mass, grad / mass

    w = minimize(loss, np.zeros(len(columns)), jac=True, method="L-BFGS-B").x
    return {"columns": columns, "mean": mu, "scale": sd, "weights": w}


def clogit_scorer(model: dict) -> Callable[[Case], np.ndarray]:
    """A `clogit_fit` model as a scorer of a case's candidates: standardised columns times weights."""
    return lambda c: ((c.X[:, model["columns"]] - model["mean"]) / model["scale"]) @ model["weights"]


def clogit_ranks(model: dict, cases: list[Case]) -> list[int | None]:
    score = clogit_scorer(model)
    return [rank_of(c, score(c)) for c in cases]


def choose_l2(cases: list[Case], columns: list[int], groups_of) -> float:
    groups = sorted({groups_of(c) for c in cases})
    best, best_score = L2_GRID[0], (-1.0, -1.0)
    for l2 in L2_GRID:
        ranks: list[int | None] = []
        for g in groups:
            model = clogit_fit([c for c in cases if groups_of(c) != g], columns, l2)
            ranks += clogit_ranks(model, [c for c in cases if groups_of(c) == g])
        s = summarize(ranks)
        if (s["mrr"], s["top5"]) > best_score:
            best, best_score = l2, (s["mrr"], s["top5"])
    return best


# --- paired tests ---------------------------------------------------------------------------

def paired(a: list[int | None], b: list[int | None]) -> str:
    """McNemar (exact, two-sided) on top-1 and Wilcoxon on reciprocal rank, `a` against `b`."""
    from scipy.stats import binomtest, wilcoxon

    hit_a = [r == 1 for r in a]
    hit_b = [r == 1 for r in b]
    only_a = sum(x and not y for x, y in zip(hit_a, hit_b))
    only_b = sum(y and not x for x, y in zip(hit_a, hit_b))
    p_top1 = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    rr_a = np.array([1.0 / r if r else 0.0 for r in a])
    rr_b = np.array([1.0 / r if r else 0.0 for r in b])
    p_rr = wilcoxon(rr_a, rr_b).pvalue if np.any(rr_a != rr_b) else 1.0
    return f"top-1 {only_a} won / {only_b} lost (McNemar p={p_top1:.3f}); RR Wilcoxon p={p_rr:.3f}"


# --- experiments ----------------------------------------------------------------------------


def systems(train: list[Case], groups_of, which: tuple[str, ...]) -> dict:
    """Each system fitted on `train` alone (its hyper-parameters by leave-one-group-out inside
    `train`), as a function from test cases to the culprits' ranks."""
    nret, nall = list(range(len(RETRIEVAL))), list(range(len(COLUMNS)))
    out = {}
    if "linear" in which:
        w = linear_fit(train)
        out["linear (grid, as shipped)"] = lambda cs, w=w: [rank_of(c, linear_scores(c, w)) for c in cs]
    if "listwise" in which:
        for name, cols in (("listwise linear, retrieval features", nret), ("listwise linear, + context", nall)):
            m = clogit_fit(train, cols, choose_l2(train, cols, groups_of))
            out[name] = lambda cs, m=m: clogit_ranks(m, cs)
    if "lambdarank" in which:
        model = lgb_fit(train, choose_params(train, nall, groups_of), nall)
        out["lambdarank, + context"] = lambda cs, model=model: lgb_ranks(model, cs, nall)
    return out


def nested_lopo(dev: list[Case], extra: list[Case], which: tuple[str, ...]) -> dict[str, list]:
    """Dev split: per project, everything fitted on the other projects (plus `extra`, never dev)."""
    ranks: dict[str, list] = {}
    for project in sorted({c.project for c in dev}):
        train = [c for c in dev if c.project != project] + extra
        test = [c for c in dev if c.project == project]
        for name, rank in systems(train, lambda c: c.project, which).items():
            ranks.setdefault(name, []).extend(rank(test))
        print(f"  fold {project} done", file=sys.stderr)
    return ranks


def report(title: str, ranks: dict[str, list], base: str = "linear (grid, as shipped)") -> None:
    print(f"\n### {title}\n")
    print_table("system", ranks)
    for name, r in ranks.items():
        if name != base:
            print(f"- {name} vs {base}: {paired(r, ranks[base])}")


def save(model, path: Path, params: dict, train: list[Case]) -> None:
    """The compact model rca ranks with (rca_lsp.suspects.learned), checked against LightGBM's own
    predictions on every training case before it is written."""
    from rca_lsp.suspects import learned

    doc = learned.from_lightgbm(model.dump_model(), version=path.stem)
    doc["trained_on"] = {"cases": len(train), "projects": sorted({c.project for c in train}), "params": params}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    ours = learned.load(path)
    for c in train:
        if not np.allclose(ours.predict(c.X), model.predict(c.X), atol=1e-9):
            raise SystemExit(f"{path}: numpy evaluation differs from LightGBM on {c.case_id}")
    print(f"saved {path} ({path.stat().st_size} bytes, {len(doc['trees'])} trees)", file=sys.stderr)


def is_deep(case: Case) -> bool:
    """A dataset case whose culprit is older than its window (scripts/dataset_deep.py)."""
    return re.search(r"-w\d+-d\d+$", case.case_id) is not None


def keep(cases: list[Case], which: str) -> list[Case]:
    return [c for c in cases if which == "all" or (which == "deep") == is_deep(c)]


def dataset_loro(data: list[Case], every: list[Case], which: tuple[str, ...]) -> None:
    """Inside the dataset, leave one repository out: fitted on the others' cases of `data`,
    measured on all the held-out repository's cases (`every`), its window cases (recent culprits)
    and deep cases (old ones) apart."""
    ranks: dict[str, dict[str, list]] = {"window": {}, "deep": {}}
    for project in sorted({c.project for c in every}):
        train = [c for c in data if c.project != project]
        test = [c for c in every if c.project == project]
        for name, rank in systems(train, lambda c: c.project, which).items():
            for kind in ranks:
                ranks[kind].setdefault(name, []).extend(rank([c for c in test if is_deep(c) == (kind == "deep")]))
        print(f"  dataset fold {project} done", file=sys.stderr)
    for kind, found in ranks.items():
        if any(found.values()):
            report(f"Python dataset ({kind} cases), leave one repository out", found)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", type=Path, help="dev-split features (scripts/ltr_collect.py)")
    ap.add_argument("--data", type=Path, help="the dataset's features (scripts/dataset_build.py)")
    ap.add_argument("--track", type=Path, help="Python-track features (held-out libraries)")
    ap.add_argument("--systems", default="linear,listwise,lambdarank")
    ap.add_argument("--data-cases", choices=("all", "window", "deep"), default="all",
                    help="which dataset cases to train on: all, only those seeded in a window (recent "
                         "culprits), or only the deep ones (older culprits)")
    ap.add_argument("--loro", action="store_true", help="also leave one repository out inside the dataset")
    ap.add_argument("--save", type=Path, help="train lambdarank on everything given and save it here (JSON)")
    args = ap.parse_args(argv)
    which = tuple(args.systems.split(","))
    dev = load_dir(args.dev) if args.dev else []
    data = keep(load_dir(args.data), args.data_cases) if args.data else []
    print(f"{len(dev)} dev cases, {len(data)} dataset cases "
          f"({len({c.project for c in data})} repositories)", file=sys.stderr)
    if dev:
        report("Dev split, nested leave-one-project-out, trained on dev folds only", nested_lopo(dev, [], which))
        if data:
            report("Dev split, nested LOPO, trained on dev folds + the Python dataset",
                   nested_lopo(dev, data, which))
            ranks: dict[str, list] = {}
            for name, rank in systems(data, lambda c: c.project, which).items():
                ranks[name] = rank(dev)
            report("Dev split, trained on the Python dataset alone (no Defects4J case)", ranks)
    if data and args.track:
        for key in ("whole", "since"):
            # A deep case's good revision is drawn just before its culprit (scripts/dataset_deep.py),
            # so since it the culprit is nearly the oldest commit: only window cases train `since`.
            train = keep(load_dir(args.data, key), args.data_cases if key == "whole" else "window")
            track = load_dir(args.track, key)
            ranks = {}
            for name, rank in systems(train, lambda c: c.project, which).items():
                ranks[name] = rank(track)
            report(f"Python track ({key}), held out by repository; trained on {len(train)} dataset cases", ranks)
    if data and args.loro:
        dataset_loro(data, load_dir(args.data), which)
    if args.save:
        train = dev + data
        nall = list(range(len(COLUMNS)))
        params = choose_params(train, nall, lambda c: c.project)
        save(lgb_fit(train, params, nall), args.save, params, train)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fit retrieval's feature weights on the dev cases, with leave-one-project-out figures.

Runs `rca suspects --explain` once per case (indexes must exist: run bench_run.py first), keeps
every candidate's features, then grid-searches the weights: for each project, the weights are
fitted on the other projects and measured on it, so the figures printed are honest. Prints the
hand-set weights' figures beside the fitted ones, and the weights fitted on all cases.

    python scripts/bench_tune.py [--only Lang,Cli] [--cache /tmp/rca-features.json] [--drop authorship] [--try data]

`--drop F` holds feature F at weight 0, to measure what it adds (same cases, same folds); `--try F`
fits a feature held at 0 since it was tried (TRIED) over its old grid again; `--bagged 200` also fits
each fold by bagging and prints how far each weight wavers over resamples of the cases. Every case
is ranked under every set of the grid once (`Grid`), so a fit on any subset is a few array sums.
Put the project on PYTHONPATH to measure a work tree other than the installed one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import default_bench_dir, load_cases, parse_only  # noqa: E402
from bench_metrics import print_table, summarize  # noqa: E402

from rca_lsp.kinds import Feature  # noqa: E402
from rca_lsp.suspects.retrieve import Weights  # noqa: E402

FEATURES = ("frame", "code", "words", "recency", "file", "owner", "authorship", "coupling", "data", "since_test",
            "executed", "blamed", "blamed_newest", "size")
HAND = {"frame": 1.0, "code": 1.0, "words": 0.5, "recency": 0.05, "file": 0.0, "owner": 0.0, "authorship": 0.0,
        "coupling": 0.0, "data": 0.0, "since_test": 0.0, "executed": 1.0, "blamed": 0.0, "blamed_newest": 0.0,
        "size": 0.0}
GRID = {"frame": (1.0, 1.5, 2.0, 3.0), "code": (1.0,), "words": (0.5, 1.0, 1.5), "recency": (0.2, 0.4, 0.7, 1.0),
        "file": (0.0, 0.25, 0.5), "owner": (0.25,),
        "authorship": (0.0, 0.1, 0.25, 0.5, 1.0), "coupling": (0.0, 0.25, 0.5, 1.0),
        "data": (0.0,), "since_test": (1.5,), "executed": (1.0,), "blamed": (0.0,), "blamed_newest": (0.0,),
        "size": (0.0,)}
# owner: no dev case has owner files, nothing to fit; since_test: no dev case has a committed failing test
# changed before HEAD, set on the Python training repositories (scripts/bench_test_change.py)
# Features fitted once and held at 0 since, with the grid they were fitted over: `--try data` fits it
# again. data (the failing test's strings): the folds chose 0.25 to 0.5 and the held-out projects lost.
# executed (lines the failing test ran, `--coverage`): set on the Python track, 0 without a report; `--try
# executed` fits it inside each fold instead. blamed, blamed_newest (the reached functions' lines at HEAD,
# blamed: what SZZ and Fonte read) and size (log(1 + lines changed) over its largest among the candidates:
# just-in-time defect prediction's strongest predictor) were fitted on the dev split in the thirty-first
# sitting and the held-out projects lost (BENCHMARKS.md); the trees for regressions read the first two.
TRIED = {"data": (0.0, 0.25, 0.5, 1.0), "executed": (0.5, 1.0, 2.0, 3.0), "blamed": (0.0, 0.25, 0.5, 1.0),
         "blamed_newest": (0.0, 0.25, 0.5, 1.0), "size": (0.0, 0.1, 0.25, 0.5)}
DERIVED = {"size"}  # computed here from the rows' context (log_lines), not a feature rca scores


def shipped() -> dict[str, float]:
    """rca's shipped weights by FEATURES (a feature derived here, not scored by rca, at 0)."""
    return {k: 0.0 if k in DERIVED else float(Weights().of(Feature(k))) for k in FEATURES}


def collect(case: dict, since_good: bool = False, coverage: Path | None = None) -> dict:
    """Every candidate's features; with `coverage`, ranked with the case's report there, if it has one
    (bench_jacoco.py writes none where the test does not compile: ranked without, as a user would be)."""
    cmd = [sys.executable, "-m", "rca_lsp", "suspects", "--repo", case["repo"], "--trace", case["trace"],
           "--format", "json", "--top", "0", "--explain"]
    if since_good:
        cmd += ["--since", case["good"]]
    report = coverage / f"{case['case_id']}.xml" if coverage is not None else None
    if report is not None and report.exists():
        cmd += ["--coverage", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{case['case_id']}: {proc.stderr.strip()[-300:]}")
    doc = json.loads(proc.stdout)
    return {"case_id": case["case_id"], "project": case["project"], "bic": case["bic"],
            "coverage": "--coverage" in cmd, "rows": [(s["commit"], s.get("features", {})) for s in doc["suspects"]]}


def _matrix(case: dict, features: tuple[str, ...] = FEATURES) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Features of every candidate (rows) by `features` (columns), recency, and the BIC's row."""
    key = "_matrix:" + ",".join(features)
    if key not in case:
        largest = max((f.get("log_lines", 0.0) for _, f in case["rows"]), default=0.0) or 1.0
        table = np.array([[f.get("log_lines", 0.0) / largest if k == "size" else f.get(k, 0.0) for k in features]
                          for _, f in case["rows"]], dtype=float)
        table = table.reshape(-1, len(features))
        mine = next((i for i, (commit, _) in enumerate(case["rows"]) if commit == case["bic"]), None)
        case[key] = (table, table[:, features.index("recency")].copy(), mine)
    return case[key]


def rank(case: dict, weights: dict[str, float], features: tuple[str, ...] = FEATURES) -> int | None:
    """The BIC's 1-based rank under `weights` (ties broken by recency, as rca does)."""
    table, recency, mine = _matrix(case, features)
    if mine is None:
        return None
    scores = table @ np.array([weights[k] for k in features])
    ahead = (scores > scores[mine]) | ((scores == scores[mine]) & (recency > recency[mine]))
    return 1 + int(ahead.sum())


def objective(cases: list[dict], weights: dict[str, float]) -> tuple[float, float]:
    summary = summarize([rank(c, weights) for c in cases])
    return summary["mrr"] + summary["top5"] / 100.0, summary["top50"]


def fit(cases: list[dict], grid: dict[str, tuple[float, ...]]) -> dict[str, float]:
    """The grid's best weights on `cases` (the objective above; the first in grid order on a tie)."""
    return Grid(cases, grid).fit(range(len(cases)))


class Grid:
    """Every weight set of a grid ranked on every case once (a rank matrix), so that a fit on any
    subset or resample of the cases is a few array sums: the bagged fit and the folds reuse it."""

    def __init__(self, cases: list[dict], grid: dict[str, tuple[float, ...]], by_project: bool = False):
        self.cases = cases
        self.by_project = by_project
        self.sets = [dict(zip(FEATURES, values)) for values in itertools.product(*(grid[k] for k in FEATURES))]
        ranks = np.array([[rank(c, w) or 0 for c in cases] for w in self.sets], dtype=float).reshape(
            len(self.sets), len(cases))
        self.rr = np.where(ranks > 0, 1.0 / np.where(ranks > 0, ranks, 1.0), 0.0)
        self.top5 = (ranks > 0) & (ranks <= 5)
        self.top50 = (ranks > 0) & (ranks <= 50)

    def fit(self, picks) -> dict[str, float]:
        """The best set on the cases at `picks` (indices, repeats counted; as `fit` on that list)."""
        picks = np.asarray(list(picks), dtype=int)
        if self.by_project:
            return self._fit_by_project(picks)
        counts = np.bincount(picks, minlength=len(self.cases)).astype(float)
        score = (self.rr @ counts) / len(picks) + (self.top5 @ counts) / len(picks)
        near = np.flatnonzero(score >= score.max() - 1e-9)
        if len(near) == 1:
            return self.sets[int(near[0])]
        chosen = [self.cases[i] for i in picks]  # near ties: the exact objective, first in grid order
        best, best_score = HAND, (-1.0, -1.0)
        for g in near:
            exact = objective(chosen, self.sets[int(g)])
            if exact > best_score:
                best, best_score = self.sets[int(g)], exact
        return best

    def _fit_by_project(self, picks: np.ndarray) -> dict[str, float]:
        """As `fit`, each project of `picks` weighing the same (each case 1 / its project's cases):
        the objective averaged over projects, ties by the same average of top-50, then grid order."""
        projects = [self.cases[i]["project"] for i in picks]
        size = {p: projects.count(p) for p in set(projects)}
        weight = np.zeros(len(self.cases))
        for i, p in zip(picks, projects):
            weight[i] += 1.0 / size[p] / len(size)
        score = self.rr @ weight + self.top5 @ weight
        near = np.flatnonzero(score >= score.max() - 1e-9)
        return self.sets[int(near[np.argmax(self.top50[near] @ weight)])]  # argmax: the first of equals

    def bagged(self, picks, rounds: int = 200, seed: int = 0) -> tuple[dict[str, float], dict[str, float]]:
        """The mean of the best sets on `rounds` bootstrap resamples of the cases at `picks` (rounded to
        0.05), and each weight's spread (standard deviation) over the resamples."""
        picks = np.asarray(list(picks), dtype=int)
        rng = np.random.default_rng(seed)
        chosen = np.array([[self.fit(rng.choice(picks, len(picks)))[k] for k in FEATURES] for _ in range(rounds)])
        mean = {k: round(float(v) * 20) / 20 for k, v in zip(FEATURES, chosen.mean(axis=0))}
        return mean, {k: float(v) for k, v in zip(FEATURES, chosen.std(axis=0))}


def fitted_without(data: list[dict], plain: list[dict], grid: dict[str, tuple[float, ...]],
                   by_project: bool = False) -> dict[str, list[int | None]]:
    """Leave-one-project-out ranks of the `plain` rows (collected without coverage) and of `data`
    ranked by the weights each fold fits on `plain`: what the shipped weights, fitted without coverage,
    give a run with it. Both in the cases' order, as the other rows."""
    if [c["case_id"] for c in plain] != [c["case_id"] for c in data]:
        raise SystemExit("--fit-without: the two caches hold different cases")
    table = Grid(plain, grid, by_project)
    alone: list[int | None] = [None] * len(data)
    mixed: list[int | None] = [None] * len(data)
    for project in sorted({c["project"] for c in data}):
        weights = table.fit(i for i, c in enumerate(plain) if c["project"] != project)
        for i, c in enumerate(data):
            if c["project"] == project:
                alone[i], mixed[i] = rank(plain[i], weights), rank(c, weights)
    return {"without: fitted, leave-one-project-out": alone, "fitted without, leave-one-project-out": mixed}


def beside_fonte(data: list[dict], rows: dict[str, list[int | None]], path: Path) -> None:
    """Each row's ranks on the dev cases Fonte's published ranking covers, and Fonte's own."""
    import csv

    from ltr_train import paired

    with open(path, newline="") as fh:
        fonte = {f"{r['pid']}-{r['vid']}": int(r["rank"]) for r in csv.DictReader(fh)}
    where = [i for i, c in enumerate(data) if c["case_id"] in fonte]
    if not where:
        raise SystemExit(f"{path} ranks none of these cases")
    theirs: list[int | None] = [fonte[data[i]["case_id"]] for i in where]
    print_table(f"the {len(where)} cases Fonte ranks", {"Fonte (published ranks)": theirs,
                                                        **{k: [v[i] for i in where] for k, v in rows.items()}},
                (1, 3, 5, 10, 50))
    for name, ranks in rows.items():
        print(f"{name} against Fonte: {paired([ranks[i] for i in where], theirs)}")


def _short(weights: dict[str, float], grid: dict[str, tuple[float, ...]], digits: int = 2) -> str:
    """The weights `grid` fits (more than one value), as `frame 1.5, words 1.0, ...`."""
    return ", ".join(f"{k} {round(weights[k], digits)}" for k in FEATURES if len(grid[k]) > 1)


def _data(args, coverage: Path | None) -> list[dict]:
    """Every case's features: from `--cache` when it exists, else collected (and saved there)."""
    if args.cache and args.cache.exists():
        return json.loads(args.cache.read_text())
    data = []
    for case in load_cases(args.dir, parse_only(args.only)):
        data.append(collect(case, args.since_good, coverage))
        print(f"collected {case['case_id']}", file=sys.stderr)
    if args.cache:
        args.cache.write_text(json.dumps(data))
    return data


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_bench_dir())
    ap.add_argument("--only")
    ap.add_argument("--cache", type=Path, help="reuse/save collected features here")
    ap.add_argument("--since-good", action="store_true",
                    help="rank only the commits after each case's `good` revision (the Python track's window)")
    ap.add_argument("--drop", action="append", default=[], choices=FEATURES, help="hold this feature's weight at 0")
    ap.add_argument("--try", dest="tried", action="append", default=[], choices=sorted(TRIED),
                    help="fit this feature, held at 0 since it was tried, over its old grid again")
    ap.add_argument("--coverage", action="store_true",
                    help="rank each case with its failing tests' JaCoCo report (scripts/bench_jacoco.py)")
    ap.add_argument("--coverage-dir", type=Path, help="where the reports are (default <dir>/coverage)")
    ap.add_argument("--fit-without", type=Path, metavar="CACHE",
                    help="a --cache of the same cases collected without coverage: each fold's weights are also "
                         "fitted on its rows (as the shipped weights were) and rank the collected rows; paired "
                         "tests against that cache's own leave-one-project-out ranks")
    ap.add_argument("--fonte", type=Path, metavar="CSV",
                    help="Fonte's published ranks (coinse/fonte experiment_results/ranking/.../max-0-0.1.csv: pid, "
                         "vid, rank): every row above on the dev cases it ranks, beside it, with paired tests")
    ap.add_argument("--by-project", action="store_true",
                    help="fit each project as much as every other (the objective averaged over projects), not "
                         "each case")
    ap.add_argument("--bagged", type=int, metavar="B", default=0,
                    help="also fit each fold by bagging: the mean of the best sets on B bootstrap resamples of its "
                         "cases (the spread says how stable the fit is)")
    return ap


def main() -> int:
    args = _parser().parse_args()
    coverage = (args.coverage_dir or args.dir / "coverage") if args.coverage else None
    grid = {k: (0.0,) if k in args.drop else TRIED[k] if k in args.tried else v for k, v in GRID.items()}
    data = _data(args, coverage)
    if coverage is not None:
        print(f"{sum(c.get('coverage', False) for c in data)} of {len(data)} cases ranked with a coverage report",
              file=sys.stderr)
    projects = sorted({c["project"] for c in data})
    table = Grid(data, grid, args.by_project)
    lopo_ranks: list[int | None] = [None] * len(data)
    bagged_ranks: list[int | None] = [None] * len(data)
    for project in projects:
        train = [i for i, c in enumerate(data) if c["project"] != project]
        test = [i for i, c in enumerate(data) if c["project"] == project]
        weights = table.fit(train)
        for i in test:
            lopo_ranks[i] = rank(data[i], weights)
        print(f"fold {project}: weights {_short(weights, grid)}", file=sys.stderr)
        if args.bagged:
            mean, spread = table.bagged(train, args.bagged)
            for i in test:
                bagged_ranks[i] = rank(data[i], mean)
            print(f"fold {project}: bagged {_short(mean, grid)} (spread {_short(spread, grid)})", file=sys.stderr)
    rows = {"hand-set weights": [rank(c, HAND) for c in data], "shipped weights": [rank(c, shipped()) for c in data],
            "fitted, leave-one-project-out": lopo_ranks}
    if args.bagged:
        rows["bagged fit, leave-one-project-out"] = bagged_ranks
    if args.fit_without:
        rows.update(fitted_without(data, json.loads(args.fit_without.read_text()), grid, args.by_project))
    print_table("weights", rows, (1, 3, 5, 10, 50))
    if args.fit_without:
        from ltr_train import paired

        base = rows["without: fitted, leave-one-project-out"]
        for name in ("fitted, leave-one-project-out", "fitted without, leave-one-project-out"):
            print(f"{name} against without: {paired(rows[name], base)}")
    if args.fonte:
        beside_fonte(data, rows, args.fonte)
    if args.bagged:
        from ltr_train import paired

        print(f"bagged against fitted: {paired(bagged_ranks, lopo_ranks)}")
        mean, spread = table.bagged(range(len(data)), args.bagged)
        print(f"bagged weights fitted on all cases: {_short(mean, grid)} (spread {_short(spread, grid)})")
    print(f"weights fitted on all cases: {_short(table.fit(range(len(data))), grid)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

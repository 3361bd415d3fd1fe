#!/usr/bin/env python3
"""The model's share (issue #15): what the tuned Llama scorer adds to the ranking that ships.

Each held-out set is given as examples (scripts/llm_data.py: the tool's own ranking, so the fusion
for regressions where it applies, and its top K as the model reads them) and the model's score of
each candidate (`llm_train.py eval --onnx MODEL --json`). The ranking with the model's features and
without them are compared on the same cases:

- *without*: the tool's ranking as it ships (the examples' `retrieval_rank`);
- *fixed weight*: `rca_lsp.ranker.fusion.fuse` (what `--ranker llm` does) at the weight of
  WEIGHTS that gives the best MRR on the *other* sets;
- *second stage*: a conditional logit over the top K (the tool's score and the model's, each as a
  z-score within the case, and whether each puts the candidate first), fitted on the other sets
  alone, its L2 chosen by leaving one of their repositories out.

Cross-fitted by set: what ranks a set was chosen and fitted on the others only, so no figure is
tuned on the cases it reports. A culprit the tool left below K keeps its rank (re-ranking the top K
cannot reach it). Paired tests (McNemar on top-1, Wilcoxon on reciprocal rank) against *without*.

    python scripts/llm_share.py --set mi=mi.jsonl:mi.scores.json --set p3=p3.jsonl:p3.scores.json ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

WEIGHTS = (0.05, 0.1, 0.25, 0.5, 1.0)
L2 = (0.01, 0.1, 1.0, 10.0)
FEATURES = ("the tool's z-score", "the model's z-score", "the tool's first", "the model's first")


def rows(e, model: list[float]):
    """FEATURES for each of the example's candidates."""
    import numpy as np

    from rca_lsp.ranker.fusion import zscores

    tool = list(e.scores)
    first_t = max(range(len(tool)), key=lambda j: (tool[j], -j))
    first_m = max(range(len(model)), key=lambda j: (model[j], -j))
    zt, zm = zscores(tool), zscores(model)
    return np.array([[zt[j], zm[j], j == first_t, j == first_m] for j in range(len(model))], dtype=float)


def fit(examples, scores: dict) -> dict:
    """The second stage on `examples` whose culprit is in the top K; L2 by leave-one-repository-out
    (llm_loro's learned fusion over these rows)."""
    from llm_loro import fit_fusion

    return fit_fusion(examples, scores, {e.case_id: e.project for e in examples}, rows=rows, grid=L2)


def stage_ranks(model: dict, examples, scores: dict) -> list[int]:
    from llm_loro import fusion_ranks

    return fusion_ranks(model, examples, scores, rows)


def figures(ranks: list[int]) -> str:
    n = len(ranks) or 1
    return (f"{100 * sum(r == 1 for r in ranks) / n:.1f} / {100 * sum(r <= 5 for r in ranks) / n:.1f} / "
            f"{sum(1 / r for r in ranks) / n:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", required=True, metavar="NAME=EXAMPLES:SCORES",
                    help="a held-out set: its examples (llm_data.py) and the model's scores (llm_train.py eval --json)")
    args = ap.parse_args(argv)
    from ltr_train import paired
    from rca_lsp.ranker import tune

    sets: dict[str, list] = {}
    scores: dict[str, list[float]] = {}  # by "set/case id": two samples of one library share case ids
    for spec in args.set:
        name, _, paths = spec.partition("=")
        ex, _, sc = paths.partition(":")
        if not name or not ex or not sc or name in sets:
            ap.error(f"--set {spec!r}: expected NAME=EXAMPLES:SCORES, each NAME once")
        examples = tune.read_examples(Path(ex))
        given = {d["case_id"]: d["model"] for d in json.loads(Path(sc).read_text(encoding="utf-8"))}
        missing = [e.case_id for e in examples if e.case_id not in given]
        if missing:
            ap.error(f"{sc} has no model scores for {len(missing)} of {name}'s cases (first: {missing[0]})")
        sets[name] = [dataclasses.replace(e, case_id=f"{name}/{e.case_id}") for e in examples]
        scores.update({f"{name}/{case_id}": values for case_id, values in given.items()})
    if len(sets) < 2:
        ap.error("give at least two sets: each is ranked by what the others fit")
    table: dict[str, dict[str, list[int]]] = {"without": {}, "model alone": {}, "fixed weight": {}, "second stage": {}}
    chosen = {}
    for name, held in sets.items():
        others = [e for n, es in sets.items() if n != name for e in es]
        table["without"][name] = [e.retrieval_rank or e.label + 1 for e in held]
        table["model alone"][name] = tune.culprit_ranks([(e, scores[e.case_id]) for e in held])
        mrr = {w: sum(1 / r for r in tune.culprit_ranks([(e, scores[e.case_id]) for e in others], w)) for w in WEIGHTS}
        w = max(WEIGHTS, key=lambda v: (mrr[v], -v))
        table["fixed weight"][name] = tune.culprit_ranks([(e, scores[e.case_id]) for e in held], w)
        model = fit(others, scores)
        table["second stage"][name] = stage_ranks(model, held, scores)
        chosen[name] = (w, model["l2"], [round(float(v), 3) for v in model["weights"]])
    print("top-1 / top-5 / MRR; each set ranked by what the other sets chose and fitted\n")
    print("| ranking | " + " | ".join(f"{n} ({len(sets[n])})" for n in sets) + " | pooled | against without, pooled |")
    print("|---|" + "---|" * (len(sets) + 2))
    pooled_without = [r for n in sets for r in table["without"][n]]
    for system, by_set in table.items():
        pooled = [r for n in sets for r in by_set[n]]
        vs = "" if system == "without" else paired(pooled, pooled_without)
        print(f"| {system} | " + " | ".join(figures(by_set[n]) for n in sets) + f" | {figures(pooled)} | {vs} |")
    print("\nchosen on the other sets (fixed weight; second stage's L2 and weights over "
          + ", ".join(FEATURES) + "):")
    for name, (w, l2, weights) in chosen.items():
        print(f"  {name}: weight {w}; L2 {l2}, weights {weights}")
    within = sum(e.within for es in sets.values() for e in es)
    print(f"\n{within} of {sum(map(len, sets.values()))} culprits are in the top K the model re-orders")
    return 0


if __name__ == "__main__":
    sys.exit(main())

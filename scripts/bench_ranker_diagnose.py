#!/usr/bin/env python3
"""Why the model does not help: the size effect of (b) and the position bias of (a). A diagnostic.

(b) query likelihood: per case, the Spearman correlation between the model's score and the lines a
candidate changes, how many other candidates change more lines than the culprit, and how the score
ranks once the size is regressed out (a least-squares line on log lines, per case).

(a) labelled choice: bench_ranker.py finds that the model alone ranks the top 20 nearly as well
as retrieval, and that it answers "(A)", retrieval's first, most of the time. This script asks the
same question four ways per case and compares:

- forward: the candidates in retrieval's order (as the first round of `label_choice`);
- both orders: the mean of forward and reversed order, which cancels position bias;
- calibrated: minus the same prompt's label log-probabilities with the failure replaced by "N/A"
  (contextual calibration, Zhao et al. 2021): what the failure itself adds;
- calibrated, both orders.

It reads the per-case rows that bench_ranker.py cached (same cases, same top K) and fits the fusion
weight leave-one-project-out as bench_ranker does.

    python scripts/bench_ranker.py --cache /tmp/ranker-dev.json
    python scripts/bench_ranker_diagnose.py --ranker-cache /tmp/ranker-dev.json --cache /tmp/debias-dev.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import default_bench_dir, load_cases  # noqa: E402
from bench_metrics import print_table  # noqa: E402
from bench_ranker import fit, fused_rank  # noqa: E402

NO_FAILURE = "N/A"


def ask(case: dict, row: dict, model, since_good: bool) -> dict:
    """Label log-probabilities: with and without the failure, candidates forward and reversed."""
    from rca_lsp.index import Index
    from rca_lsp.ranker import diffs, prompt
    from rca_lsp.ranker.score import Budget, _choice_round, candidate_text
    from rca_lsp.suspects import find_suspects
    from rca_lsp.vcs import open_repo

    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    repo = open_repo(case["repo"])
    with Index.open(repo.meta_dir, readonly=True) as index:
        result = find_suspects(repo, index, text, top=0, since=case["good"] if since_good else None)
    by_hash = {s.commit.hash: s for s in result.suspects}
    suspects = [by_hash[h] for h in row["top"]]
    failure = prompt.failure_text(result.traces, text)
    started = time.perf_counter()
    texts = [candidate_text(model, s.commit.message, diffs.hunks(repo, s.commit.hash, s.evidence),
                            Budget().choice_tokens)
             for s in suspects]
    back = list(reversed(range(len(texts))))

    def reversed_round(failure_text: str) -> list[float]:
        scores = _choice_round(model, failure_text, [texts[i] for i in back])
        out = [0.0] * len(texts)
        for pos, i in enumerate(back):
            out[i] = scores[pos]
        return out

    return {"with": _choice_round(model, failure, texts), "without": _choice_round(model, NO_FAILURE, texts),
            "with_rev": reversed_round(failure), "without_rev": reversed_round(NO_FAILURE),
            "seconds": time.perf_counter() - started}


def changed_lines(repo: str, sha: str) -> int:
    out = subprocess.run(["git", "-C", repo, "show", "--numstat", "--format=", sha],
                         capture_output=True, text=True, check=True).stdout
    return sum(int(a) + int(b) for a, b, *_ in (ln.split("\t") for ln in out.splitlines()) if a.isdigit() and b.isdigit())


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):  # ties share their mean rank
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float | None:
    rx, ry = _ranks(x), _ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else None


def residual(x: list[float], y: list[float]) -> list[float]:
    """y minus its least-squares line on x."""
    mx, my = statistics.mean(x), statistics.mean(y)
    sxx = sum((a - mx) ** 2 for a in x)
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx if sxx else 0.0
    return [b - my - slope * (a - mx) for a, b in zip(x, y)]


def size_effect(rows: list[dict], cases: dict) -> None:
    rhos, bigger = [], []
    for row in rows:
        lines = [math.log1p(changed_lines(cases[row["case_id"]]["repo"], h)) for h in row["top"]]
        score = row["model"]["likelihood"]
        if (rho := spearman(score, lines)) is not None:
            rhos.append(rho)
        if row["bic"] in row["top"]:
            i = row["top"].index(row["bic"])
            bigger.append(sum(v > lines[i] for j, v in enumerate(lines) if j != i) / (len(lines) - 1))
        row["model"]["likelihood, size regressed out"] = residual(lines, score)
    print(f"(b): Spearman(score, log changed lines) per case: mean {statistics.mean(rhos):+.3f}; "
          f"other candidates changing more lines than the culprit: {100 * statistics.mean(bigger):.0f}%")


VARIANTS = {
    "forward": lambda a: a["with"],
    "both orders": lambda a: [(x + y) / 2 for x, y in zip(a["with"], a["with_rev"])],
    "calibrated": lambda a: [x - y for x, y in zip(a["with"], a["without"])],
    "calibrated, both orders": lambda a: [(x + y - u - v) / 2 for x, y, u, v in
                                          zip(a["with"], a["with_rev"], a["without"], a["without_rev"])],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_bench_dir())
    ap.add_argument("--ranker-cache", type=Path, required=True, help="bench_ranker.py's --cache")
    ap.add_argument("--cache", type=Path, required=True, help="reuse/save this script's per-case answers here")
    ap.add_argument("--since-good", action="store_true")
    args = ap.parse_args()
    cases = {c["case_id"]: c for c in load_cases(args.dir)}
    rows = [r for r in json.loads(args.ranker_cache.read_text()) if r["case_id"] in cases]
    answers = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    todo = [r for r in rows if r["case_id"] not in answers]
    if todo:
        from rca_lsp.ranker.session import LogProbModel

        model = LogProbModel()
        for row in todo:
            answers[row["case_id"]] = ask(cases[row["case_id"]], row, model, args.since_good)
            args.cache.write_text(json.dumps(answers))
            print(f"{row['case_id']}: {answers[row['case_id']]['seconds']:.2f} s", file=sys.stderr)
    for row in rows:
        for name, variant in VARIANTS.items():
            row["model"][name] = variant(answers[row["case_id"]])
    projects = sorted({r["project"] for r in rows})
    table = {"retrieval alone": [r["retrieval_rank"] for r in rows]}
    size_effect(rows, cases)
    for name in ("likelihood", "likelihood, size regressed out", "choice", *VARIANTS):
        label = {"choice": "(a) shipped tournament", "likelihood": "(b) likelihood"}.get(name, name)
        table[f"model alone: {label}"] = [fused_rank(r, name, 1e6) for r in rows]
        lopo = []
        for project in projects:
            weight = fit([r for r in rows if r["project"] != project], name)
            lopo += [fused_rank(r, name, weight) for r in rows if r["project"] == project]
        table[f"fused, LOPO: {label}"] = lopo
    print_table("system", table)
    chance = [sum(1 / i for i in range(1, len(r["top"]) + 1)) / len(r["top"]) if r["bic"] in r["top"]
              else (1 / r["retrieval_rank"] if r["retrieval_rank"] else 0.0) for r in rows]
    print(f"a random order of the top K: MRR {statistics.mean(chance):.3f} (expected)")
    print(f"four prompts per case: median {statistics.median(a['seconds'] for a in answers.values()):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

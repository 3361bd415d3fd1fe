"""Re-rank retrieval's top K with the model, fusing both scores.

fused = retrieval score + weight * (largest |retrieval score| of the K) * (model score's z-score within the K)

so the weight is unit-free: 0 keeps retrieval's order, 1 lets one standard deviation of the model move a
candidate by the best candidate's whole retrieval score. The scale is a magnitude: the fusion for
regressions' scores (a linear model's) may all be negative, and a negative scale would turn the
model's preference upside down. The weight is fitted on the dev split with
leave-one-project-out validation by scripts/bench_ranker.py (figures in models/README.md).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rca_lsp.kinds import EvidenceKind
from rca_lsp.ranker import diffs, prompt
from rca_lsp.ranker.score import FORMULATIONS, Budget, candidate_text, relevance
from rca_lsp.types import Evidence, Suspect

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fusion:
    weight: float = 0.0  # fitted on all dev cases by scripts/bench_ranker.py: the model earns no weight yet (models/README.md)
    formulation: str = ""  # "" = the model's own: its manifest's `extra.formulation` (a tuned model's), else likelihood


def zscores(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [0.0] * len(values)
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [0.0 if sd < 1e-9 else (v - mean) / sd for v in values]


def fuse(retrieval: list[float], model: list[float], weight: float) -> list[float]:
    top = max((abs(r) for r in retrieval), default=0.0) or 1.0
    return [r + weight * top * z for r, z in zip(retrieval, zscores(model))]


def model_scores(model, result, failure_raw: str, repo: Backend, k: int, formulation: str = "likelihood",
                 budget: Budget = Budget()) -> list[float]:
    """The model's score for each of retrieval's top `k` suspects, in retrieval's order; each
    suspect's patch comes from `repo` (a backend)."""
    if formulation == "relevance":
        from rca_lsp.ranker.inputs import case_texts

        case = case_texts(result, failure_raw, repo, k, model, budget)
        return relevance(model, case.failure, case.candidates, case.test)
    failure = prompt.failure_text(result.traces, failure_raw)
    per = budget.candidate_tokens if formulation == "likelihood" else budget.choice_tokens
    texts = []
    for s in result.suspects[:k]:
        hunks = diffs.hunks(repo, s.commit.hash, s.evidence)
        texts.append(candidate_text(model, s.commit.message, hunks, per))
    return FORMULATIONS[formulation](model, failure, texts, budget) if formulation == "likelihood" else \
        FORMULATIONS[formulation](model, failure, texts)


def _model_evidence(z: float, weight: float, formulation: str = "likelihood") -> Evidence:
    more = "more" if z >= 0 else "less"
    if formulation == "relevance":
        said = f"the tuned language model judges this change {more} likely the cause"
    else:
        said = f"the language model finds the failure {more} likely after this change"
    return Evidence(EvidenceKind.MODEL, round(weight * z, 6), f"{said} ({z:+.2f} sd among the top)")


def rerank(result, failure_text: str, repo: Backend, k: int = 20, model=None, fusion: Fusion = Fusion(),
           budget: Budget = Budget(), device: str = "auto"):
    """A new Result: retrieval's top `k` re-ordered by the fused score, the rest after them unchanged.
    `device` (auto, cpu, cuda) picks where a model loaded here runs; a `model` given keeps its own."""
    from rca_lsp.ranker.session import LogProbModel

    started = time.perf_counter()
    head = result.suspects[:max(k, 0)]
    if len(head) < 2:
        return result
    model = model or LogProbModel(device=device)
    formulation = fusion.formulation or model.manifest.extra.get("formulation", "likelihood")
    raw = model_scores(model, result, failure_text, repo, len(head), formulation, budget)
    if formulation == "choice":
        order = sorted(range(len(raw)), key=lambda i: (-raw[i], i))
        raw = [0.0] * len(raw)
        for pos, i in enumerate(order):
            raw[i] = -math.log(pos + 1)
    fused = fuse([s.score for s in head], raw, fusion.weight)
    zs = zscores(raw)
    ranked = sorted(range(len(head)), key=lambda i: (-fused[i], i))
    out: list[Suspect] = []
    for i in ranked:
        s = head[i]
        out.append(Suspect(s.commit, round(fused[i], 6), len(out) + 1, s.evidence + (_model_evidence(zs[i], fusion.weight, formulation),)))
    for s in result.suspects[len(head):]:
        out.append(dataclasses.replace(s, rank=len(out) + 1))
    timings = dict(result.timings, rerank=time.perf_counter() - started)
    warnings = list(result.warnings)
    if model.fallback and model.fallback not in warnings:  # --device cuda without CUDA: said with the rest
        warnings.append(model.fallback)
    log.info("re-ranked %d suspects with %s on %s (%s) in %.2f s", len(head), formulation, model.provider,
             model.variant, timings["rerank"])
    return dataclasses.replace(result, suspects=out, timings=timings, warnings=warnings)

"""Retrieval's ranking turned into a prior over the bisection range: who is likely the culprit.

A softmax of the top suspects' scores holds most of the mass; a uniform share is spread over every
commit of the range, so a commit retrieval missed (or ranked low) is still searched for, and a
wrong ranking costs a few extra runs, never a wrong answer. The constants are parameters so that a
benchmark can tune them (`scripts/bench_bisect.py`); a sharper prior saves runs when retrieval is
right and costs more when it is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rca_lsp.kinds import EvidenceKind
from rca_lsp.types import Suspect


@dataclass(frozen=True)
class PriorParams:
    # Fitted on the Python track by simulating the search with real rankings (BENCHMARKS.md).
    temperature: float = 1.0  # softmax temperature over retrieval scores (scores span about 0..5)
    uniform: float = 0.1  # share of the mass spread evenly over every commit of the range
    top: int = 5  # suspects that share the softmax part; the others get the uniform share only
    confirm_at: float = 0.5  # a candidate with this share of the remaining mass is tested directly
    outside: float = 0.02  # share of the mass left to commits none of whose lines the failing run executed

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.uniform <= 1 or self.top < 0 or not 0 < self.confirm_at <= 1 \
                or not 0 < self.outside <= 1:
            raise ValueError("prior: temperature > 0, 0 < uniform <= 1, top >= 0, 0 < confirm_at <= 1 and "
                             "0 < outside <= 1 are required")


def build_prior(window: Sequence[str], suspects: Sequence[Suspect],
                params: PriorParams = PriorParams()) -> dict[str, float]:
    """Commit -> probability of being the culprit, summing to 1 over `window`.

    When the failing run was traced, the commits whose lines it executed hold all but `outside` of
    the mass (on the Python track the culprit was among them in every case): a commit that only
    deleted code, or changed what Python's tracer cannot see, keeps a share and is still found."""
    if not window:
        return {}
    inside = set(window)
    ranked = [s for s in suspects if s.commit.hash in inside][:params.top]
    if not ranked:
        return dict.fromkeys(window, 1.0 / len(window))
    best = max(s.score for s in ranked)
    soft = {s.commit.hash: math.exp((s.score - best) / params.temperature) for s in ranked}
    total = sum(soft.values())
    prior = {h: (1 - params.uniform) * soft.get(h, 0.0) / total for h in window}
    ran = {s.commit.hash for s in suspects if s.commit.hash in inside and any(e.kind == EvidenceKind.EXECUTED for e in s.evidence)}
    if ran and len(ran) < len(window):
        for h in window:
            prior[h] += params.uniform * ((1 - params.outside) / len(ran) if h in ran else params.outside / (len(window) - len(ran)))
    else:
        for h in window:
            prior[h] += params.uniform / len(window)
    return prior

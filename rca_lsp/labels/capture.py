"""A confirmed answer made a label: the failure, every candidate with its features, the culprit.

Three ways in, one shape out: `rca failures resolve ID --culprit REV` and the editor's "this was it"
rank the failure again now (`rca_lsp.service.record_label`), a confirmed `rca bisect` hands over the ranking it
made, with its test runs (`record_bisect`).
"""

from __future__ import annotations

import logging
import time

from rca_lsp.kinds import Feature
from rca_lsp.labels.store import MAX_ROWS, Label, LabelError, record
from rca_lsp.suspects.learned import RETRIEVAL

log = logging.getLogger(__name__)


def retrieval_order(features: dict[str, dict[str, float]]) -> list[tuple[str, dict[str, float]]]:
    """Candidates in retrieval's linear order (ties to the newer commit), from their features alone."""
    from rca_lsp.suspects.retrieve import Weights

    w = Weights()

    def key(item):
        f = item[1]
        return (-sum(w.of(k) * f.get(k, 0.0) for k in RETRIEVAL), f.get(Feature.POSITION, 0.0))

    return sorted(features.items(), key=key)


def make(features: dict[str, dict[str, float]], culprit: str, failure: str, source: str, shown: list[str],
         ranker: str, head: str | None, runs: tuple[dict, ...] = ()) -> Label:
    """`shown`: the hashes as the ranker in use ordered them for the user."""
    if culprit not in features:
        raise LabelError(f"{culprit[:12]} is not among the {len(features)} candidate commits of this failure",
                         hint="the culprit must be a commit the failure's ranking considered: reachable from HEAD, and "
                              "after the revision it was ranked since, where it had one")
    order = retrieval_order(features)
    hashes = [h for h, _ in order]
    kept = order[:MAX_ROWS]
    if culprit not in dict(kept):
        kept.append((culprit, features[culprit]))
    rank = shown.index(culprit) + 1 if culprit in shown else None
    return Label(failure, culprit, tuple(kept), source, int(time.time()), head, ranker, rank,
                 hashes.index(culprit) + 1, len(order), runs)


def record_bisect(meta_dir: str, outcome) -> int | None:
    """The label of a confirmed bisection (None when nothing was confirmed or nothing was ranked).
    Never fails the bisection: a label that cannot be written is a warning."""
    if outcome.culprit is None or not outcome.confirmed or not outcome.features:
        return None
    runs = tuple({"commit": r.commit, "result": r.result, "exit_code": r.exit_code, "seconds": r.seconds}
                 for r in outcome.runs)
    try:
        label = make(dict(outcome.features), outcome.culprit.hash, outcome.failure, "bisect",
                     [s.commit.hash for s in outcome.suspects], "retrieval", outcome.bad, runs)
        return record(meta_dir, label)
    except Exception as exc:  # noqa: BLE001 - the bisection's answer stands whatever the label store does
        log.warning("the confirmed culprit was not recorded as a label: %s", exc)
        return None

"""What retrieval does not score but a learned ranker may use: each candidate's size, age and place
in history, the number of candidates, and whether the work tree holds uncommitted test files.

They tell two kinds of failure apart that weigh recency differently: a regression after a pull
(recent culprits; the failing test passed before and is committed) and an old bug found by a new
test (the developer's test is uncommitted; Defects4J's culprits lie a median 322 commits back).
Computed from the index alone, so training data (`rca suspects --explain`) and ranking see the
same values.
"""

from __future__ import annotations

import math

from rca_lsp.index import queries
from rca_lsp.kinds import Feature
from rca_lsp.suspects.history import History
from rca_lsp.testpaths import is_test_path

DAY = 86400.0


def context_features(history: History, live: set[str]) -> dict[int, dict[Feature, float]]:
    """{commit id: {name: value}} for every candidate; `live` are the work tree's uncommitted paths."""
    ids = list(history.position)
    if not ids:
        return {}
    files = queries.files_per_commit(history.index)
    lines = queries.lines_per_commit(history.index)
    dates = queries.commit_dates(history.index)
    head = min(ids, key=history.position.__getitem__)  # position 0
    head_date = dates.get(head, 0)
    n = len(ids)
    dirty = math.log1p(sum(1 for p in live if is_test_path(p)))
    return {c: {Feature.LOG_LINES: math.log1p(lines.get(c) or 0), Feature.LOG_FILES: math.log1p(files.get(c, 0)),
                Feature.LOG_AGE_DAYS: math.log1p(max(0, head_date - dates.get(c, head_date)) / DAY),
                Feature.POSITION: history.position[c] / n, Feature.LOG_CANDIDATES: math.log1p(n),
                Feature.DIRTY_TESTS: dirty}
            for c in ids}

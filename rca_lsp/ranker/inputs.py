"""What the model reads of one case, the same at ranking time and when its training data is made.

`case_texts(result, failure_raw, repo, k, codec, budget)` gives the failure (exception, message,
in-repository frames), the failing test's own code, and each of retrieval's top `k` suspects as its
summary and the changed lines of its hunks nearest the evidence (`diffs.compact`), every part cut to its token budget with the model's own
tokenizer. `scripts/llm_data.py` writes these texts for training; `fusion.model_scores` scores them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from rca_lsp.ranker import diffs, prompt
from rca_lsp.ranker.score import Budget, candidate_text
from rca_lsp.types import Trace
from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

MAX_TEST_LINES = 80
MAX_TEST_FILE = 2 * 1024 * 1024


@dataclass(frozen=True)
class CaseTexts:
    failure: str
    test: str
    candidates: list[str]  # in retrieval's order


def _test_ids(traces: list[Trace]):
    for trace in traces:
        for t in (trace, *trace.causes):
            if t.test and t.test.name:
                yield t.test, t.frames


def test_code(traces: list[Trace], root: str) -> str:
    """The failing test's function as it stands in the work tree (the first test a trace names whose
    file resolved and whose definition is found), at most MAX_TEST_LINES lines; "" when none is."""
    from rca_lsp.code.calls import analyze
    from rca_lsp.code.languages import language_for_path

    for test, frames in _test_ids(traces):
        paths = [test.path] + [f.path for f in frames if f.path and not f.external]
        for path in dict.fromkeys(p for p in paths if p):
            language = language_for_path(path)
            full = os.path.join(root, path)
            if language is None or not os.path.isfile(full) or os.path.getsize(full) > MAX_TEST_FILE:
                continue
            with open(full, "rb") as fh:
                source = fh.read()
            symbols = [s for s in analyze(source, language).symbols
                       if s.name == test.name and s.kind in ("function", "method")]
            if not symbols:
                continue
            s = symbols[0]
            lines = source.decode("utf-8", "replace").split("\n")[s.start_line - 1:s.end_line]
            return prompt.sanitise("\n".join(lines[:MAX_TEST_LINES]))
    return ""


def code_first(hunks: list[diffs.DiffHunk]) -> list[diffs.DiffHunk]:
    """Hunks of source files (a language the tool parses) before documents and data, each group in
    the evidence's order."""
    from rca_lsp.code.languages import language_for_path

    return sorted(hunks, key=lambda h: language_for_path(h.path) is None)


def cut(codec, text: str, tokens: int) -> str:
    """`text` cut to its first `tokens` tokens."""
    ids = codec.encode(text)
    return text if len(ids) <= tokens else codec.tokenizer.decode(ids[:tokens])


def case_texts(result, failure_raw: str, repo: Backend, k: int, codec, budget: Budget = Budget()) -> CaseTexts:
    """The failure, the test's code and the top `k` suspects' texts (see the module docstring).
    `codec` has the model's `encode`, `tokenizer` and `special_tokens` (a LogProbModel or a Codec)."""
    failure = cut(codec, prompt.failure_text(result.traces, failure_raw), budget.rel_failure_tokens)
    test = cut(codec, test_code(result.traces, repo.root), budget.test_tokens) if budget.test_tokens else ""
    texts = [candidate_text(codec, s.commit.message, code_first(diffs.hunks(repo, s.commit.hash, s.evidence)),
                            budget.rel_candidate_tokens, compact=True) for s in result.suspects[:k]]
    return CaseTexts(failure, test, texts)

"""What the model reads of one case, the same at ranking time and when its training data is made.

`case_texts(result, failure_raw, repo, k, codec, budget)` gives the failure (exception, message,
in-repository frames), the failing test's own code (as retrieval found it), and each of retrieval's
top `k` suspects as its summary and the changed lines of its hunks nearest the evidence
(`diffs.compact`), every part cut to its token budget with the model's own tokenizer.
`scripts/llm_data.py` writes these texts for training; `fusion.model_scores` scores them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rca_lsp.ranker import diffs, prompt
from rca_lsp.ranker.score import Budget, candidate_text
from rca_lsp.suspects.retrieve import Result
from rca_lsp.vcs.base import Backend

MAX_TEST_LINES = 80


@dataclass(frozen=True)
class CaseTexts:
    failure: str
    test: str
    candidates: list[str]  # in retrieval's order


def test_code(result: Result) -> str:
    """The first failing test method's code as retrieval found it (`Result.test_code`: the test's
    own method, or the one its class inherits), at most MAX_TEST_LINES lines; "" when none was."""
    code = result.test_code or ("",)
    return prompt.sanitise("\n".join(code[0].split("\n")[:MAX_TEST_LINES]))


def code_first(hunks: list[diffs.DiffHunk]) -> list[diffs.DiffHunk]:
    """Hunks of source files (a language the tool parses) before documents and data, each group in
    the evidence's order."""
    from rca_lsp.code.languages import language_for_path

    return sorted(hunks, key=lambda h: language_for_path(h.path) is None)


def cut(codec, text: str, tokens: int) -> str:
    """`text` cut to its first `tokens` tokens."""
    ids = codec.encode(text)
    return text if len(ids) <= tokens else codec.tokenizer.decode(ids[:tokens])


def case_texts(result: Result, failure_raw: str, repo: Backend, k: int, codec, budget: Budget = Budget()) -> CaseTexts:
    """The failure, the test's code and the top `k` suspects' texts (see the module docstring).
    `codec` has the model's `encode`, `tokenizer` and `special_tokens` (a LogProbModel or a Codec)."""
    failure = cut(codec, prompt.failure_text(result.traces, failure_raw), budget.rel_failure_tokens)
    test = cut(codec, test_code(result), budget.test_tokens) if budget.test_tokens else ""
    texts = [candidate_text(codec, s.commit.message, code_first(diffs.hunks(repo, s.commit.hash, s.evidence)),
                            budget.rel_candidate_tokens, compact=True) for s in result.suspects[:k]]
    return CaseTexts(failure, test, texts)

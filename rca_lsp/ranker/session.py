"""An ONNX Runtime session over a verified model directory, answering token log-probabilities.

Imports onnxruntime, tokenizers and numpy only, lazily (the `ranker` extra, or `gpu` for CUDA).
The `device` setting (`rca suspects --device`, the editor's `device`) picks the provider: "cpu" the
CPU provider with the int8 variant; "cuda" the CUDA provider with fp16, or, where onnxruntime has no
CUDA provider (no onnxruntime-gpu, no GPU), a warning and the CPU; "auto" CUDA when there, else CPU.
A shared prompt prefix is run once and its KV cache is repeated across the batch; sequences are
batched by a token budget. The graph is the transformer's body (export._body): the session looks
the tokens up in the embedding and multiplies the head itself, only at the positions a formulation
reads (a candidate's last token for relevance), so the vocabulary's logits are never made for every
position, nor shipped from a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from pathlib import Path

from rca_lsp.errors import ModelError, install_hint
from rca_lsp.ranker.store import DEFAULT_MODEL, Manifest, model_dir, variant_files, verify

RANKER_HINT = install_hint("ranker") + "; the gpu extra in place of ranker for CUDA"
# tokens of one run. Scores do not depend on it (the int8 graph quantises activations per row); larger
# batches ran 1.13-1.18 times as fast but peaked over 1 GB (BENCHMARKS.md, twentieth sitting)
MAX_BATCH_TOKENS = 512
DEVICES = ("auto", "cpu", "cuda")
CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"


def _imports():
    try:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelError(f"the ranker needs onnxruntime, tokenizers and numpy ({exc})", hint=RANKER_HINT) from exc
    return np, ort, Tokenizer


def pick_provider(available: list[str], device: str = "auto") -> tuple[str, str]:
    """(provider, variant) for `device`: CUDA with fp16 when asked for (or "auto") and available,
    else CPU with int8. A "cuda" that cannot be had is not an error (ranking still works): the
    front end says it once (`LogProbModel.fallback`: the CLI's warnings, JSON's too; the editor's)."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}", hint=f"use one of {', '.join(DEVICES)}")
    if device != "cpu" and CUDA in available:
        return CUDA, "fp16"
    return CPU, "int8"


def cuda_missing(available: list[str]) -> str:
    return (f"device 'cuda' asked for, but onnxruntime has no CUDA provider here (it has "
            f"{', '.join(available) or 'none'}); ranking on the CPU. For CUDA: {install_hint('gpu')} "
            f"on a machine with an NVIDIA GPU")


@dataclass(frozen=True)
class Prefix:
    """A prompt prefix run once: its KV cache (batch 1), its length, and the hidden state of its last
    token (`LogProbModel.after` gives the log-probabilities that follow it)."""

    past: tuple
    length: int
    hidden: Any  # numpy array [hidden]


class LogProbModel:
    def __init__(self, directory: Path | None = None, variant: str = "auto", threads: int = 0,
                 device: str = "auto") -> None:
        np, ort, Tokenizer = _imports()
        self.directory = Path(directory) if directory else model_dir(DEFAULT_MODEL)
        self.manifest = Manifest.read(self.directory)
        available = ort.get_available_providers()
        provider, preferred = pick_provider(available, device)
        self.device = device
        # what a front end should tell its user once: the device asked for is not the one used
        self.fallback = cuda_missing(available) if device == "cuda" and provider != CUDA else None
        if variant == "auto":
            variant = self.manifest.pick(preferred)
        files = variant_files(self.manifest, variant)
        verify(self.directory, self.manifest, files)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        providers = [provider, CPU] if provider != CPU else [provider]
        self.session = ort.InferenceSession(str(self.directory / files[1]), options, providers=providers)
        self.provider = self.session.get_providers()[0]
        self.variant = variant
        self.tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        # mapped, not read: a lookup touches its rows, the head is read where logits are wanted
        self._embed = np.load(self.directory / "embed.npy", mmap_mode="r")
        self._head = np.load(self.directory / "head.npy", mmap_mode="r") if "head.npy" in files else self._embed
        self.special_tokens: list[str] = list(self.manifest.shape.get("special_tokens", []))
        self._np = np
        self._past_names = [i.name for i in self.session.get_inputs() if i.name.startswith("past_key_values.")]
        self._past_dtype = {i.name: (np.float16 if "float16" in i.type else np.float32)
                            for i in self.session.get_inputs() if i.name.startswith("past_key_values.")}
        shape = self.manifest.shape
        self._kv_shape = (shape["num_kv_heads"], shape["head_dim"])
        self.bos_id = shape.get("bos_id")

    # -- tokens ---------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Plain text to ids; special-token strings in `text` were already neutralised by prompt.sanitise."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def token_id(self, text: str) -> int | None:
        return self.tokenizer.token_to_id(text)

    # -- running ----------------------------------------------------------------------------
    def _run(self, ids, mask, positions, past: tuple | None):
        """(hidden states [batch, tokens, hidden] as float32, the present KV cache) of `ids` after `past`."""
        np = self._np
        embeds = np.asarray(self._embed[ids], dtype=np.float32)
        feeds = {"inputs_embeds": embeds, "attention_mask": mask, "position_ids": positions}
        batch = ids.shape[0]
        for k, name in enumerate(self._past_names):
            if past is None:
                value = np.zeros((batch, self._kv_shape[0], 0, self._kv_shape[1]), dtype=self._past_dtype[name])
            else:
                value = past[k].astype(self._past_dtype[name], copy=False)
            feeds[name] = value
        outputs = self.session.run(None, feeds)
        return outputs[0].astype(np.float32, copy=False), tuple(outputs[1:])

    def _logprobs(self, hidden):
        """Log-probabilities over the vocabulary after each row of `hidden` [rows, hidden]."""
        np = self._np
        return _log_softmax(np, np.asarray(hidden, dtype=np.float32) @ self._head.T)

    def prefix(self, ids: list[int]) -> Prefix:
        np = self._np
        arr = np.asarray([ids], dtype=np.int64)
        hidden, present = self._run(arr, np.ones_like(arr), np.arange(len(ids), dtype=np.int64)[None, :], None)
        return Prefix(present, len(ids), hidden[0, -1])

    def after(self, prefix: Prefix):
        """Log-probabilities over the vocabulary of the token after `prefix`."""
        return self._logprobs(prefix.hidden[None, :])[0]

    def continuation_logprobs(self, prefix: Prefix, sequences: list[list[int]],
                              starts: list[int] | None = None) -> list[list[float]]:
        """log P(token | prefix, earlier tokens) for the tokens of each sequence from its start on (order kept).

        Only the wanted positions go through the log-softmax, which over a 49k vocabulary is not free."""
        starts = starts or [0] * len(sequences)
        np = self._np
        first_token = self.after(prefix)  # what predicts a sequence's first token (starts at 0)

        def rows(batch: list[int], hidden) -> list[list[float]]:
            out = []
            for row, i in enumerate(batch):
                seq, start = sequences[i], starts[i]
                values: list[float] = []
                if start == 0 and seq:
                    values.append(float(first_token[seq[0]]))
                first = max(start, 1)
                if len(seq) > first:  # token t is predicted after t - 1
                    logp = self._logprobs(hidden[row, first - 1:len(seq) - 1])
                    values += logp[np.arange(len(seq) - first), seq[first:]].astype(float).tolist()
                out.append(values)
            return out

        return self._batched(prefix, sequences, rows)

    def final_logits(self, prefix: Prefix, sequences: list[list[int]], tokens: list[int]) -> list[list[float]]:
        """For each (non-empty) sequence after `prefix`, the logits of `tokens` at its last position:
        unnormalised (the head's rows for `tokens` alone), which is enough for a difference of two
        answers' log-probabilities, where the normaliser cancels."""
        np = self._np
        if not sequences:
            return []
        rows = np.asarray(self._head[tokens], dtype=np.float32)

        def last(batch: list[int], hidden) -> list:
            return [hidden[row, len(sequences[i]) - 1] for row, i in enumerate(batch)]

        return (np.stack(self._batched(prefix, sequences, last)) @ rows.T).astype(float).tolist()

    def _batched(self, prefix: Prefix, sequences: list[list[int]], rows) -> list:
        """Run `sequences` after `prefix` in batches of similar length (at most MAX_BATCH_TOKENS
        tokens each); `rows(batch, hidden)` turns one batch's hidden states into its rows of values."""
        out: list = [None] * len(sequences)
        order = sorted(range(len(sequences)), key=lambda i: (len(sequences[i]), i))
        batch: list[int] = []
        for i in order + [None]:
            if i is not None:
                width = max([len(sequences[j]) for j in batch] + [len(sequences[i])])
                if not batch or width * (len(batch) + 1) <= MAX_BATCH_TOKENS:
                    batch.append(i)
                    continue
            for slot, values in zip(batch, rows(batch, self._run_after(prefix, [sequences[j] for j in batch]))):
                out[slot] = values
            batch = [i] if i is not None else []
        return [[] if row is None else row for row in out]

    def _run_after(self, prefix: Prefix, seqs: list[list[int]]):
        """Hidden states of `seqs` (right-padded) run after `prefix`'s KV cache. Every query sees the
        prefix's keys (a prefix is never empty: the graph refuses a zero-length run), which the
        graph relies on: its attention has no guard for a query that sees no key."""
        np = self._np
        width = max(1, max(len(s) for s in seqs))
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros((len(seqs), prefix.length + width), dtype=np.int64)
        mask[:, :prefix.length] = 1
        for row, seq in enumerate(seqs):
            ids[row, :len(seq)] = seq
            mask[row, prefix.length:prefix.length + len(seq)] = 1
        positions = np.broadcast_to(np.arange(prefix.length, prefix.length + width, dtype=np.int64),
                                    (len(seqs), width)).copy()
        past = tuple(np.repeat(p, len(seqs), axis=0) for p in prefix.past)
        hidden, _ = self._run(ids, mask, positions, past)
        return hidden


def _log_softmax(np, x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

"""An ONNX Runtime session over a verified model directory, answering token log-probabilities.

Imports onnxruntime, tokenizers and numpy only, lazily (the `ranker` extra, or `gpu` for CUDA).
The `device` setting (`rca suspects --device`, the editor's `device`) picks the provider: "cpu" the
CPU provider with the int8 variant; "cuda" the CUDA provider with fp16, or, where onnxruntime has no
CUDA provider (no onnxruntime-gpu, no GPU), a warning and the CPU; "auto" CUDA when there, else CPU. A shared prompt prefix is run once and its KV cache is repeated across
the batch; sequences are batched by a token budget so the logits stay small.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from rca_lsp.errors import ModelError
from rca_lsp.ranker.store import DEFAULT_MODEL, Manifest, model_dir, variant_files, verify

log = logging.getLogger(__name__)
RANKER_HINT = "pip install 'rca-lsp[ranker]' (or 'rca-lsp[gpu]' for CUDA)"
MAX_BATCH_TOKENS = 512  # logits of one run: tokens x vocab x 4 bytes (100 MB for SmolLM2)
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
    else CPU with int8. A "cuda" that cannot be had is said once, not an error: ranking still works."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}", hint=f"use one of {', '.join(DEVICES)}")
    if device != "cpu" and CUDA in available:
        return CUDA, "fp16"
    if device == "cuda":
        log.warning("%s", cuda_missing(available))
    return CPU, "int8"


def cuda_missing(available: list[str]) -> str:
    return (f"device 'cuda' asked for, but onnxruntime has no CUDA provider here (it has "
            f"{', '.join(available) or 'none'}); ranking on the CPU. For CUDA: pip install 'rca-lsp[gpu]' "
            f"on a machine with an NVIDIA GPU")


@dataclass(frozen=True)
class Prefix:
    """A prompt prefix run once: its KV cache (batch 1), its length, and the log-probs after its last token."""

    past: tuple
    length: int
    last: Any  # numpy array [vocab] of log-probabilities


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
            variant = preferred if preferred in self.manifest.variants else (
                "int8" if "int8" in self.manifest.variants else next(iter(self.manifest.variants)))
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
        np = self._np
        feeds = {"input_ids": ids, "attention_mask": mask, "position_ids": positions}
        batch = ids.shape[0]
        for k, name in enumerate(self._past_names):
            if past is None:
                value = np.zeros((batch, self._kv_shape[0], 0, self._kv_shape[1]), dtype=self._past_dtype[name])
            else:
                value = past[k].astype(self._past_dtype[name], copy=False)
            feeds[name] = value
        outputs = self.session.run(None, feeds)
        return outputs[0], tuple(outputs[1:])

    def prefix(self, ids: list[int]) -> Prefix:
        np = self._np
        arr = np.asarray([ids], dtype=np.int64)
        logits, present = self._run(arr, np.ones_like(arr), np.arange(len(ids), dtype=np.int64)[None, :], None)
        return Prefix(present, len(ids), _log_softmax(np, logits[0, -1].astype(np.float32)))

    def continuation_logprobs(self, prefix: Prefix, sequences: list[list[int]],
                              starts: list[int] | None = None) -> list[list[float]]:
        """log P(token | prefix, earlier tokens) for the tokens of each sequence from its start on (order kept).

        Only the wanted positions go through the log-softmax, which over a 49k vocabulary is not free."""
        starts = starts or [0] * len(sequences)
        np = self._np

        def rows(batch: list[int], logits) -> list[list[float]]:
            out = []
            for row, i in enumerate(batch):
                seq, start = sequences[i], starts[i]
                values: list[float] = []
                if start == 0 and seq:
                    values.append(float(prefix.last[seq[0]]))
                first = max(start, 1)
                if len(seq) > first:  # token t is predicted by the logits at t - 1
                    logp = _log_softmax(np, logits[row, first - 1:len(seq) - 1].astype(np.float32))
                    values += logp[np.arange(len(seq) - first), seq[first:]].astype(float).tolist()
                out.append(values)
            return out

        return self._batched(prefix, sequences, rows)

    def final_logprobs(self, prefix: Prefix, sequences: list[list[int]], tokens: list[int]) -> list[list[float]]:
        """For each (non-empty) sequence after `prefix`, log P(t | prefix, sequence) of each of
        `tokens`: the answer's log-probabilities at the sequence's last position."""
        np = self._np

        def rows(batch: list[int], logits) -> list[list[float]]:
            last = np.stack([logits[row, len(sequences[i]) - 1] for row, i in enumerate(batch)]).astype(np.float32)
            return _log_softmax(np, last)[:, tokens].astype(float).tolist()

        return self._batched(prefix, sequences, rows)

    def _batched(self, prefix: Prefix, sequences: list[list[int]], rows) -> list[list[float]]:
        """Run `sequences` after `prefix` in batches of similar length (at most MAX_BATCH_TOKENS
        logits rows each); `rows(batch, logits)` turns one batch's logits into its rows of values."""
        out: list[list[float] | None] = [None] * len(sequences)
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
        return [row or [] for row in out]

    def _run_after(self, prefix: Prefix, seqs: list[list[int]]):
        """Logits of `seqs` (right-padded) run after `prefix`'s KV cache."""
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
        logits, _ = self._run(ids, mask, positions, past)
        return logits


def _log_softmax(np, x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

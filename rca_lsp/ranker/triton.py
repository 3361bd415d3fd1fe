"""The ranker's ONNX graph as an NVIDIA Triton model repository (ONNX Runtime backend).

The seam for a team that shares a GPU (models/README.md): the same graph `rca model build` exports,
served by Triton, scored through the same ranker interface. This module only writes the repository
(`<dir>/<name>/config.pbtxt` and `<dir>/<name>/1/model.onnx`); no server is needed to make or check
it. The config is read off the graph itself: every input and output with its name, element type
(`TYPE_*`) and shape, a dynamic axis (a named or unknown dimension) as -1. `max_batch_size: 0`
because the graph's first axis is its own batch axis (with the KV cache, Triton must not add one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rca_lsp.errors import ModelError

# onnx.TensorProto element types -> Triton data types
TRITON_TYPES = {1: "TYPE_FP32", 2: "TYPE_UINT8", 3: "TYPE_INT8", 4: "TYPE_UINT16", 5: "TYPE_INT16",
                6: "TYPE_INT32", 7: "TYPE_INT64", 8: "TYPE_STRING", 9: "TYPE_BOOL", 10: "TYPE_FP16",
                11: "TYPE_FP64", 12: "TYPE_UINT32", 13: "TYPE_UINT64", 16: "TYPE_BF16"}


def _tensor(value) -> tuple[str, str, list[int]]:
    tensor = value.type.tensor_type
    dtype = TRITON_TYPES.get(tensor.elem_type)
    if dtype is None:
        raise ModelError(f"{value.name}: ONNX element type {tensor.elem_type} has no Triton equivalent")
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in tensor.shape.dim]
    return value.name, dtype, dims


def signature(onnx_path: Path) -> tuple[list[tuple[str, str, list[int]]], list[tuple[str, str, list[int]]]]:
    """(inputs, outputs) of the graph: (name, Triton type, dims), initialisers left out."""
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds for a bad file
        raise ModelError(f"cannot read the ONNX graph {onnx_path}: {exc}") from None
    inits = {i.name for i in model.graph.initializer}
    inputs = [_tensor(v) for v in model.graph.input if v.name not in inits]
    return inputs, [_tensor(v) for v in model.graph.output]


def _block(kind: str, tensors: list[tuple[str, str, list[int]]]) -> list[str]:
    lines = [f"{kind} ["]
    for i, (name, dtype, dims) in enumerate(tensors):
        lines += ["  {", f'    name: "{name}"', f"    data_type: {dtype}",
                  f"    dims: [ {', '.join(map(str, dims))} ]", "  }" + ("," if i < len(tensors) - 1 else "")]
    return lines + ["]"]


def config_text(name: str, onnx_path: Path, kind: str = "KIND_GPU") -> str:
    inputs, outputs = signature(onnx_path)
    lines = [f'name: "{name}"', 'backend: "onnxruntime"', "max_batch_size: 0",
             *_block("input", inputs), *_block("output", outputs),
             f"instance_group [ {{ count: 1, kind: {kind} }} ]"]
    return "\n".join(lines) + "\n"


def write_repository(dest: Path, onnx_path: Path, name: str = "rca-ranker", kind: str = "KIND_GPU") -> Path:
    """`dest/name/` laid out for Triton (version 1: the graph and its external-data files), with the
    model directory's embedding and head tables beside the config: the graph is the transformer's
    body (inputs_embeds -> hidden), so a client looks tokens up and multiplies the head itself.
    An existing `dest/name` that is not empty is refused, not written over."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ModelError(f"invalid Triton model name {name!r}: it is one folder of the repository",
                         hint="pass --name with a plain name, e.g. rca-ranker")
    if not onnx_path.is_file():
        raise ModelError(f"no ONNX graph at {onnx_path}", hint="run `rca model build`, or pass --onnx")
    folder = dest / name
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        # never written over: a hand-edited config would be lost, an earlier export's files mixed in
        raise ModelError(f"{folder} already exists", hint="remove it to export again, or pass another --name")
    text = config_text(name, onnx_path, kind)
    tmp = dest / f".{name}.writing"  # moved in place whole: an interrupted export leaves no half repository
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        version = tmp / "1"
        version.mkdir(parents=True)
        for item in onnx_path.parent.iterdir():  # the graph and any external data saved beside it
            if item.is_file() and item.name.startswith(onnx_path.name):
                shutil.copy2(item, version / item.name.replace(onnx_path.name, "model.onnx", 1))
        for table in ("embed.npy", "head.npy"):
            if (onnx_path.parent.parent / table).is_file():
                shutil.copy2(onnx_path.parent.parent / table, tmp / table)
        (tmp / "config.pbtxt").write_text(text)
        if folder.is_dir():
            folder.rmdir()  # empty (checked above)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder

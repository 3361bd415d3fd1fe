"""`rca model export-triton`: the Triton model repository read back and checked against the ONNX
graph of a real (tiny, random) export: every input and output, its dtype and its shape."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from rca_lsp.ranker.store import DEFAULT_MODEL

onnx = pytest.importorskip("onnx")
pytest.importorskip("torch")

# ONNX element type name -> Triton's, written out here (not taken from the code under test)
EXPECTED_TYPE = {"FLOAT": "TYPE_FP32", "FLOAT16": "TYPE_FP16", "INT64": "TYPE_INT64", "INT32": "TYPE_INT32",
                 "BOOL": "TYPE_BOOL", "DOUBLE": "TYPE_FP64", "INT8": "TYPE_INT8", "UINT8": "TYPE_UINT8"}


def _parse(text: str, kind: str) -> list[tuple[str, str, list[int]]]:
    block = re.search(rf"^{kind} \[\n(.*?)^\]", text, re.S | re.M).group(1)
    out = []
    for entry in re.findall(r"\{(.*?)\}", block, re.S):
        name = re.search(r'name: "([^"]+)"', entry).group(1)
        dtype = re.search(r"data_type: (\w+)", entry).group(1)
        dims = [int(d) for d in re.search(r"dims: \[([^\]]*)\]", entry).group(1).split(",")]
        out.append((name, dtype, dims))
    return out


def _graph(path) -> tuple[list, list]:
    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}

    def one(v):
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        return v.name, EXPECTED_TYPE[onnx.TensorProto.DataType.Name(t.elem_type)], dims

    return [one(v) for v in model.graph.input if v.name not in inits], [one(v) for v in model.graph.output]


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    from rca_lsp.ranker.export import build_tiny

    root = tmp_path_factory.mktemp("models")
    build_tiny(root / DEFAULT_MODEL, variants=("fp32",))
    return root


def test_triton_config_matches_the_onnx_graph(tiny_root, tmp_path):
    env = {**os.environ, "RCA_MODEL_DIR": str(tiny_root)}
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "model", "export-triton", str(tmp_path / "repo"),
                           "--variant", "fp32"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "repo" / "rca-ranker"
    text = (folder / "config.pbtxt").read_text()
    assert 'name: "rca-ranker"' in text and 'backend: "onnxruntime"' in text and "max_batch_size: 0" in text
    inputs, outputs = _graph(folder / "1" / "model.onnx")
    assert _parse(text, "input") == inputs and _parse(text, "output") == outputs
    names = [n for n, _, _ in inputs]
    assert {"inputs_embeds", "attention_mask", "position_ids"} <= set(names)
    assert any(n.startswith("past_key_values.") for n in names)
    assert ("hidden", "TYPE_FP32") in [(n, t) for n, t, _ in outputs]
    embeds = dict((n, d) for n, _, d in inputs)["inputs_embeds"]
    assert embeds == [-1, -1, 32]  # batch and sequence are dynamic; the tiny model's hidden size
    # the body's client looks tokens up in the model's own embedding, copied beside the config
    assert (folder / "embed.npy").read_bytes() == (tiny_root / DEFAULT_MODEL / "embed.npy").read_bytes()
    src = (tiny_root / DEFAULT_MODEL / "fp32" / "model.onnx").read_bytes()
    assert (folder / "1" / "model.onnx").read_bytes() == src


def test_a_changed_model_file_is_refused(tiny_root, tmp_path):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(tiny_root, copy)
    with open(copy / DEFAULT_MODEL / "fp32" / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    env = {**os.environ, "RCA_MODEL_DIR": str(copy)}
    proc = subprocess.run([sys.executable, "-m", "rca_lsp", "model", "export-triton", str(tmp_path / "repo"),
                           "--variant", "fp32"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 6 and "model.onnx" in proc.stderr
    assert not (tmp_path / "repo").exists()

"""The int8 variant's quantiser (rca_lsp/ranker/quantise.py) on a small real ONNX graph, run by ONNX Runtime."""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "numpy")),
                                reason="needs onnx, onnxruntime and numpy (the export extra)")


def _graph(path, weights, opset=18):
    """x [batch, tokens, in] -> relu(x @ A) @ B, and x @ C beside it (A and C share their input)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    a, b, c = weights
    nodes = [helper.make_node("MatMul", ["x", "A"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "B"], ["y"]), helper.make_node("MatMul", ["x", "C"], ["z"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", a.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", b.shape[1]]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", "t", c.shape[1]])],
        [numpy_helper.from_array(w, n) for w, n in zip(weights, "ABC")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))


def _session(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("opset", [13, 18])  # ReduceMax takes its axes as an attribute before 18
def test_int8_graph_keeps_fp32_products_and_rows_apart(tmp_path, opset):
    import numpy as np
    import onnx

    from rca_lsp.ranker.quantise import int8_graph

    rng = np.random.default_rng(7)
    weights = [(rng.standard_normal(shape) * 0.1).astype(np.float32) for shape in ((64, 96), (96, 48), (64, 32))]
    _graph(tmp_path / "fp32.onnx", weights, opset)
    assert int8_graph(tmp_path / "fp32.onnx", tmp_path / "int8.onnx") == 3
    nodes = onnx.load(str(tmp_path / "int8.onnx")).graph.node
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 6  # two passes a product
    assert sum(n.op_type == "ReduceMax" for n in nodes) == 2  # x quantised once for A and C, r once
    assert not [n for n in nodes if n.op_type == "MatMul"]

    x = rng.standard_normal((3, 5, 64)).astype(np.float32)
    x[:, :, 3] *= 20  # a channel of outliers, as after a norm's weights
    x[1, 2] = 0.0  # a row of zeros stays zero
    exact, quantised = _session(tmp_path / "fp32.onnx"), _session(tmp_path / "int8.onnx")
    for want, got in zip(exact.run(None, {"x": x}), quantised.run(None, {"x": x})):
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.01  # per-channel int8 weights' error
    assert not quantised.run(None, {"x": x})[1][1, 2].any()
    # a row's values do not depend on the rows beside it (format 2 scaled the whole batch at once)
    alone = quantised.run(None, {"x": x[2:3, 1:2]})
    together = quantised.run(None, {"x": x})
    assert all(np.array_equal(a[0, 0], t[2, 1]) for a, t in zip(alone, together))


def test_the_second_pass_is_what_makes_it_close(tmp_path):
    """One pass (per-token scales alone) loses the outlier channel's neighbours; the residual pass
    brings the error down to the weights' own."""
    import numpy as np

    from rca_lsp.ranker.quantise import weight_int8

    rng = np.random.default_rng(3)
    w = (rng.standard_normal((64, 32)) * 0.1).astype(np.float32)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    x[:, 0] *= 50
    values, scale = weight_int8(w)
    assert values.dtype == np.int8 and np.abs(values).max() == 127
    dequantised = values.astype(np.float32) * scale
    step = np.abs(x).max(axis=1, keepdims=True) / 127
    one = np.round(x / step) * step
    weights_only = np.linalg.norm(x @ dequantised - x @ w)
    assert np.linalg.norm(one @ dequantised - x @ w) > 2 * weights_only

    _graph(tmp_path / "fp32.onnx", [w, np.eye(32, dtype=np.float32), w], 18)
    from rca_lsp.ranker.quantise import int8_graph

    int8_graph(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    z = _session(tmp_path / "int8.onnx").run(None, {"x": x[None]})[1][0]
    assert np.linalg.norm(z - x @ w) < 1.05 * weights_only


def test_a_matrix_two_products_share_is_quantised_once_and_kept_for_other_readers(tmp_path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from rca_lsp.ranker.quantise import int8_graph

    rng = np.random.default_rng(5)
    w = (rng.standard_normal((16, 16)) * 0.2).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["a"]), helper.make_node("MatMul", ["a", "W"], ["b"]),
             helper.make_node("Transpose", ["W"], ["wt"]), helper.make_node("MatMul", ["b", "wt"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])],
                              [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(tmp_path / "fp32.onnx"))
    assert int8_graph(tmp_path / "fp32.onnx", tmp_path / "int8.onnx") == 2  # the third multiplies by a computed matrix
    model = onnx.load(str(tmp_path / "int8.onnx"))
    names = [i.name for i in model.graph.initializer]
    assert names.count("W.s8") == 1 and "W" in names  # Transpose still reads the fp32 matrix
    x = rng.standard_normal((2, 16)).astype(np.float32)
    want = x @ w @ w @ w.T
    got = _session(tmp_path / "int8.onnx").run(None, {"x": x})[0]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.02

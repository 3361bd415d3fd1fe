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


def _layer_graph(path, weights):
    """A layer's products named as an exported Llama names them: x -> q_proj (a norm's output), then
    o_proj over its result, then down_proj; each a MatMul by a constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    q, o, down = weights
    nodes = [helper.make_node("MatMul", ["x", "Q"], ["h"], name="/model/layers.0/self_attn/q_proj/MatMul"),
             helper.make_node("MatMul", ["h", "O"], ["a"], name="/model/layers.0/self_attn/o_proj/MatMul"),
             helper.make_node("MatMul", ["a", "D"], ["y"], name="/model/layers.0/mlp/down_proj/MatMul")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", q.shape[0]])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["b", "t", q.shape[1]]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", down.shape[1]])],
        [numpy_helper.from_array(w, n) for w, n in zip(weights, "QOD")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))


def test_plan_follows_the_module_a_product_belongs_to():
    from rca_lsp.ranker.quantise import plan

    assert [plan(f"/model/layers.3/self_attn/{m}/MatMul") for m in ("q_proj", "k_proj", "v_proj", "o_proj")] == \
        ["split", "split", "split", "one"]
    assert [plan(f"/model/layers.3/mlp/{m}/MatMul") for m in ("gate_proj", "up_proj", "down_proj")] == \
        ["split", "split", "two"]
    assert plan("") == plan("MatMul_7") == plan("/lm_head/MatMul") == "two"  # unknown: format 4's two passes


def test_a_norms_outlier_channels_go_through_fp32_and_the_rest_one_pass(tmp_path):
    """The input after a norm: its calibrated outlier channels multiplied in fp32 beside one integer
    pass, as close as two passes; o_proj's input one pass; down_proj's two. Without calibration
    peaks the split input falls back to two passes."""
    import numpy as np
    import onnx

    from rca_lsp.ranker.quantise import OUTLIERS, int8_graph

    rng = np.random.default_rng(11)
    weights = [(rng.standard_normal(shape) * 0.1).astype(np.float32) for shape in ((96, 64), (64, 64), (64, 32))]
    _layer_graph(tmp_path / "fp32.onnx", weights)
    hot = [5, 17, 40]  # the norm's weights make these channels 30 times the rest, on every token
    calibration = rng.standard_normal((50, 96)).astype(np.float32)
    calibration[:, hot] *= 30
    peaks = {"x": np.abs(calibration).max(axis=0)}
    assert int8_graph(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", peaks) == 3
    nodes = onnx.load(str(tmp_path / "int8.onnx")).graph.node
    integer = [n.output[0].split(".acc")[0] for n in nodes if n.op_type == "MatMulInteger"]
    assert (integer.count("h"), integer.count("a"), integer.count("y")) == (1, 1, 2)
    fp32 = [n for n in nodes if n.op_type == "MatMul"]
    assert len(fp32) == 1 and fp32[0].output[0] == "h.outliers"
    gathered = next(n for n in nodes if n.op_type == "Gather")
    init = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "int8.onnx")).graph.initializer}
    chosen = init[gathered.input[1]]
    assert len(chosen) == min(OUTLIERS, 96 // 4) and set(hot) <= set(chosen.tolist())

    int8_graph(tmp_path / "fp32.onnx", tmp_path / "two.onnx")  # no peaks: two passes for q_proj too
    assert sum(n.op_type == "MatMulInteger" for n in onnx.load(str(tmp_path / "two.onnx")).graph.node) == 5  # 2 + 1 + 2

    x = rng.standard_normal((2, 7, 96)).astype(np.float32)
    x[:, :, hot] *= 30
    exact = _session(tmp_path / "fp32.onnx").run(None, {"x": x})
    split, two = _session(tmp_path / "int8.onnx"), _session(tmp_path / "two.onnx")
    got, two_passes = split.run(None, {"x": x}), two.run(None, {"x": x})
    error = [np.linalg.norm(g - w) / np.linalg.norm(w) for g, w in zip(got, exact)]
    error_two = [np.linalg.norm(g - w) / np.linalg.norm(w) for g, w in zip(two_passes, exact)]
    assert error[0] <= 1.1 * error_two[0] and max(error) < 0.02
    # one pass alone, without the fp32 channels, is several times as far on q_proj's output
    values, scale = __import__("rca_lsp.ranker.quantise", fromlist=["weight_int8"]).weight_int8(weights[0])
    step = np.abs(x).max(axis=-1, keepdims=True) / 127
    one_pass = (np.round(x / step) * step) @ (values.astype(np.float32) * scale)
    assert np.linalg.norm(one_pass - exact[0]) > 3 * np.linalg.norm(got[0] - exact[0])
    # rows stay apart
    alone = split.run(None, {"x": x[1:2, 3:4]})
    assert all(np.array_equal(a[0, 0], t[1, 3]) for a, t in zip(alone, got))

"""The int8 variant (model format 5): every weight product as ONNX `MatMulInteger`, u8 x s8.

Export only (needs `onnx` and numpy, the `export` extra). Each constant weight matrix of the fp32
body becomes int8, symmetric, one scale per output channel. Its input is quantised at run time per
row (per token), at a scale of max|x| / 127. ONNX Runtime runs u8 x s8 products on its quantised
GEMM, which uses AMX or VNNI where the CPU has them. Per-token scales alone lose to outliers, so
each input is quantised as the product it feeds allows (`plan`, by the module the product belongs to):
- after a norm (q/k/v, gate/up): the outliers sit in fixed channels (the norm's weights put them
  there), so the `OUTLIERS` channels of largest magnitude on calibration text (`calibrate`) are
  multiplied in fp32 and the rest in one integer pass, at a scale 2 to 9 times finer;
- attention's output (o_proj): no outlier channels; one pass;
- down_proj, and any product of another name: the outliers move from token to token, so two passes:
  the row's values, then what that rounding left (at most half a step) at 1/254 of the same scale,
  about 15 bits, two integer products summed (format 4 did this everywhere).
On the tuned model and neutral text the hidden states lie 0.030 from fp32's (format 4: 0.032) and
the graph runs in 0.85 of format 4's time (BENCHMARKS.md, "Outlier channels in fp32").

Quantising per row, never per batch, keeps a candidate's score independent of what shares its
batch (format 2's `quantize_dynamic` scaled activations per tensor and lost what tuning gave).
"""

from __future__ import annotations

from pathlib import Path

ZERO_POINT = 128  # activations are stored as u8 around 128: ONNX Runtime's fast kernels are u8 x s8
RESIDUAL = 254.0  # the second pass's scale is the first's / RESIDUAL (its values lie in +-0.5 of a step)
OUTLIERS = 16  # channels of an input after a norm multiplied in fp32 (at most a quarter of them)
CALIBRATION = Path(__file__).with_name("calibration.txt")  # rca's own source, frozen: never a benchmark case
CALIBRATION_TOKENS = 1024
SPLIT = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")  # read a norm's output
ONE_PASS = ("o_proj",)  # reads attention's output


def plan(product: str) -> str:
    """How the input of the product node named `product` is quantised: "split" (fp32 outlier
    channels and one pass), "one" or "two" passes (see the module)."""
    module = product.rstrip("/").split("/")[-2] if product.count("/") >= 1 else ""
    return "split" if module in SPLIT else "one" if module in ONE_PASS else "two"


def weight_int8(w):
    """(int8 weights, float32 scale per output column) of a [in, out] matrix, symmetric."""
    import numpy as np

    scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0).astype(np.float32)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


class _Writer:
    """The nodes and initializers a rewritten graph gains, named as given."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.consts: list = []

    def const(self, name: str, value) -> str:
        import numpy as np
        from onnx import numpy_helper

        self.consts.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper as oh

        self.nodes.append(oh.make_node(op, inputs, [output], **attrs))
        return output


def int8_graph(src: Path, dest: Path, peaks: dict | None = None) -> int:
    """Write `src`'s graph with each MatMul by a 2-D constant replaced as the module says; returns how
    many were. `peaks`: an input's largest magnitude per channel on calibration text (`calibrate`);
    an input to split that it lacks is quantised in two passes. Inputs shared by several products
    (q, k and v; gate and up) are quantised once, and so is a matrix two products share."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))  # ReduceMax's axes
    weights = {i.name: i for i in graph.initializer}
    out = _Writer()
    _constants(out.const)
    inputs: dict[str, tuple] = {}  # input -> ([(u8 values, scale per row)] a pass, (outlier values, channels) or None)
    made: dict[str, tuple] = {}  # weight -> (int8 values, column scales, fp32 values)
    replaced = 0
    for item in graph.node:
        name = item.input[1] if item.op_type == "MatMul" and len(item.input) == 2 else ""
        if name not in made and (name not in weights or len(weights[name].dims) != 2):
            out.nodes.append(item)
            continue
        x = item.input[0]
        if x not in inputs:
            inputs[x] = _quantised_input(out, x, plan(item.name), (peaks or {}).get(x), opset)
        if name not in made:
            exact = numpy_helper.to_array(weights.pop(name)).astype("float32")
            made[name] = (*(out.const(name + suffix, v) for suffix, v in zip((".s8", ".scale"), weight_int8(exact))),
                          exact)
        _product(out, item.output[0], name, inputs[x], made[name])
        replaced += 1
    used = {name for item in out.nodes for name in item.input}  # an fp32 matrix another kind of node reads stays
    kept = [i for i in graph.initializer if i.name in weights or i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + out.consts)
    del graph.node[:]
    graph.node.extend(out.nodes)
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dest))
    return replaced


def _quantised_input(out: _Writer, x: str, how: str, peaks, opset: int) -> tuple:
    """The nodes that quantise `x` as `how` says: ([(u8 values, scale per row)] a pass, and for a
    split input, (its outlier channels' values, their indices), else None). A split input without
    calibration `peaks` is quantised in two passes."""
    import numpy as np

    if how != "split" or peaks is None:
        return _row_passes(out.node, x, opset, passes=1 if how == "one" else 2), None
    channels = np.asarray(peaks)
    chosen = np.sort(np.argsort(-channels, kind="stable")[:min(OUTLIERS, channels.size // 4)])
    keep = np.ones(channels.size, np.float32)
    keep[chosen] = 0.0
    passes = _row_passes(out.node, out.node("Mul", [x, out.const(x + ".q8.keep", keep)], x + ".q8.rest"), opset, 1)
    values = out.node("Gather", [x, out.const(x + ".q8.outliers", chosen.astype(np.int64))], x + ".q8.out", axis=-1)
    return passes, (values, chosen)


def _product(out: _Writer, result: str, name: str, quantised: tuple, weight: tuple) -> None:
    """`result` = the quantised input times the weight `name`: an integer product a pass, each
    scaled by its rows' and the weight's columns' scales, plus the outlier channels' fp32 product."""
    from onnx import TensorProto

    passes, outliers = quantised
    w8, column_scale, exact = weight
    parts = []
    for k, (u8, row_scale) in enumerate(passes):
        acc = out.node("Cast", [out.node("MatMulInteger", [u8, w8, "q8.zero"], f"{result}.acc{k}")],
                       f"{result}.accf{k}", to=TensorProto.FLOAT)
        scale = out.node("Mul", [row_scale, column_scale], f"{result}.scale{k}")
        parts.append(out.node("Mul", [acc, scale], f"{result}.part{k}"))
    if outliers is not None:
        values, channels = outliers
        parts.append(out.node("MatMul", [values, out.const(f"{name}.{values[:-len('.q8.out')]}.rows", exact[channels])],
                              f"{result}.outliers"))
    out.node("Add", parts, result) if len(parts) > 1 else out.node("Identity", parts, result)


def calibrate(src: Path, embed, ids: list[int]) -> dict:
    """For each input that `int8_graph` splits, its largest magnitude per channel when the fp32 body
    `src` runs `ids` (looked up in `embed`, [vocab, hidden]) from an empty cache."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(src))
    weights = {i.name for i in model.graph.initializer if len(i.dims) == 2}
    wanted = sorted({n.input[0] for n in model.graph.node
                     if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in weights and plan(n.name) == "split"})
    if not wanted:
        return {}
    outputs = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(x) for x in wanted if x not in outputs)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    del model
    arr = np.asarray([ids], dtype=np.int64)
    feeds = {"inputs_embeds": np.asarray(embed[arr], dtype=np.float32), "attention_mask": np.ones_like(arr),
             "position_ids": np.arange(arr.shape[1], dtype=np.int64)[None, :]}
    for i in session.get_inputs():
        if i.name.startswith("past_key_values."):
            feeds[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]), dtype=np.float32)
    found = session.run(wanted, feeds)
    return {x: np.abs(v).reshape(-1, v.shape[-1]).max(axis=0) for x, v in zip(wanted, found)}


def calibration_ids(tokenizer) -> list[int]:
    """The calibration text's first tokens (a `tokenizers.Tokenizer`, its special tokens added as it
    adds them)."""
    return tokenizer.encode(CALIBRATION.read_text(encoding="utf-8")).ids[:CALIBRATION_TOKENS]


def _row_passes(node, x: str, opset: int, passes: int = 2) -> list[tuple[str, str]]:
    """The nodes that quantise `x` per row in one or two passes (the module's): [(u8 values, scale
    per row)] for each. `node(op, inputs, output, **attrs)` adds a node and gives its output's name."""
    from onnx import TensorProto

    p = f"{x}.q8"
    magnitude = node("Abs", [x], p + ".abs")
    peak = (node("ReduceMax", [magnitude, "q8.last"], p + ".peak", keepdims=1) if opset >= 18
            else node("ReduceMax", [magnitude], p + ".peak", axes=[-1], keepdims=1))
    scale = node("Mul", [node("Max", [peak, "q8.eps"], p + ".peak1"), "q8.inv127"], p + ".scale")
    # x / scale + 128.5 lies in [1.5, 255.5]: its truncation is round(x / scale) + 128
    shifted = node("Add", [node("Mul", [x, node("Reciprocal", [scale], p + ".inv")], p + ".steps"),
                           "q8.offset"], p + ".shifted")
    first = node("Cast", [shifted], p + ".u8", to=TensorProto.UINT8)
    if passes == 1:
        return [(first, scale)]
    # what truncating left, in [0, 1): the rounding error + 0.5, quantised at scale / 254
    left = node("Sub", [shifted, node("Cast", [first], p + ".u8f", to=TensorProto.FLOAT)], p + ".left")
    second = node("Cast", [node("Add", [node("Mul", [left, "q8.residual"], p + ".left254"),
                                        "q8.residual_offset"], p + ".left_shifted")], p + ".u8r",
                  to=TensorProto.UINT8)
    return [(first, scale), (second, node("Mul", [scale, "q8.inv_residual"], p + ".scale_r"))]


def _constants(const) -> None:
    """The scalars every quantised product shares; `const(name, value)` adds an initializer."""
    import numpy as np

    const("q8.eps", np.array(1e-12, np.float32))
    const("q8.inv127", np.array(1 / 127, np.float32))
    const("q8.offset", np.array(ZERO_POINT + 0.5, np.float32))  # Cast truncates: + 0.5 rounds
    const("q8.residual", np.array(RESIDUAL, np.float32))
    const("q8.residual_offset", np.array(ZERO_POINT - RESIDUAL / 2 + 0.5, np.float32))
    const("q8.inv_residual", np.array(1 / RESIDUAL, np.float32))
    const("q8.zero", np.array(ZERO_POINT, np.uint8))
    const("q8.last", np.array([-1], np.int64))

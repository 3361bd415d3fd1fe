"""The int8 variant (model format 4): every weight product as ONNX `MatMulInteger`, u8 x s8.

Export only (needs `onnx` and numpy, the `export` extra). Each constant weight matrix of the fp32
body becomes int8, symmetric, one scale per output channel. Its input is quantised at run time per
row (per token), in two passes: the row's values at a scale of max|x| / 127, then what that
rounding left (at most half a step) at 1/254 of the same scale, so the activations keep about 15
bits and a product is two int8 products summed. ONNX Runtime runs u8 x s8 products on its
quantised GEMM, which uses AMX or VNNI where the CPU has them: on this project's 2-core Xeon the
graph ran a 4 x 128-token batch in 0.66 of format 3's time (`MatMulNBits`, 8-bit blocks of 32
with int8 compute), as close to fp32 (relative error of the hidden states 0.0267 against 0.0271).
One pass alone was 3 times as far (0.078): per-token scales cannot hold the channels whose values
run 5 to 20 times the median (BENCHMARKS.md, "The int8 variant on the CPU's integer GEMM").

Quantising per row, never per batch, keeps a candidate's score independent of what shares its
batch (format 2's `quantize_dynamic` scaled activations per tensor and lost what tuning gave).
"""

from __future__ import annotations

from pathlib import Path

ZERO_POINT = 128  # activations are stored as u8 around 128: ONNX Runtime's fast kernels are u8 x s8
RESIDUAL = 254.0  # the second pass's scale is the first's / RESIDUAL (its values lie in +-0.5 of a step)


def weight_int8(w):
    """(int8 weights, float32 scale per output column) of a [in, out] matrix, symmetric."""
    import numpy as np

    scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0).astype(np.float32)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def int8_graph(src: Path, dest: Path) -> int:
    """Write `src`'s graph with each MatMul by a 2-D constant replaced as the module says; returns how
    many were. Inputs shared by several products (q, k and v; gate and up) are quantised once."""
    import numpy as np
    import onnx
    from onnx import TensorProto
    from onnx import helper as oh
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))  # ReduceMax's axes
    weights = {i.name: i for i in graph.initializer}
    consts: list = []
    nodes: list = []

    def const(name: str, value) -> str:
        consts.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(oh.make_node(op, inputs, [output], **attrs))
        return output

    _constants(const)
    rows: dict[str, list[tuple[str, str]]] = {}  # input -> [(u8 values, scale per row)] for each pass
    made: dict[str, tuple[str, str]] = {}  # weight -> its int8 values and column scales
    replaced = 0
    for item in graph.node:
        name = item.input[1] if item.op_type == "MatMul" and len(item.input) == 2 else ""
        if name not in made and (name not in weights or len(weights[name].dims) != 2):
            nodes.append(item)
            continue
        x, out = item.input[0], item.output[0]
        if x not in rows:
            rows[x] = _row_passes(node, x, opset)
        if name not in made:  # a matrix two products share is quantised once
            values, column_scale = weight_int8(numpy_helper.to_array(weights.pop(name)).astype(np.float32))
            made[name] = (const(name + ".s8", values), const(name + ".scale", column_scale))
        w8, ws = made[name]
        parts = []
        for k, (u8, row_scale) in enumerate(rows[x]):
            acc = node("Cast", [node("MatMulInteger", [u8, w8, "q8.zero"], f"{out}.acc{k}")], f"{out}.accf{k}",
                       to=TensorProto.FLOAT)
            parts.append(node("Mul", [acc, node("Mul", [row_scale, ws], f"{out}.scale{k}")], f"{out}.part{k}"))
        node("Add", parts, out)
        replaced += 1
    used = {name for item in nodes for name in item.input}  # an fp32 matrix another kind of node reads stays
    kept = [i for i in graph.initializer if i.name in weights or i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + consts)
    del graph.node[:]
    graph.node.extend(nodes)
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dest))
    return replaced


def _row_passes(node, x: str, opset: int) -> list[tuple[str, str]]:
    """The nodes that quantise `x` per row, in the module's two passes: [(u8 values, scale per row)]
    for each. `node(op, inputs, output, **attrs)` adds a node and gives its output's name."""
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

"""FLOP counting rules for standard ONNX operators, from shapes after shape inference.

Convention: a multiply-accumulate (MAC) counts as 2 FLOPs, one multiplication and one addition.
- MatMul: 2 × (output elements) × K, where K is the last dimension of the first operand.
- Gemm: 2 × M × N × K, plus M × N when the bias C is given.
- Conv: 2 × (output elements) × (input channels per group) × (kernel elements), plus the output
  elements when the bias B is given. ConvTranspose: 2 × (input elements) × (output channels per
  group) × (kernel elements), plus the bias. Integer and QLinear versions use the same rules.
- Einsum with two operands: 2 × the product of the sizes of every index letter.
- Element-wise arithmetic, comparisons and activations: 1 FLOP per output element; Sum, Max and
  Min of n inputs: n − 1 per element; Mean: n.
- BatchNormalization (inference): 2 per element; Softmax and LogSoftmax: 3 (exp, sum, divide);
  Layer/Instance/Group normalisation: 5 (mean, subtract, variance, divide, scale and shift).
- Pooling: (output elements) × (kernel elements); global pooling, reductions, ArgMax and ArgMin:
  1 per input element.
- Data movement (Reshape, Transpose, Gather, Concat, Cast…): 0.
Everything else, control flow (If, Loop, Scan) and custom-domain operators are reported as
uncounted, which makes the total a lower bound.
"""

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Shapes = Mapping[str, list[int] | None]

ELEMENTWISE = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log", "Sin", "Cos",
    "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round", "Sign",
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf",
    "Gelu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Clip", "Equal", "Less", "LessOrEqual", "Greater",
    "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where", "IsNaN", "IsInf", "BitShift",
})
PER_ELEMENT = {
    "BatchNormalization": 2,
    "Softmax": 3,
    "LogSoftmax": 3,
    "LayerNormalization": 5,
    "InstanceNormalization": 5,
    "GroupNormalization": 5,
}
VARIADIC = frozenset({"Sum", "Max", "Min", "Mean"})
POOLING = frozenset({"MaxPool", "AveragePool", "LpPool"})
PER_INPUT_ELEMENT = frozenset({
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
    "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin",
})
DATA_MOVEMENT = frozenset({
    "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice", "Gather",
    "GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND", "Shape", "Size", "Cast", "CastLike",
    "Identity", "Constant", "ConstantOfShape", "Dropout", "Expand", "Tile", "Pad", "Range", "NonZero",
    "DepthToSpace", "SpaceToDepth", "Trilu", "OneHot", "EyeLike", "Compress", "ReverseSequence", "SequenceAt",
})
MATMUL = frozenset({"MatMul", "MatMulInteger", "QLinearMatMul"})
CONV = frozenset({"Conv", "ConvInteger", "QLinearConv"})


@dataclass
class FlopCount:
    total: int = 0
    by_operator: Counter = field(default_factory=Counter)
    # Operator type -> number of nodes without a rule or without known shapes.
    uncounted: Counter = field(default_factory=Counter)


def count_graph(graph: Any, shapes: Shapes) -> FlopCount:
    """Add up the FLOPs of every node of an ONNX graph whose operator has a rule and known shapes."""
    result = FlopCount()
    for node in graph.node:
        flops = node_flops(node, shapes)
        name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"
        if flops is None:
            result.uncounted[name] += 1
        elif flops:
            result.by_operator[name] += flops
            result.total += flops
    return result


def node_flops(node: Any, shapes: Shapes) -> int | None:
    """Return the node's FLOPs, 0 for data movement, or None when there is no rule or a shape is unknown."""
    if node.domain not in ("", "ai.onnx"):
        return None
    op = node.op_type
    if op in DATA_MOVEMENT:
        return 0
    output = _shape(shapes, node.output[0]) if node.output else None
    if output is None:
        return None
    elements = math.prod(output)

    if op in ELEMENTWISE:
        return elements
    if op in PER_ELEMENT:
        return PER_ELEMENT[op] * elements
    if op in VARIADIC:
        inputs = sum(1 for name in node.input if name)
        return elements * (inputs if op == "Mean" else inputs - 1)
    if op in POOLING:
        kernel = _attribute(node, "kernel_shape")
        return elements * math.prod(kernel) if kernel else None
    if op in PER_INPUT_ELEMENT:
        first = _shape(shapes, node.input[0])
        return math.prod(first) if first is not None else None
    if op in MATMUL:
        return _matmul(node, shapes, elements)
    if op == "Gemm":
        return _gemm(node, shapes, output)
    if op in CONV:
        return _conv(node, shapes, elements)
    if op == "ConvTranspose":
        return _conv_transpose(node, shapes, elements)
    if op == "Einsum":
        return _einsum(node, shapes)
    return None


def _matmul(node: Any, shapes: Shapes, elements: int) -> int | None:
    first = _shape(shapes, node.input[0])
    if not first:
        return None
    return 2 * elements * first[-1]


def _gemm(node: Any, shapes: Shapes, output: list[int]) -> int | None:
    first = _shape(shapes, node.input[0])
    if first is None or len(first) != 2 or len(output) != 2:
        return None
    inner = first[0] if _attribute(node, "transA", 0) else first[1]
    rows, columns = output
    bias = rows * columns if len(node.input) > 2 and node.input[2] else 0
    return 2 * rows * columns * inner + bias


def _conv(node: Any, shapes: Shapes, elements: int) -> int | None:
    # QLinearConv takes (x, x_scale, x_zero_point, w, …); the others take (x, w, b).
    weight_index, bias_index = (3, 8) if node.op_type == "QLinearConv" else (1, 2)
    weight = _shape(shapes, node.input[weight_index]) if len(node.input) > weight_index else None
    if weight is None or len(weight) < 3:
        return None
    has_bias = len(node.input) > bias_index and bool(node.input[bias_index]) and node.op_type != "ConvInteger"
    return 2 * elements * math.prod(weight[1:]) + (elements if has_bias else 0)


def _conv_transpose(node: Any, shapes: Shapes, elements: int) -> int | None:
    source = _shape(shapes, node.input[0])
    weight = _shape(shapes, node.input[1])
    if source is None or weight is None or len(weight) < 3:
        return None
    has_bias = len(node.input) > 2 and bool(node.input[2])
    return 2 * math.prod(source) * math.prod(weight[1:]) + (elements if has_bias else 0)


def _einsum(node: Any, shapes: Shapes) -> int | None:
    equation = _attribute(node, "equation", b"")
    equation = equation.decode() if isinstance(equation, bytes) else str(equation)
    operands = equation.replace(" ", "").split("->")[0].split(",")
    if "..." in equation or len(operands) != len(node.input) or len(operands) > 2:
        return None
    sizes: dict[str, int] = {}
    for letters, name in zip(operands, node.input):
        shape = _shape(shapes, name)
        if shape is None or len(shape) != len(letters):
            return None
        sizes.update(zip(letters, shape))
    product = math.prod(sizes.values())
    return 2 * product if len(operands) == 2 else product


def _shape(shapes: Shapes, name: str) -> list[int] | None:
    return shapes.get(name) if name else None


def _attribute(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default

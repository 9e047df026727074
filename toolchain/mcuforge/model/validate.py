"""One consistency pass over a Graph before anything is compiled from it.

The reader checks that the bytes are a flatbuffer; this pass checks that what they say agrees
with itself, the way the TFLite converter would have written it: every tensor index in range,
every dtype one mcuforge can size, every quantization parameter usable (finite positive scales
that a fixed-point multiplier can express, zero points inside their type), every tensor read
after it is written, and every output shape equal to the shape the op computes from its inputs,
weights and options. A model that fails is refused with a :class:`ModelError` naming tensor,
node and values; op ``check`` functions and the compiler can then index and size without
defending themselves against an inconsistent graph.

Shape rules live in :data:`SHAPE_RULES`, one small function per opcode (or family) registered
with :func:`shape_rule`. An op without a rule is left to its own ``check``. A rule returns the
output shape(s) TFLite's Prepare would compute, ``None`` when it cannot tell (non-constant
paddings, say), or raises :class:`Inconsistent` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mcuforge.errors import ModelError
from mcuforge.model.ir import NUMPY_DTYPES, Graph, Operator, Tensor

Shape = tuple[int, ...]
#: A rule: the output shapes of a node (one per output, None for "no opinion").
ShapeRule = Callable[[Operator, Graph], "list[Shape | None] | Shape | None"]

#: Inclusive value range of each integer type a zero point can be stored in.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-32768, 32767),
    "uint16": (0, 65535),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
#: Kernels index and size tensors with 32-bit integers.
MAX_TENSOR_BYTES = (1 << 31) - 1
#: A requantization multiplier is a Q31 significand times 2^shift; kernels shift an int32
#: accumulator left by ``shift``, which is meaningful up to 30 (TFLM multiplies by 1 << shift).
MAX_MULTIPLIER_SHIFT = 30
#: Smallest normal float32: a subnormal scale loses precision in the float32 arithmetic TFLM does.
MIN_SCALE = float(np.finfo(np.float32).tiny)


class Inconsistent(Exception):
    """Raised by a shape rule: the node's tensors or options disagree."""


SHAPE_RULES: dict[str, ShapeRule] = {}


def shape_rule(*opcodes: str) -> Callable[[ShapeRule], ShapeRule]:
    """Register ``fn`` as the shape rule of ``opcodes``."""

    def register(fn: ShapeRule) -> ShapeRule:
        for code in opcodes:
            SHAPE_RULES[code] = fn
        return fn

    return register


def validate_graph(graph: Graph) -> None:
    """Raise :class:`ModelError` listing every inconsistency of ``graph`` (none: returns)."""
    problems = graph_problems(graph)
    if problems:
        lines = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ModelError(f"{graph.name}: the model is inconsistent:\n  {lines}{more}")


def graph_problems(graph: Graph) -> list[str]:
    """Every inconsistency, one line each; later checks run only on what earlier ones passed."""
    problems = _index_problems(graph)
    if problems:
        return problems
    problems = _tensor_problems(graph) + _dataflow_problems(graph)
    if problems:
        return problems
    bad: set[int] = set()  # tensors already reported: nodes reading them would only echo it
    for op in graph.operators:
        if bad.isdisjoint(op.inputs):
            found = _node_problems(graph, op)
            if found:
                problems += found
                bad.update(op.outputs)
        else:
            bad.update(op.outputs)
    return problems


# ---- structure -----------------------------------------------------------------------------
def _index_problems(graph: Graph) -> list[str]:
    n = len(graph.tensors)
    problems = []
    if not graph.operators or not graph.outputs:
        problems.append(f"the model has {len(graph.operators)} operators and "
                        f"{len(graph.outputs)} outputs: nothing to compute")
    for label, ids in (("input", graph.inputs), ("output", graph.outputs)):
        for i in ids:
            if not 0 <= i < n:
                problems.append(f"graph {label} refers to tensor {i}; the model has {n} tensors")
    for op in graph.operators:
        for role, ids, optional in (("input", op.inputs, True), ("output", op.outputs, False)):
            for i in ids:
                if not (0 <= i < n or (optional and i == -1)):
                    problems.append(f"{op.describe()}: {role} refers to tensor {i}; "
                                    f"the model has {n} tensors")
    for pos, t in enumerate(graph.tensors):
        if t.index != pos:
            problems.append(f"tensor at position {pos} says it is tensor {t.index}")
    return problems


def _tensor_problems(graph: Graph) -> list[str]:
    users: dict[int, list[Operator]] = {}
    for op in graph.operators:
        for i in (*op.inputs, *op.outputs):
            users.setdefault(i, []).append(op)
    problems = []
    for t in graph.tensors:
        if t.dtype not in NUMPY_DTYPES:
            problems.append(f"tensor {t.index} '{t.name}' has type {t.dtype}, which mcuforge "
                            f"does not handle (known: {', '.join(NUMPY_DTYPES)})")
            continue
        if any(d < 0 for d in t.shape):
            problems.append(f"tensor {t.index} '{t.name}' has a negative dimension {t.shape}")
            continue
        if t.is_const and t.is_variable:
            # TFLM allocates variable tensors in the arena and ignores their buffer.
            problems.append(f"tensor {t.index} '{t.name}' is both constant and variable")
        if t.nbytes > MAX_TENSOR_BYTES:
            problems.append(f"tensor {t.index} '{t.name}' of shape {list(t.shape)} holds "
                            f"{t.nbytes} bytes (at most {MAX_TENSOR_BYTES})")
        problems += _quant_problems(t, users.get(t.index, []))
    return problems


def _quant_problems(t: Tensor, users: list[Operator]) -> list[str]:
    q = t.quant
    if q is None:
        return []
    where = f"tensor {t.index} '{t.name}'"
    if users:
        where += " (" + ", ".join(op.describe() for op in users[:3]) + ")"
    problems = []
    if len(q.zero_point) != len(q.scale):
        problems.append(f"{where}: {len(q.scale)} scales but {len(q.zero_point)} zero points")
    for c, s in enumerate(q.scale):
        if not (math.isfinite(s) and s >= MIN_SCALE):
            problems.append(f"{where}: scale {s!r}{_channel(q, c)} is not a finite float32 "
                            f"of at least {MIN_SCALE:g}")
            break
    lo, hi = INT_RANGES.get(t.dtype, (-(1 << 31), (1 << 31) - 1))
    for c, z in enumerate(q.zero_point):
        if not lo <= z <= hi:
            problems.append(f"{where}: zero point {z}{_channel(q, c)} is outside {t.dtype} "
                            f"[{lo}, {hi}]")
            break
    if q.per_channel:
        rank = len(t.shape)
        # Published models (person_detect) say axis 3 for 1-D biases: one axis, no ambiguity.
        axis = 0 if rank == 1 else q.axis
        if not 0 <= axis < rank:
            problems.append(f"{where}: quantized along axis {q.axis} of a {rank}-D tensor")
        elif len(q.scale) != t.shape[axis]:
            problems.append(f"{where}: {len(q.scale)} per-channel scales for {t.shape[axis]} "
                            f"channels on axis {axis}")
        if any(z != 0 for z in q.zero_point):
            # TFLite's quantization spec: per-axis quantization is symmetric.
            problems.append(f"{where}: per-channel zero points must be 0, not "
                            f"{sorted(set(q.zero_point))[:4]}")
    return problems


def _channel(q: object, c: int) -> str:
    return f" (channel {c})" if getattr(q, "per_channel", False) else ""


def _dataflow_problems(graph: Graph) -> list[str]:
    """Every tensor a node reads exists by then; every tensor is written at most once."""
    ready = {t.index for t in graph.tensors if t.is_const or t.is_variable}
    ready |= set(graph.inputs)
    written: dict[int, int] = {}
    # A constant declared as a graph input: TFLM writes the caller's input over the constant's
    # data, compiled code keeps the constant (fuzz finding mnist_lstm gs1-m384).
    problems = [f"graph input {k} is tensor {i} '{graph.tensors[i].name}', a constant (it holds "
                "data in the model); an input is filled at run time"
                for k, i in enumerate(graph.inputs) if graph.tensors[i].is_const]
    # Likewise a variable (an LSTM's state): TFLM would take the caller's input as the state.
    problems += [f"graph input {k} is tensor {i} '{graph.tensors[i].name}', a variable (state "
                 "kept between invocations); an input is filled at run time"
                 for k, i in enumerate(graph.inputs) if graph.tensors[i].is_variable]
    for op in graph.operators:
        for i in op.inputs:
            if i >= 0 and i not in ready:
                problems.append(f"{op.describe()} reads tensor {i} before anything writes it")
        for o in op.outputs:
            t = graph.tensors[o]
            if o in written:
                problems.append(f"{op.describe()} writes tensor {o}, already written by "
                                f"node {written[o]}")
            elif t.is_const:
                problems.append(f"{op.describe()} writes tensor {o}, which is a constant")
            elif o in graph.inputs:
                problems.append(f"{op.describe()} writes tensor {o}, which is a graph input")
            written[o] = op.index
            ready.add(o)
    for o in graph.outputs:
        if o not in written and o not in graph.inputs:
            problems.append(f"graph output tensor {o} is written by no node")
    return problems


# ---- nodes ---------------------------------------------------------------------------------
def _node_problems(graph: Graph, op: Operator) -> list[str]:
    rule = SHAPE_RULES.get(op.opcode)
    problems = []
    if rule is not None:
        try:
            computed = rule(op, graph)
        except Inconsistent as exc:
            return [f"{op.describe()}: {exc}"]
        if computed is not None and not isinstance(computed, list):
            computed = [computed]
        for o, want in zip(op.outputs, computed or [], strict=False):
            have = graph.tensors[o].shape
            if want is not None and tuple(want) != tuple(have):
                problems.append(f"{op.describe()}: output tensor {o} has shape {list(have)} but "
                                f"the inputs and options give {list(want)}")
    return problems + _multiplier_problems(graph, op)


def _multiplier_problems(graph: Graph, op: Operator) -> list[str]:
    """Requantization multipliers (input scales over the output scale) a kernel can apply."""
    rule = MULTIPLIER_RULES.get(op.opcode)
    if rule is None:
        return []
    try:
        reals = rule(op, graph)
    except (IndexError, TypeError):
        return []  # missing tensors or quantization: the op's own check names them
    for what, real in reals:
        if real > 0 and math.frexp(real)[1] > MAX_MULTIPLIER_SHIFT:
            return [f"{op.describe()}: {what} = {real:.4g} is too large for a fixed-point "
                    f"multiplier (at most 2^{MAX_MULTIPLIER_SHIFT})"]
    return []


def _t(graph: Graph, op: Operator, i: int, *, output: bool = False) -> Tensor:
    ids = op.outputs if output else op.inputs
    if i >= len(ids) or ids[i] < 0:
        raise Inconsistent(f"missing {'output' if output else 'input'} {i}")
    return graph.tensors[ids[i]]


def _rank(t: Tensor, rank: int, what: str) -> Shape:
    if len(t.shape) != rank:
        raise Inconsistent(f"{what} tensor {t.index} has shape {list(t.shape)}, needs {rank}-D")
    return t.shape


def _const_ints(t: Tensor, what: str) -> list[int] | None:
    if t.data is None:
        return None
    if t.dtype not in ("int32", "int64"):
        raise Inconsistent(f"{what} tensor {t.index} is {t.dtype}, needs int32")
    return [int(v) for v in t.data.reshape(-1)]


def c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero; Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


INT16_MAX = 32767


def out_size(padding: str, image: int, filt: int, stride: int, dilation: int = 1) -> int:
    """TFLM's ``ComputeOutSize`` (kernels/padding.h)."""
    effective = (filt - 1) * dilation + 1
    if stride == 0:
        return 0
    if padding == "SAME":
        return c_div(image + stride - 1, stride)
    if padding == "VALID":
        return c_div(image + stride - effective, stride)
    return 0


def _window_shape(op: Operator, inp: Tensor, fh: int, fw: int, channels: int) -> Shape:
    o = op.options
    padding = o.get("padding", "SAME")
    if padding not in ("SAME", "VALID"):
        raise Inconsistent(f"padding {padding}")
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    if min(sh, sw, dh, dw) < 1:
        raise Inconsistent(f"strides {sh}x{sw} and dilations {dh}x{dw} must be at least 1")
    if fh < 1 or fw < 1:
        raise Inconsistent(f"filter {fh}x{fw} is empty")
    n, h, w, _ = _rank(inp, 4, "input")
    oh, ow = out_size(padding, h, fh, sh, dh), out_size(padding, w, fw, sw, dw)
    if oh < 1 or ow < 1:
        raise Inconsistent(f"a {fh}x{fw} window ({padding}, dilation {dh}x{dw}) does not fit "
                           f"the {h}x{w} input")
    pads = (total_pad(sh, dh, h, fh, oh), total_pad(sw, dw, w, fw, ow))
    if max(sh, sw, dh, dw, *pads) > INT16_MAX:
        # TFLM's kernel parameters hold these in int16_t and wrap silently, so the reference
        # would compute another window than the model describes.
        raise Inconsistent(f"strides {sh}x{sw}, dilations {dh}x{dw} and paddings "
                           f"{pads[0]}x{pads[1]} must each be at most {INT16_MAX}")
    return (n, oh, ow, channels)


def total_pad(stride: int, dilation: int, image: int, filt: int, out: int) -> int:
    """TFLM's ``ComputePaddingWithOffset`` total: both sides of one axis together."""
    return max((out - 1) * stride + (filt - 1) * dilation + 1 - image, 0)


def _bias(op: Operator, graph: Graph, channels: int) -> None:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = graph.tensors[op.inputs[2]]
        if bias.size != channels:
            raise Inconsistent(f"bias tensor {bias.index} has {bias.size} values for "
                               f"{channels} output channels")


@shape_rule("CONV_2D")
def _conv(op: Operator, graph: Graph) -> Shape:
    inp, w = _t(graph, op, 0), _t(graph, op, 1)
    oc, fh, fw, fc = _rank(w, 4, "weights")
    ic = _rank(inp, 4, "input")[3]
    if fc < 1 or ic % fc:
        raise Inconsistent(f"weights {list(w.shape)} are {fc} deep for {ic} input channels")
    _bias(op, graph, oc)
    return _window_shape(op, inp, fh, fw, oc)


@shape_rule("DEPTHWISE_CONV_2D")
def _depthwise(op: Operator, graph: Graph) -> Shape:
    inp, w = _t(graph, op, 0), _t(graph, op, 1)
    one, fh, fw, oc = _rank(w, 4, "weights")
    ic = _rank(inp, 4, "input")[3]
    if one != 1 or ic < 1 or oc % ic:
        raise Inconsistent(f"weights {list(w.shape)} do not fit {ic} input channels "
                           "(need [1, h, w, a multiple of the input channels])")
    _bias(op, graph, oc)
    return _window_shape(op, inp, fh, fw, oc)


@shape_rule("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool(op: Operator, graph: Graph) -> Shape:
    inp = _t(graph, op, 0)
    fh, fw = int(op.options.get("filter_height", 0)), int(op.options.get("filter_width", 0))
    return _window_shape(op, inp, fh, fw, _rank(inp, 4, "input")[3])


@shape_rule("FULLY_CONNECTED")
def _fully_connected(op: Operator, graph: Graph) -> Shape:
    inp, w = _t(graph, op, 0), _t(graph, op, 1)
    units, depth = _rank(w, 2, "weights")
    if depth < 1 or inp.size % depth:
        raise Inconsistent(f"input {list(inp.shape)} ({inp.size} values) is not a whole number "
                           f"of rows of the weights' depth {depth}")
    _bias(op, graph, units)
    if op.options.get("keep_num_dims"):
        if not inp.shape or inp.shape[-1] != depth:
            raise Inconsistent(f"keep_num_dims with input {list(inp.shape)} and depth {depth}")
        return (*inp.shape[:-1], units)
    return (inp.size // depth, units)


def broadcast_shape(a: Shape, b: Shape) -> Shape:
    """NumPy/TFLite broadcasting of two shapes; raises :class:`Inconsistent`."""
    rank = max(len(a), len(b))
    a1, b1 = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(a1, b1, strict=True):
        if x != y and 1 not in (x, y):
            raise Inconsistent(f"input shapes {list(a)} and {list(b)} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)


@shape_rule("ADD", "MUL", "SUB")
def _binary(op: Operator, graph: Graph) -> Shape:
    return broadcast_shape(_t(graph, op, 0).shape, _t(graph, op, 1).shape)


@shape_rule("SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU",
            "QUANTIZE", "DEQUANTIZE")
def _elementwise(op: Operator, graph: Graph) -> Shape:
    return _t(graph, op, 0).shape


@shape_rule("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(op: Operator, graph: Graph) -> None:
    inp, out = _t(graph, op, 0), _t(graph, op, 0, output=True)
    if inp.size != out.size:
        raise Inconsistent(f"input {list(inp.shape)} has {inp.size} values, output "
                           f"{list(out.shape)} has {out.size}")
    return None


@shape_rule("PAD", "PADV2")
def _pad(op: Operator, graph: Graph) -> Shape | None:
    inp, pads = _t(graph, op, 0), _t(graph, op, 1)
    values = _const_ints(pads, "paddings")
    if values is None:
        return None
    rank = len(inp.shape)
    if len(values) != 2 * rank:
        raise Inconsistent(f"{len(values)} padding values for a {rank}-D input")
    if any(v < 0 for v in values):
        raise Inconsistent(f"negative paddings {values}")
    return tuple(d + values[2 * i] + values[2 * i + 1] for i, d in enumerate(inp.shape))


@shape_rule("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD")
def _reduce(op: Operator, graph: Graph) -> Shape | None:
    inp, axis = _t(graph, op, 0), _t(graph, op, 1)
    values = _const_ints(axis, "axes")
    if values is None:
        return None
    rank = len(inp.shape)
    axes = set()
    for a in values:
        if not -rank <= a < rank:
            raise Inconsistent(f"axis {a} is out of range for a {rank}-D input")
        axes.add(a % rank)
    if op.options.get("keep_dims"):
        return tuple(1 if i in axes else d for i, d in enumerate(inp.shape))
    return tuple(d for i, d in enumerate(inp.shape) if i not in axes)


@shape_rule("CONCATENATION")
def _concatenation(op: Operator, graph: Graph) -> Shape:
    shapes = [graph.tensors[i].shape for i in op.inputs if i >= 0]
    if not shapes:
        raise Inconsistent("no inputs")
    rank = len(shapes[0])
    axis = int(op.options.get("axis", 0))
    if not -rank <= axis < rank:
        raise Inconsistent(f"axis {axis} is out of range for {rank}-D inputs")
    axis %= rank
    for s in shapes[1:]:
        if len(s) != rank or any(
            a != b for k, (a, b) in enumerate(zip(s, shapes[0], strict=True)) if k != axis
        ):
            raise Inconsistent(f"inputs {[list(x) for x in shapes]} differ off axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


# ---- requantization multipliers ----------------------------------------------------------
MultiplierRule = Callable[[Operator, Graph], list[tuple[str, float]]]
MULTIPLIER_RULES: dict[str, MultiplierRule] = {}


def _scale(t: Tensor) -> float:
    if t.quant is None:
        raise TypeError("not quantized")
    return float(np.float32(t.scale))


def _ratio(op: Operator, graph: Graph) -> list[tuple[str, float]]:
    inp, out = _t(graph, op, 0), _t(graph, op, 0, output=True)
    if inp.dtype == "float32":
        return []
    return [("input scale / output scale", _scale(inp) / _scale(out))]


def _conv_multipliers(op: Operator, graph: Graph) -> list[tuple[str, float]]:
    inp, w, out = _t(graph, op, 0), _t(graph, op, 1), _t(graph, op, 0, output=True)
    if w.quant is None:
        return []
    return [("input scale * weight scale / output scale",
             _scale(inp) * float(np.float32(s)) / _scale(out)) for s in w.quant.scale]


def _mul_multiplier(op: Operator, graph: Graph) -> list[tuple[str, float]]:
    a, b, out = _t(graph, op, 0), _t(graph, op, 1), _t(graph, op, 0, output=True)
    return [("input scales' product / output scale", _scale(a) * _scale(b) / _scale(out))]


for _code in ("QUANTIZE", "RELU", "LEAKY_RELU", "MEAN"):
    MULTIPLIER_RULES[_code] = _ratio
for _code in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    MULTIPLIER_RULES[_code] = _conv_multipliers
MULTIPLIER_RULES["MUL"] = _mul_multiplier

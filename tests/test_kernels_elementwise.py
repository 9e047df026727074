"""Element-wise and activation kernels against the TFLM reference, bit for bit.

SOFTMAX, LOGISTIC, TANH, MUL, RELU, RELU6, LEAKY_RELU, QUANTIZE and DEQUANTIZE. Most models come
from Keras through the real converter (``tests/modelgen.py``, each with its own random
calibration ranges, so scales and zero points differ from model to model). Some are then patched
at the flatbuffer level (softmax beta, power-of-two QUANTIZE scales), and some are written
directly (``_synthetic``) to reach parameters the converter never emits (random input and output
quantizations for every unary op, extreme input scales, negative leaky alphas, fused MUL clamps
that bite). Ops with one int8 input are checked exhaustively (every model input gets
all 256 int8 values; MUL gets all 65536 pairs). Every comparison is of raw bits, float outputs
included. Published models' SOFTMAX layers are checked on TFLM's own intermediate tensors, and
the fixed-point helpers are compared C against Python raw value for raw value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcuforge.compiler.compile import CompiledModel, compile_graph
from mcuforge.compiler.emit import emit_model, tensor_info
from mcuforge.compiler.ops import lower, node_problems
from mcuforge.compiler.plan import plan_memory
from mcuforge.model import parse_model
from mcuforge.model.ir import Graph, Operator, Quant, Tensor
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors
from modelgen import int8_tflite

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SEED = 7321
INT8_LEVELS = np.arange(-128, 128, dtype=np.int8)


def _tf() -> Any:
    import tensorflow as tf

    return tf


def _layers() -> Any:
    return _tf().keras.layers


def _input(shape: tuple[int, ...], index: int) -> Any:
    """A Keras input named by its position in ``Model(inputs)``, for :func:`_convert`."""
    return _tf().keras.Input(shape, name=f"input{index}")


def _convert(
    build: Callable[[], Any], shapes: list[tuple[int, ...]], seed: int, *, float_io: bool = False
) -> bytes:
    """``modelgen.int8_tflite`` for models whose inputs (made with :func:`_input`) differ in
    shape: the converter may order the .tflite inputs differently from the Keras model, and
    calibration data is fed in .tflite order, so the shapes are given in that order (found by a
    quick float conversion)."""
    if len(set(shapes)) > 1:
        import re

        tf = _tf()
        flat = tf.lite.Interpreter(
            model_content=tf.lite.TFLiteConverter.from_keras_model(build()).convert()
        )
        order = [int(re.findall(r"input(\d+)", d["name"])[-1]) for d in flat.get_input_details()]
        shapes = [shapes[i] for i in order]
    return int8_tflite(build, shapes, seed=seed, float_io=float_io)


# ---- checking ----


def _same_bits(got: np.ndarray, want: np.ndarray, what: str) -> None:
    g, w = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
    assert g.dtype == w.dtype and g.size == w.size, f"{what}: {g.dtype}{g.shape} vs {w.dtype}"
    gb, wb = g.view(f"u{g.itemsize}"), w.view(f"u{w.itemsize}")
    if not np.array_equal(gb, wb):
        bad = int(np.argmax(gb != wb))
        raise AssertionError(
            f"{what}: differs at {bad}: mcuforge {g[bad]!r}, TFLM {w[bad]!r} "
            f"({int((gb != wb).sum())} of {g.size} values differ)"
        )


def _sweep(info: dict[str, Any], k: int = 0) -> np.ndarray:
    """The k-th exhaustive input: every int8 level (tiled, rotated by k), or for a quantized
    float input, the k-th input-sized chunk of: every level's float value, the midpoints between
    levels (rounding ties), zeros and values beyond the range (clamping)."""
    shape, size = info["shape"], int(np.prod(info["shape"]))
    if info["dtype"] == "int8":
        return np.resize(np.roll(INT8_LEVELS, 37 * k), size).reshape(shape)
    lo, hi = info.get("sample_range") or (-1.0, 1.0)
    step = (hi - lo) / 255.0
    levels = lo + step * np.arange(256, dtype=np.float64)
    values = np.concatenate(
        [levels, levels + step / 2, [0.0, -0.0, lo - 3 * step, hi + 3 * step, 2 * lo, 2 * hi]]
    ).astype(np.float32)
    return np.take(values, np.arange(size) + k * size, mode="wrap").reshape(shape)


def _bit_exact(
    model: bytes, tmp_path: Path, name: str, *, vectors: int = 6, sweeps: int = 2, seed: int = 0
) -> CompiledModel:
    """Compile with mcuforge, run on the host and in TFLM, compare every output's bits on
    ``vectors`` random inputs and ``sweeps`` exhaustive ones."""
    compiled = compile_graph(parse_model(model, name))
    host = HostModel(compiled, tmp_path)
    ref = Reference(model)
    infos = compiled.manifest["inputs"]
    runs = [v.arrays for v in random_vectors(infos, vectors, seed)]
    runs += [[_sweep(info, k + i) for i, info in enumerate(infos)] for k in range(sweeps)]
    for v, arrays in enumerate(runs):
        for o, (got, want) in enumerate(zip(host.run(arrays), ref.run(arrays), strict=True)):
            _same_bits(got, want, f"{name}: vector {v} output {o}")
    return compiled


def _subgraph_bit_exact(
    model: bytes, nodes: list[int], tmp_path: Path, name: str, *, vectors: int = 6
) -> None:
    """Compile only ``nodes`` of a model, feed them TFLM's own intermediate tensors and compare
    with TFLM's outputs of those nodes (the rest of the model may use ops mcuforge lacks)."""
    graph = parse_model(model, name)
    ops = [graph.operators[i] for i in nodes]
    for op in ops:
        assert node_problems(graph, op) == [], f"{op.describe()}: {node_problems(graph, op)}"
    produced = [t for op in ops for t in op.outputs]
    consumed = {t for op in ops for t in op.inputs}
    ins = sorted({
        t for op in ops for t in op.inputs
        if t >= 0 and not graph.tensors[t].is_const and t not in produced
    })
    outs = [t for t in produced if t not in consumed]
    sub = Graph(name, graph.tensors, ops, ins, outs)
    calls = lower(sub)
    plan = plan_memory(sub, calls)
    emitted = emit_model(sub, calls, plan)
    host = HostModel(
        CompiledModel(sub, calls, plan, emitted.source, emitted.header, emitted.manifest), tmp_path
    )
    ref = Reference(model, preserve_all_tensors=True)
    full_inputs = [tensor_info(graph.tensors[t]) for t in graph.inputs]
    for v, vec in enumerate(random_vectors(full_inputs, vectors, seed=5)):
        ref.run(vec.arrays)
        got = host.run([ref.tensor(t) for t in ins])
        for t, g in zip(outs, got, strict=True):
            _same_bits(g, ref.tensor(t), f"{name}: vector {v} tensor {t}")


# ---- flatbuffer patching: parameters the converter rarely produces ----


def _patch(model: bytes, edit: Callable[[Any, Callable[[Any], str]], None]) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)

    def opcode(op: Any) -> str:
        code = m.operatorCodes[op.opcodeIndex]
        return names[max(code.builtinCode, code.deprecatedBuiltinCode)]

    edit(m.subgraphs[0], opcode)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _set_scale(subgraph: Any, tensor: int, scale: float, zero_point: int | None = None) -> None:
    q = subgraph.tensors[tensor].quantization
    q.scale = [float(np.float32(scale))]
    if zero_point is not None:
        q.zeroPoint = [int(zero_point)]


#: (dtype, shape, scale, zero point) of a synthetic model's tensor; scale None: not quantized.
TensorSpec = tuple[str, tuple[int, ...], float | None, int]
#: (opcode, input tensor indices, output tensor indices, options object or None).
OpSpec = tuple[str, list[int], list[int], Any]


def _synthetic(tensors: list[TensorSpec], ops: list[OpSpec], inputs: list[int],
               outputs: list[int]) -> bytes:
    """A .tflite model written directly (no converter): for op parameters the converter never
    emits, e.g. an int8 -> int8 QUANTIZE on a graph input or a RELU whose output zero point
    makes its clamp bite. TFLM runs it like any other model."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    sg = fb.SubGraphT()
    sg.tensors = []
    for i, (dtype, shape, scale, zp) in enumerate(tensors):
        tensor = fb.TensorT()
        tensor.shape, tensor.buffer = list(shape), 0
        tensor.type = getattr(fb.TensorType, dtype.upper())
        tensor.name = f"t{i}"
        if scale is not None:
            tensor.quantization = fb.QuantizationParametersT()
            tensor.quantization.scale, tensor.quantization.zeroPoint = [scale], [zp]
        sg.tensors.append(tensor)
    codes: list[str] = []
    sg.operators = []
    for opcode, ins, outs, options in ops:
        if opcode not in codes:
            codes.append(opcode)
        op = fb.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = codes.index(opcode), ins, outs
        if options is not None:
            op.builtinOptions = options
            op.builtinOptionsType = getattr(fb.BuiltinOptions, type(options).__name__[:-1])
        sg.operators.append(op)
    sg.inputs, sg.outputs = inputs, outputs
    model = fb.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [sg], [fb.BufferT()]
    model.operatorCodes = []
    for opcode in codes:
        code = fb.OperatorCodeT()
        code.builtinCode = getattr(fb.BuiltinOperator, opcode)
        code.deprecatedBuiltinCode, code.version = min(code.builtinCode, 127), 1
        model.operatorCodes.append(code)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _random_quant(rng: np.random.Generator) -> tuple[float, int]:
    """A scale over five decades and any zero point."""
    return float(np.float32(10 ** rng.uniform(-3.5, 0.5))), int(rng.integers(-128, 128))


def _ops(compiled: CompiledModel) -> list[str]:
    return [s["op"] for s in compiled.manifest["steps"]]


# ---- SOFTMAX ----


@pytest.mark.parametrize("index", range(8))
def test_softmax_after_dense(index: int, tmp_path: Path) -> None:
    """Dense -> Softmax with random sizes, ranks (softmax over the last axis of 2-D..4-D) and
    weight magnitudes (small logits keep every class, large ones push most below diff_min)."""
    rng = np.random.default_rng(SEED + index)
    features = int(rng.integers(1, 48))
    classes = int(rng.choice([2, 3, 4, 10, 12, 35, 100, 300]))
    lead = [(), (3,), (2, 3)][index % 3]
    stddev = float(rng.choice([0.05, 0.3, 1.0, 4.0]))
    layers = _layers()

    def build() -> Any:
        init = _tf().keras.initializers.RandomNormal(stddev=stddev, seed=index)
        return _tf().keras.Sequential([
            # A fixed batch keeps FULLY_CONNECTED on a 3-D/4-D input free of dynamic reshapes.
            _tf().keras.Input((*lead, features), batch_size=1),
            layers.Dense(classes, kernel_initializer=init, bias_initializer=init),
            layers.Softmax(),
        ])

    model = int8_tflite(build, [(*lead, features)], seed=SEED + index)
    compiled = _bit_exact(model, tmp_path, f"softmax{index}", vectors=12)
    assert _ops(compiled)[-1] == "SOFTMAX"


@pytest.fixture(scope="module")
def softmax_model() -> bytes:
    layers = _layers()

    def build() -> Any:
        init = _tf().keras.initializers.RandomNormal(stddev=1.5, seed=3)
        return _tf().keras.Sequential([
            _tf().keras.Input((2, 24), batch_size=1),
            layers.Dense(40, kernel_initializer=init),
            layers.Softmax(),
        ])

    return int8_tflite(build, [(2, 24)], seed=SEED)


@pytest.mark.parametrize("beta", [0.01, 0.37, 1.0, 2.5, 13.0, 1e6])
def test_softmax_any_beta(softmax_model: bytes, beta: float, tmp_path: Path) -> None:
    """Beta scales the input multiplier; 1e6 saturates it (left shift 31, diff_min 0)."""

    def edit(sg: Any, opcode: Callable[[Any], str]) -> None:
        for op in sg.operators:
            if opcode(op) == "SOFTMAX":
                op.builtinOptions.beta = beta

    _bit_exact(_patch(softmax_model, edit), tmp_path, f"softmax_beta{beta}", vectors=12)


# ---- LOGISTIC, TANH ----


@pytest.mark.parametrize("index", range(6))
def test_logistic_tanh_all_inputs(index: int, tmp_path: Path) -> None:
    """Three differently quantized [256] inputs, each through sigmoid and tanh: every int8
    value of every input, for 6 x 3 input quantizations per op."""
    layers = _layers()

    def build() -> Any:
        xs = [_input((256,), i) for i in range(3)]
        outs = [layers.Activation(a)(x) for x in xs for a in ("sigmoid", "tanh")]
        return _tf().keras.Model(xs, outs)

    model = int8_tflite(build, [(256,)] * 3, seed=SEED + 100 + index)
    compiled = _bit_exact(model, tmp_path, f"logistic_tanh{index}", vectors=2)
    assert sorted(set(_ops(compiled))) == ["LOGISTIC", "TANH"]


# ---- RELU, RELU6, LEAKY_RELU ----


@pytest.mark.parametrize("index", range(5))
def test_relu_family_all_inputs(index: int, tmp_path: Path) -> None:
    """Standalone RELU / RELU6 / LEAKY_RELU on two differently quantized [256] inputs: each
    output has its own quantization, so RELU and LEAKY_RELU requantize."""
    rng = np.random.default_rng(SEED + 200 + index)
    alpha = float(rng.choice([0.01, 0.1, 0.3, 0.77, 1.5]))
    layers = _layers()

    def build() -> Any:
        xs = [_input((256,), i) for i in range(2)]
        outs = []
        for x in xs:
            outs += [layers.ReLU()(x), layers.ReLU(max_value=6.0)(x),
                     layers.LeakyReLU(negative_slope=alpha)(x)]
        return _tf().keras.Model(xs, outs)

    model = int8_tflite(build, [(256,)] * 2, seed=SEED + 200 + index)
    compiled = _bit_exact(model, tmp_path, f"relu{index}", vectors=2)
    assert set(_ops(compiled)) == {"RELU", "RELU6", "LEAKY_RELU"}


# ---- MUL ----

MUL_CASES: list[tuple[tuple[int, ...], tuple[int, ...], str]] = [
    ((256, 1), (1, 256), "none"),  # all 65536 input pairs of one quantization
    ((4, 5), (4, 5), "none"),
    ((2, 3, 4), (4,), "relu"),
    ((3, 1, 5), (1, 4, 1), "none"),
    ((1,), (6,), "relu6"),
    ((2, 1, 3, 1, 2), (1, 4, 1, 5, 1), "none"),
    ((7, 9), (7, 9), "relu"),
    ((5, 1), (5, 8), "const"),
    ((16,), (16,), "square"),
]


@pytest.mark.parametrize("index", range(len(MUL_CASES)))
def test_mul_broadcasting(index: int, tmp_path: Path) -> None:
    """MUL with broadcasting up to 5-D (6-D with the batch), fused RELU/RELU6, a constant
    operand and x * x."""
    shape1, shape2, variant = MUL_CASES[index]
    tf, layers = _tf(), _layers()
    const = np.random.default_rng(index).uniform(-2, 3, size=shape2).astype(np.float32)

    def build() -> Any:
        a = _input(shape1, 0)
        if variant == "const":
            return tf.keras.Model(a, layers.Lambda(lambda t: t * tf.constant(const))(a))
        if variant == "square":
            return tf.keras.Model(a, layers.Lambda(lambda t: t * t)(a))
        b = _input(shape2, 1)
        y = layers.Lambda(lambda t: t[0] * t[1])([a, b])
        if variant == "relu":
            y = layers.ReLU()(y)
        elif variant == "relu6":
            y = layers.ReLU(max_value=6.0)(y)
        return tf.keras.Model([a, b], y)

    shapes = [shape1] if variant in ("const", "square") else [shape1, shape2]
    model = _convert(build, shapes, SEED + 300 + index)
    compiled = _bit_exact(model, tmp_path, f"mul{index}", vectors=10)
    assert _ops(compiled) == ["MUL"]


# ---- QUANTIZE, DEQUANTIZE: float at the graph's edges ----


def test_float_io_classifier(tmp_path: Path) -> None:
    """A small classifier with float32 input and output: QUANTIZE -> FC -> RELU (fused) -> FC ->
    SOFTMAX -> DEQUANTIZE; the test vectors cover the QUANTIZE's float range (sample_range)."""
    layers = _layers()

    def build() -> Any:
        return _tf().keras.Sequential([
            _tf().keras.Input((20,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(6),
            layers.Softmax(),
        ])

    model = int8_tflite(build, [(20,)], seed=SEED + 400, float_io=True)
    compiled = _bit_exact(model, tmp_path, "float_classifier", vectors=40)
    assert _ops(compiled)[0] == "QUANTIZE" and _ops(compiled)[-1] == "DEQUANTIZE"
    graph = compiled.graph
    quantize = graph.tensors[graph.operators[0].outputs[0]]
    scale, zp = float(np.float32(quantize.scale)), quantize.zero_point
    info = compiled.manifest["inputs"][0]
    assert info["dtype"] == "float32"
    assert info["sample_range"] == [scale * (-128 - zp), scale * (127 - zp)]


def _float_act_model(seed: int) -> bytes:
    """Two float [256] inputs quantized, through sigmoid / tanh / leaky relu / relu6 / x * y,
    every output dequantized."""
    tf, layers = _tf(), _layers()

    def build() -> Any:
        x, y = _input((256,), 0), _input((256,), 1)
        return tf.keras.Model([x, y], [
            layers.Activation("sigmoid")(x),
            layers.Activation("tanh")(y),
            layers.LeakyReLU(negative_slope=0.2)(x),
            layers.ReLU(max_value=6.0)(y),
            layers.Lambda(lambda t: t[0] * t[1])([x, y]),
        ])

    return int8_tflite(build, [(256,), (256,)], seed=seed, float_io=True)


@pytest.mark.parametrize("index", range(4))
def test_float_io_activations_all_levels(index: int, tmp_path: Path) -> None:
    """Float inputs at every quantization level, the midpoints between them, and beyond the
    range (clamping); float outputs compared bit for bit."""
    model = _float_act_model(SEED + 450 + index)
    compiled = _bit_exact(model, tmp_path, f"float_act{index}", vectors=6, sweeps=4)
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(_ops(compiled))
    assert all("sample_range" in info for info in compiled.manifest["inputs"])


@pytest.fixture(scope="module")
def float_act_model() -> bytes:
    return _float_act_model(SEED + 460)


def _with_quantize_scale(model: bytes, scale: float, zero_point: int) -> bytes:
    """``model`` with every float -> int8 QUANTIZE's output quantization replaced."""

    def edit(sg: Any, opcode: Callable[[Any], str]) -> None:
        for op in sg.operators:
            if opcode(op) == "QUANTIZE" and sg.tensors[op.inputs[0]].type == 0:  # FLOAT32
                _set_scale(sg, op.outputs[0], scale, zero_point)

    return _patch(model, edit)


@pytest.mark.parametrize("scale,zero_point", [(2.0**-5, 3), (2.0**-2, -128), (1.0, 100)])
def test_quantize_rounds_ties_away_from_zero(
    float_act_model: bytes, scale: float, zero_point: int, tmp_path: Path
) -> None:
    """Power-of-two QUANTIZE scales make the midpoints between levels exact ties (x / scale =
    n + 0.5, negative and positive): TFLM rounds them away from zero (roundf), not to even."""
    model = _with_quantize_scale(float_act_model, scale, zero_point)
    compiled = _bit_exact(model, tmp_path, f"ties{scale}", vectors=2, sweeps=3)
    info = compiled.manifest["inputs"][0]
    x = np.concatenate([_sweep(info, k).ravel() for k in range(2)]).astype(np.float64) / scale
    assert (np.abs(x - np.trunc(x)) == 0.5).sum() >= 200, "the sweeps no longer hit exact ties"


@pytest.mark.parametrize("float_io", [False, True])
def test_requantize_int8_to_int8(float_io: bool, tmp_path: Path) -> None:
    """The converter inserts an int8 -> int8 QUANTIZE where a fixed-quantization output
    (LOGISTIC's 1/256) meets an op that needs one scale for all inputs (CONCATENATION). Only
    the LOGISTIC and QUANTIZE nodes are compiled; they are fed TFLM's own tensors."""
    tf, layers = _tf(), _layers()

    def build() -> Any:
        x = tf.keras.Input((64,))
        return tf.keras.Model(x, layers.Concatenate()([layers.Activation("sigmoid")(x), x]))

    model = int8_tflite(build, [(64,)], seed=SEED + 500 + int(float_io), float_io=float_io)
    graph = parse_model(model, "requant")
    nodes = [op.index for op in graph.operators if op.opcode in ("QUANTIZE", "LOGISTIC")]
    requant = [
        op for op in graph.operators
        if op.opcode == "QUANTIZE" and graph.tensors[op.inputs[0]].dtype == "int8"
    ]
    assert requant, "the converter no longer inserts an int8 -> int8 QUANTIZE here"
    if float_io:  # keep the float input's QUANTIZE out: its input is the graph input
        nodes = [n for n in nodes if graph.tensors[graph.operators[n].inputs[0]].dtype == "int8"]
    _subgraph_bit_exact(model, nodes, tmp_path, "requant", vectors=20)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an385"])
def test_float_edges_on_cortex_m(board: str, float_act_model: bytes, tmp_path: Path) -> None:
    """The float kernels on a Cortex-M4F (single-precision FPU: VDIV/VMUL) and a Cortex-M3
    (soft float) give TFLM's host bits: QUANTIZE at every level, at exact ties and beyond the
    range, and every DEQUANTIZE output, sent through the serial protocol."""
    import json

    from click.testing import CliRunner

    from mcuforge.cli import cli

    model = _with_quantize_scale(float_act_model, 2.0**-5, 3)
    path = tmp_path / "float_edges.tflite"
    path.write_bytes(model)
    infos = compile_graph(parse_model(model, "float_edges")).manifest["inputs"]
    sweeps = [[_sweep(info, k + i) for i, info in enumerate(infos)] for k in range(3)]
    np.savez(tmp_path / "inputs.npz", *(np.stack(arrays) for arrays in zip(*sweeps, strict=True)))
    args = ["test", str(path), "--board", board, "--inputs", str(tmp_path / "inputs.npz")]
    result = CliRunner().invoke(cli, [*args, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["vectors"] == 3 and report["mismatches"] == 0


UNARY_OPCODES = ["QUANTIZE", "RELU", "RELU6", "LEAKY_RELU", "LOGISTIC", "TANH"]


@pytest.mark.parametrize("opcode", UNARY_OPCODES)
def test_unary_ops_any_quantization(opcode: str, tmp_path: Path) -> None:
    """Each unary op on 16 graph inputs with random input and output quantizations, every int8
    input value. Input scales span 1e-6 to 7.5: LOGISTIC/TANH saturate beyond their input
    radius at coarse scales and stay near 0 at tiny ones; requantization multipliers run from
    ~1e-4 to ~1e4 (right and left shifts); output zero points above -128 make RELU's clamp bite;
    RELU6 and TANH ignore their output's parameters as TFLM does; leaky alphas include negative
    and > 1 values."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    rng = np.random.default_rng(SEED + 600 + UNARY_OPCODES.index(opcode))
    tensors: list[TensorSpec] = []
    ops: list[OpSpec] = []
    for i in range(16):
        s_in, zp_in = _random_quant(rng)
        s_in = {0: 7.5, 1: 1e-6, 2: 0.5}.get(i, s_in)
        s_out, zp_out = _random_quant(rng)
        if opcode == "QUANTIZE" and i < 2:  # same scale, only the zero point moves
            s_out, zp_out = s_in, int(zp_in - 7 * i * np.sign(zp_in))
        elif opcode == "LOGISTIC":  # the only output quantization TFLM accepts
            s_out, zp_out = 1.0 / 256, -128
        tensors += [("int8", (1, 256), s_in, zp_in), ("int8", (1, 256), s_out, zp_out)]
        options = None
        if opcode == "LEAKY_RELU":
            options = fb.LeakyReluOptionsT()
            options.alpha = float(rng.choice([-1.5, -0.2, 0.01, 0.2, 0.5, 2.0, 3.0]))
        ops.append((opcode, [2 * i], [2 * i + 1], options))
    model = _synthetic(tensors, ops, list(range(0, 32, 2)), list(range(1, 32, 2)))
    _bit_exact(model, tmp_path, f"{opcode.lower()}_any_quant", vectors=0, sweeps=2)


@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_mul_fused_activation_clamps(activation: str, tmp_path: Path) -> None:
    """MUL of (256, 1) by (1, 256), all 65536 int8 pairs, with a fused activation whose clamp
    bites: output zero points well inside the int8 range."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    rng = np.random.default_rng(SEED + 620 + len(activation))
    options = fb.MulOptionsT()
    options.fusedActivationFunction = getattr(fb.ActivationFunctionType, activation)

    def scale(lo: float, hi: float) -> float:
        return float(np.float32(rng.uniform(lo, hi)))

    zp1, zp2, zp_out = (int(z) for z in rng.integers(-40, 40, 3))
    tensors: list[TensorSpec] = [
        ("int8", (256, 1), scale(0.01, 0.1), zp1),
        ("int8", (1, 256), scale(0.01, 0.1), zp2),
        ("int8", (256, 256), scale(0.005, 0.05), zp_out),
    ]
    model = _synthetic(tensors, [("MUL", [0, 1], [2], options)], [0, 1], [2])
    compiled = _bit_exact(model, tmp_path, f"mul_{activation}", vectors=2, sweeps=1)
    low, high = compiled.calls[0].params["act_min"], compiled.calls[0].params["act_max"]
    assert low > -128 or high < 127


# ---- published models: their SOFTMAX layers ----


@pytest.mark.parametrize(
    "name",
    ["micro_speech_quantized", "mlperf_kws_ref_model", "mlperf_ic_resnet_int8", "person_detect"],
)
def test_zoo_softmax_layer(zoo: Path, name: str, tmp_path: Path) -> None:
    model = (zoo / f"{name}.tflite").read_bytes()
    graph = parse_model(model, name)
    nodes = [op.index for op in graph.operators if op.opcode == "SOFTMAX"]
    assert nodes
    _subgraph_bit_exact(model, nodes, tmp_path, name, vectors=8)


# ---- the fixed-point helpers: C (quant.h, run time) against Python (compile-time tables) ----

HARNESS = r"""
#include <stdint.h>
#include "quant.h"
#define UNARY(name, expr)                                                  \
    void name(const int32_t *in, int32_t *out, int n, int k) {             \
        for (int i = 0; i < n; ++i) {                                      \
            const int32_t x = in[i];                                       \
            (void)k;                                                       \
            out[i] = (expr);                                               \
        }                                                                  \
    }
UNARY(h_exp, mf_exp_on_negative_values(x, k))
UNARY(h_one_over, mf_one_over_one_plus_x_for_x_in_0_1(x))
UNARY(h_one_minus, mf_one_minus_x_over_one_plus_x_for_x_in_0_1(x))
UNARY(h_logistic, mf_logistic(x, k))
UNARY(h_tanh, mf_tanh(x, k))
UNARY(h_sat_shl, mf_sat_shl(x, k))
UNARY(h_rdbpot, mf_rdbpot(x, k))
UNARY(h_srdhm_by_k, mf_srdhm(x, k))
void h_reciprocal(const int32_t *in, int32_t *out, int n, int k) {
    for (int i = 0; i < n; ++i) {
        int bits = 0;
        out[i] = mf_reciprocal(in[i], k, &bits) ^ (int32_t)((uint32_t)bits << 26);
    }
}
"""


def _reciprocal(x: int, x_integer_bits: int) -> int:
    """TFLM's GetReciprocal for x > 0, packed like the harness: the Q0.31 reciprocal of x
    scaled into [1, 2), xor the scale's exponent in the top bits."""
    from mcuforge.compiler import fixedpoint as fp

    headroom_plus_one = 32 - x.bit_length()
    shifted_minus_one = fp.wrap32((x << headroom_plus_one) - (1 << 31))
    bits = x_integer_bits - headroom_plus_one
    return fp.one_over_one_plus_x_for_x_in_0_1(shifted_minus_one) ^ fp.wrap32(bits << 26)


def test_fixed_point_helpers_c_equals_python(tmp_path: Path) -> None:
    """The gemmlowp helpers exist twice: in C for the SOFTMAX kernel and in Python for the
    LOGISTIC/TANH tables (each checked against TFLM through the int8 ops above). Here they are
    compared raw int32 for raw int32 on random and edge inputs, which catches one-LSB
    differences that int8 outputs would mostly round away."""
    import ctypes
    import subprocess

    from mcuforge import resources
    from mcuforge.compiler import fixedpoint as fp

    src = tmp_path / "harness.c"
    src.write_text(HARNESS)
    lib = tmp_path / "harness.so"
    subprocess.run(
        ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
         f"-I{resources.firmware_dir() / 'runtime'}", "-o", str(lib), str(src)],
        check=True, capture_output=True, text=True,
    )
    c = ctypes.CDLL(str(lib))
    rng = np.random.default_rng(SEED + 700)
    edges = [0, 1, -1, 2, -2, (1 << 30), -(1 << 30), fp.INT32_MAX, fp.INT32_MIN, fp.INT32_MIN + 1]
    full = np.concatenate([
        rng.integers(fp.INT32_MIN, fp.INT32_MAX, 3000, endpoint=True),
        -(2 ** rng.uniform(0, 31, 3000)).astype(np.int64),
        edges,
    ]).astype(np.int32)
    non_positive = np.unique(np.where(full > 0, -full, full)).astype(np.int32)
    non_negative = np.unique(np.where(full < 0, -(full + 1), full)).astype(np.int32)

    def run(name: str, values: np.ndarray, k: int) -> list[int]:
        x = np.ascontiguousarray(values, dtype=np.int32)
        out = np.zeros_like(x)
        p32 = ctypes.POINTER(ctypes.c_int32)
        getattr(c, name)(x.ctypes.data_as(p32), out.ctypes.data_as(p32), len(x), k)
        return [int(v) for v in out]

    cases: list[tuple[str, np.ndarray, list[int], Callable[[int, int], int]]] = [
        ("h_exp", non_positive, [1, 2, 3, 4, 5, 6], fp.exp_on_negative_values),
        ("h_one_over", non_negative, [0], lambda x, k: fp.one_over_one_plus_x_for_x_in_0_1(x)),
        ("h_one_minus", non_negative, [0],
         lambda x, k: fp.one_minus_x_over_one_plus_x_for_x_in_0_1(x)),
        ("h_logistic", full, [0, 4, 5], fp.logistic),
        ("h_tanh", full, [0, 4, 5], fp.tanh),
        ("h_sat_shl", full, [0, 1, 2, 7, 30], fp.sat_shl),
        ("h_rdbpot", full, [0, 1, 12, 23, 31], fp.rdbpot),
        ("h_srdhm_by_k", full, [fp.INT32_MIN, -1515870810, 715827883, 1 << 30, fp.INT32_MAX],
         fp.srdhm),
        ("h_reciprocal", non_negative[non_negative > 0], [0, 12, 31], _reciprocal),
    ]
    for name, values, ks, python in cases:
        for k in ks:
            got = run(name, values, k)
            want = [python(int(x), k) for x in values]
            bad = [(int(x), g, w) for x, g, w in zip(values, got, want, strict=True) if g != w]
            assert not bad, f"{name}(k={k}): C != Python for {len(bad)} inputs, e.g. {bad[:3]}"


# ---- what check() refuses ----


IrSpec = tuple[str, tuple[int, ...], Quant | None]


def _graph(opcode: str, ins: list[IrSpec], out: IrSpec, **options: Any) -> tuple[Graph, Operator]:
    tensors = [Tensor(i, f"t{i}", shape, dtype, q) for i, (dtype, shape, q) in enumerate(ins)]
    tensors.append(Tensor(len(ins), "out", out[1], out[0], out[2]))
    op = Operator(0, opcode, tuple(range(len(ins))), (len(ins),), options)
    return Graph("g", tensors, [op], list(range(len(ins))), [len(ins)]), op


def _unary(opcode: str, dtype_in: str, dtype_out: str, q_in: Quant | None = None,
           q_out: Quant | None = None, shape: tuple[int, ...] = (1, 10)) -> tuple[Graph, Operator]:
    quant = Quant((0.05,), (0,))
    q_in = q_in or (None if dtype_in == "float32" else quant)
    q_out = q_out or (None if dtype_out == "float32" else quant)
    return _graph(opcode, [(dtype_in, shape, q_in)], (dtype_out, shape, q_out))


SOFTMAX_OUT = Quant((1.0 / 256,), (-128,))
INT8_PAIR = [("int8", (4,), Quant((0.05,), (0,)))] * 2

REFUSED: list[tuple[str, tuple[Graph, Operator], str]] = [
    ("int16 softmax scale", _unary("SOFTMAX", "int16", "int16"), "is not 1/32768"),
    ("int8->int16 softmax", _unary("SOFTMAX", "int8", "int16", q_out=Quant((2**-16,), (-32768,))),
     "int8 to int16 is not supported"),
    ("float softmax", _unary("SOFTMAX", "float32", "float32"), "needs int8"),
    ("softmax output scale", _unary("SOFTMAX", "int8", "int8", q_out=Quant((0.01,), (-128,))),
     "scale 1/256"),
    ("softmax tiny beta", _unary("SOFTMAX", "int8", "int8", Quant((1e-9,), (0,)), SOFTMAX_OUT),
     "too small"),
    ("softmax depth", _unary("SOFTMAX", "int8", "int8", q_out=SOFTMAX_OUT, shape=(1, 5000)),
     "overflows"),
    ("logistic zero point", _unary("LOGISTIC", "int8", "int8", q_out=Quant((1 / 256,), (0,))),
     "needs -128"),
    ("int16 tanh", _unary("TANH", "int16", "int16"), "int16"),
    ("mul activation", _graph("MUL", INT8_PAIR, INT8_PAIR[0], fused_activation_function="TANH"),
     "fused activation TANH"),
    ("mul shapes", _graph("MUL", [("int8", (4, 3), SOFTMAX_OUT), ("int8", (4, 2), SOFTMAX_OUT)],
                          ("int8", (4, 3), SOFTMAX_OUT)), "do not broadcast"),
    ("int16 mul", _graph("MUL", [("int16", (4,), None)] * 2, ("int16", (4,), None)),
     "int16 MUL without quantization"),
    # pairs TFLM's QUANTIZE has no kernel for
    ("uint8->int16 quantize", _unary("QUANTIZE", "uint8", "int16"), "uint8 to int16"),
    ("float->uint8 quantize", _unary("QUANTIZE", "float32", "uint8"), "float32 to uint8"),
    ("int32 dequantize", _unary("DEQUANTIZE", "int32", "float32"), "int32 to float32"),
    ("uint8 relu", _unary("RELU", "uint8", "uint8"), "needs int8"),
    ("per-channel relu6", _unary("RELU6", "int8", "int8", Quant((0.1, 0.2), (0, 0))),
     "per-channel"),
    ("zero scale", _unary("LEAKY_RELU", "int8", "int8", q_out=Quant((0.0,), (0,))), "zero"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_check_refuses_unsupported_variants(case: tuple[str, tuple[Graph, Operator], str]) -> None:
    _, (graph, op), expected = case
    problems = node_problems(graph, op)
    assert any(expected in p for p in problems), problems

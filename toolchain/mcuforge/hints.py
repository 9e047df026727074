"""What to tell a user whose model is refused: which Keras layer an op usually comes from, what to
use instead, and the patterns behind a flood of errors (a batch size computed at run time, a
recurrent layer left as a loop, a float model).

One place for these facts: the compiler's refusal (``compiler/ops/__init__.py``), ``inspect`` and
``quantize`` all word their advice from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcuforge.model.ir import Graph


@dataclass(frozen=True)
class Origin:
    layers: tuple[str, ...]  # Keras layer classes (or ops) that convert to the op
    advice: str = ""  # what to use instead, if anything


#: Where refused ops come from in Keras models, and the alternative when there is one.
ORIGINS: dict[str, Origin] = {
    "TILE": Origin(("UpSampling1D", "UpSampling2D", "UpSampling3D", "RepeatVector"),
                   "UpSampling2D(interpolation='bilinear') or Resizing(h, w, "
                   "interpolation='nearest') convert to RESIZE_BILINEAR / "
                   "RESIZE_NEAREST_NEIGHBOR"),
    "RESIZE_NEAREST_NEIGHBOR": Origin(("Resizing", "UpSampling2D")),
    "RESIZE_BILINEAR": Origin(("Resizing", "UpSampling2D")),
    "TRANSPOSE_CONV": Origin(("Conv2DTranspose", "Conv1DTranspose")),
    "REDUCE_MAX": Origin(("GlobalMaxPooling1D", "GlobalMaxPooling2D"),
                         "GlobalAveragePooling converts to MEAN"),
    "REDUCE_MIN": Origin(("keras.ops.min",)),
    "SUM": Origin(("keras.ops.sum",)),
    "TRANSPOSE": Origin(("Permute", "keras.ops.transpose"),
                        "a Reshape, where it keeps the data order, needs no op"),
    "NEG": Origin(("LayerNormalization", "Subtract"),
                  "BatchNormalization folds into the layer before it (no op at all)"),
    "SQUARED_DIFFERENCE": Origin(("LayerNormalization",),
                                 "BatchNormalization folds into the layer before it"),
    "RSQRT": Origin(("LayerNormalization", "Normalization"),
                    "BatchNormalization folds into the layer before it"),
    "HARD_SWISH": Origin(("hard_swish activation (MobileNetV3)",)),
    "BATCH_MATMUL": Origin(("Dense on a 3-D input", "Attention", "keras.ops.matmul")),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Origin(("LSTM",)),
    "BIDIRECTIONAL_SEQUENCE_LSTM": Origin(("Bidirectional(LSTM)",),
                                          "two LSTM layers, one with go_backwards=True"),
    "WHILE": Origin(("LSTM", "GRU", "SimpleRNN", "RNN"),
                    "convert with `mcuforge quantize`, which fuses LSTM layers into one op and "
                    "unrolls GRU / SimpleRNN for a fixed batch of 1"),
    "EXP": Origin(("Activation", "exp in a formula", "softmax written by hand"),
                  "TFLM has only a float EXP; the Softmax layer converts to SOFTMAX"),
    "REVERSE_V2": Origin(("go_backwards=True",)),
    "GATHER": Origin(("Embedding", "a batch size computed at run time")),
    "CAST": Origin(("argmax", "integer inputs")),
}

#: Ops a free batch dimension adds: the model computes its batch size at run time.
BATCH_OPS = frozenset({"SHAPE", "STRIDED_SLICE", "PACK", "GATHER", "REDUCE_PROD",
                       "CONCATENATION", "SLICE", "SQUEEZE", "RESHAPE", "FILL"})
#: Ops an unrolled recurrent layer is made of, besides the gates' arithmetic.
UNROLLED_RNN_OPS = frozenset({"UNPACK", "SPLIT", "SPLIT_V"})
GATE_OPS = frozenset({"LOGISTIC", "TANH", "MUL"})

BATCH_ADVICE = ("the model computes its batch size at run time ({ops}): fix the batch at 1 "
                "(keras.Input(batch_shape=(1, ...))) or convert with `mcuforge quantize`, which "
                "does")


def origin_hint(opcode: str, keras_layers: dict[str, list[str]] | None = None) -> str | None:
    """'OP comes from ...; use ...' for a refused op. ``keras_layers`` (class -> layer names of
    the user's model, when known) narrows the candidates to the layers the model has."""
    origin = ORIGINS.get(opcode)
    if origin is None:
        return None
    names = []
    if keras_layers:
        names = [f"layer '{n}' ({cls})" for cls in origin.layers for n in keras_layers.get(cls, [])]
    source = ", ".join(names) if names else " or ".join(origin.layers)
    text = f"{opcode} comes from {source}"
    return f"{text}; instead: {origin.advice}" if origin.advice else text


def batch_chain(graph: Graph) -> set[int]:
    """Nodes that compute the batch size at run time: everything fed, through integer shape
    tensors, by a SHAPE node, the nodes consuming those shapes and the nodes right after them
    (their problems are the batch's, reported once)."""
    shape_tensors: set[int] = set()
    chain: set[int] = set()
    for op in graph.operators:  # schedule order: producers come first
        feeds = op.opcode == "SHAPE" or any(t in shape_tensors for t in op.inputs)
        if not feeds:
            continue
        chain.add(op.index)
        if op.opcode == "SHAPE" or op.opcode in BATCH_OPS:
            shape_tensors.update(t for t in op.outputs
                                 if graph.tensors[t].dtype in ("int32", "int64"))
    # The nodes right after (a RESHAPE by a computed shape feeding a layer) inherit its errors.
    produced = {t for i in chain for t in graph.operators[i].outputs}
    chain |= {op.index for op in graph.operators if produced & set(op.inputs)}
    return chain


def batch_problem(graph: Graph, chain: set[int]) -> str:
    ops = sorted({graph.operators[i].opcode for i in chain} & (BATCH_OPS | {"SHAPE"}))
    return BATCH_ADVICE.format(ops=", ".join(ops))


def recurrent_problem(opcodes: set[str]) -> str | None:
    """Tell a recurrent layer converted as a loop from one unrolled into plain ops."""
    if "WHILE" in opcodes:
        return ("the model has a WHILE loop: a recurrent layer (LSTM, GRU, SimpleRNN) converted "
                "as a loop; " + ORIGINS["WHILE"].advice)
    if opcodes & UNROLLED_RNN_OPS and opcodes >= GATE_OPS:
        return ("the model looks like an unrolled recurrent layer (UNPACK/SPLIT per time step "
                "with LOGISTIC/TANH gates); for an LSTM, `mcuforge quantize` makes one "
                "UNIDIRECTIONAL_SEQUENCE_LSTM op instead")
    return None


FLOAT_MODEL_TENSORS = 3  # more float tensors than this: a float model, said once


def _float_lines(precision: list[str]) -> list[str]:
    """The precision problems about float tensors (not int16 activations of a 16x8 model)."""
    return [p for p in precision if "int16 activations" not in p]


def is_float_model(precision: list[str]) -> bool:
    return len(_float_lines(precision)) > FLOAT_MODEL_TENSORS


def float_model_problem(graph: Graph, precision: list[str]) -> list[str]:
    """Precision problems, the float ones collapsed to one line when the whole model computes
    in float."""
    if not is_float_model(precision):
        return precision
    floats = _float_lines(precision)
    return [p for p in precision if p not in floats] + [
        f"{graph.name} is a float model ({len(floats)} tensors carry float values): "
        f"quantize it first: mcuforge quantize {graph.name}.tflite -o "
        f"{graph.name}_int8.tflite --calibration SAMPLES.npy"]

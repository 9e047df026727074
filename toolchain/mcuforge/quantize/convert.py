"""Float and int8 conversion: TensorFlow's TFLiteConverter and ai-edge-quantizer (AEQ).

Keras and SavedModel models go through ``tf.lite.TFLiteConverter`` (with a representative data
set for int8); float ``.tflite`` files go through AEQ after :func:`normalize_for_aeq`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.errors import ToolchainMissing
from mcuforge.quantize.errors import QuantizeError, refuse
from mcuforge.quantize.flatbuffer import add_float_io, normalize_for_aeq, read_model
from mcuforge.quantize.quiet import quiet
from mcuforge.quantize.recurrent import convertible, nested_recurrent_problems

# fmt: off
# Keras layers that become WHILE loops or BATCH_MATMUL kernels in TFLite; the converter fails or
# even crashes on several of them during int8 calibration, so they are refused first. (LSTM, GRU
# and SimpleRNN are fused or unrolled first: quantize/recurrent.py.)
UNSUPPORTED_LAYERS = frozenset({
    "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "MultiHeadAttention", "Attention", "AdditiveAttention",
})
# fmt: on


def source_format(model_path: Path) -> str:
    """The format of ``model_path``: "keras", "saved_model" or "tflite" (else QuantizeError)."""
    if model_path.is_dir():
        if (model_path / "saved_model.pb").is_file():
            return "saved_model"
        raise QuantizeError(f"{model_path} is a directory without saved_model.pb")
    if not model_path.is_file():
        raise QuantizeError(f"model {model_path} does not exist")
    formats = {".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".tflite": "tflite"}
    if model_path.suffix.lower() not in formats:
        raise QuantizeError(
            f"unknown model format {model_path.name}: expected .keras, .h5, a SavedModel "
            "directory or .tflite"
        )
    return formats[model_path.suffix.lower()]


def _all_layers(model: Any) -> list[Any]:
    out, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        out.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return out


def _keras_layer_problems(model: Any) -> list[str]:
    problems, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        kind = type(layer).__name__
        if kind in UNSUPPORTED_LAYERS:
            problems.append(
                f"layer '{layer.name}' ({kind}): becomes a WHILE loop or BATCH_MATMUL ops, not "
                "supported by the mcuforge compiler (LSTM, GRU and SimpleRNN layers are)"
            )
        stack.extend(getattr(layer, "layers", []))
    return problems


def _first_line(exc: BaseException) -> str:
    """The telling line of a converter or Keras error, without MLIR location noise."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if "error: " in ln:
            return ln.rsplit("error: ", 1)[1][:400]
    return (lines or [type(exc).__name__])[0][:400]


def _converter(tf: Any, model_path: Path, fmt: str, notes: list[str] | None = None,
               layers: dict[str, list[str]] | None = None) -> Any:
    if fmt == "saved_model":
        return _saved_model_converter(tf, model_path)
    try:
        with quiet():
            keras_model = tf.keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises many types for unreadable or custom-layer files
        hint = " (replace Lambda layers by keras.ops calls)" if "Lambda" in str(exc) else ""
        raise QuantizeError(f"cannot load {model_path}: {_first_line(exc)}{hint}") from None
    if layers is not None:
        for layer in _all_layers(keras_model):
            layers.setdefault(type(layer).__name__, []).append(layer.name)
    problems = _keras_layer_problems(keras_model) + nested_recurrent_problems(keras_model)
    if problems:
        raise refuse(model_path.name, problems)
    if len(keras_model.inputs) != 1:
        raise QuantizeError(f"{model_path.name} has {len(keras_model.inputs)} inputs: only one")
    # A batch of 1, fixed: with a free batch axis, Flatten/Reshape become SHAPE, STRIDED_SLICE
    # and PACK ops computing the batch size at run time.
    shape = tuple(keras_model.inputs[0].shape[1:])
    if None in shape:
        raise QuantizeError(f"{model_path.name} has a free input dimension: {shape}")
    keras_model, recurrent = convertible(tf, keras_model)
    if notes is not None:
        notes.extend(recurrent)
    fixed = tf.keras.Input(batch_shape=(1, *shape))
    return tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(fixed, keras_model(fixed)))


def _saved_model_converter(tf: Any, model_path: Path) -> Any:
    """Converter for a SavedModel's serving signature with the batch fixed to 1.

    ``from_saved_model`` keeps a free batch axis, and every Flatten/Reshape then costs SHAPE,
    STRIDED_SLICE and PACK ops; wrapping the signature in a batch-1 Keras model folds them.
    """
    try:
        with quiet():
            signatures = tf.saved_model.load(str(model_path)).signatures
            name = "serving_default" if "serving_default" in signatures else next(iter(signatures))
            specs = signatures[name].structured_input_signature[1]
            if len(specs) != 1:
                raise QuantizeError(f"{model_path.name} has {len(specs)} inputs: only one")
            shape = next(iter(specs.values())).shape[1:]
            if None in shape:
                raise QuantizeError(f"{model_path.name} has a free input dimension: {shape}")
            fixed = tf.keras.Input(batch_shape=(1, *shape))
            out = tf.keras.layers.TFSMLayer(str(model_path), call_endpoint=name)(fixed)
            if isinstance(out, dict):
                if len(out) != 1:
                    raise QuantizeError(f"{model_path.name} has {len(out)} outputs: only one")
                out = next(iter(out.values()))
            return tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(fixed, out))
    except QuantizeError:
        raise
    except StopIteration:
        raise QuantizeError(f"{model_path.name} has no serving signature") from None
    except Exception as exc:
        raise QuantizeError(f"cannot load {model_path}: {_first_line(exc)}") from None


def convert(tf: Any, path: Path, fmt: str, calib: np.ndarray | None, float_io: bool,
            notes: list[str] | None = None, activations: str = "int8",
            layers: dict[str, list[str]] | None = None) -> bytes:
    """Float (``calib`` None) or full-integer conversion through TFLiteConverter: int8, or 16x8
    (int16 activations, int8 weights) with ``activations="int16"``. ``notes`` receives what
    became of recurrent layers, ``layers`` the Keras model's layer names by class."""
    conv = _converter(tf, path, fmt, notes, layers)
    if calib is not None:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([s[None]] for s in calib)
        # Float fallback is allowed so that an op without an integer kernel comes back by name
        # through check_int8_model instead of as a converter stack trace.
        integer_ops = (tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if activations == "int8" else
                       tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8)
        conv.target_spec.supported_ops = [integer_ops, tf.lite.OpsSet.TFLITE_BUILTINS]
        io_type = tf.int8 if activations == "int8" else tf.int16
        conv.inference_input_type = conv.inference_output_type = (
            tf.float32 if float_io else io_type)
    try:
        with quiet():
            return bytes(conv.convert())
    except Exception as exc:
        raise QuantizeError(f"TFLite converter failed on {path.name}: {_first_line(exc)}") from None


def aeq_quantize(float_tflite: bytes, calib: np.ndarray, float_io: bool,
                 activations: str = "int8") -> bytes:
    """Full-integer quantisation of a float .tflite with ai-edge-quantizer (int8 or 16x8)."""
    try:
        from ai_edge_quantizer import calibrator, quantizer, recipe, recipe_manager
        from ai_edge_quantizer.utils import qsv_utils
    except ImportError:
        raise ToolchainMissing(
            "quantizing a .tflite needs ai-edge-quantizer: pip install 'mcuforge[quantize]'"
        ) from None
    normalized = normalize_for_aeq(float_tflite)
    sig = read_model(normalized).signatureDefs[0]
    samples = [{sig.inputs[0].name.decode(): s[None]} for s in calib]
    try:
        with quiet():
            rules = recipe.static_wi8_ai8() if activations == "int8" else recipe.static_wi8_ai16()
            manager = recipe_manager.RecipeManager()
            manager.load_quantization_recipe(rules)
            # Global min/max, as TFLiteConverter does: AEQ's default moving average of
            # per-sample ranges clips rare large values (magic-wand model on synthesised
            # gestures: 62 % top-1 agreement with it, 97 % with global min/max).
            calib_run = calibrator.Calibrator(normalized, qsv_update_func=qsv_utils.min_max_update)
            calib_run.calibrate({sig.signatureKey.decode(): samples}, manager)
            result = quantizer.Quantizer(normalized, rules).quantize(calib_run.get_model_qsvs())
    except Exception as exc:
        raise QuantizeError(f"ai-edge-quantizer failed: {_first_line(exc)}") from None
    data = bytes(result.quantized_model)
    return add_float_io(data) if float_io else data

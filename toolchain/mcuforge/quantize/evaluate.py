"""Running the float model (TFLite reference kernels) and the int8 model (TFLM), and comparing."""

from __future__ import annotations

import numpy as np

from mcuforge.quantize.quiet import import_tf, quiet


def run_float(data: bytes, x: np.ndarray, *, reset: bool = False) -> np.ndarray:
    """Outputs of a float .tflite for each sample (TFLite reference kernels, no XNNPACK);
    ``reset`` restores the model's state before each sample (independent sequences)."""
    try:
        with quiet():  # its own copy of the TensorFlow runtime prints the start-up lines again
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        tf = import_tf()
        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with quiet():
        interp = Interpreter(model_content=data, experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for sample in x:
        if reset:
            interp.reset_all_variables()
        interp.set_tensor(inp["index"], sample.reshape(inp["shape"]).astype(np.float32))
        interp.invoke()
        results.append(interp.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(results)


def run_tflm(data: bytes, x: np.ndarray, *, reset: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run a model under the TFLM reference interpreter, one sample at a time.

    Args:
        data: the .tflite bytes.
        x: samples; float samples are quantised with the model's input parameters when its
            input is int8, int8 samples are fed unchanged.

    Returns:
        (outputs as the model produces them, dequantised float outputs), one row per sample.
    """
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(data)
    inp, out = interp.get_input_details(0), interp.get_output_details(0)
    in_q, out_q = inp["quantization_parameters"], out["quantization_parameters"]
    raw = []
    for sample in x:
        if inp["dtype"] in (np.int8, np.int16) and sample.dtype != inp["dtype"]:
            scale, zp = float(in_q["scales"][0]), int(in_q["zero_points"][0])
            info = np.iinfo(inp["dtype"])
            sample = np.clip(np.round(sample / scale) + zp, info.min, info.max)
        if reset:
            interp.reset()
        interp.set_input(sample.reshape(inp["shape"]).astype(inp["dtype"]), 0)
        interp.invoke()
        raw.append(np.array(interp.get_output(0)).reshape(-1))
    outputs = np.stack(raw)
    if out["dtype"] not in (np.int8, np.int16):
        return outputs, outputs.astype(np.float32)
    scale, zp = float(out_q["scales"][0]), int(out_q["zero_points"][0])
    return outputs, (outputs.astype(np.float32) - zp) * scale


def looks_like_probabilities(y: np.ndarray) -> bool:
    """Whether every row of ``y`` is a probability vector over more than one class."""
    in_range = y.min() >= -1e-4 and y.max() <= 1 + 1e-4
    return bool(y.shape[-1] > 1 and in_range and np.allclose(y.sum(axis=-1), 1.0, atol=1e-2))


def compare(
    ref: np.ndarray,
    got: np.ndarray,
    task: str,
    y: np.ndarray | None,
    held_idx: np.ndarray,
) -> dict[str, float | int | None]:
    """Float (``ref``) vs int8 (``got``) outputs on the held-out samples.

    ``y`` are the labels of all samples (class indices or one-hot), ``held_idx`` the rows of
    ``ref`` / ``got`` among them. The keys are the metric fields of :class:`QuantizeReport`.
    """
    metrics: dict[str, float | None] = {
        "max_abs_error": float(np.abs(ref - got).max()),
        "mean_abs_error": float(np.abs(ref - got).mean()),
        "top1_agreement": None,
        "float_accuracy": None,
        "int8_accuracy": None,
        "tied_top1": 0,
    }
    if task == "classification":
        metrics["top1_agreement"] = float(np.mean(ref.argmax(axis=1) == got.argmax(axis=1)))
        # Quantized scores tie easily (an untrained model's near-uniform outputs all land on
        # one int8 step); argmax then picks the first class, whatever the float model says.
        metrics["tied_top1"] = int(np.sum((got == got.max(axis=1, keepdims=True)).sum(axis=1)
                                          > 1))
        if y is not None:
            one_hot = y.ndim > 1 and y.shape[-1] > 1
            labels = y.reshape(len(y), -1).argmax(axis=1) if one_hot else y.reshape(-1)
            metrics["float_accuracy"] = float(np.mean(ref.argmax(axis=1) == labels[held_idx]))
            metrics["int8_accuracy"] = float(np.mean(got.argmax(axis=1) == labels[held_idx]))
    return metrics

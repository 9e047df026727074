"""Stateful (streaming) int8 models made with TensorFlow: tf.Variable state read and assigned on
every call, converted by the real TF converter with resource variables, the way streaming
wake-word models are. Each builder is a function of the input ``x`` and the variables."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def stateful_int8_tflite(
    step: Callable, input_shape: tuple[int, ...], state_shapes: list[tuple[int, ...]], *,
    seed: int = 0, initial: float = 0.0,
) -> bytes:
    """Convert ``step(x, variables) -> y`` (which assigns the variables) to a full-int8 model.

    Calibration runs the step as a stream over random inputs, so the variables' ranges are
    those the stream reaches.
    """
    import tensorflow as tf

    class Stream(tf.Module):
        def __init__(self) -> None:
            self.vars = [tf.Variable(tf.fill(s, initial), trainable=False) for s in state_shapes]

        @tf.function(input_signature=[tf.TensorSpec(input_shape, tf.float32)])
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return step(x, self.vars)

    module = Stream()
    rng = np.random.default_rng(seed)
    # An asymmetric range around zero, so that rectified paths never collapse to a constant.
    lo, hi = rng.uniform(-3.0, -0.5), rng.uniform(0.5, 3.0)

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(64):
            yield [rng.uniform(lo, hi, size=input_shape).astype(np.float32)]

    fn = module.__call__.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], module)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter.experimental_enable_resource_variables = True
    # Keep the variables int8 (as micro_wake_word's streaming models have them) instead of a
    # float variable with QUANTIZE/DEQUANTIZE around it.
    converter._experimental_variable_quantization = True
    # The converter's variable quantization fails now and then on the same input ("'tfl.quantize'
    # op using value defined outside the region"): its pass order is not deterministic.
    for attempt in range(4):
        try:
            return bytes(converter.convert())
        except RuntimeError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def convert_isolated(cases: dict[str, tuple]) -> dict[str, bytes]:
    """Convert several ``(step, input_shape, state_shapes)`` cases in one fresh process.

    TensorFlow's converter keeps global state: after other tests built Keras models in this
    process, converting resource variables can fail ("'tfl.quantize' op using value defined
    outside the region"). A spawned worker starts clean every time.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = {name: pool.submit(stateful_int8_tflite, fn, shape, states, seed=i)
                for i, (name, (fn, shape, states)) in enumerate(cases.items())}
        return {name: job.result() for name, job in jobs.items()}

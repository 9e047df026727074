"""The wake-word network twice: as a Keras model over a window of frames (trained), and as a
streaming step over the 3 newest frames whose past lives in tf.Variable state (deployed).

Both compute the same function. The Keras model uses "valid" convolutions over time: its output
``j`` over frames ``[1, 1 + T)`` is the streaming step ``j + WARMUP_STEPS`` of a stream that
started at frame 0, once every state row holds real frames (after ``WARMUP_STEPS`` steps).

Per step (3 frames of 40 int8 features, every 30 ms)::

    frames [3, 40] ─concat(state: 2 frames)─▶ conv 5x40 -> C, ReLU          (state <- last 2)
      ─▶ 4 x [ concat(state: 8 steps) ─▶ depthwise 9 ─▶ ReLU ─▶ pointwise C -> C ─▶ ReLU, + ]
      ─▶ pointwise C -> 6 ─▶ softmax                      (silence, unknown, yes, no, left, right)

Receptive field: 5 + 3 * 4 * 8 = 101 frames (1.03 s of audio). Batch norm folds into the
convolutions when the streaming model is built.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf

FEATURES = 40
FRAMES_PER_STEP = 3
FIRST_KERNEL = 5
DW_KERNEL = 9
BLOCKS = 4
WIDTH = 64
#: Streaming steps before every state row holds real frames.
WARMUP_STEPS = 1 + BLOCKS * (DW_KERNEL - 1)
#: Frames one output depends on.
RECEPTIVE_FRAMES = FIRST_KERNEL + FRAMES_PER_STEP * BLOCKS * (DW_KERNEL - 1)


def step_last_frame(step: int) -> int:
    """The newest frame a streaming step has seen (steps run after frames 2, 5, 8, ...)."""
    return FRAMES_PER_STEP * step + FRAMES_PER_STEP - 1


def window_outputs(frames: int) -> int:
    """Outputs of the Keras model over ``frames`` frames."""
    return max(0, (frames - FIRST_KERNEL) // FRAMES_PER_STEP + 1 - BLOCKS * (DW_KERNEL - 1))


def build_keras(num_classes: int, width: int = WIDTH, frames: int | None = None) -> tf.keras.Model:
    """The training model: input float [T, 40] (the int8 feature values; ``frames`` fixes T),
    output per step."""
    layers = tf.keras.layers

    def bn_relu(x: tf.Tensor, name: str) -> tf.Tensor:
        return layers.ReLU()(layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x))

    inp = tf.keras.Input((frames, FEATURES))
    h = layers.Conv1D(width, FIRST_KERNEL, strides=FRAMES_PER_STEP, use_bias=False,
                      name="conv0")(inp)
    h = bn_relu(h, "conv0")
    for b in range(BLOCKS):
        y = layers.DepthwiseConv1D(DW_KERNEL, use_bias=False, name=f"dw{b}")(h)
        y = bn_relu(y, f"dw{b}")
        y = layers.Conv1D(width, 1, use_bias=False, name=f"pw{b}")(y)
        y = layers.SpatialDropout1D(0.1)(bn_relu(y, f"pw{b}"))  # training only
        h = layers.Add()([layers.Cropping1D((DW_KERNEL - 1, 0))(h), y])
    out = layers.Conv1D(num_classes, 1, activation="softmax", name="head")(h)
    return tf.keras.Model(inp, out, name="wake_word_stream")


def _folded(model: tf.keras.Model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of layer ``name`` with its batch norm folded in (output channels last)."""
    kernel = model.get_layer(name).get_weights()[0]
    gamma, beta, mean, var = model.get_layer(f"{name}_bn").get_weights()
    eps = model.get_layer(f"{name}_bn").epsilon
    scale = gamma / np.sqrt(var + eps)
    if kernel.ndim == 3 and name.startswith("dw"):  # depthwise [k, C, 1]: channel axis 1
        kernel = kernel * scale[None, :, None]
    else:
        kernel = kernel * scale
    return kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)


class StreamingModel(tf.Module):
    """One step: int8-valued features [1, 3, 40] in, class probabilities [1, 6] out."""

    def __init__(self, model: tf.keras.Model):
        super().__init__()
        w0, b0 = _folded(model, "conv0")
        width = w0.shape[-1]
        self.w0 = tf.constant(w0[:, None])  # [5, 1, 40, C]
        self.b0 = tf.constant(b0)
        self.blocks = []
        for b in range(BLOCKS):
            wd, bd = _folded(model, f"dw{b}")
            wp, bp = _folded(model, f"pw{b}")
            self.blocks.append((tf.constant(wd[:, None]), tf.constant(bd),
                                tf.constant(wp[:, None]), tf.constant(bp)))
        wh, bh = model.get_layer("head").get_weights()
        self.wh, self.bh = tf.constant(wh[:, None]), tf.constant(bh)
        self.frames = tf.Variable(tf.zeros([1, FIRST_KERNEL - FRAMES_PER_STEP, 1, FEATURES]),
                                  trainable=False)
        self.past = [tf.Variable(tf.zeros([1, DW_KERNEL - 1, 1, width]), trainable=False)
                     for _ in range(BLOCKS)]

    @tf.function(input_signature=[tf.TensorSpec([1, FRAMES_PER_STEP, FEATURES], tf.float32)])
    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        window = tf.concat([self.frames, tf.reshape(x, [1, FRAMES_PER_STEP, 1, FEATURES])], 1)
        self.frames.assign(window[:, FRAMES_PER_STEP:])
        h = tf.nn.relu(tf.nn.conv2d(window, self.w0, 1, "VALID") + self.b0)
        for state, (wd, bd, wp, bp) in zip(self.past, self.blocks, strict=True):
            window = tf.concat([state, h], 1)
            state.assign(window[:, 1:])
            y = tf.nn.relu(tf.nn.depthwise_conv2d(window, wd, [1, 1, 1, 1], "VALID") + bd)
            y = tf.nn.relu(tf.nn.conv2d(y, wp, 1, "VALID") + bp)
            h = h + y
        logits = tf.nn.conv2d(h, self.wh, 1, "VALID") + self.bh
        return tf.nn.softmax(tf.reshape(logits, [1, -1]))

    def reset(self) -> None:
        for v in [self.frames, *self.past]:
            v.assign(tf.zeros_like(v))


def convert(stream: StreamingModel, calibration: Iterable[np.ndarray], attempts: int = 6) -> bytes:
    """Full-int8 .tflite with int8 resource variables. ``calibration`` yields [3, 40] steps in
    stream order (the converter runs them through the step, variables carried along)."""
    steps = [np.asarray(s, np.float32).reshape(1, FRAMES_PER_STEP, FEATURES)
             for s in calibration]

    def representative():  # type: ignore[no-untyped-def]
        for s in steps:
            yield [s]

    fn = stream.__call__.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], stream)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter.experimental_enable_resource_variables = True
    converter._experimental_variable_quantization = True  # int8 state, as ESPHome's models
    # The variable quantization pass fails now and then on the same graph ("'tfl.quantize' op
    # using value defined outside the region"): its pass order is not deterministic. Retry.
    for attempt in range(attempts):
        try:
            return bytes(converter.convert())
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")

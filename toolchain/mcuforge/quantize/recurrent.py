"""Recurrent Keras layers, made convertible for a fixed batch of 1.

Keras 3 converts an LSTM, GRU or SimpleRNN layer to a WHILE loop, which the converter cannot
quantize (and which TFLM-class devices should not run). The model is cloned with each layer
replaced:

* ``LSTM`` (tanh / sigmoid activations, no state outputs) by a layer that calls a function
  marked ``api_implements="lstm_..."``: TensorFlow's converter recognises the Keras LSTM
  interface by that mark and emits one fused UNIDIRECTIONAL_SEQUENCE_LSTM op, which TFLM runs in
  integer arithmetic with an int16 cell state (Keras 2 marked its LSTM itself; Keras 3 does not).
  The converter insists on static shapes for the initial state, hence the fixed batch.
* ``GRU``, ``SimpleRNN`` and any other LSTM by the same layer with ``unroll=True``: one set of
  element-wise ops per time step (the steps are known because the shapes are fixed).

The fused op keeps its state between invocations in TFLite and TFLM alike (its state tensors
are variables): each invocation continues the sequence until the interpreter -- or
``<model>_reset()`` on the device -- resets it. :func:`recurrent_note` says so in the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

UNROLLABLE = ("LSTM", "GRU", "SimpleRNN")


def _fusable(layer: Any) -> str | None:
    """Why a Keras LSTM layer cannot become the fused op (None when it can)."""
    cfg = layer.get_config()
    if cfg.get("activation") != "tanh" or cfg.get("recurrent_activation") != "sigmoid":
        return "activation is not tanh with sigmoid gates"
    if cfg.get("return_state"):
        return "return_state=True"
    return None


def recurrent_layers(model: Any) -> list[Any]:
    """The model's recurrent layers, nested models included."""
    return [layer for layer in _flat(model) if type(layer).__name__ in UNROLLABLE]


def nested_recurrent_problems(model: Any) -> list[str]:
    """Recurrent layers inside nested models, which the clone cannot replace."""
    top = {id(layer) for layer in getattr(model, "layers", [])}
    return [f"layer '{layer.name}' ({type(layer).__name__}) is inside a nested model: "
            "call it from the top-level model so that mcuforge can fuse or unroll it"
            for layer in recurrent_layers(model) if id(layer) not in top]


def _fused_lstm_function(tf: Any, go_backwards: bool) -> Any:
    """The Keras LSTM interface the converter fuses: (inputs, init_h, init_c, kernel,
    recurrent_kernel, bias) -> (last output, full sequence, h, c, runtime). The body is the
    standard LSTM; the converter replaces it by its fused op."""

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):  # type: ignore[no-untyped-def]
        steps = tf.unstack(inputs, axis=1)
        if go_backwards:
            steps = steps[::-1]
        h, c, outs = init_h, init_c, []
        for x in steps:
            z = tf.matmul(x, kernel) + tf.matmul(h, recurrent_kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            outs.append(h)
        return outs[-1], tf.stack(outs, axis=1), h, c, tf.constant(0.0)

    attributes = {"api_implements": f"lstm_mcuforge_{'b' if go_backwards else 'f'}",
                  "api_preferred_device": "CPU", "time_major": False,
                  "go_backwards": go_backwards}
    return tf.function(standard_lstm, autograph=False, experimental_attributes=attributes)


def _fused_lstm_layer(tf: Any, keras: Any, source: Any) -> Any:
    kernel, recurrent, *rest = (np.asarray(w) for w in source.get_weights())
    units = int(source.units)
    bias = rest[0] if rest else np.zeros(4 * units, np.float32)
    fused = _fused_lstm_function(tf, bool(source.go_backwards))
    sequences = bool(source.return_sequences)

    class FusedLSTM(keras.layers.Layer):  # type: ignore[misc, name-defined]
        def compute_output_shape(self, shape):  # type: ignore[no-untyped-def]
            return (shape[0], shape[1], units) if sequences else (shape[0], units)

        def call(self, x, mask=None, training=None, initial_state=None):  # type: ignore[no-untyped-def]
            zeros = tf.zeros((x.shape[0], units))
            last, seq, *_ = fused(x, zeros, zeros, tf.constant(kernel), tf.constant(recurrent),
                                  tf.constant(bias))
            return seq if sequences else last

    return FusedLSTM(name=source.name)


def convertible(tf: Any, model: Any) -> tuple[Any, list[str]]:
    """A clone of ``model`` whose recurrent layers convert without WHILE loops, and notes saying
    what became of each. ``model`` is returned unchanged when it has none."""
    layers = recurrent_layers(model)
    if not layers:
        return model, []
    keras = tf.keras
    notes = []

    def clone(layer: Any) -> Any:
        kind = type(layer).__name__
        if kind == "LSTM" and _fusable(layer) is None:
            notes.append(f"layer '{layer.name}' (LSTM) -> UNIDIRECTIONAL_SEQUENCE_LSTM")
            return _fused_lstm_layer(tf, keras, layer)
        new = layer.__class__.from_config(layer.get_config())
        if kind in UNROLLABLE:
            cfg = layer.get_config()
            cfg["unroll"] = True
            new = layer.__class__.from_config(cfg)
            why = f" ({_fusable(layer)})" if kind == "LSTM" else ""
            notes.append(f"layer '{layer.name}' ({kind}){why} unrolled into element-wise ops "
                         "per time step")
        return new

    cloned = keras.models.clone_model(model, clone_function=clone)
    for src, dst in zip(_flat(model), _flat(cloned), strict=False):
        if src.get_weights() and type(dst).__name__ != "FusedLSTM":
            dst.set_weights(src.get_weights())
    return cloned, notes


def _flat(model: Any) -> list[Any]:
    out, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        out.append(layer)
        stack[:0] = list(getattr(layer, "layers", []))
    return out


def recurrent_note(ops: list[str]) -> str | None:
    """The caveat a fused LSTM needs in the report, or None."""
    if "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops:
        return None
    return ("the LSTM keeps its state between invocations (TFLite and TFLM do this too): call "
            "<model>_reset() before each new sequence; mcuforge test runs the vectors as one "
            "stream (--reset-every 1 for independent sequences)")

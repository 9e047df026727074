"""Keras layers that compute the same thing as the original but convert to ops TFLM runs in int8.

* ``UpSampling2D(interpolation="nearest")``: Keras 3 repeats rows and columns (``ops.repeat``),
  which the converter turns into RESHAPE/TILE chains; TFLM has no int8 TILE. The same values come
  from ``tf.image.resize(method="nearest")``, one RESIZE_NEAREST_NEIGHBOR: with half-pixel
  centres, output pixel ``d`` reads ``floor((d + 0.5) / s)`` = ``d // s`` for an integer factor
  ``s``, exactly what repeating does. (Bilinear UpSampling2D already converts to
  RESIZE_BILINEAR.)
* ``LayerNormalization``: Keras computes ``x * inv + (-mean * inv + beta)``, and the ``-mean``
  becomes NEG, which TFLM has only for float. ``(x - mean) * inv + beta`` is the same formula
  with SUB instead (and one MUL and ADD fewer); it also quantizes better, since the two large
  terms of the Keras form that cancel each other are never materialised in int8.

Each subclass keeps its Keras class's config and weights, so the cloned model loads the
original's weights unchanged (``rewrite.convertible``).
"""

from __future__ import annotations

from typing import Any


def _nearest_upsampling(tf: Any, keras: Any, layer: Any) -> Any:
    class ResizeUpSampling2D(keras.layers.UpSampling2D):  # type: ignore[misc, name-defined]
        def call(self, x):  # type: ignore[no-untyped-def]
            first = self.data_format == "channels_first"
            if first:
                x = tf.transpose(x, [0, 2, 3, 1])
            size = (x.shape[1] * self.size[0], x.shape[2] * self.size[1])
            x = tf.image.resize(x, size, method="nearest")
            return tf.transpose(x, [0, 3, 1, 2]) if first else x

    return ResizeUpSampling2D.from_config(layer.get_config())


def _layer_norm(tf: Any, keras: Any, layer: Any) -> Any:
    class SubLayerNormalization(keras.layers.LayerNormalization):  # type: ignore[misc, name-defined]
        def call(self, x):  # type: ignore[no-untyped-def]
            rank = len(x.shape)
            axes = sorted(a % rank for a in ([self.axis] if isinstance(self.axis, int)
                                             else self.axis))
            # gamma and beta hold the normalised axes only; other axes broadcast.
            shape = [x.shape[a] if a in axes else 1 for a in range(rank)]
            mean = tf.reduce_mean(x, axes, keepdims=True)
            var = tf.reduce_mean(tf.math.squared_difference(x, mean), axes, keepdims=True)
            inv = tf.math.rsqrt(var + self.epsilon)
            if self.gamma is not None:
                inv = inv * tf.reshape(tf.cast(self.gamma, x.dtype), shape)
            out = (x - mean) * inv
            if self.beta is not None:
                out = out + tf.reshape(tf.cast(self.beta, x.dtype), shape)
            return out

    return SubLayerNormalization.from_config(layer.get_config())


def equivalent(tf: Any, layer: Any) -> tuple[Any, str] | None:
    """A layer computing what ``layer`` does in ops TFLM has int8 kernels for, and a note saying
    so; None when ``layer`` converts well as it is."""
    kind = type(layer).__name__
    cfg = layer.get_config()
    if kind == "UpSampling2D" and cfg.get("interpolation") == "nearest":
        return (_nearest_upsampling(tf, tf.keras, layer),
                f"layer '{layer.name}' (UpSampling2D) -> RESIZE_NEAREST_NEIGHBOR instead of TILE")
    # rms_scaling has no -mean term, hence no NEG: left as it is.
    if kind == "LayerNormalization" and not cfg.get("rms_scaling"):
        return (_layer_norm(tf, tf.keras, layer),
                f"layer '{layer.name}' (LayerNormalization) computed as (x - mean) * "
                "rsqrt(variance + epsilon) * gamma + beta: SUB instead of NEG")
    return None

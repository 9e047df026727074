"""The layers ``mcuforge quantize`` rewrites before conversion (quantize/equivalents.py) compute
what the Keras originals compute, in float: nearest UpSampling2D exactly (it only copies
values), LayerNormalization to float rounding, for the options that change the arithmetic
(factors, data format, axes, center/scale, epsilon). No conversion here: Keras alone, fast."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mcuforge.quantize.rewrite import convertible


def _layers() -> Any:
    import keras

    return keras.layers


CASES = {
    "up_2x2": ((6, 5, 4), lambda: _layers().UpSampling2D()),
    "up_3x2": ((6, 5, 4), lambda: _layers().UpSampling2D((3, 2))),
    "up_5x7": ((3, 4, 2), lambda: _layers().UpSampling2D((5, 7))),
    "up_channels_first": ((4, 6, 5), lambda: _layers().UpSampling2D(data_format="channels_first")),
    "ln_last": ((20,), lambda: _layers().LayerNormalization()),
    "ln_two_axes": ((7, 12), lambda: _layers().LayerNormalization(axis=(1, 2))),
    "ln_middle_axis": ((7, 12), lambda: _layers().LayerNormalization(axis=1)),
    "ln_no_center": ((7, 12), lambda: _layers().LayerNormalization(center=False)),
    "ln_no_scale": ((7, 12), lambda: _layers().LayerNormalization(scale=False, epsilon=0.1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewritten_layer_computes_what_keras_computes(case: str) -> None:
    import keras
    import tensorflow as tf

    shape, make = CASES[case]
    rng = np.random.default_rng(3)
    inp = keras.Input(shape)
    # A Dense in front so that the layer is not the first (the clone rewires its input), and
    # random gamma/beta so that a rewrite ignoring them fails.
    model = keras.Model(inp, make()(_layers().Dense(shape[-1])(inp)))
    layer = model.layers[-1]
    layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    rewritten, notes = convertible(tf, model)
    assert len(notes) == 1 and type(rewritten.layers[-1]) is not type(layer), notes
    # Offset inputs: a mean far from 0 is where LayerNormalization's forms differ most.
    x = (rng.normal(size=(3, *shape)) * 5 + 3).astype(np.float32)
    want, got = np.asarray(model(x)), np.asarray(rewritten(x))
    if case.startswith("up_"):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


def test_layers_that_convert_well_are_left_alone() -> None:
    import keras
    import tensorflow as tf

    inp = keras.Input((6, 6, 2))
    x = _layers().UpSampling2D(interpolation="bilinear")(inp)  # already RESIZE_BILINEAR
    model = keras.Model(inp, _layers().LayerNormalization(rms_scaling=True)(x))  # no NEG
    assert convertible(tf, model) == (model, [])

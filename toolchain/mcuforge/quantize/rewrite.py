"""The Keras model as it is converted: a clone with the layers that would convert badly replaced
by equivalents that convert well (recurrent layers: ``recurrent.py``; UpSampling2D and
LayerNormalization: ``equivalents.py``)."""

from __future__ import annotations

from typing import Any

from mcuforge.quantize.equivalents import equivalent
from mcuforge.quantize.recurrent import flat_layers, recurrent_replacement


def _replacement(tf: Any, layer: Any, top: set[int]) -> tuple[Any, str] | None:
    # Recurrent layers only at the top level: nested ones are refused before (their state
    # would not be checked); the stateless equivalents apply anywhere.
    if id(layer) in top and (found := recurrent_replacement(tf, layer)) is not None:
        return found
    return equivalent(tf, layer)


def convertible(tf: Any, model: Any) -> tuple[Any, list[str]]:
    """A clone of ``model`` that converts without WHILE loops, TILE or NEG, and notes saying
    what became of each replaced layer. ``model`` is returned unchanged when nothing needs
    replacing."""
    top = {id(layer) for layer in getattr(model, "layers", [])}
    found = {id(layer): r for layer in flat_layers(model)
             if (r := _replacement(tf, layer, top)) is not None}
    if not found:
        return model, []
    notes = [note for _, note in found.values()]

    def clone(layer: Any) -> Any:
        if id(layer) in found:
            return found[id(layer)][0]
        return layer.__class__.from_config(layer.get_config())

    cloned = tf.keras.models.clone_model(model, clone_function=clone, recursive=True)
    # The replacements keep their originals' weights layout, except the fused LSTM, which
    # holds its weights as constants.
    for src, dst in zip(flat_layers(model), flat_layers(cloned), strict=True):
        if src.get_weights() and type(dst).__name__ != "FusedLSTM":
            dst.set_weights(src.get_weights())
    return cloned, notes

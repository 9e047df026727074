"""Always-on pipelines: samples -> front end -> models -> smoothing, cutoff, refractory -> events.

* :mod:`.spec` reads a pipeline file (TOML) or an ESPHome micro_wake_word manifest (JSON);
* :mod:`.layout` checks it against the models' tensors: stages and detectors as the device runs
  them;
* :mod:`.reference` runs the same stages with the TFLM interpreter (the oracle);
* :mod:`.codegen` and :mod:`.firmware` build the device image around the generic stage runner
  (``firmware/app/pipeline/``); :mod:`.session` talks to it; :mod:`.listen` composes them.
"""

from __future__ import annotations

from pathlib import Path

from mcuforge.pipeline.layout import PipelineLayout, resolve
from mcuforge.pipeline.spec import PipelineSpec, load_pipeline


def open_pipeline(path: Path) -> PipelineLayout:
    """A pipeline file or ESPHome manifest, read and checked against its models."""
    return resolve(load_pipeline(path))


__all__ = ["PipelineLayout", "PipelineSpec", "load_pipeline", "open_pipeline", "resolve"]

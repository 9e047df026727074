"""Full-integer (int8) post-training quantisation, checked against what mcuforge can compile.

:func:`quantize` takes a float model -- a Keras file (``.keras``/``.h5``), a SavedModel directory
or a float ``.tflite`` -- and calibration data, and writes an int8 ``.tflite``. Keras and
SavedModel models go through ``tf.lite.TFLiteConverter`` with a representative data set; float
``.tflite`` files go through ai-edge-quantizer (AEQ) after two schema normalisations AEQ needs: a
serving signature, and op codes in the ``builtin_code`` field (older files keep them only in
``deprecated_builtin_code``, which AEQ reads as ADD).

A model that uses an op outside :data:`SUPPORTED_OPS` (the compiler's op registry,
:func:`mcuforge.compiler.ops.supported_ops`), still computes anything in float after conversion,
or does not match the calibration data's shape is refused with :class:`QuantizeError`, naming the
op and the reason; nothing is written then. The returned :class:`QuantizeReport` compares the
float model (TFLite reference kernels) with the int8 model run by the TFLM reference interpreter
-- what devices run -- on held-out calibration samples.

Modules: ``pipeline`` (:func:`quantize`), ``flatbuffer`` (.tflite bytes and the int8 checks),
``convert`` (TFLiteConverter / ai-edge-quantizer), ``evaluate`` (float and TFLM runs, metrics),
``calibration`` (the data), ``report``, ``errors`` and ``quiet`` (TensorFlow import and output).
"""

from mcuforge.quantize.calibration import MAX_CALIBRATION_SAMPLES, load_calibration
from mcuforge.quantize.errors import QuantizeError
from mcuforge.quantize.evaluate import run_float, run_tflm
from mcuforge.quantize.flatbuffer import (
    SUPPORTED_OPS,
    check_int8_model,
    model_ops,
    unsupported_float_ops,
)
from mcuforge.quantize.pipeline import quantize
from mcuforge.quantize.report import QuantizeReport, format_report

__all__ = [
    "MAX_CALIBRATION_SAMPLES",
    "SUPPORTED_OPS",
    "QuantizeError",
    "QuantizeReport",
    "check_int8_model",
    "format_report",
    "load_calibration",
    "model_ops",
    "quantize",
    "run_float",
    "run_tflm",
    "unsupported_float_ops",
]

"""The reference: TFLM's own interpreter (the ``tflite-micro`` wheel), run on the host.

TensorFlow Lite's interpreter (XNNPACK) can differ from TFLM by one LSB; devices run TFLM's
arithmetic, so TFLM is the oracle every output is compared with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.errors import ModelError


class Reference:
    """A TFLM interpreter for one model."""

    def __init__(self, model: Path | bytes, *, preserve_all_tensors: bool = False):
        from tflite_micro.python.tflite_micro import runtime
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.num_outputs = fb.Model.GetRootAs(data, 0).Subgraphs(0).OutputsLength()
        config = (
            runtime.InterpreterConfig.kPreserveAllTensors
            if preserve_all_tensors
            else runtime.InterpreterConfig.kAllocationRecording
        )
        try:
            self._interp = runtime.Interpreter.from_bytes(
                data, arena_size=max(len(data) * 10, 1 << 20), intrepreter_config=config
            )
        except Exception as exc:
            raise ModelError(f"the TFLM reference interpreter rejects this model: {exc}") from None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, arr in enumerate(inputs):
            details = self._interp.get_input_details(i)
            self._interp.set_input(
                np.asarray(arr, dtype=details["dtype"]).reshape(details["shape"]), i
            )
        self._interp.invoke()
        return [np.array(self._interp.get_output(i)) for i in range(self.num_outputs)]

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last run (needs ``preserve_all_tensors``)."""
        return np.array(self._interp.GetTensor(index, 0)["tensor_data"])

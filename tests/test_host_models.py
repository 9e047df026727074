"""Generated C run on the host against the TFLM reference: many vectors, fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcuforge.compiler.compile import compile_graph
from mcuforge.model import read_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors

SUPPORTED_ZOO = ["hello_world_int8", "simple_add", "micro_speech_quantized", "person_detect",
                 "mlperf_kws_ref_model", "mlperf_ic_resnet_int8", "mlperf_ad01_int8"]
#: Kernel families as the boards use them: reference kernels (the oracle, Cortex-M3 before the
#: specialised kernels) and the specialised DSP + table kernels of the Cortex-M4/M7/M55.
FAMILIES = {"ref": ("ref",), "dsp": ("dsp", "fast", "ref")}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", SUPPORTED_ZOO)
def test_zoo_model_bit_exact_on_host(zoo: Path, name: str, family: str, tmp_path: Path) -> None:
    path = zoo / f"{name}.tflite"
    compiled = compile_graph(read_model(path), kernel_families=FAMILIES[family])
    host = HostModel(compiled, tmp_path)
    ref = Reference(path)
    vectors = 200 if compiled.manifest["macs"] < 1_000_000 else 20
    for vec in random_vectors(compiled.manifest["inputs"], vectors, seed=3):
        for got, want in zip(host.run(vec.arrays), ref.run(vec.arrays), strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", SUPPORTED_ZOO)
def test_debug_build_exposes_every_tensor_equal_to_reference(
    zoo: Path, name: str, tmp_path: Path
) -> None:
    path = zoo / f"{name}.tflite"
    compiled = compile_graph(read_model(path), debug=True)
    host = HostModel(compiled, tmp_path)
    ref = Reference(path, preserve_all_tensors=True)
    vec = random_vectors(compiled.manifest["inputs"], 1, seed=9)[0]
    host.run(vec.arrays)
    ref.run(vec.arrays)
    tensors = host.debug_tensors()
    assert len(tensors) >= len(compiled.calls)
    for index, got in tensors.items():
        np.testing.assert_array_equal(got.reshape(-1), ref.tensor(index).reshape(-1))

"""Every kernel family's host build under AddressSanitizer and UndefinedBehaviorSanitizer.

The zoo models and random models from the converter are compiled with each kernel family (ref,
fast, and dsp / mve through their portable emulation of the intrinsics), built as a standalone
program (tests/sanitize/main.c) with ``-fsanitize=address,undefined`` and no recovery, and run on
random vectors: any report fails the test, and the outputs must still equal TFLM's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mcuforge import resources
from mcuforge.compiler.compile import compile_graph
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import host_sources
from mcuforge.vectors import random_vectors

ZOO = Path(__file__).parent / "zoo"
MAIN = Path(__file__).parent / "sanitize" / "main.c"
FAMILIES = {
    "ref": ("ref",),
    "fast": ("fast", "ref"),
    "dsp": ("dsp", "ref"),
    "mve": ("mve", "dsp", "fast", "ref"),
}
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-g", "-O1"]
ENV = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=86",
       "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87"}


def run_sanitized(model: bytes, families: tuple[str, ...], workdir: Path, vectors: int) -> None:
    compiled = compile_graph(parse_model(model, "model"), kernel_families=families)
    workdir.mkdir(parents=True, exist_ok=True)
    sources = host_sources(compiled, workdir)
    exe = workdir / "model"
    build = subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", *SANITIZE,
         f"-I{resources.firmware_dir() / 'runtime'}", f"-I{workdir}", "-o", str(exe),
         *map(str, sources), str(MAIN), "-lm"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    manifest = compiled.manifest
    cases = random_vectors(manifest["inputs"], vectors, seed=11)
    (workdir / "in.bin").write_bytes(b"".join(
        np.ascontiguousarray(a).tobytes() for v in cases for a in v.arrays))
    proc = subprocess.run([str(exe), str(workdir / "in.bin"), str(workdir / "out.bin")],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0 and "runtime error" not in proc.stderr, proc.stderr[-4000:]
    got = (workdir / "out.bin").read_bytes()
    ref = Reference(model)
    want = b"".join(np.ascontiguousarray(o).tobytes() for v in cases for o in ref.run(v.arrays))
    assert got == want, "sanitized build differs from TFLM"


ZOO_MODELS = ["hello_world_int8", "simple_add", "micro_speech_quantized", "mlperf_ad01_int8",
              "mlperf_ic_resnet_int8", "mlperf_kws_ref_model", "person_detect"]
#: The Helium emulation is slow to compile instrumented (a minute for a MobileNet): the large
#: zoo models stay out of the MVE (and DSP) runs; the random chains below cover those kernels.
SLOW_FAMILIES = {"mve": 4, "dsp": 5}


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_zoo_models_are_sanitizer_clean(family: str, tmp_path: Path) -> None:
    for name in ZOO_MODELS[: SLOW_FAMILIES.get(family, len(ZOO_MODELS))]:
        run_sanitized((ZOO / f"{name}.tflite").read_bytes(), FAMILIES[family],
                      tmp_path / name, vectors=2)


@pytest.fixture(scope="module")
def random_models() -> list[bytes]:
    """Converter-made models with random shapes: the chains the optimized kernels specialise
    (convolutions, depthwise with and without multiplier, dense with ragged depths, table ADD)."""
    from test_kernels_dsp import _dense_model
    from test_kernels_fast import _add_model
    from test_kernels_mve import _mixed_model

    return [_mixed_model(2100), _mixed_model(2101), _dense_model(2102), _add_model(2103)]


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_random_models_are_sanitizer_clean(family: str, random_models: list[bytes],
                                           tmp_path: Path) -> None:
    models = random_models[:1] + random_models[2:] if family in SLOW_FAMILIES else random_models
    for i, model in enumerate(models):
        run_sanitized(model, FAMILIES[family], tmp_path / f"m{i}", vectors=5)

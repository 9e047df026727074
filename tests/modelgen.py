"""Random int8 models from Keras layers, converted by the real TensorFlow converter, and the
check that runs them through mcuforge's C (on the host) against the TFLM reference.

Each generated model gets its own random calibration range, so zero points and scales vary from
model to model (asymmetric ranges, not only [-1, 1]).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def int8_tflite(
    build: Callable[[], object],
    input_shapes: list[tuple[int, ...]],
    *,
    seed: int,
    float_io: bool = False,
    calibration: int = 32,
) -> bytes:
    """Convert the Keras model ``build()`` returns into a full-integer int8 .tflite.

    ``input_shapes`` exclude the batch dimension. With several inputs, name them so that their
    names sort in input order (``in0``, ``in1``...): the converter feeds calibration samples to
    the inputs in name order. The calibration data is uniform over a random
    asymmetric range per input.
    """
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)
    ranges = []
    for _ in input_shapes:
        lo = rng.uniform(-4.0, 0.5)
        ranges.append((lo, lo + rng.uniform(0.5, 6.0)))

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(calibration):
            yield [rng.uniform(lo, hi, size=(1, *shape)).astype(np.float32)
                   for (lo, hi), shape in zip(ranges, input_shapes, strict=True)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def check_bit_exact(model: bytes, tmp_path: Path, *, vectors: int = 20, seed: int = 0,
                    name: str = "generated", families: tuple[str, ...] = ("ref",),
                    optimize: str = "balanced", cflags: tuple[str, ...] = ()) -> dict:
    """Compile ``model`` with mcuforge, run it on the host and assert every output equals TFLM's.

    ``families`` picks the kernel families, as a board's CPU would (optimized kernels run on the
    host with their intrinsics emulated in C); ``cflags`` extend the host compile line. Returns
    the build manifest.
    """
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import parse_model
    from mcuforge.reference import Reference
    from mcuforge.target.host import HostModel
    from mcuforge.vectors import random_vectors

    compiled = compile_graph(parse_model(model, name), kernel_families=families,
                             optimize=optimize)
    host = HostModel(compiled, tmp_path, extra_flags=cflags)
    ref = Reference(model)
    for i, vec in enumerate(random_vectors(compiled.manifest["inputs"], vectors, seed)):
        got, want = host.run(vec.arrays), ref.run(vec.arrays)
        for out, (g, w) in enumerate(zip(got, want, strict=True)):
            g, w = np.asarray(g).reshape(-1), np.asarray(w).reshape(-1)
            if not np.array_equal(g.view(f"u{g.itemsize}"), w.view(f"u{w.itemsize}")):
                bad = int(np.argmax(g.view(f"u{g.itemsize}") != w.view(f"u{w.itemsize}")))
                raise AssertionError(
                    f"{name}: vector {i} output {out} differs at {bad}: mcuforge {g[bad]}, "
                    f"TFLM {w[bad]} ({int((g != w).sum())} of {g.size} values differ)")
    return compiled.manifest


def check_on_qemu(model: bytes, board_name: str, tmp_path: Path, *, vectors: int = 10,
                  name: str = "generated", optimize: str = "balanced",
                  layers: bool = False) -> int:
    """Build ``model`` for an emulated board, run it in QEMU and assert it is bit-exact with
    TFLM -- with ``layers``, every intermediate tensor too (a deep model can hide a kernel's
    error from its outputs); returns the instructions per inference."""
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model)
    report = run_test(path, get_board(board_name), vectors=vectors, build_dir=tmp_path / "fw",
                      optimize=optimize, layers=layers)
    assert report.mismatches == 0, "; ".join(f.describe() for f in report.failures[:3])
    bad = [(layer.step, layer.op, layer.mismatches) for layer in report.layers if layer.mismatches]
    assert not bad, f"{name}: layers differ from TFLM (step, op, values): {bad}"
    return report.instructions_per_inference or 0

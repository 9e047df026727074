"""Run a compiled model on the host: the same C, built with the host compiler into a shared
library and called through ctypes. Fast enough to check thousands of kernel configurations
against the reference; the emulator runs check the same C on the real CPU."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from mcuforge import resources
from mcuforge.compiler.compile import CompiledModel
from mcuforge.errors import BuildError, ToolchainMissing
from mcuforge.model.ir import NUMPY_DTYPES

_INPUT, _OUTPUT, _DEBUG = 0, 1, 2


def host_sources(compiled: CompiledModel, directory: Path) -> list[Path]:
    """Write model.c into ``directory``; the C files a host build of it compiles."""
    compiled.write(directory)
    fw = resources.firmware_dir()
    sources = [directory / "model.c", fw / "platform" / "host" / "host_api.c"]
    return sources + [fw / "runtime" / "kernels" / f"{name}.c" for name in compiled.kernel_sources]


def build_host_library(compiled: CompiledModel, directory: Path, *, cc: str = "cc") -> Path:
    """Compile model.c with the reference kernels into ``libmodel.so`` in ``directory``."""
    if shutil.which(cc) is None:
        raise ToolchainMissing(f"host C compiler '{cc}' not found: install gcc (apt install gcc)")
    sources = host_sources(compiled, directory)
    fw = resources.firmware_dir()
    lib = directory / "libmodel.so"
    cmd = [
        cc,
        "-std=c11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-shared",
        "-fPIC",
        f"-I{fw / 'runtime'}",
        "-o",
        str(lib),
        *map(str, sources),
        "-lm",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"host build failed:\n{proc.stderr[-4000:]}")
    return lib


class HostModel:
    """A compiled model loaded in this process."""

    def __init__(self, compiled: CompiledModel, directory: Path, *, reuse: bool = False):
        """``reuse``: load ``directory``'s library if it exists (the caller keys directories
        by generated source, as the fuzzer does) instead of building it again."""
        self.compiled = compiled
        lib = directory / "libmodel.so"
        if not (reuse and lib.exists()):
            lib = build_host_library(compiled, directory)
        self._lib = ctypes.CDLL(str(lib))
        self._lib.mf_tensor_data.restype = ctypes.c_void_p
        self._lib.mf_tensor_data.argtypes = [ctypes.c_int, ctypes.c_uint32]
        self._lib.mf_tensor_bytes.restype = ctypes.c_uint32
        self._lib.mf_tensor_bytes.argtypes = [ctypes.c_int, ctypes.c_uint32]

    def _view(self, kind: int, i: int, info: dict) -> np.ndarray:
        ptr = self._lib.mf_tensor_data(kind, i)
        nbytes = self._lib.mf_tensor_bytes(kind, i)
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        return np.frombuffer(raw, dtype=NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        manifest = self.compiled.manifest
        for i, (arr, info) in enumerate(zip(inputs, manifest["inputs"], strict=True)):
            self._view(_INPUT, i, info)[...] = np.asarray(arr).reshape(info["shape"])
        status = self._lib.mcuforge_invoke()
        if status != 0:
            raise RuntimeError(f"mcuforge_invoke returned {status}")
        return [self._view(_OUTPUT, i, info).copy() for i, info in enumerate(manifest["outputs"])]

    def debug_tensors(self) -> dict[int, np.ndarray]:
        """Every activation tensor after the last run (debug builds only)."""
        return {
            info["index"]: self._view(_DEBUG, i, info).copy()
            for i, info in enumerate(self.compiled.manifest["debug_tensors"])
        }

"""Run a compiled model on the host: the same C, built with the host compiler into a shared
library and called through ctypes. Fast enough to check thousands of kernel configurations
against the reference; the emulator runs check the same C on the real CPU."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcuforge import resources
from mcuforge.boards import Board
from mcuforge.compiler.compile import CompiledModel, compile_graph, write_model_table
from mcuforge.compiler.specialize import DEFAULT_OPTIMIZE
from mcuforge.errors import BuildError, ToolchainMissing
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.vectors import Vector

_INPUT, _OUTPUT, _DEBUG = 0, 1, 2


def host_sources(models: CompiledModel | list[CompiledModel], directory: Path) -> list[Path]:
    """Write the models' C and their table into ``directory``; the C files a host build of
    them compiles (each kernel once, whatever number of models use it)."""
    models = models if isinstance(models, list) else [models]
    fw = resources.firmware_dir()
    sources = [m.write(directory) for m in models]
    sources += [write_model_table(models, directory), fw / "platform" / "host" / "host_api.c"]
    kernels = sorted({k for m in models for k in m.kernel_sources})
    return sources + [fw / "runtime" / "kernels" / f"{name}.c" for name in kernels]


def build_host_library(
    models: CompiledModel | list[CompiledModel], directory: Path, *, cc: str = "cc",
    extra_flags: tuple[str, ...] = (), extra_sources: tuple[Path, ...] = (),
) -> Path:
    """Compile the models' C with their kernels (and ``extra_sources``) into ``libmodel.so`` in
    ``directory``."""
    if shutil.which(cc) is None:
        raise ToolchainMissing(f"host C compiler '{cc}' not found: install gcc (apt install gcc)")
    sources = host_sources(models, directory)
    fw = resources.firmware_dir()
    sources += list(extra_sources)
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
        *extra_flags,
        f"-I{directory}",
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


class HostLibrary:
    """Compiled models loaded in this process, addressed by their index in the image."""

    def __init__(self, models: list[CompiledModel], directory: Path,
                 extra_flags: tuple[str, ...] = (), *, reuse: bool = False):
        """``reuse``: load ``directory``'s library if it exists (the caller keys directories
        by generated source, as the fuzzer does) instead of building it again."""
        self.models = models
        lib = directory / "libmodel.so"
        if not (reuse and lib.exists()):
            lib = build_host_library(models, directory, extra_flags=extra_flags)
        self._lib = ctypes.CDLL(str(lib))
        self._lib.mf_tensor_data.restype = ctypes.c_void_p
        self._lib.mf_tensor_data.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
        self._lib.mf_tensor_bytes.restype = ctypes.c_uint32
        self._lib.mf_tensor_bytes.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
        self._lib.mf_invoke.argtypes = [ctypes.c_uint32]
        self._lib.mf_reset.argtypes = [ctypes.c_uint32]

    def view(self, model: int, kind: int, i: int, info: dict) -> np.ndarray:
        """A tensor's memory in the library, as a numpy array (no copy)."""
        ptr = self._lib.mf_tensor_data(model, kind, i)
        nbytes = self._lib.mf_tensor_bytes(model, kind, i)
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        return np.frombuffer(raw, dtype=NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])

    def run(self, model: int, inputs: list[np.ndarray]) -> list[np.ndarray]:
        manifest = self.models[model].manifest
        for i, (arr, info) in enumerate(zip(inputs, manifest["inputs"], strict=True)):
            self.view(model, _INPUT, i, info)[...] = np.asarray(arr).reshape(info["shape"])
        status = self._lib.mf_invoke(model)
        if status != 0:
            raise RuntimeError(f"{self.models[model].prefix}_invoke returned {status}")
        return [self.view(model, _OUTPUT, i, info).copy()
                for i, info in enumerate(manifest["outputs"])]

    def reset(self, model: int) -> None:
        self._lib.mf_reset(model)


class HostModel:
    """One compiled model loaded in this process."""

    def __init__(self, compiled: CompiledModel, directory: Path,
                 extra_flags: tuple[str, ...] = (), *, reuse: bool = False):
        self.compiled = compiled
        self.library = HostLibrary([compiled], directory, extra_flags, reuse=reuse)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.library.run(0, inputs)

    def reset(self) -> None:
        """Restore the initial state (streaming models)."""
        self.library.reset(0)

    def debug_tensors(self) -> dict[int, np.ndarray]:
        """Every activation tensor after the last run (debug builds only)."""
        return {
            info["index"]: self.library.view(0, _DEBUG, i, info).copy()
            for i, info in enumerate(self.compiled.manifest["debug_tensors"])
        }


@dataclass
class HostInfo:
    """What :meth:`Device.info` tells about a device, for the host build."""

    model: str
    sha256: str
    state_bytes: int


class HostTarget:
    """A compiled model on this machine behind the same calls the harness makes on a device
    (``info``, ``reset``, ``run``, ``read_tensor``): ``mcuforge test --emulator host`` checks
    thousands of stream steps in seconds."""

    def __init__(self, compiled: CompiledModel, directory: Path):
        self.model = HostModel(compiled, directory)
        self.manifest = compiled.manifest

    def info(self) -> HostInfo:
        m = self.manifest
        return HostInfo(m["model"], m.get("sha256", ""), m.get("state_bytes", 0))

    def reset(self) -> None:
        self.model.reset()

    def run(self, vector: Vector, outputs: list[dict]) -> tuple[list[np.ndarray], int]:
        return self.model.run(vector.arrays), 0

    def read_tensor(self, index: int, nbytes: int) -> bytes:
        info = self.manifest["debug_tensors"][index]
        return self.model.library.view(0, _DEBUG, index, info).tobytes()[:nbytes]


def host_target(model: Path, board: Board, directory: Path, *, debug: bool = False,
                optimize: str = DEFAULT_OPTIMIZE) -> HostTarget:
    """Compile ``model`` with the kernels ``board``'s CPU would use (intrinsics emulated in C)."""
    from mcuforge.model import read_model

    compiled = compile_graph(read_model(model), kernel_families=board.cpu.kernels, debug=debug,
                             optimize=optimize)
    return HostTarget(compiled, directory)

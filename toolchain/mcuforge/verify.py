"""``mcuforge test``: build, boot, and compare every output byte with the TFLM reference.

The harness side of the harness/handler split: it decides what to send and how to judge the
answers; :func:`mcuforge.target.open_target` owns booting and talking.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.boards import Board
from mcuforge.build import Progress, build_firmware
from mcuforge.compiler.emit import tensor_info
from mcuforge.compiler.specialize import DEFAULT_OPTIMIZE
from mcuforge.errors import DeviceError
from mcuforge.model import read_model
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.reference import GuardedReference, Reference
from mcuforge.target import open_target
from mcuforge.target.host import HostTarget, host_target
from mcuforge.vectors import load_vectors, random_vectors


@dataclass
class Mismatch:
    vector: int
    output: int
    index: int
    device: float
    reference: float
    count: int

    stream: bool = False

    def describe(self) -> str:
        what = "step" if self.stream else "vector"
        return (
            f"{what} {self.vector}, output {self.output}: {self.count} values differ; first at "
            f"flat index {self.index}: device {self.device}, reference {self.reference}"
        )


@dataclass
class LayerCheck:
    step: int
    node: int
    op: str
    tensor: int
    name: str
    mismatches: int
    size: int
    max_abs_diff: int


@dataclass
class TestReport:
    model: str
    board: str
    emulator: str
    vectors: int
    mismatches: int
    failures: list[Mismatch] = field(default_factory=list)
    instructions_per_inference: int | None = None
    seconds: float = 0.0
    flash_bytes: int = 0
    ram_bytes: int = 0
    arena_bytes: int = 0
    layers: list[LayerCheck] = field(default_factory=list)
    #: Stateful models run their vectors as one stream (state carried from step to step).
    stream: bool = False
    reset_every: int = 0
    state_bytes: int = 0
    #: Instructions of the first step (which starts from the initial state) and of the steady
    #: state (median of the others), for streams.
    first_step_instructions: int | None = None
    #: Serial line health: frames, retries, NAKs and damaged frames (target.link.LinkStats).
    link: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and all(lc.mismatches == 0 for lc in self.layers)

    @property
    def first_divergent_layer(self) -> LayerCheck | None:
        return next((lc for lc in self.layers if lc.mismatches), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        d["failures"] = [asdict(f) for f in self.failures[:20]]
        first = self.first_divergent_layer
        d["first_divergent_layer"] = asdict(first) if first else None
        return d

    def junit(self) -> str:
        suite = ET.Element(
            "testsuite",
            name=f"mcuforge.{self.board}",
            tests=str(self.vectors),
            failures=str(self.mismatches),
            time=f"{self.seconds:.3f}",
        )
        failed = {f.vector: f for f in self.failures}
        for i in range(self.vectors):
            case = ET.SubElement(
                suite, "testcase", classname=f"{self.model}.{self.board}", name=f"vector[{i}]"
            )
            if i in failed:
                ET.SubElement(case, "failure", message=failed[i].describe())
        for lc in self.layers:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{self.model}.{self.board}.layers",
                name=f"step[{lc.step}] {lc.op} t{lc.tensor}",
            )
            if lc.mismatches:
                ET.SubElement(
                    case,
                    "failure",
                    message=f"{lc.mismatches}/{lc.size} values differ, "
                    f"max |diff| {lc.max_abs_diff}",
                )
        return ET.tostring(suite, encoding="unicode")


def compare(vector: int, device: list[np.ndarray], reference: list[np.ndarray]) -> Mismatch | None:
    """The first output that differs from the reference, bit for bit, or None."""
    for out, (got, want) in enumerate(zip(device, reference, strict=True)):
        g, w = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
        if g.shape != w.shape or g.dtype != w.dtype:
            return Mismatch(vector, out, -1, float("nan"), float("nan"), max(g.size, w.size))
        diff = g.view(f"u{g.itemsize}") != w.view(f"u{w.itemsize}")
        if diff.any():
            i = int(np.argmax(diff))
            return Mismatch(vector, out, i, g[i].item(), w[i].item(), int(diff.sum()))
    return None


def run_test(
    model: Path,
    board: Board,
    *,
    vectors: int = 20,
    seed: int = 0,
    inputs_file: Path | None = None,
    emulator: str = "qemu",
    layers: bool = False,
    reset_every: int = 0,
    build_dir: Path | None = None,
    progress: Progress | None = None,
    optimize: str = DEFAULT_OPTIMIZE,
) -> TestReport:
    """Build ``model`` for ``board``, run it in ``emulator`` (or ``host``: the same C compiled
    for this machine) and compare with TFLM.

    A stateful (streaming) model runs its vectors as one stream: the device and the reference
    carry their state from step to step, both reset before the first step and, with
    ``reset_every`` K, after every K steps.
    """
    say = progress or (lambda _msg: None)
    start = time.monotonic()
    loaded = None
    if inputs_file is not None:  # shapes and types are checked before anything is built
        graph = read_model(model)
        loaded = load_vectors(inputs_file, [tensor_info(graph.tensors[t]) for t in graph.inputs],
                              say)
    with tempfile.TemporaryDirectory(prefix="mcuforge-test-") as tmp, ExitStack() as stack:
        out = build_dir or Path(tmp)
        if emulator == "host":
            say(f"compiling {model.name} for this machine ({', '.join(board.cpu.kernels)})")
            target = host_target(model, board, out, debug=layers, optimize=optimize)
            manifest, size = target.manifest, None
        else:
            build = build_firmware(model, board, out, debug=layers, progress=say,
                                   optimize=optimize)
            manifest, size = build.manifest, build.size
        cases = loaded if loaded is not None else random_vectors(manifest["inputs"], vectors, seed)
        # In a child process: TFLM crashes on some damaged models that pass mcuforge's checks.
        reference = stack.enter_context(GuardedReference(model, preserve_all_tensors=layers))
        stream = bool(manifest.get("stateful"))
        report = TestReport(
            model=manifest["model"],
            board=board.name,
            emulator=emulator,
            vectors=len(cases),
            mismatches=0,
            flash_bytes=size.flash_bytes if size else 0,
            ram_bytes=size.ram_bytes if size else 0,
            arena_bytes=manifest["plan"]["arena_bytes"],
            stream=stream,
            reset_every=reset_every,
            state_bytes=manifest.get("state_bytes", 0),
        )
        counts: list[int] = []
        context = (_host_context(target) if emulator == "host"
                   else open_target(board, build.elf, emulator))
        if emulator != "host":
            say(f"booting {board.name} in {emulator}")
        with context as device:
            check_identity(device.info(), manifest)
            if stream:
                device.reset()
            for i, vec in enumerate(cases):
                if stream and reset_every and i and i % reset_every == 0:
                    device.reset()
                    reference.reset()
                got, instructions = device.run(vec, manifest["outputs"])
                want = reference.run(vec.arrays)
                counts.append(instructions)
                bad = compare(i, got, want)
                if bad is not None:
                    bad.stream = stream
                    report.mismatches += 1
                    report.failures.append(bad)
                if len(cases) >= 10 and (i + 1) % max(1, len(cases) // 5) == 0:
                    what = "steps" if stream else "vectors"
                    say(f"  {i + 1}/{len(cases)} {what}, {report.mismatches} mismatching")
            if layers and cases:
                say(f"comparing every layer of the last {'step' if stream else 'vector'}")
                report.layers = check_layers(device, manifest, reference)
            if hasattr(device, "link"):
                report.link = asdict(device.link.stats)
        if emulator != "host" and counts:
            report.instructions_per_inference = int(statistics.median(counts[1:] or counts)
                                                    if stream else statistics.median(counts))
            report.first_step_instructions = counts[0] if stream else None
    report.seconds = round(time.monotonic() - start, 3)
    return report


def check_identity(info: Any, manifest: dict[str, Any]) -> None:
    """The device must run the model this test was built for: same name and same SHA-256."""
    if info.model != manifest["model"] or (manifest.get("sha256") and
                                           info.sha256 != manifest["sha256"]):
        raise DeviceError(
            f"the device runs model '{info.model}' (SHA-256 {info.sha256}), expected "
            f"'{manifest['model']}' (SHA-256 {manifest.get('sha256')})"
        )


@contextmanager
def _host_context(target: HostTarget) -> Iterator[HostTarget]:
    yield target


def check_layers(
    device: Any, manifest: dict[str, Any], reference: Reference | GuardedReference
) -> list[LayerCheck]:
    """Compare every tensor a step writes with the reference's (debug builds)."""
    by_index = {t["index"]: (i, t) for i, t in enumerate(manifest["debug_tensors"])}
    checks = []
    for step, s in enumerate(manifest["steps"]):
        for t in s["outputs"]:
            if t not in by_index:
                continue
            slot, info = by_index[t]
            raw = device.read_tensor(slot, info["bytes"])
            got = np.frombuffer(raw, dtype=NUMPY_DTYPES[info["dtype"]]).reshape(-1)
            want = np.asarray(reference.tensor(t)).reshape(-1)
            diff = got.astype(np.int64) - want.astype(np.int64) if got.size == want.size else None
            checks.append(
                LayerCheck(
                    step=step,
                    node=s["node"],
                    op=s["op"],
                    tensor=t,
                    name=info["name"],
                    mismatches=int(np.count_nonzero(diff)) if diff is not None else got.size,
                    size=int(got.size),
                    max_abs_diff=int(np.abs(diff).max()) if diff is not None and diff.size else 0,
                )
            )
    return checks

"""What every library export shares: the models compiled with a C prefix each, and exactly the
runtime files they need, as one list of files with a role each.

The four library exports (:mod:`.cmake`, :mod:`.zephyr`, :mod:`.arduino`, :mod:`.espidf`) only
differ in where they put these files and in the build files around them. Roles:

- ``public``: the headers an application includes (``mcuforge.h``, ``<name>.h``,
  ``mcuforge_models.h``);
- ``private``: headers only the library's own sources include (``quant.h``, ``kernels/...``);
- ``source``: the C files the library compiles (each model once, each kernel once however many
  models use it, the table of models);
- ``data``: the models' JSON manifests (shapes, quantization, memory plan) for host tools.

Everything that can refuse (an unsupported model, a name clash, a model too big for the board)
runs in :func:`compile_library`, before anything is written. The library holds no protocol
server and no board startup: the application brings its own ``main`` and its own platform.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from mcuforge import __version__, resources
from mcuforge.boards import Board
from mcuforge.build import Progress, check_budget, kernel_source
from mcuforge.compiler.compile import CompiledModel, compile_graph, write_model_table
from mcuforge.errors import McuforgeError
from mcuforge.model import read_model
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.reference import Reference
from mcuforge.vectors import random_vectors

PUBLIC, PRIVATE, SOURCE, DATA = "public", "private", "source", "data"

#: The seed of the sample input every example embeds (and checks against TFLM's output).
SAMPLE_SEED = 2024

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECTION = re.compile(r"[A-Za-z0-9_.$]+")
_LIBRARY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class ExportError(McuforgeError):
    """The export cannot be written as asked (names, sections, output directory)."""


@dataclass(frozen=True)
class LibraryFile:
    """One file of the library: ``path`` is relative (``kernels/ref/conv.c``, ``kws.h``)."""

    path: str
    role: str
    text: str | None = None
    source: Path | None = None


@dataclass
class Sample:
    """One model's sample: input bytes (seeded random, as ``mcuforge test`` makes them) and the
    output bytes TFLM's interpreter computes for them, from the model's initial state."""

    inputs: list[bytes]
    outputs: list[bytes]


@dataclass
class ModelLibrary:
    """The compiled models and the runtime files they need, ready to be written."""

    name: str
    board: Board
    models: list[CompiledModel]
    files: list[LibraryFile]
    samples: list[Sample] = field(default_factory=list)
    arena_section: str = ""
    weights_section: str = ""

    @property
    def prefixes(self) -> list[str]:
        return [m.prefix for m in self.models]

    @property
    def kernels(self) -> list[str]:
        """Kernel sources linked, ``<family>/<name>``, each once."""
        return sorted({k for m in self.models for k in m.kernel_sources})

    def paths(self, role: str) -> list[str]:
        return [f.path for f in self.files if f.role == role]

    def write(self, root: Path, place: Callable[[LibraryFile], str]) -> list[Path]:
        """Write every file at ``root / place(file)``; returns the paths written."""
        written = []
        for f in self.files:
            dest = root / place(f)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if f.source is not None:
                shutil.copyfile(f.source, dest)
            else:
                dest.write_text(f.text or "")
            written.append(dest)
        return written

    def summary(self) -> dict[str, object]:
        return {
            "library": self.name,
            "arena_section": self.arena_section,
            "weights_section": self.weights_section,
            "board": self.board.name,
            "cpu": self.board.cpu.name,
            "cflags": list(self.board.cpu.cflags),
            "kernels": self.kernels,
            "models": [
                {
                    "name": m.prefix,
                    "model": m.graph.name,
                    "sha256": m.manifest.get("sha256"),
                    "arena_bytes": m.plan.arena_bytes,
                    "state_bytes": m.plan.state.bytes,
                    "weights_bytes": m.manifest["weights_bytes"],
                    "macs": m.manifest["macs"],
                }
                for m in self.models
            ],
        }


def split_layout(f: LibraryFile) -> str:
    """``include/`` for what applications include, ``src/`` for the rest (CMake, Zephyr,
    ESP-IDF)."""
    return f"include/{f.path}" if f.role == PUBLIC else f"src/{f.path}"


def check_output_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"output {out_dir} is a file, not a directory")


def _check_names(paths: Sequence[Path], names: Sequence[str]) -> None:
    if names and len(names) != len(paths):
        raise ExportError(
            f"{len(names)} --name for {len(paths)} models: give one --name per model, in the "
            "order of the models, or none"
        )
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ExportError(
                f"--name '{name}' is not a C identifier (letters, digits and '_', not starting "
                "with a digit): it prefixes the model's C symbols"
            )


def _check_sections(arena_section: str, weights_section: str) -> None:
    for option, value in (("--arena-section", arena_section),
                          ("--weights-section", weights_section)):
        if value and not _SECTION.fullmatch(value):
            raise ExportError(
                f"{option} '{value}' is not a linker section name (letters, digits, '_', '.', "
                "'$')"
            )


def default_library_name(prefixes: Sequence[str]) -> str:
    return "mcuforge_" + "_".join(prefixes)


def _runtime_closure(roots: dict[str, str]) -> dict[str, Path]:
    """Every runtime file the given texts include, transitively: {relative path: file}."""
    runtime = resources.firmware_dir() / "runtime"
    found: dict[str, Path] = {}
    pending = list(roots.items())
    while pending:
        rel, text = pending.pop()
        for inc in _INCLUDE.findall(text):
            here = str(Path(rel).parent / inc) if "/" in rel else inc
            for candidate in (here, inc):
                path = runtime / candidate
                if path.is_file():
                    key = Path(candidate).as_posix()
                    if key not in found:
                        found[key] = path
                        pending.append((key, path.read_text()))
                    break
    return found


def compile_library(
    models: Sequence[Path],
    board: Board,
    *,
    names: Sequence[str] = (),
    library: str | None = None,
    arena_section: str = "",
    weights_section: str = "",
    reserved: Sequence[str] = (),
    progress: Progress | None = None,
) -> ModelLibrary:
    """Compile ``models`` for ``board``'s CPU (its kernel families, as ``mcuforge build``) into
    one library. ``names``: the C prefix of each model (default: its file's name). ``reserved``:
    file names the export itself uses, which no model may take.

    Raises before anything is written: unsupported ops (by node), a name clash, a budget over
    the board's flash or RAM.
    """
    say = progress or (lambda _msg: None)
    if not models:
        raise ExportError("no model given")
    _check_names(models, names)
    _check_sections(arena_section, weights_section)
    compiled: list[CompiledModel] = []
    for i, path in enumerate(models):
        say(f"reading {path}")
        graph = read_model(path)
        compiled.append(compile_graph(
            graph,
            kernel_families=board.cpu.kernels,
            name=names[i] if names else None,
            arena_section=arena_section,
            weights_section=weights_section,
        ))
    prefixes = [m.prefix for m in compiled]
    for p in prefixes:
        if prefixes.count(p) > 1:
            raise ExportError(
                f"two models are named '{p}': give each its own C prefix with --name "
                "(one --name per model, in order)"
            )
    name = library or default_library_name(prefixes)
    if not _LIBRARY_NAME.fullmatch(name):
        raise ExportError(
            f"library name '{name}' must start with a letter and hold only letters, digits "
            "and '_' (it names a CMake target, a Kconfig symbol and a directory)"
        )
    check_budget(
        board,
        sum(m.manifest["weights_bytes"] for m in compiled),
        sum(m.plan.arena_bytes + m.plan.state.bytes for m in compiled) + board.stack_bytes,
        estimate=True,
    )

    generated: dict[str, tuple[str, str]] = {}  # path -> (role, text)
    with tempfile.TemporaryDirectory(prefix="mcuforge-lib-") as tmp:
        gen = Path(tmp)
        for m in compiled:
            m.write(gen)
        write_model_table(compiled, gen)
        for m in compiled:
            generated[f"{m.prefix}.c"] = (SOURCE, (gen / f"{m.prefix}.c").read_text())
            generated[f"{m.prefix}.h"] = (PUBLIC, (gen / f"{m.prefix}.h").read_text())
            generated[f"{m.prefix}.json"] = (DATA, (gen / f"{m.prefix}.json").read_text())
        generated["mcuforge_models.c"] = (SOURCE, (gen / "mcuforge_models.c").read_text())
        generated["mcuforge_models.h"] = (PUBLIC, (gen / "mcuforge_models.h").read_text())

    kernels = sorted({k for m in compiled for k in m.kernel_sources})
    kernel_files = {f"kernels/{k}.c": kernel_source(k) for k in kernels}
    roots = {path: text for path, (_, text) in generated.items()}
    roots.update({rel: p.read_text() for rel, p in kernel_files.items()})
    runtime = _runtime_closure(roots)
    runtime["mcuforge.h"] = resources.firmware_dir() / "runtime" / "mcuforge.h"

    taken = {Path(p).stem for p in runtime if "/" not in p} | {"kernels", *reserved}
    for p in prefixes:
        if p in taken:
            raise ExportError(
                f"model name '{p}' clashes with a file of the runtime or the export "
                f"({', '.join(sorted(taken))}): choose another with --name"
            )

    files = [LibraryFile(path, role, text=text) for path, (role, text) in generated.items()]
    files += [LibraryFile(rel, SOURCE, source=p) for rel, p in kernel_files.items()]
    files += [LibraryFile(rel, PUBLIC if rel == "mcuforge.h" else PRIVATE, source=p)
              for rel, p in sorted(runtime.items())]

    say("computing the sample outputs with TFLM's interpreter")
    samples = [_sample(path, m) for path, m in zip(models, compiled, strict=True)]
    return ModelLibrary(name, board, compiled, files, samples, arena_section, weights_section)


def _sample(model: Path, compiled: CompiledModel) -> Sample:
    vector = random_vectors(compiled.manifest["inputs"], 1, seed=SAMPLE_SEED)[0]
    outputs = Reference(model).run(vector.arrays)
    infos = compiled.manifest["outputs"]
    return Sample(
        inputs=[np.ascontiguousarray(a).tobytes() for a in vector.arrays],
        outputs=[np.asarray(o, dtype=NUMPY_DTYPES[info["dtype"]]).tobytes()
                 for o, info in zip(outputs, infos, strict=True)],
    )


def c_bytes(data: bytes, per_line: int = 16) -> str:
    """Bytes as the body of a C array initializer."""
    lines = [", ".join(f"0x{b:02x}" for b in data[i : i + per_line])
             for i in range(0, len(data), per_line)]
    return ",\n".join("    " + line for line in lines) or "    0"


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "library"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["c_bytes"] = c_bytes


def render(template: str, library: ModelLibrary, **values: object) -> str:
    """Render a template of ``templates/library`` with what every template may use."""
    return _ENV.get_template(template).render(
        version=__version__,
        name=library.name,
        NAME=library.name.upper(),
        board=library.board,
        prefixes=library.prefixes,
        kernels=library.kernels,
        models=example_models(library),
        **values,
    )


def example_models(library: ModelLibrary) -> list[dict[str, object]]:
    """Per model, what the examples need: prefix, samples, tensor descriptions."""
    return [
        {
            "prefix": m.prefix,
            "model": m.graph.name,
            "stateful": bool(m.manifest.get("stateful")),
            "inputs": s.inputs,
            "outputs": s.outputs,
            "input_info": m.manifest["inputs"],
            "output_info": m.manifest["outputs"],
            "arena_bytes": m.plan.arena_bytes,
            "state_bytes": m.plan.state.bytes,
        }
        for m, s in zip(library.models, library.samples, strict=True)
    ]


#: The file in every exported package that lists what the export wrote (and may replace).
RECORD = "mcuforge-export.json"


class PackageWriter:
    """Writes one package into a directory that is empty, new, or an earlier export (whose
    files, listed in its record, are removed first: nothing else is ever deleted)."""

    def __init__(self, out_dir: Path, kind: str):
        check_output_dir(out_dir)
        self.root = out_dir.resolve()
        self.kind = kind
        self.files: list[Path] = []
        record = self.root / RECORD
        if self.root.is_dir() and any(self.root.iterdir()) and not record.is_file():
            raise ExportError(
                f"output directory {out_dir} is not empty and holds no earlier mcuforge export "
                f"({RECORD}): choose a new or empty directory"
            )

    def clear_previous(self) -> None:
        record = self.root / RECORD
        if not record.is_file():
            return
        try:
            previous = json.loads(record.read_text()).get("files", [])
        except (OSError, ValueError) as exc:
            raise ExportError(f"{record}: unreadable record of an earlier export: {exc}") from None
        emptied: set[Path] = set()
        for rel in previous:
            path = (self.root / rel).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                path.unlink()
                emptied.update(p for p in path.parents if p.is_relative_to(self.root))
        for d in sorted(emptied - {self.root}, key=lambda p: len(p.parts), reverse=True):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()

    def put(self, rel: str, text: str) -> Path:
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        self.files.append(dest)
        return dest

    def put_library(self, library: ModelLibrary, place: Callable[[LibraryFile], str]) -> None:
        self.files += library.write(self.root, place)

    def finish(self, library: ModelLibrary, progress: Progress | None = None) -> ExportedPackage:
        """Write the record of what was written; returns the package."""
        record = {
            "mcuforge": __version__,
            "kind": self.kind,
            **library.summary(),
            "files": sorted(p.relative_to(self.root).as_posix() for p in self.files),
        }
        self.put(RECORD, json.dumps(record, indent=2) + "\n")
        if progress:
            progress(f"wrote {len(self.files)} files to {self.root}")
        return ExportedPackage(self.kind, self.root, library, self.files)


@dataclass
class ExportedPackage:
    """What an export wrote."""

    kind: str
    directory: Path
    library: ModelLibrary
    files: list[Path]

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "directory": str(self.directory),
            "files": len(self.files),
            **self.library.summary(),
        }

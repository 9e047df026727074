"""Compile and link firmware for a board, and report its size against the board's budget.

One call, :func:`build_firmware`: model file -> checked graph -> C sources -> ELF/BIN/HEX in the
output directory, with ``build.json`` recording sizes. Budgets are checked twice: before compiling
(weights and arena against flash and RAM, so an oversized model fails in a second with the number
of bytes over) and after linking (the exact image).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from mcuforge import __version__, protocol, resources
from mcuforge.boards import Board
from mcuforge.compiler.compile import CompiledModel, compile_graph, write_model_table
from mcuforge.compiler.specialize import DEFAULT_OPTIMIZE
from mcuforge.errors import BudgetError, BuildError, ToolchainMissing
from mcuforge.image import make_image
from mcuforge.model import read_model

#: No firmware image may exceed this, whatever the board offers.
MAX_IMAGE_BYTES = 1 << 20

Progress = Callable[[str], None]


@dataclass
class SizeReport:
    flash_bytes: int
    ram_bytes: int
    weights_bytes: int
    arena_bytes: int
    flash_budget: int
    ram_budget: int

    #: The model's other constants in flash: per-layer parameters, tensor tables.
    model_params_bytes: int = 0

    @property
    def code_bytes(self) -> int:
        """Flash spent on code: everything but the model's data (weights, tables, per-layer
        parameters -- what a .tflite file holds)."""
        return self.flash_bytes - self.weights_bytes - self.model_params_bytes

    def to_dict(self) -> dict[str, int]:
        return {
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "weights_bytes": self.weights_bytes,
            "model_params_bytes": self.model_params_bytes,
            "code_bytes": self.code_bytes,
            "arena_bytes": self.arena_bytes,
            "flash_budget": self.flash_budget,
            "ram_budget": self.ram_budget,
        }

    def bars(self) -> str:
        """PlatformIO-style usage bars."""
        lines = []
        for label, used, total in (
            ("RAM", self.ram_bytes, self.ram_budget),
            ("Flash", self.flash_bytes, self.flash_budget),
        ):
            frac = used / total if total else 0.0
            filled = min(10, round(frac * 10))
            lines.append(
                f"{label + ':':<7}[{'=' * filled}{' ' * (10 - filled)}] {frac * 100:5.1f}% "
                f"(used {used} bytes from {total} bytes)"
            )
        lines.append(
            f"        weights {self.weights_bytes} B, layer parameters "
            f"{self.model_params_bytes} B, code {self.code_bytes} B, "
            f"arena {self.arena_bytes} B"
        )
        return "\n".join(lines)


@dataclass
class BuildResult:
    directory: Path
    elf: Path
    bin: Path
    hex: Path
    board: Board
    compiled: CompiledModel
    size: SizeReport
    debug: bool = False
    profile: bool = False
    #: Every model linked into the image, in table order (``compiled`` is the first).
    models: list[CompiledModel] = field(default_factory=list)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.compiled.manifest

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.compiled.graph.name,
            "board": self.board.name,
            "directory": str(self.directory),
            "elf": str(self.elf),
            "bin": str(self.bin),
            "hex": str(self.hex),
            "macs": sum(m.manifest["macs"] for m in self.models or [self.compiled]),
            "debug": self.debug,
            "profile": self.profile,
            **self.size.to_dict(),
        }


def _tool(board: Board, name: str) -> str:
    tc = board.cpu.toolchain
    path = shutil.which(tc.prefix + name)
    if path is None:
        raise ToolchainMissing(
            f"{tc.prefix}{name} not found (needed for board {board.name}): {tc.install}"
        )
    return path


def board_config_header(board: Board, model_name: str,
                        irq_handlers: dict[int, str] | None = None) -> str:
    """``board_config.h``: the board file's facts as C macros for the platform code.

    ``irq_handlers`` puts more handlers in the vector table (a sample source's interrupts);
    the header declares them."""
    handler = "mf_uart_isr"
    vectors = ["Default_Handler"] * board.irq_count
    vectors[board.console.irq] = handler
    extra = dict(irq_handlers or {})
    for irq, name in sorted(extra.items()):
        if not 0 <= irq < board.irq_count or irq == board.console.irq:
            raise BuildError(f"{board.name}: interrupt {irq} for {name} is outside the vector "
                             "table or taken by the console")
        vectors[irq] = name
    lines = [
        f"/* Generated by mcuforge from boards/{board.name}.toml: do not edit. */",
        "#ifndef MCUFORGE_BOARD_CONFIG_H",
        "#define MCUFORGE_BOARD_CONFIG_H",
        f'#define MF_BOARD_NAME "{board.name}"',
        f'#define MF_FIRMWARE_NAME "mcuforge {__version__} {board.name}"',
        f"#define MF_CPU_HZ {board.clock_hz}u",
        f"#define MF_UART_BASE 0x{board.console.base:08X}u",
        f"#define MF_UART_RX_IRQ {board.console.irq}u",
        f"#define MF_UART_BAUD {board.console.baud}u",
        f"#define MF_UART_IRQ_HANDLER {handler}",
        f"#define MF_IRQ_COUNT {board.irq_count}u",
        "#define MF_IRQ_VECTORS \\\n    " + ", \\\n    ".join(vectors),
    ]
    for key, value in sorted(board.console.extra.items()):
        if isinstance(value, int):
            lines.append(f"#define MF_UART_{key.upper()} 0x{value:X}u")
    lines += [f"void {name}(void);" for name in sorted(set(extra.values()))]
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def build_id(gen_dir: Path, board: Board, opt: str) -> str:
    """A short hash of everything generated for this image (model C, tables, board header) and
    the mcuforge version: two images with the same id were built from the same inputs."""
    digest = hashlib.sha256(f"{__version__} {board.name} {opt}".encode())
    for path in sorted(gen_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def linker_script(board: Board) -> str:
    template_dir = resources.firmware_dir() / "platform" / board.cpu.startup
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("link.ld.j2").render(board=board)


def kernel_source(name: str) -> Path:
    """A kernel source chosen by the lowering, ``<family>/<name>``."""
    path = resources.firmware_dir() / "runtime" / "kernels" / f"{name}.c"
    if not path.exists():
        raise BuildError(f"missing kernel source {path}")
    return path


def firmware_sources(board: Board, compiled: CompiledModel | list[CompiledModel],
                     gen_dir: Path) -> list[Path]:
    models = compiled if isinstance(compiled, list) else [compiled]
    fw = resources.firmware_dir()
    sources = sorted((fw / "app").glob("*.c"))
    sources += sorted((fw / "platform" / board.cpu.startup).glob("*.c"))
    if board.platform != board.cpu.startup:
        sources += sorted((fw / "platform" / board.platform).glob("*.c"))
    kernels = sorted({k for m in models for k in m.kernel_sources})
    sources += [kernel_source(k) for k in kernels]
    sources += [gen_dir / f"{m.prefix}.c" for m in models] + [gen_dir / "mcuforge_models.c"]
    return sources


def include_dirs(board: Board, gen_dir: Path) -> list[Path]:
    fw = resources.firmware_dir()
    return [
        gen_dir,
        fw / "runtime",
        fw / "app",
        fw / "platform",
        fw / "platform" / board.cpu.startup,
        fw / "platform" / board.platform,
    ]


def symbol_bytes(elf: Path, names: list[str]) -> int:
    """Total size of the named symbols in the ELF (those the linker kept)."""
    wanted = set(names)
    with elf.open("rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        if symtab is None:
            return 0
        return sum(s["st_size"] for s in symtab.iter_symbols() if s.name in wanted)


def measure(elf: Path, board: Board) -> tuple[int, int]:
    """(flash bytes, RAM bytes) from the ELF's allocated sections.

    Flash: every byte the image stores (code and constants in flash, the initial values of
    .data, and on RAM-loaded boards such as the ESP32-C3 everything the ROM copies to SRAM).
    RAM: every section that runs outside the flash region (.data, .bss, stack, RAM-loaded code).
    """
    flash = ram = 0
    with elf.open("rb") as fh:
        for section in ELFFile(fh).iter_sections():
            if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
                continue
            addr, size = section["sh_addr"], section["sh_size"]
            if not board.flash.contains(addr):
                ram += size
            if section["sh_type"] != "SHT_NOBITS":
                flash += size  # .data is stored in flash and copied at reset
    return flash, ram


def check_budget(board: Board, flash: int, ram: int, *, estimate: bool) -> None:
    what = "at least " if estimate else ""
    flash_limit = min(board.flash.size, MAX_IMAGE_BYTES)
    if flash > flash_limit:
        limit = (
            "mcuforge's 1 MiB image limit"
            if flash_limit == MAX_IMAGE_BYTES
            else f"the {board.flash.size} bytes of flash on {board.name}"
        )
        raise BudgetError(
            f"the firmware needs {what}{flash} bytes of flash: {flash - flash_limit} "
            f"bytes over {limit}"
        )
    if ram > board.ram.size:
        raise BudgetError(
            f"the firmware needs {what}{ram} bytes of RAM: {ram - board.ram.size} bytes "
            f"over the {board.ram.size} bytes on {board.name}"
        )


def build_firmware(
    model: Path,
    board: Board,
    out_dir: Path,
    *,
    debug: bool = False,
    profile: bool = False,
    opt: str = "-O2",
    kernels: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    extra_defines: tuple[str, ...] = (),
    extra_sources: tuple[Path, ...] = (),
    extra_ldflags: tuple[str, ...] = (),
    optimize: str = DEFAULT_OPTIMIZE,
) -> BuildResult:
    """Build the firmware image for ``model`` on ``board`` into ``out_dir``.

    ``debug`` gives every tensor its own memory and exposes it over the protocol (for the
    layer-by-layer check); ``profile`` records instructions per step. ``kernels`` overrides the
    CPU's kernel families (``("ref",)`` builds with the reference kernels only).
    ``extra_defines`` (``NAME`` or ``NAME=VALUE``), ``extra_sources`` and ``extra_ldflags`` extend
    the compile and link line (the self-test build for Renode suites uses them). ``optimize``
    (speed, size, balanced) is passed to the compiler (``compile_graph``).
    """
    say = progress or (lambda _msg: None)
    check_toolchain(board)
    say(f"reading {model}")
    graph = read_model(model)
    families = kernels or board.cpu.kernels
    compiled = compile_graph(graph, kernel_families=families, debug=debug, optimize=optimize)
    return build_image(
        [compiled], board, out_dir, debug=debug, profile=profile, opt=opt, progress=progress,
        extra_defines=extra_defines, extra_sources=extra_sources, extra_ldflags=extra_ldflags)


def check_toolchain(board: Board) -> None:
    tc = board.cpu.toolchain
    if not tc.native:
        raise ToolchainMissing(
            f"mcuforge cannot build for {board.name} ({board.cpu.arch}): {tc.install}"
        )


def build_image(
    compiled: list[CompiledModel],
    board: Board,
    out_dir: Path,
    *,
    debug: bool = False,
    profile: bool = False,
    opt: str = "-O2",
    progress: Progress | None = None,
    arena_bytes: int | None = None,
    generated: dict[str, str] | None = None,
    extra_include_dirs: tuple[Path, ...] = (),
    extra_defines: tuple[str, ...] = (),
    extra_sources: tuple[Path, ...] = (),
    extra_ldflags: tuple[str, ...] = (),
    irq_handlers: dict[int, str] | None = None,
) -> BuildResult:
    """Link already compiled models (one or several, in table order) into a firmware image.

    ``arena_bytes`` is the RAM of the models' arenas when they share one (default: the sum of
    their own); ``generated`` holds more generated files for the ``generated/`` folder (their
    ``.c`` files are compiled), ``extra_include_dirs`` more header folders; ``irq_handlers``
    more interrupt handlers for the vector table (interrupt number -> function).
    """
    say = progress or (lambda _msg: None)
    check_toolchain(board)
    tc = board.cpu.toolchain
    first = compiled[0]
    weights = sum(m.manifest["weights_bytes"] for m in compiled)
    arena = arena_bytes if arena_bytes is not None else sum(m.plan.arena_bytes for m in compiled)
    state = sum(m.plan.state.bytes for m in compiled)
    check_budget(board, weights, arena + state + board.stack_bytes, estimate=True)
    cc = _tool(board, "gcc")
    objcopy = _tool(board, "objcopy")

    out_dir.mkdir(parents=True, exist_ok=True)
    gen = out_dir / "generated"
    for m in compiled:
        m.write(gen)
    write_model_table(compiled, gen)
    (gen / "board_config.h").write_text(board_config_header(board, first.graph.name,
                                                            irq_handlers))
    (gen / "protocol_codes.h").write_text(protocol.c_header())
    (gen / "link.ld").write_text(linker_script(board))
    for name, text in (generated or {}).items():
        (gen / name).write_text(text)
    generated_sources = [gen / name for name in sorted(generated or {}) if name.endswith(".c")]

    elf = out_dir / "firmware.elf"
    cmd = [
        cc,
        *board.cpu.cflags,
        *tc.extra_cflags,
        f"--specs={tc.specs}",
        "-std=c11",
        *opt.split(),
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffunction-sections",
        "-fdata-sections",
        "-ffreestanding",
        "-fno-common",
        *(["-DMCUFORGE_PROFILE"] if profile else []),
        f'-DMF_BUILD_ID="{build_id(gen, board, opt)}"',
        *[f"-D{d}" for d in extra_defines],
        *[f"-I{d}" for d in [*include_dirs(board, gen), *extra_include_dirs]],
        *map(str, firmware_sources(board, compiled, gen)),
        *map(str, generated_sources),
        *map(str, extra_sources),
        "-nostartfiles",
        f"-T{gen / 'link.ld'}",
        "-Wl,--gc-sections",
        f"-Wl,-Map={out_dir / 'firmware.map'}",
        *tc.extra_ldflags,
        *extra_ldflags,
        "-o",
        str(elf),
    ]
    steps = sum(len(m.calls) for m in compiled)
    say(f"compiling {steps} steps for {board.name} ({board.cpu.name})")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    (out_dir / "build.log").write_text(" ".join(cmd) + "\n\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        overflows = re.findall(r"region `(\w+)' overflowed by (\d+) bytes", proc.stderr)
        if overflows:
            sizes = {"FLASH": board.flash.size, "RAM": board.ram.size}
            raise BudgetError(
                f"the firmware does not fit {board.name}: "
                + "; ".join(
                    f"{n} bytes over the {sizes.get(region, '?')} bytes of {region.lower()}"
                    for region, n in overflows
                )
            )
        raise BuildError(
            f"compiling for {board.name} failed (full log: {out_dir / 'build.log'}):\n"
            + proc.stderr[-3000:]
        )

    bin_path, hex_path = out_dir / "firmware.bin", out_dir / "firmware.hex"
    formats = [("ihex", hex_path)]
    if board.image:  # the board's own image format replaces the raw binary (mcuforge.image)
        say(f"writing the {board.image['format']} image firmware.bin")
        (out_dir / "image.log").write_text(make_image(board, elf, bin_path))
    else:
        formats.append(("binary", bin_path))
    for fmt, path in formats:
        subprocess.run([objcopy, "-O", fmt, str(elf), str(path)], check=True, capture_output=True)
    flash, ram = measure(elf, board)
    params = symbol_bytes(elf, [s for m in compiled for s in m.manifest.get("data_symbols", [])])
    size = SizeReport(flash, ram, weights, arena, board.flash.size, board.ram.size, params)
    result = BuildResult(out_dir, elf, bin_path, hex_path, board, first, size, debug, profile,
                         models=list(compiled))
    (out_dir / "build.json").write_text(json.dumps(result.to_dict(), indent=1))
    check_budget(board, flash, ram, estimate=False)
    return result

"""``mcuforge export platformio``: the compiled model and mcuforge's runtime, a PlatformIO project.

The project a user with PlatformIO (and internet) builds and flashes with ``pio run -t upload``::

    platformio.ini          [env:<board>]: the board's PlatformIO id, platform, flags
    src/main.c              the entry point (serves mcuforge's protocol; shows direct use)
    lib/mcuforge/           the generated model, runtime, kernels, protocol server and drivers
    link.ld                 the board's linker script (bare-metal builds)
    mcuforge_link.py        linker flags PlatformIO would not pass (bare-metal builds)

Cortex-M boards build bare metal, without a framework: mcuforge's own startup, vector table and
UART driver, exactly the code ``mcuforge build`` compiles. ESP32 boards use ESP-IDF, the
lightest framework Espressif's PlatformIO platform boots (it brings the second-stage bootloader
and partition table the ROM needs), with a small ESP-IDF platform layer written here. For the
Xtensa ESP32s this export is the only build path: mcuforge has no Xtensa compiler.

The model is checked (ops, then flash and RAM budget) before anything is written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from mcuforge import __version__, protocol, resources
from mcuforge.boards import Board
from mcuforge.build import (
    Progress,
    board_config_header,
    check_budget,
    firmware_sources,
    include_dirs,
    linker_script,
)
from mcuforge.compiler.compile import CompiledModel, compile_graph, write_model_table
from mcuforge.errors import McuforgeError
from mcuforge.export.local_platform import LocalPlatform, write_local_platform
from mcuforge.model import read_model

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: PlatformIO platform and framework per firmware platform family (board file ``platform``).
#: None as framework: bare metal with mcuforge's startup. Families missing here (QEMU's MPS2
#: boards) have no registry platform and export only with ``--local-platform``.
PIO_PLATFORMS: dict[str, tuple[str, str | None]] = {
    "stm32": ("ststm32", None),
    "nrf52": ("nordicnrf52", None),
    "esp32c3": ("espressif32", "espidf"),
    "espidf": ("espressif32", "espidf"),
}

LIB = Path("lib") / "mcuforge"
#: Only these are ever removed before writing: what a previous export wrote.
_GENERATED = ("platformio.ini", "link.ld", "mcuforge_link.py", "mcuforge.json", "README.md")


@dataclass
class PioProject:
    directory: Path
    env_name: str
    platform: str
    board_id: str
    framework: str | None
    files: list[Path] = field(default_factory=list)
    local: LocalPlatform | None = None

    @property
    def ini(self) -> Path:
        return self.directory / "platformio.ini"

    def to_dict(self) -> dict[str, object]:
        return {
            "directory": str(self.directory),
            "env": self.env_name,
            "platform": self.platform,
            "board": self.board_id,
            "framework": self.framework,
            "files": len(self.files),
            "local_platform": str(self.local.root) if self.local else None,
        }


def _render(name: str, **values: object) -> str:
    return _ENV.get_template(name).render(version=__version__, **values)


def target_of(board: Board, local: bool) -> tuple[str, str, str | None]:
    """(platform, PlatformIO board id, framework) for ``board``; raises when there is none."""
    if local:
        return "local", board.name, None
    if board.platform not in PIO_PLATFORMS:
        raise McuforgeError(
            f"board {board.name} has no PlatformIO platform in the registry (firmware platform "
            f"'{board.platform}'); export it with --local-platform, which builds with this "
            "machine's Arm toolchain"
        )
    if not board.platformio_board:
        raise McuforgeError(
            f"boards/{board.name}.toml names no platformio_board id: PlatformIO cannot pick "
            "the board"
        )
    platform, framework = PIO_PLATFORMS[board.platform]
    return platform, board.platformio_board, framework


def _lib_path(path: Path, gen: Path) -> Path:
    """Where a firmware or generated file goes inside lib/mcuforge/src."""
    fw = resources.firmware_dir()
    path = path.resolve()
    if path.is_relative_to(gen.resolve()):
        return Path("generated") / path.relative_to(gen.resolve())
    return path.relative_to(fw.resolve())


def _sources(
    board: Board, compiled: CompiledModel, gen: Path, framework: str | None
) -> list[Path]:
    """The C sources of the library (main.c goes to src/). With a framework, the board's own
    startup and platform code give way to the framework and the ESP-IDF layer."""
    fw = resources.firmware_dir().resolve()
    sources = []
    for src in firmware_sources(board, compiled, gen):
        rel = src.resolve()
        if rel == fw / "app" / "main.c":
            continue
        if framework and rel.is_relative_to(fw / "platform"):
            continue
        sources.append(src)
    return sources


def _headers(board: Board, gen: Path) -> list[Path]:
    """Every header under the include directories (kernels include ``kernels/x.h``)."""
    runtime = (resources.firmware_dir() / "runtime").resolve()
    out: list[Path] = []
    for d in include_dirs(board, gen):
        if d.is_dir():
            out += sorted(d.glob("**/*.h" if d.resolve() == runtime else "*.h"))
    return out


def _build_flags(board: Board, framework: str | None, lib_includes: list[str]) -> list[str]:
    flags = ["-O2", "-g", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections"]
    if framework is None:
        # -std=c11 like `mcuforge build`; ESP-IDF headers need GNU extensions.
        flags = ["-std=c11", *flags, "-ffreestanding", "-fno-common", *board.cpu.cflags]
    else:
        flags = ["-std=gnu11", *flags]
    return flags + [f"-I{inc}" for inc in lib_includes]


def export_platformio(
    model: Path,
    board: Board,
    out_dir: Path,
    *,
    local_platform: Path | None = None,
    progress: Progress | None = None,
) -> PioProject:
    """Write a PlatformIO project for ``model`` on ``board`` into ``out_dir``.

    ``local_platform``: also write a local dev-platform there (:mod:`local_platform`) and use it
    instead of the registry's (CI, or boards PlatformIO does not know).
    """
    say = progress or (lambda _msg: None)
    platform, board_id, framework = target_of(board, local_platform is not None)
    # Everything that can refuse the model runs before the first file is written.
    say(f"reading {model}")
    graph = read_model(model)
    compiled = compile_graph(graph, kernel_families=board.cpu.kernels)
    check_budget(
        board,
        compiled.manifest["weights_bytes"],
        compiled.plan.arena_bytes + board.stack_bytes,
        estimate=True,
    )
    out_dir = out_dir.resolve()
    env_name = board.name
    out_dir.mkdir(parents=True, exist_ok=True)
    local = None
    if local_platform is not None:
        say(f"writing the local PlatformIO platform to {local_platform}")
        local = write_local_platform(local_platform, board)
        platform = local.uri

    # Stale sources from an earlier export would be compiled too: lib/mcuforge is ours, redo it.
    lib = out_dir / LIB
    if lib.exists():
        shutil.rmtree(lib)
    for name in _GENERATED:
        (out_dir / name).unlink(missing_ok=True)
    staging = tempfile.TemporaryDirectory(prefix="mcuforge-export-")
    gen = Path(staging.name)
    compiled.write(gen)
    write_model_table([compiled], gen)
    (gen / "board_config.h").write_text(board_config_header(board, graph.name))
    (gen / "protocol_codes.h").write_text(protocol.c_header())

    files: list[Path] = []

    def put(rel: Path, text: str | None = None, source: Path | None = None) -> None:
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source is not None:
            shutil.copyfile(source, dest)
        else:
            dest.write_text(text or "")
        files.append(dest)

    copied: set[Path] = set()
    for src in [*_sources(board, compiled, gen, framework), *_headers(board, gen)]:
        rel = _lib_path(src, gen)
        if rel not in copied:
            copied.add(rel)
            put(LIB / "src" / rel, source=src)
    manifest = f"{compiled.prefix}.json"
    put(LIB / "src" / "generated" / manifest, source=gen / manifest)
    dirs = [d for d in include_dirs(board, gen) if d.is_dir()]
    lib_includes = sorted({(LIB / "src" / _lib_path(d, gen)).as_posix() for d in dirs})
    staging.cleanup()
    if framework == "espidf":
        put(
            LIB / "src" / "platform" / "espidf" / "platform.c",
            source=_TEMPLATES / "espidf_platform.c",
        )
        lib_includes.append((LIB / "src" / "platform").as_posix())
        lib_includes = sorted(set(lib_includes))
    put(LIB / "include" / "mcuforge_export.h",
        _render("mcuforge_export.h.j2", prefix=compiled.prefix))
    put(
        LIB / "library.json",
        json.dumps(
            {
                "name": "mcuforge",
                "version": __version__,
                "description": f"mcuforge runtime and the compiled model '{graph.name}'",
                # Object files, not an archive: the vector table and interrupt handlers are
                # referenced by nothing but the linker script and would be dropped.
                "build": {"libArchive": False},
            },
            indent=2,
        )
        + "\n",
    )
    put(Path("src") / "main.c", _render("main.c.j2", model=graph.name, board=board,
                                         framework=framework, prefix=compiled.prefix))

    extra_script = None
    if framework is None:
        put(Path("link.ld"), linker_script(board))
        link_flags = [*board.cpu.cflags, "-nostartfiles", "--specs=nano.specs"]
        extra_script = "mcuforge_link.py"
        put(Path(extra_script), _render("link_flags.py.j2", link_flags=json.dumps(link_flags)))
    else:
        put(Path("CMakeLists.txt"), _render("CMakeLists.txt.j2", env_name=env_name))
        put(Path("src") / "CMakeLists.txt", _render("src_CMakeLists.txt.j2"))
        put(Path("sdkconfig.defaults"), _render("sdkconfig.defaults.j2"))

    extra_lines: list[str] = []
    if local is not None:
        extra_lines = [
            "; Local dev-platform (mcuforge export --local-platform): run pio through",
            f"; {local.root / 'pio-offline.sh'} so that it never asks the registry.",
            "upload_protocol = custom",
            "upload_command = qemu-system-arm -machine "
            f"{board.emulators.get('qemu', {}).get('machine', board.name)} -nographic "
            "-kernel $SOURCE"
            if "qemu" in board.emulators
            else "upload_command = echo 'flash $SOURCE with your probe'",
        ]
    put(
        Path("platformio.ini"),
        _render(
            "platformio.ini.j2",
            model=graph.name,
            board=board,
            env_name=env_name,
            platform=platform,
            board_id=board_id,
            framework=framework,
            build_flags=_build_flags(board, framework, lib_includes),
            build_unflags=["-Os"] if framework is None else [],
            extra_script=extra_script,
            extra_lines=extra_lines,
        ),
    )
    put(
        Path("README.md"),
        _render(
            "README.md.j2",
            model=graph.name,
            prefix=compiled.prefix,
            board=board,
            env_name=env_name,
            platform=platform,
            board_id=board_id,
            framework=framework,
            local=local,
            native=board.cpu.toolchain.native,
            manifest=compiled.manifest,
        ),
    )
    put(
        Path("mcuforge.json"),
        json.dumps(
            {
                "mcuforge": __version__,
                "model": graph.name,
                "board": board.name,
                "platformio": {"platform": platform, "board": board_id, "framework": framework},
                "weights_bytes": compiled.manifest["weights_bytes"],
                "arena_bytes": compiled.plan.arena_bytes,
                "macs": compiled.manifest.get("macs"),
            },
            indent=2,
        )
        + "\n",
    )
    say(f"wrote {len(files)} files to {out_dir}")
    return PioProject(out_dir, env_name, platform, board_id, framework, files, local)

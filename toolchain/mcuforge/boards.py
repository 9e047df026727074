"""The board registry: one TOML file per board in ``boards/``, validated on load.

A board's memory map, console UART, clock, emulator and flashing facts live in its file and
nowhere else; CPU flags and kernel families in ``boards/_cpus.toml``; cross toolchains in
``boards/_toolchains.toml``; what each console driver needs from a board file in
``boards/_drivers.toml``. Code asks this module and never branches on a board's name.

Every function takes an optional ``directory`` so that a registry other than the installed one
(a user's own boards, or a malformed file in a test) is validated by exactly the same code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mcuforge import resources
from mcuforge.errors import BoardError
from mcuforge.sources import BoardSource, board_sources

#: Flashing methods mcuforge knows (mcuforge.flash), with the keys each one's table may hold
#: and which of them are required.
FLASH_METHODS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # GDB remote protocol: QEMU's gdbstub, or any GDB server a user runs (OpenOCD, J-Link, pyOCD).
    "gdb": (frozenset({"reset"}), frozenset({"reset"})),
    "pyocd": (frozenset({"target", "pack", "frequency"}), frozenset({"target"})),
    "openocd": (frozenset({"args"}), frozenset({"args"})),
    "esptool": (frozenset({"chip", "offset", "baud"}), frozenset({"chip"})),
}

#: Emulators and the keys their table must hold (the runners read them).
EMULATOR_KEYS: dict[str, frozenset[str]] = {
    "qemu": frozenset({"machine"}),
    "renode": frozenset({"platform", "uart"}),
}
#: Optional keys of each emulator's table: string values, or lists of strings ("args",
#: "overrides"). qemu: ``binary`` (default qemu-system-arm), ``args`` (machine options);
#: renode: ``cpu`` and ``nvic`` (peripheral names, default sysbus.cpu / nvic), ``overrides``
#: (repl snippets from renode/overrides/ applied with the platform).
EMULATOR_OPTIONAL: dict[str, frozenset[str]] = {
    "qemu": frozenset({"binary", "args"}),
    "renode": frozenset({"cpu", "nvic", "overrides"}),
}
#: Where a board may say it was verified bit-exact (``verified = [...]``): its emulators, or
#: "hardware" once someone ran it on the real board.
VERIFIED_PLACES = frozenset({"qemu", "renode", "hardware"})

#: Image formats a board may ask the build to produce from the ELF, with required keys.
IMAGE_FORMATS: dict[str, frozenset[str]] = {
    "esp": frozenset({"chip", "flash_mode", "flash_freq", "flash_size"}),
}


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    origin: int
    size: int
    #: Another region whose bytes these are, seen at other addresses (ESP32-C3 IRAM/DRAM).
    alias_of: str | None = None

    @property
    def end(self) -> int:
        return self.origin + self.size

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end


@dataclass(frozen=True)
class Toolchain:
    name: str
    prefix: str
    specs: str
    install: str
    extra_cflags: tuple[str, ...] = ()
    extra_ldflags: tuple[str, ...] = ()
    #: False for toolchains mcuforge cannot run here (Xtensa): such boards build only through
    #: an exporter, and ``install`` says how.
    native: bool = True


@dataclass(frozen=True)
class Cpu:
    name: str
    arch: str
    toolchain: Toolchain
    startup: str
    cflags: tuple[str, ...]
    kernels: tuple[str, ...]


@dataclass(frozen=True)
class Console:
    driver: str
    base: int
    irq: int
    baud: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: Cpu
    platform: str
    clock_hz: int
    irq_count: int
    flash: MemoryRegion
    ram: MemoryRegion
    console: Console
    emulators: dict[str, dict[str, Any]]
    flash_methods: tuple[str, ...]
    usb_ids: tuple[tuple[int, int], ...] = ()
    platformio_board: str | None = None
    stack_bytes: int = 4096
    image: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Every memory region of the board file by name, flash and ram included.
    memory: dict[str, MemoryRegion] = field(default_factory=dict)
    #: Per-method settings: ``[flash.pyocd] target = ...`` becomes ``{"pyocd": {...}}``.
    flash_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What to plug in when no serial port / debug probe is found (shown in errors).
    port_hint: str = ""
    probe_hint: str = ""
    #: Where the firmware was run bit-exact against TFLM: "qemu", "renode", "hardware".
    verified: tuple[str, ...] = ()
    #: The board's own sample sources by kind ("audio", "accelerometer"): mcuforge.sources.
    sources: dict[str, BoardSource] = field(default_factory=dict)

    @property
    def emulated(self) -> bool:
        return bool(self.emulators)

    @property
    def buildable(self) -> bool:
        """True when ``mcuforge build`` can compile for this board on this kind of machine."""
        return self.cpu.toolchain.native

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "cpu": self.cpu.name,
            "arch": self.cpu.arch,
            "clock_hz": self.clock_hz,
            "flash": {"origin": self.flash.origin, "bytes": self.flash.size},
            "ram": {"origin": self.ram.origin, "bytes": self.ram.size},
            "console": {"driver": self.console.driver, "base": self.console.base},
            "emulators": sorted(self.emulators),
            "flash_methods": list(self.flash_methods),
            "usb_ids": [f"{v:04x}:{p:04x}" for v, p in self.usb_ids],
            "platformio_board": self.platformio_board,
            "kernels": list(self.cpu.kernels),
            "buildable": self.buildable,
            "verified": list(self.verified),
            "sources": {k: s.driver.name for k, s in sorted(self.sources.items())},
        }


class _Fields:
    """Typed access to a TOML table with errors that name the file and the key."""

    def __init__(self, data: dict[str, Any], where: str):
        self.data, self.where = data, where

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise BoardError(f"{self.where}: missing required key '{key}'")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise BoardError(f"{self.where}: '{key}' must be {names}, got {value!r}")
        return value

    def strings(self, key: str, default: Any = ...) -> list[str]:
        value = self.get(key, list, default)
        if any(not isinstance(v, str) for v in value):
            raise BoardError(f"{self.where}: '{key}' must be a list of strings, got {value!r}")
        return list(value)

    def table(self, key: str, default: Any = ...) -> _Fields:
        return _Fields(
            self.get(key, dict, default if default is ... else {}), f"{self.where} [{key}]"
        )

    def only(self, allowed: frozenset[str] | set[str]) -> None:
        """Reject keys this table may not hold (a typo must not be silently ignored)."""
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise BoardError(
                f"{self.where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})"
            )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise BoardError(f"{path}: cannot read: {exc.strerror}") from None


def _dir(directory: Path | None) -> Path:
    return Path(directory) if directory is not None else resources.boards_dir()


@cache
def _toolchains(directory: Path) -> dict[str, Toolchain]:
    out = {}
    for name, table in _read_toml(directory / "_toolchains.toml").items():
        f = _Fields(table, f"_toolchains.toml [{name}]")
        out[name] = Toolchain(
            name=name,
            prefix=f.get("prefix", str),
            specs=f.get("specs", str),
            install=f.get("install", str),
            extra_cflags=tuple(f.strings("cflags", [])),
            extra_ldflags=tuple(f.strings("ldflags", [])),
            native=f.get("native", bool, True),
        )
    return out


@cache
def _cpus(directory: Path) -> dict[str, Cpu]:
    toolchains = _toolchains(directory)
    out = {}
    for name, table in _read_toml(directory / "_cpus.toml").items():
        f = _Fields(table, f"_cpus.toml [{name}]")
        tc = f.get("toolchain", str)
        if tc not in toolchains:
            raise BoardError(f"_cpus.toml [{name}]: unknown toolchain '{tc}'")
        out[name] = Cpu(
            name=name,
            arch=f.get("arch", str),
            toolchain=toolchains[tc],
            startup=f.get("startup", str),
            cflags=tuple(f.strings("cflags")),
            kernels=tuple(f.strings("kernels")),
        )
    return out


@dataclass(frozen=True)
class _Driver:
    platform: str
    requires: tuple[str, ...]


@cache
def _drivers(directory: Path) -> dict[str, _Driver]:
    path = directory / "_drivers.toml"
    if not path.exists():  # a registry of its own may do without driver checks
        return {}
    out = {}
    for name, table in _read_toml(path).items():
        f = _Fields(table, f"_drivers.toml [{name}]")
        out[name] = _Driver(f.get("platform", str), tuple(f.strings("requires", [])))
    return out


def _regions(f: _Fields) -> dict[str, MemoryRegion]:
    memory = f.table("memory")
    regions: dict[str, MemoryRegion] = {}
    for name in memory.data:
        t = memory.table(name)
        t.only({"origin", "size", "alias_of"})
        region = MemoryRegion(
            name, t.get("origin", int), t.get("size", int), t.get("alias_of", str, None)
        )
        if region.size <= 0:
            raise BoardError(f"{t.where}: size must be positive")
        if region.origin < 0 or region.end > 1 << 32:
            raise BoardError(f"{t.where}: region outside the 32-bit address space")
        regions[name] = region
    for required in ("flash", "ram"):
        if required not in regions:
            raise BoardError(f"{memory.where}: missing required region [memory.{required}]")
    names = sorted(regions)
    for i, a in enumerate(names):
        ra = regions[a]
        if ra.alias_of is not None:
            target = regions.get(ra.alias_of)
            if target is None or target.size != ra.size:
                raise BoardError(
                    f"{memory.where} [{a}]: alias_of must name a region of the same size"
                )
        for b in names[i + 1 :]:
            rb = regions[b]
            if ra.origin < rb.end and rb.origin < ra.end:
                raise BoardError(f"{memory.where}: regions '{a}' and '{b}' overlap")
    return regions


def _console(f: _Fields, drivers: dict[str, _Driver], platform: str, where: str) -> Console:
    c = f.table("console")
    driver = c.get("driver", str)
    if drivers:
        if driver not in drivers:
            raise BoardError(
                f"{c.where}: unknown driver '{driver}' (known: {', '.join(sorted(drivers))})"
            )
        spec = drivers[driver]
        if spec.platform != platform:
            raise BoardError(
                f"{where}: console driver '{driver}' belongs to platform '{spec.platform}', "
                f"not '{platform}'"
            )
        for key in spec.requires:
            c.get(key, int)  # raises naming the file and the key
    for key, value in c.data.items():
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise BoardError(f"{c.where}: '{key}' must be an integer or a string, got {value!r}")
    extra = {k: v for k, v in c.data.items() if k not in ("driver", "base", "irq", "baud")}
    return Console(
        driver=driver,
        base=c.get("base", int),
        irq=c.get("irq", int),
        baud=c.get("baud", int, 115200),
        extra=extra,
    )


def _emulators(f: _Fields) -> dict[str, dict[str, Any]]:
    table = f.table("emulators", {})
    out: dict[str, dict[str, Any]] = {}
    for name in table.data:
        if name not in EMULATOR_KEYS:
            raise BoardError(
                f"{table.where}: unknown emulator '{name}' (known: {', '.join(EMULATOR_KEYS)})"
            )
        t = table.table(name)
        t.only(EMULATOR_KEYS[name] | EMULATOR_OPTIONAL[name])
        for key in sorted(EMULATOR_KEYS[name]):
            t.get(key, str)
        for key in sorted(EMULATOR_OPTIONAL[name] & set(t.data)):
            if isinstance(t.data[key], list):
                t.strings(key)
            else:
                t.get(key, str)
        out[name] = dict(t.data)
    return out


def _verified(f: _Fields, emulators: dict[str, dict[str, Any]], where: str) -> tuple[str, ...]:
    places = f.strings("verified", [])
    for place in places:
        if place not in VERIFIED_PLACES:
            raise BoardError(
                f"{where}: verified entry '{place}' unknown (known: "
                f"{', '.join(sorted(VERIFIED_PLACES))})"
            )
        if place != "hardware" and place not in emulators:
            raise BoardError(f"{where}: verified on '{place}' but [emulators.{place}] is missing")
    return tuple(places)


def _flash(f: _Fields) -> tuple[tuple[str, ...], dict[str, dict[str, Any]], str, str]:
    table = f.table("flash", {})
    methods = table.strings("methods", [])
    table.only({"methods", "port_hint", "probe_hint", *FLASH_METHODS})
    options: dict[str, dict[str, Any]] = {}
    for method in methods:
        if method not in FLASH_METHODS:
            raise BoardError(
                f"{table.where}: unknown flash method '{method}' "
                f"(known: {', '.join(FLASH_METHODS)})"
            )
    for method in FLASH_METHODS:
        if method not in table.data:
            continue
        if method not in methods:
            raise BoardError(f"{table.where}: [{method}] settings for a method not in 'methods'")
        t = table.table(method)
        allowed, required = FLASH_METHODS[method]
        t.only(allowed)
        for key in sorted(required):
            t.get(key, (str, list, int))
        for key in ("args", "reset"):
            if key in t.data:
                t.strings(key)
        options[method] = dict(t.data)
    for method in methods:
        if FLASH_METHODS[method][1] and method not in options:
            raise BoardError(f"{table.where}: method '{method}' needs a [flash.{method}] table")
    return (
        tuple(methods),
        options,
        table.get("port_hint", str, ""),
        table.get("probe_hint", str, ""),
    )


def _image(f: _Fields) -> dict[str, Any]:
    t = f.table("image", {})
    if not t.data:
        return {}
    fmt = t.get("format", str)
    if fmt not in IMAGE_FORMATS:
        raise BoardError(
            f"{t.where}: unknown image format '{fmt}' (known: {', '.join(IMAGE_FORMATS)})"
        )
    t.only({"format", *IMAGE_FORMATS[fmt]})
    for key in sorted(IMAGE_FORMATS[fmt]):
        t.get(key, str)
    return dict(t.data)


def _usb_ids(f: _Fields, where: str) -> tuple[tuple[int, int], ...]:
    usb = []
    for entry in f.get("usb_ids", list, []):
        try:
            vid, pid = (int(x, 16) for x in entry.split(":"))
        except (ValueError, AttributeError):
            raise BoardError(f"{where}: usb_ids entry {entry!r} must be 'vvvv:pppp' hex") from None
        usb.append((vid, pid))
    return tuple(usb)


TOP_LEVEL_KEYS = {
    "name",
    "description",
    "cpu",
    "platform",
    "clock_hz",
    "irq_count",
    "stack_bytes",
    "memory",
    "console",
    "emulators",
    "flash",
    "usb_ids",
    "platformio_board",
    "image",
    "verified",
    "sources",
}


def load_board_file(path: Path) -> Board:
    """Load and validate one board file (shared files are read from its directory)."""
    directory = path.parent
    f = _Fields(_read_toml(path), path.name)
    f.only(TOP_LEVEL_KEYS)
    name = f.get("name", str)
    if name != path.stem:
        raise BoardError(f"{path.name}: name '{name}' must match the file name '{path.stem}'")
    cpus = _cpus(directory)
    cpu_name = f.get("cpu", str)
    if cpu_name not in cpus:
        raise BoardError(
            f"{path.name}: unknown cpu '{cpu_name}' (known: {', '.join(sorted(cpus))})"
        )
    cpu = cpus[cpu_name]
    platform = f.get("platform", str)
    regions = _regions(f)
    emulators = _emulators(f)
    methods, options, port_hint, probe_hint = _flash(f)
    board = Board(
        name=name,
        description=f.get("description", str),
        cpu=cpu,
        platform=platform,
        clock_hz=f.get("clock_hz", int),
        irq_count=f.get("irq_count", int),
        flash=regions["flash"],
        ram=regions["ram"],
        console=_console(f, _drivers(directory), platform, path.name),
        emulators=emulators,
        flash_methods=methods,
        usb_ids=_usb_ids(f, path.name),
        platformio_board=f.get("platformio_board", str, None),
        stack_bytes=f.get("stack_bytes", int, 4096),
        image=_image(f),
        path=path,
        memory=regions,
        flash_options=options,
        port_hint=port_hint,
        probe_hint=probe_hint,
        verified=_verified(f, emulators, path.name),
        sources=board_sources(f.data.get("sources"), directory, platform,
                              f.get("irq_count", int), path.name),
    )
    if board.clock_hz <= 0 or board.irq_count <= 0 or board.stack_bytes <= 0:
        raise BoardError(f"{path.name}: clock_hz, irq_count and stack_bytes must be positive")
    # mcuforge compiles only for native toolchains; an exporter supplies the platform code of
    # the others (PlatformIO's framework for Xtensa), so only native boards need the directory.
    platform_dir = resources.firmware_dir() / "platform" / board.platform
    if cpu.toolchain.native and not platform_dir.is_dir():
        raise BoardError(f"{path.name}: no firmware platform '{board.platform}' ({platform_dir})")
    if cpu.toolchain.native and not (resources.firmware_dir() / "platform" / cpu.startup).is_dir():
        raise BoardError(f"{path.name}: cpu '{cpu_name}' names a missing startup '{cpu.startup}'")
    if not 0 <= board.console.irq < board.irq_count:
        raise BoardError(
            f"{path.name}: console irq {board.console.irq} outside 0..{board.irq_count - 1}"
        )
    return board


@cache
def _all_boards(directory: Path) -> dict[str, Board]:
    return {
        p.stem: load_board_file(p)
        for p in sorted(directory.glob("*.toml"))
        if not p.name.startswith("_")
    }


def all_boards(directory: Path | None = None) -> dict[str, Board]:
    """Every board of a registry (default: the installed ``boards/``), validated."""
    return _all_boards(_dir(directory))


def get_board(name: str, directory: Path | None = None) -> Board:
    boards = all_boards(directory)
    if name not in boards:
        raise BoardError(
            f"unknown board '{name}'; known boards: {', '.join(sorted(boards))} "
            "(mcuforge boards lists them)"
        )
    return boards[name]

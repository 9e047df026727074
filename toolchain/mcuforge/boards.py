"""The board registry: one TOML file per board in ``boards/``, validated on load.

A board's memory map, console UART, clock, emulator and flashing facts live in its file and
nowhere else; CPU flags and kernel families in ``boards/_cpus.toml``; cross toolchains in
``boards/_toolchains.toml``. Code asks this module and never branches on a board's name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mcuforge import resources
from mcuforge.errors import BoardError


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    origin: int
    size: int

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

    @property
    def emulated(self) -> bool:
        return bool(self.emulators)

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

    def table(self, key: str, default: Any = ...) -> _Fields:
        return _Fields(
            self.get(key, dict, default if default is ... else {}), f"{self.where} [{key}]"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: invalid TOML: {exc}") from None


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
            extra_cflags=tuple(f.get("cflags", list, [])),
            extra_ldflags=tuple(f.get("ldflags", list, [])),
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
            cflags=tuple(f.get("cflags", list)),
            kernels=tuple(f.get("kernels", list)),
        )
    return out


def _region(f: _Fields, name: str) -> MemoryRegion:
    t = f.table("memory").table(name)
    region = MemoryRegion(name, t.get("origin", int), t.get("size", int))
    if region.size <= 0:
        raise BoardError(f"{t.where}: size must be positive")
    return region


def load_board_file(path: Path) -> Board:
    """Load and validate one board file."""
    directory = path.parent
    f = _Fields(_read_toml(path), path.name)
    name = f.get("name", str)
    if name != path.stem:
        raise BoardError(f"{path.name}: name '{name}' must match the file name '{path.stem}'")
    cpus = _cpus(directory)
    cpu_name = f.get("cpu", str)
    if cpu_name not in cpus:
        raise BoardError(
            f"{path.name}: unknown cpu '{cpu_name}' (known: {', '.join(sorted(cpus))})"
        )
    flash, ram = _region(f, "flash"), _region(f, "ram")
    if flash.origin < ram.end and ram.origin < flash.end:
        raise BoardError(f"{path.name}: flash and RAM regions overlap")
    c = f.table("console")
    console_extra = {k: v for k, v in c.data.items() if k not in ("driver", "base", "irq", "baud")}
    usb = []
    for entry in f.get("usb_ids", list, []):
        try:
            vid, pid = (int(x, 16) for x in entry.split(":"))
        except (ValueError, AttributeError):
            raise BoardError(
                f"{path.name}: usb_ids entry {entry!r} must be 'vvvv:pppp' hex"
            ) from None
        usb.append((vid, pid))
    flash_table = f.table("flash", {})
    board = Board(
        name=name,
        description=f.get("description", str),
        cpu=cpus[cpu_name],
        platform=f.get("platform", str),
        clock_hz=f.get("clock_hz", int),
        irq_count=f.get("irq_count", int),
        flash=flash,
        ram=ram,
        console=Console(
            driver=c.get("driver", str),
            base=c.get("base", int),
            irq=c.get("irq", int),
            baud=c.get("baud", int, 115200),
            extra=console_extra,
        ),
        emulators=f.get("emulators", dict, {}),
        flash_methods=tuple(flash_table.get("methods", list, [])),
        usb_ids=tuple(usb),
        platformio_board=f.get("platformio_board", str, None),
        stack_bytes=f.get("stack_bytes", int, 4096),
        image=f.get("image", dict, {}),
        path=path,
    )
    platform_dir = resources.firmware_dir() / "platform" / board.platform
    if not platform_dir.is_dir():
        raise BoardError(f"{path.name}: no firmware platform '{board.platform}' ({platform_dir})")
    if not 0 <= board.console.irq < board.irq_count:
        raise BoardError(
            f"{path.name}: console irq {board.console.irq} outside 0..{board.irq_count - 1}"
        )
    return board


@cache
def all_boards() -> dict[str, Board]:
    directory = resources.boards_dir()
    return {
        p.stem: load_board_file(p)
        for p in sorted(directory.glob("*.toml"))
        if not p.name.startswith("_")
    }


def get_board(name: str) -> Board:
    boards = all_boards()
    if name not in boards:
        raise BoardError(
            f"unknown board '{name}'; known boards: {', '.join(sorted(boards))} "
            "(mcuforge boards lists them)"
        )
    return boards[name]

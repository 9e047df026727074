"""Which shape-specialized kernels get their own copy and which share one body (``--opt``).

A specialized kernel (``KernelCall.spec``) is expanded once per distinct geometry with every
size a compile-time constant; most also have a shared body (``shared_macro``): one copy for
all geometries, reading the geometry at run time, with the same arithmetic (both are checked
bit-exact against TFLM by the same tests). ``speed`` specializes everything, ``size`` shares
everything, ``balanced`` (the default) specializes only where measurement showed it pays
(``docs/benchmarks.md``, "Specialized or shared kernels").
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall
from mcuforge.errors import McuforgeError

OPTIMIZE = ("balanced", "speed", "size")
DEFAULT_OPTIMIZE = "balanced"


def specialized(call: KernelCall, optimize: str) -> bool:
    """Whether ``call`` keeps its own specialized copy under ``optimize``."""
    if optimize == "speed" or not call.shared_macro:
        return True
    if optimize == "size":
        return False
    return balanced(call)


def balanced(call: KernelCall) -> bool:
    """The default policy (see the module docstring)."""
    return False


def choose_bodies(calls: list[KernelCall], optimize: str) -> None:
    """Point every specialized call at the body ``optimize`` picks for it."""
    if optimize not in OPTIMIZE:
        raise McuforgeError(f"unknown --opt {optimize!r} (choose from {', '.join(OPTIMIZE)})")
    for call in calls:
        if call.spec is not None and not specialized(call, optimize):
            call.spec_macro = call.shared_macro

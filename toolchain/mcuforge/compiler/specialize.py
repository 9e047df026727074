"""Which shape-specialized kernels get their own copy and which share one body (``--opt``).

A specialized kernel (``KernelCall.spec``) is expanded once per distinct geometry with every
size a compile-time constant; most also have a shared body (``shared_macro``): one copy for
all geometries, reading the geometry at run time, with the same arithmetic (both are checked
bit-exact against TFLM by the same tests). ``speed`` specializes everything, ``size`` shares
everything, ``balanced`` (the default) specializes a kernel when at most
``BALANCED_MAX_SHAPES`` distinct geometries of the model use it.

Why (measured on the Cortex-M4, docs/benchmarks.md "Specialized or shared kernels"): a
specialized copy is about the size of the shared body (0.5-1 KB), so with one or two
geometries specializing costs little or no code, while the shared body runs 2-12 % more
instructions on most layers and up to 1.5x on first layers with few input channels. With many
geometries (MobileNets: ten or more per kernel) the copies would multiply the code instead.
"""

from __future__ import annotations

from collections import defaultdict

from mcuforge.compiler.emit import c_literal
from mcuforge.compiler.ops.base import KernelCall
from mcuforge.errors import McuforgeError

OPTIMIZE = ("balanced", "speed", "size")
DEFAULT_OPTIMIZE = "balanced"
#: ``balanced``: a kernel used with at most this many distinct geometries is specialized.
BALANCED_MAX_SHAPES = 3


def choose_bodies(calls: list[KernelCall], optimize: str) -> None:
    """Point every specialized call at the body ``optimize`` picks for it."""
    if optimize not in OPTIMIZE:
        raise McuforgeError(f"unknown --opt {optimize!r} (choose from {', '.join(OPTIMIZE)})")
    if optimize == "speed":
        return
    shapes: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        if call.spec is not None and call.shared_macro:
            shapes[call.shared_macro].add(c_literal(call.spec))
    for call in calls:
        if call.spec is None or not call.shared_macro:
            continue
        if optimize == "size" or len(shapes[call.shared_macro]) > BALANCED_MAX_SHAPES:
            call.spec_macro = call.shared_macro

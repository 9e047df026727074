"""Which shape-specialized kernels get their own copy and which share one body (``--opt``).

A specialized kernel (``KernelCall.spec``) is expanded once per distinct geometry with every
size a compile-time constant; most also have a shared body (``shared_macro``): one copy for
all geometries, reading the geometry at run time, with the same arithmetic (both are checked
bit-exact against TFLM by the same tests). ``speed`` specializes everything, ``size`` shares
everything, ``balanced`` (the default) specializes a kernel when at most
``BALANCED_MAX_SHAPES`` distinct geometries of the model use it, or when every layer using it
is small (at most ``SMALL_LAYER_MACS``).

Why (measured on the Cortex-M4, docs/benchmarks.md "Specialized or shared kernels"): a
specialized copy is about the size of the shared body (0.5-1 KB), so with one or two
geometries specializing costs little or no code, while the shared body runs 2-12 % more
instructions on most layers and up to 1.5x on first layers with few input channels. With many
geometries (MobileNets: ten or more per kernel) the copies would multiply the code instead.
Small layers are the exception: streaming models run a few hundred MACs per layer every step,
where the shared depthwise body measured 2.9-3.3x the specialized one (mww_okay_nabu on the M4:
91,945 instructions per step shared, 72,391 specialized, for 504 more bytes of code).
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
#: ``balanced``: a kernel whose layers all have at most this many MACs is specialized.
SMALL_LAYER_MACS = 4096


def choose_bodies(calls: list[KernelCall], optimize: str) -> None:
    """Point every specialized call at the body ``optimize`` picks for it."""
    if optimize not in OPTIMIZE:
        raise McuforgeError(f"unknown --opt {optimize!r} (choose from {', '.join(OPTIMIZE)})")
    if optimize == "speed":
        return
    shapes: dict[str, set[str]] = defaultdict(set)
    largest: dict[str, int] = defaultdict(int)
    for call in calls:
        if call.spec is not None and call.shared_macro:
            shapes[call.shared_macro].add(c_literal(call.spec))
            largest[call.shared_macro] = max(largest[call.shared_macro], call.macs)
    for call in calls:
        if call.spec is None or not call.shared_macro:
            continue
        macro = call.shared_macro
        specialize = len(shapes[macro]) <= BALANCED_MAX_SHAPES or largest[macro] <= SMALL_LAYER_MACS
        if optimize == "size" or not specialize:
            call.spec_macro = macro

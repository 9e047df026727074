"""What the TFLM signal-library custom ops share: their FlexBuffer options and shape checks.

TFLM reads a signal op's options by position in the FlexBuffer map (``ElementAsInt32(i)``), and
a map's values are stored in key order. Reading by name gives the same values only when the map
holds exactly the keys the kernel expects, so any other key set is refused. No ``OPCODES``: the
op registry skips this module.
"""

from __future__ import annotations

from typing import Any

from mcuforge.model.ir import Graph, Operator, Tensor


def custom_options(op: Operator, keys: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The op's custom options as a dict, and problems (missing, unreadable or extra keys)."""
    raw = op.options.get("custom_options")
    if not keys:
        return {}, []
    if raw is None:
        return {}, [f"has no custom options (needs {', '.join(keys)})"]
    try:
        from flatbuffers import flexbuffers

        values = flexbuffers.Loads(bytes(raw))
    except Exception as exc:  # any corrupt FlexBuffer
        return {}, [f"custom options are not a readable FlexBuffer ({type(exc).__name__})"]
    if not isinstance(values, dict):
        return {}, ["custom options are not a FlexBuffer map"]
    if set(values) != set(keys):
        return {}, [f"custom options hold keys {sorted(values)}; TFLM reads them by position "
                    f"and expects exactly {sorted(keys)}"]
    return values, []


def int_option(values: dict[str, Any], key: str, lo: int, hi: int,
               problems: list[str]) -> int:
    """An integer option within [lo, hi] (booleans count as 0/1); records a problem if not."""
    value = values.get(key)
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        problems.append(f"option {key}={value!r} is outside {lo}..{hi}")
        return lo
    return value


def io_problems(op: Operator, graph: Graph, inputs: list[str], outputs: list[str]) -> list[str]:
    """Arity and dtypes by position: ``inputs``/``outputs`` list the dtype each must have."""
    problems = []
    if len(op.inputs) != len(inputs) or any(t < 0 for t in op.inputs):
        problems.append(f"needs {len(inputs)} inputs, has {len(op.inputs)}")
    if len(op.outputs) != len(outputs):
        problems.append(f"needs {len(outputs)} outputs, has {len(op.outputs)}")
    if problems:
        return problems
    for kind, tensors, want in (("input", op.inputs, inputs), ("output", op.outputs, outputs)):
        for i, (t, dtype) in enumerate(zip(tensors, want, strict=True)):
            if graph.tensors[t].dtype != dtype:
                problems.append(f"{kind} {i} is {graph.tensors[t].dtype}, needs {dtype}")
    return problems


def rank_problem(t: Tensor, what: str, rank: int) -> list[str]:
    if len(t.shape) != rank:
        return [f"{what} has shape {list(t.shape)}, needs rank {rank}"]
    return []


def const_problem(t: Tensor, what: str) -> list[str]:
    """Tables the kernel indexes must be constants, so every index is checked at compile time."""
    if not t.is_const:
        return [f"{what} (tensor {t.index}) is computed at run time; mcuforge needs it constant "
                "to check every index into it"]
    return []

"""Kernel calls and a memory plan to C sources: ``model.c`` and a JSON manifest for the host.

The manifest (``model.json``) is what the host side knows about the compiled model without
re-reading the .tflite: tensor shapes and quantization, the steps and their MACs, the plan. The
device protocol, the layer-by-layer check and the per-layer profile all read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from mcuforge import __version__
from mcuforge.compiler.ops.base import C_TYPES, ConstArray, KernelCall
from mcuforge.compiler.plan import MemoryPlan, with_views
from mcuforge.model.ir import DTYPE_CODES, Graph, Tensor

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def c_literal(value: Any) -> str:
    """A Python value as a C initializer (arrays by name, floats exactly as float32)."""
    if isinstance(value, ConstArray):
        return value.name
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return "{ " + ", ".join(f".{k} = {c_literal(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "{ " + ", ".join(c_literal(v) for v in value) + " }"
    if isinstance(value, (float, np.floating)):
        v = float(np.float32(value))
        if math.isinf(v):
            return "(1.0f/0.0f)" if v > 0 else "(-1.0f/0.0f)"
        return f"{v:.9g}f" if ("e" in f"{v:.9g}" or "." in f"{v:.9g}") else f"{v:.9g}.0f"
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if v == -(1 << 31):
            return "INT32_MIN"
        return f"{v}" if -(1 << 31) < v < (1 << 31) else f"{v}LL"
    if value is None:
        return "NULL"
    raise TypeError(f"no C literal for {value!r}")


def _array_body(values: np.ndarray, per_line: int = 24) -> str:
    flat = values.reshape(-1)
    if flat.dtype == np.float32:
        items = [c_literal(float(v)) for v in flat]
    else:
        items = [str(int(v)) for v in flat.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join("    " + line for line in lines)


@dataclass
class EmittedModel:
    source: str
    header: str
    manifest: dict[str, Any]


def _weights_name(t: Tensor) -> str:
    return f"w{t.index}"


def emit_model(
    graph: Graph, calls: list[KernelCall], plan: MemoryPlan, *, debug: bool = False
) -> EmittedModel:
    """Generate ``model.c`` and the manifest. ``debug`` exposes every activation tensor."""
    calls = with_views(calls, plan)
    const_tensors: dict[int, ConstArray] = {}

    def const_for(t: int) -> ConstArray:
        t = plan.const_aliases.get(t, t)
        if t not in const_tensors:
            tensor = graph.tensors[t]
            assert tensor.data is not None
            const_tensors[t] = ConstArray(_weights_name(tensor), tensor.data)
        return const_tensors[t]

    def pointer(t: int, writable: bool, untyped: bool = False) -> str:
        """The C expression of a tensor's address. Untyped pointers (variadic kernels) are
        exactly ``void *`` for outputs and ``const void *`` for inputs, as the kernel's
        ``va_arg`` reads them."""
        if t < 0:
            return "NULL"
        tensor = graph.tensors[t]
        ctype = "void" if untyped else C_TYPES[tensor.dtype]
        if t in plan.offsets:
            const = "const " if untyped and not writable else ""
            return f"({const}{ctype} *)(mcuforge_arena + {plan.offsets[t]})"
        if tensor.is_const or t in plan.const_aliases:
            assert not writable, f"kernel writes constant tensor {t}"
            name, offset = const_for(t).name, plan.const_offsets.get(t, 0)
            if offset:
                return f"(const {ctype} *)((const uint8_t *){name} + {offset})"
            return f"(const void *){name}" if untyped else name
        raise AssertionError(f"tensor {t} has no memory")

    rendered_calls = []
    extra_consts: list[ConstArray] = []
    specs: dict[tuple[str, str], str] = {}  # (macro, geometry) -> wrapper name
    for step, call in enumerate(calls):
        function = call.kernel
        if call.spec is not None:
            key = (call.spec_macro, c_literal(call.spec))
            function = specs.setdefault(key, f"mf_spec{len(specs)}_{call.source}")
        extra_consts.extend(call.consts)
        cargs = [a.const.name if a.const is not None else pointer(a.tensor, a.writable, a.untyped)
                 for a in call.args]
        if call.scratch_bytes:
            cargs.append(f"(void *)(mcuforge_arena + {plan.scratch[step]})")
        rendered_calls.append(
            {
                "op": call.op,
                "kernel": call.kernel,
                "function": function,
                "params_type": call.params_type,
                "cparams": [(k, c_literal(v)) for k, v in call.params.items()],
                "cargs": cargs,
            }
        )

    def entry(t: int) -> dict[str, Any]:
        tensor = graph.tensors[t]
        dims = list(tensor.shape) + [0] * (6 - len(tensor.shape))
        q = tensor.quant
        return {
            "data": f"mcuforge_arena + {plan.offsets[t]}",
            "bytes": tensor.nbytes,
            "dtype": DTYPE_CODES[tensor.dtype],
            "ndim": len(tensor.shape),
            "dims": dims,
            "scale": c_literal(q.scale[0] if q else 0.0),
            "zero_point": q.zero_point[0] if q else 0,
        }

    debug_ids = sorted(t for t in plan.offsets) if debug else []
    consts = list(const_tensors.values()) + extra_consts
    source = _ENV.get_template("model.c.j2").render(
        version=__version__,
        model_name=graph.name,
        arena_bytes=plan.arena_bytes,
        arena_alloc=max(plan.arena_bytes, 16),
        lower_bound=plan.lower_bound,
        macs=sum(c.macs for c in calls),
        headers=sorted({f"kernels/{c.source}.h" for c in calls if c.kernel}
                       | {c.impl_header for c in calls if c.spec is not None}),
        specs=[{"macro": macro, "geometry": geo, "name": name}
               for (macro, geo), name in specs.items()],
        consts=[
            {
                "name": c.name,
                "ctype": c.ctype,
                "count": int(c.values.size),
                "body": _array_body(c.values),
            }
            for c in consts
        ],
        calls=rendered_calls,
        inputs=[entry(t) for t in graph.inputs],
        outputs=[entry(t) for t in graph.outputs],
        debug_tensors=[entry(t) for t in debug_ids],
    )
    header = _ENV.get_template("model.h.j2").render(
        version=__version__, model_name=graph.name, steps=len(calls), arena_bytes=plan.arena_bytes
    )
    manifest = build_manifest(graph, calls, plan, debug_ids)
    manifest["weights_bytes"] = sum(int(c.values.nbytes) for c in consts)
    # The model's other constant data (per-layer parameter structs, tensor tables): with the
    # weights, what a .tflite file holds; the build measures their sizes in the ELF.
    manifest["data_symbols"] = [f"p{c.op.index}" for c in calls if c.kernel] + [
        "mcuforge_inputs", "mcuforge_outputs", "mcuforge_debug_tensors", "mcuforge_model_name"]
    return EmittedModel(source=source, header=header, manifest=manifest)


def tensor_info(tensor: Tensor) -> dict[str, Any]:
    q = tensor.quant
    return {
        "index": tensor.index,
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": tensor.dtype,
        "bytes": tensor.nbytes,
        "scale": q.scale[0] if q else None,
        "zero_point": q.zero_point[0] if q else None,
    }


def build_manifest(
    graph: Graph, calls: list[KernelCall], plan: MemoryPlan, debug_ids: list[int]
) -> dict[str, Any]:
    def input_info(t: int) -> dict[str, Any]:
        """A float input that is quantized records the float range its QUANTIZE represents
        (scale * (q - zp) for q in -128..127), so test vectors cover the int8 range."""
        info = tensor_info(graph.tensors[t])
        if graph.tensors[t].dtype != "float32":
            return info
        ranges = []
        for op in graph.operators:
            out = graph.tensors[op.outputs[0]] if op.outputs else None
            if op.opcode == "QUANTIZE" and t in op.inputs and out is not None and out.quant:
                scale, zp = float(np.float32(out.scale)), out.zero_point
                ranges.append((scale * (-128 - zp), scale * (127 - zp)))
        if ranges:
            info["sample_range"] = [min(r[0] for r in ranges), max(r[1] for r in ranges)]
        return info

    return {
        "model": graph.name,
        "mcuforge_version": __version__,
        "inputs": [input_info(t) for t in graph.inputs],
        "outputs": [tensor_info(graph.tensors[t]) for t in graph.outputs],
        "steps": [
            {
                "node": c.op.index,
                "op": c.op.opcode,
                "kernel": c.kernel or "(alias)",
                "macs": c.macs,
                "outputs": list(c.op.outputs),
            }
            for c in calls
        ],
        "macs": sum(c.macs for c in calls),
        "plan": plan.to_dict(),
        "debug_tensors": [tensor_info(graph.tensors[t]) for t in debug_ids],
    }

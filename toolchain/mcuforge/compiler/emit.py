"""Kernel calls and a memory plan to C sources: ``<prefix>.c``, ``<prefix>.h`` and a JSON
manifest for the host.

Every public symbol of the generated C starts with the model's prefix, so several models link
into one program. The manifest (``<prefix>.json``) is what the host side knows about the
compiled model without re-reading the .tflite: tensor shapes and quantization, the steps and
their MACs, the plan. The device protocol, the layer-by-layer check and the per-layer profile
all read it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from mcuforge import __version__
from mcuforge.compiler.ops.base import C_TYPES, ConstArray, KernelCall
from mcuforge.compiler.plan import MemoryPlan, with_views
from mcuforge.compiler.state import initial_words
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


@dataclass(frozen=True)
class EmitOptions:
    """How the generated C names and places things.

    ``prefix`` starts every public symbol (``<prefix>_invoke``); ``arena_symbol`` makes the model
    use an arena defined elsewhere (models of one image that run one at a time share it);
    ``arena_section`` / ``weights_section`` put the arena and the constant arrays in named linker
    sections (boards with several RAM banks or external flash).
    """

    prefix: str = "model"
    arena_symbol: str = ""
    arena_section: str = ""
    weights_section: str = ""
    debug: bool = False


def c_identifier(name: str) -> str:
    """A model name as a C identifier prefix: lower case, [a-z0-9_], not starting with a digit."""
    ident = re.sub(r"[^0-9a-zA-Z_]", "_", name).lower().strip("_") or "model"
    return f"m_{ident}" if ident[0].isdigit() else ident


def _weights_name(t: Tensor) -> str:
    return f"w{t.index}"


def emit_model(
    graph: Graph, calls: list[KernelCall], plan: MemoryPlan, options: EmitOptions | None = None
) -> EmittedModel:
    """Generate the model's C source, header and manifest."""
    opts = options or EmitOptions()
    p = opts.prefix
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
            return f"({const}{ctype} *)({p}_arena + {plan.offsets[t]})"
        if t in plan.state.tensor_offsets:
            const = "const " if untyped and not writable else ""
            return f"({const}{ctype} *)({p}_state + {plan.state.tensor_offsets[t]})"
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
        elided = plan.state.elided.get(step, "")
        function = call.kernel
        if call.spec is not None and not elided:
            key = (call.spec_macro, c_literal(call.spec))
            # Static, so models never clash at link time; the prefix tells them apart in
            # map files, profiles and debuggers.
            function = specs.setdefault(key, f"{p}_spec{len(specs)}_{call.source}")
        cargs: list[str] = []
        if call.kernel and not elided:
            extra_consts.extend(call.consts)
            cargs = [a.const.name if a.const is not None
                     else pointer(a.tensor, a.writable, a.untyped) for a in call.args]
            cargs += [f"(void *)({p}_state + {plan.state.kernel_state[(step, i)]})"
                      for i in range(len(call.state))]
            if call.scratch_bytes:
                cargs.append(f"(void *)({p}_arena + {plan.scratch[step]})")
        rendered_calls.append(
            {
                "op": call.op,
                "kernel": call.kernel,
                "alias": call.alias,
                "elided": elided,
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
            "data": f"{p}_arena + {plan.offsets[t]}",
            "bytes": tensor.nbytes,
            "dtype": DTYPE_CODES[tensor.dtype],
            "dtype_name": tensor.dtype,
            "shape": list(tensor.shape),
            "quantized": q is not None,
            "ndim": len(tensor.shape),
            "dims": dims,
            "scale": c_literal(q.scale[0] if q else 0.0),
            "zero_point": q.zero_point[0] if q else 0,
        }

    debug_ids = sorted(t for t in plan.offsets) if opts.debug else []
    consts = list(const_tensors.values()) + extra_consts
    state_init, state_fill = initial_words(plan.state)
    sha = bytes.fromhex(graph.sha256) if graph.sha256 else bytes(32)
    common = {
        "version": __version__,
        "model_name": graph.name,
        "p": p,
        "P": p.upper(),
        "arena_bytes": plan.arena_bytes,
        "state_bytes": plan.state.bytes,
        "inputs": [entry(t) for t in graph.inputs],
        "outputs": [entry(t) for t in graph.outputs],
    }
    source = _ENV.get_template("model.c.j2").render(
        **common,
        arena_alloc=max(plan.arena_bytes, 16),
        arena_symbol=opts.arena_symbol,
        arena_section=opts.arena_section,
        weights_section=opts.weights_section,
        state_init=_array_body(state_init) if state_init.size else "",
        state_fill=state_fill,
        sha256=", ".join(f"0x{b:02x}" for b in sha),
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
        debug_tensors=[entry(t) for t in debug_ids],
    )
    header = _ENV.get_template("model.h.j2").render(
        **common, steps=len(calls), guard=f"MCUFORGE_MODEL_{p.upper()}_H",
        sha256_hex=graph.sha256,
    )
    manifest = build_manifest(graph, calls, plan, debug_ids)
    manifest["prefix"] = p
    manifest["weights_bytes"] = sum(int(c.values.nbytes) for c in consts)
    manifest["state_init_bytes"] = int(state_init.size)
    # The model's other constant data (per-layer parameter structs, tensor tables): with the
    # weights, what a .tflite file holds; the build measures their sizes in the ELF.
    # ... and the geometry a shared kernel body reads at run time (``<wrapper>_g``).
    manifest["data_symbols"] = [f"p{c.op.index}" for c in calls if c.kernel] + [
        f"{p}_inputs", f"{p}_outputs", f"{p}_debug_tensors", f"{p}_model", f"{p}_sha256",
        f"{p}_state_init"] + [f"{name}_g" for name in specs.values()]
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
        "sha256": graph.sha256,
        "mcuforge_version": __version__,
        "stateful": graph.stateful or plan.state.bytes > 0,
        "state_bytes": plan.state.bytes,
        "variables": [{"name": v.name, "bytes": v.nbytes, "dtype": str(v.initial.dtype),
                       "shape": list(v.initial.shape)} for v in graph.variables],
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

"""A structure-aware mutator for the fuzz campaign: models that still parse, with one field wrong.

Byte-level damage (tests/fuzz.py ``mutate``) mostly breaks the flatbuffer itself, so most of its
mutants die in the reader. This mutator unpacks the model with the TFLite schema's object API
(the copy ``tflite-micro`` ships), changes what a corrupted converter, a hand-edited model or a
hostile file would: a tensor's shape, rank or type, a scale or zero point, an operator's option,
operand or opcode, a buffer's bytes or length, a graph input or output, a variable flag, a
custom op's options. Then it packs the model again, so the mutant reaches validation, the
compiler and the kernels rather than the flatbuffer reader.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TYPES = (0, 1, 2, 3, 4, 6, 7, 9, 10, 16, 17)  # float32 .. int4/uint16, some the compiler refuses
DIMS = (0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 65535, 65536, 2**31 - 1, -1, -2)
INTS = (0, 1, 2, 3, 4, 5, 8, 16, 100, 127, 128, 255, 32767, 32768, 65536, 2**31 - 1, -1, -2,
        -32768, -(2**31))
FLOATS = (0.0, -0.0, -1.0, 1.0, 0.5, 1e-30, 1e30, 1e-45, math.inf, -math.inf, math.nan)
SCALES = (0.0, -1.0, 1e-30, 1e-12, 1e-6, 1e6, 1e30, 3.4e38, math.inf, math.nan, 2.0**-31, 1.0)
ZERO_POINTS = (0, 1, -1, 127, -128, 128, -129, 255, 256, 32767, -32768, 65535, 2**31 - 1,
               -(2**31), 2**32 - 1)


def _pick_subgraph(model: Any, rng: random.Random) -> Any:
    return rng.choice(model.subgraphs)


def _mutate_tensor(model: Any, rng: random.Random) -> str:
    sg = _pick_subgraph(model, rng)
    if not sg.tensors:
        return "no tensor"
    ti = rng.randrange(len(sg.tensors))
    t = sg.tensors[ti]
    kind = rng.choice(("shape", "shape", "rank", "type", "buffer", "variable", "name"))
    shape = list(t.shape) if t.shape is not None else []
    if kind == "shape" and shape:
        d = rng.randrange(len(shape))
        old = int(shape[d])
        shape[d] = rng.choice((*DIMS, old + 1, old - 1, old * 2, max(old // 2, 1)))
        t.shape = np.array(shape, dtype=np.int32)
        return f"tensor {ti} shape[{d}] {old}->{shape[d]}"
    if kind in ("shape", "rank"):
        if shape and rng.random() < 0.5:
            del shape[rng.randrange(len(shape))]
        else:
            shape.insert(rng.randrange(len(shape) + 1), rng.choice((1, 1, 2, 3)))
        t.shape = np.array(shape, dtype=np.int32)
        return f"tensor {ti} rank -> {shape}"
    if kind == "type":
        old = t.type
        t.type = rng.choice(TYPES)
        return f"tensor {ti} type {old}->{t.type}"
    if kind == "buffer":
        old = t.buffer
        t.buffer = rng.choice((0, len(model.buffers), len(model.buffers) + 5,
                               rng.randrange(len(model.buffers))))
        return f"tensor {ti} buffer {old}->{t.buffer}"
    if kind == "variable":
        t.isVariable = not t.isVariable
        return f"tensor {ti} isVariable -> {t.isVariable}"
    t.name = rng.choice((b"", b"x" * 300, b"\xff\xfe", b"a/b:0"))
    return f"tensor {ti} name"


def _mutate_quant(model: Any, rng: random.Random) -> str:
    sg = _pick_subgraph(model, rng)
    quantized = [i for i, t in enumerate(sg.tensors)
                 if t.quantization is not None and t.quantization.scale is not None]
    if not quantized:
        return "no quantized tensor"
    ti = rng.choice(quantized)
    q = sg.tensors[ti].quantization
    kind = rng.choice(("scale", "scale", "zero_point", "zero_point", "drop", "length", "axis"))
    if kind == "scale":
        k = rng.randrange(len(q.scale))
        scale = np.array(q.scale, dtype=np.float64)
        old = scale[k]
        scale[k] = rng.choice((*SCALES, old * 2, old / 2, old * 1.0001, -old))
        q.scale = scale.astype(np.float32)
        return f"tensor {ti} scale[{k}] {old:g}->{scale[k]:g}"
    if kind == "zero_point" and q.zeroPoint is not None and len(q.zeroPoint):
        k = rng.randrange(len(q.zeroPoint))
        zp = np.array(q.zeroPoint, dtype=np.int64)
        old = zp[k]
        zp[k] = rng.choice((*ZERO_POINTS, old + 1, old - 1))
        q.zeroPoint = zp
        return f"tensor {ti} zero_point[{k}] {old}->{zp[k]}"
    if kind == "drop":
        if rng.random() < 0.5:
            sg.tensors[ti].quantization = None
            return f"tensor {ti} quantization dropped"
        q.zeroPoint = None
        return f"tensor {ti} zero points dropped"
    if kind == "length":
        if len(q.scale) > 1 and rng.random() < 0.5:
            q.scale = q.scale[:-1]
        else:
            q.scale = np.append(q.scale, np.float32(q.scale[-1]))
        return f"tensor {ti} {len(q.scale)} scales"
    old = q.quantizedDimension
    q.quantizedDimension = rng.choice((0, 1, 2, 3, 4, -1, 7))
    return f"tensor {ti} quantized_dimension {old}->{q.quantizedDimension}"


def _mutate_option_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice((*INTS, value + 1, value - 1, value * 2))
    if isinstance(value, float):
        return rng.choice((*FLOATS, value * 2, -value))
    if isinstance(value, (np.ndarray, list)):
        arr = list(value)
        if arr and rng.random() < 0.7:
            arr[rng.randrange(len(arr))] = rng.choice(INTS)
        elif arr and rng.random() < 0.5:
            arr.pop()
        else:
            arr.append(rng.choice(INTS))
        return np.array(arr, dtype=np.int32)
    if isinstance(value, bytes):
        return rng.choice((b"", b"other", value + b"_"))
    return value


def _mutate_operator(model: Any, rng: random.Random) -> str:
    sg = _pick_subgraph(model, rng)
    if not sg.operators:
        return "no operator"
    oi = rng.randrange(len(sg.operators))
    op = sg.operators[oi]
    kind = rng.choice(("option", "option", "option", "input", "input", "output", "arity",
                       "opcode", "custom"))
    opts = op.builtinOptions
    if kind == "option" and opts is not None and vars(opts):
        field = rng.choice(sorted(vars(opts)))
        old = getattr(opts, field)
        setattr(opts, field, _mutate_option_value(old, rng))
        return f"op {oi} option {field} {old!r}->{getattr(opts, field)!r}"[:200]
    n_tensors = len(sg.tensors)
    if kind in ("input", "output", "option"):
        ports = op.inputs if kind != "output" else op.outputs
        if ports is None or not len(ports):
            return f"op {oi} has no {kind}"
        ports = list(ports)
        k = rng.randrange(len(ports))
        old = ports[k]
        ports[k] = rng.choice((-1, n_tensors, n_tensors + 100, rng.randrange(n_tensors),
                               rng.randrange(n_tensors)))
        if kind == "output":
            op.outputs = np.array(ports, dtype=np.int32)
        else:
            op.inputs = np.array(ports, dtype=np.int32)
        return f"op {oi} {kind}[{k}] {old}->{ports[k]}"
    if kind == "arity":
        which = rng.choice(("inputs", "outputs"))
        ports = list(getattr(op, which) if getattr(op, which) is not None else [])
        if ports and rng.random() < 0.5:
            ports.pop(rng.randrange(len(ports)))
        else:
            ports.append(rng.choice((-1, rng.randrange(n_tensors))))
        setattr(op, which, np.array(ports, dtype=np.int32))
        return f"op {oi} {which} -> {ports}"
    if kind == "opcode":
        if rng.random() < 0.5:
            old = op.opcodeIndex
            op.opcodeIndex = rng.choice((len(model.operatorCodes), 2**31 - 1,
                                         rng.randrange(len(model.operatorCodes))))
            return f"op {oi} opcode index {old}->{op.opcodeIndex}"
        code = model.operatorCodes[op.opcodeIndex]
        old = code.builtinCode
        code.builtinCode = rng.choice((0, 1, 2, 3, 4, 9, 17, 22, 25, 28, 32, 41, 49, 53, 83, 97,
                                       114, 117, 127, 150, 200, 1000, rng.randrange(210)))
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        return f"opcode {op.opcodeIndex} builtin {old}->{code.builtinCode}"
    custom = bytearray(op.customOptions if op.customOptions is not None else b"")
    if custom and rng.random() < 0.8:
        for _ in range(rng.choice((1, 1, 2, 4))):
            pos = rng.randrange(len(custom))
            custom[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        how = "bytes changed"
    elif custom:
        del custom[rng.randrange(len(custom)):]
        how = "truncated"
    else:
        custom = bytearray(rng.randbytes(rng.randrange(1, 16)))
        how = "added"
    op.customOptions = np.frombuffer(bytes(custom), dtype=np.uint8)
    return f"op {oi} custom options {how}"


def _mutate_buffer(model: Any, rng: random.Random) -> str:
    with_data = [i for i, b in enumerate(model.buffers) if b.data is not None and len(b.data)]
    if not with_data:
        return "no buffer"
    bi = rng.choice(with_data)
    buf = model.buffers[bi]
    data = bytearray(bytes(buf.data))
    kind = rng.choice(("bytes", "bytes", "truncate", "extend", "empty", "external"))
    if kind == "bytes":
        for _ in range(rng.choice((1, 4, 16))):
            data[rng.randrange(len(data))] = rng.choice((0, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    elif kind == "extend":
        data += bytes(rng.choice((1, 3, 4, 64)))
    elif kind == "empty":
        data = bytearray()
    else:
        buf.offset, buf.size = rng.choice(((1, len(data)), (2**40, 4), (16, 2**33)))
        return f"buffer {bi} external offset {buf.offset} size {buf.size}"
    buf.data = np.frombuffer(bytes(data), dtype=np.uint8) if data else None
    return f"buffer {bi} {kind} -> {len(data)} bytes"


def _mutate_io(model: Any, rng: random.Random) -> str:
    sg = _pick_subgraph(model, rng)
    which = rng.choice(("inputs", "outputs"))
    ports = list(getattr(sg, which) if getattr(sg, which) is not None else [])
    n = len(sg.tensors)
    kind = rng.choice(("replace", "drop", "add", "duplicate"))
    if kind == "replace" and ports:
        ports[rng.randrange(len(ports))] = rng.choice((-1, n, rng.randrange(n)))
    elif kind == "drop" and ports:
        ports.pop(rng.randrange(len(ports)))
    elif kind == "duplicate" and ports:
        ports.append(ports[0])
    else:
        ports.append(rng.randrange(n))
    setattr(sg, which, np.array(ports, dtype=np.int32))
    return f"subgraph {which} -> {ports}"


def _mutate_graph(model: Any, rng: random.Random) -> str:
    kind = rng.choice(("swap", "drop-op", "drop-subgraph", "version"))
    sg = _pick_subgraph(model, rng)
    if kind == "swap" and len(sg.operators) > 1:
        i, j = rng.sample(range(len(sg.operators)), 2)
        sg.operators[i], sg.operators[j] = sg.operators[j], sg.operators[i]
        return f"operators {i} and {j} swapped"
    if kind == "drop-op" and sg.operators:
        i = rng.randrange(len(sg.operators))
        del sg.operators[i]
        return f"operator {i} dropped"
    if kind == "drop-subgraph" and len(model.subgraphs) > 1:
        del model.subgraphs[rng.randrange(1, len(model.subgraphs))]
        return "a subgraph dropped"
    old = model.version
    model.version = rng.choice((0, 2, 4, 2**31 - 1))
    return f"model version {old}->{model.version}"


MUTATORS = (
    (_mutate_tensor, 4), (_mutate_quant, 4), (_mutate_operator, 5), (_mutate_buffer, 2),
    (_mutate_io, 1), (_mutate_graph, 1),
)


def mutate_graph(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One or two structural mutations of the model ``data``; returns the mutant and what was
    done. The mutant is a well-formed flatbuffer (the object API packs it again); a value that
    does not fit its field (an int8 option given 2**31) cannot be written, so another is drawn."""
    funcs = [f for f, w in MUTATORS for _ in range(w)]
    for _ in range(20):
        model = schema.ModelT.InitFromPackedBuf(data, 0)
        done = [rng.choice(funcs)(model, rng) for _ in range(rng.choice((1, 1, 1, 2)))]
        builder = flatbuffers.Builder(len(data) + 1024)
        try:
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        except (TypeError, struct.error, OverflowError):
            continue
        return bytes(builder.Output()), "; ".join(done)
    return data, "unchanged (no representable mutation drawn)"

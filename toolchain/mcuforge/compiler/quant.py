"""Quantization parameters computed exactly as TFLM computes them at Prepare time.

Bit-exactness with the reference interpreter starts here: the same multiplier from the same float
scales, with the same precision at each step (float32 where TFLM multiplies floats, double where it
promotes), and the same rounding (half away from zero, as ``std::round``).
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.model.ir import Tensor

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def round_away(x: float) -> int:
    """Round half away from zero, like C's ``round``/``roundf`` (numpy rounds half to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """A double multiplier as (Q31 significand, power-of-two exponent), as TFLM's
    ``QuantizeMultiplier`` (double-rounding build) returns them."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def f32(x: float) -> np.float32:
    return np.float32(x)


#: Value range of each integer tensor type.
INT_LIMITS: dict[str, tuple[int, int]] = {
    "int8": (INT8_MIN, INT8_MAX),
    "uint8": (0, 255),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
}


def activation_range(activation: str, out: Tensor) -> tuple[int, int]:
    """The clamp bounds of a fused activation, as TFLM's ``CalculateActivationRangeQuantized``
    (int8 or int16 output: the type's range, narrowed by the activation).

    The threshold is quantized in float32 (``roundf(f / scale)``), exactly as the reference does.
    """
    scale, zp = f32(out.scale), out.zero_point
    lo, hi = INT_LIMITS[out.dtype] if out.dtype in ("int8", "int16") else INT_LIMITS["int8"]

    def q(value: float) -> int:
        return zp + round_away(float(f32(value) / scale))

    if activation in ("NONE", None):
        return lo, hi
    if activation == "RELU":
        return max(lo, q(0.0)), hi
    if activation == "RELU6":
        return max(lo, q(0.0)), min(hi, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, q(-1.0)), min(hi, q(1.0))
    raise ValueError(f"fused activation {activation} has no integer clamp")


#: Fused activations an int8 kernel can apply as a clamp.
CLAMP_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def conv_multipliers(inp: Tensor, weights: Tensor, out: Tensor) -> tuple[list[int], list[int]]:
    """Per-output-channel (multiplier, shift) lists for CONV/DEPTHWISE/FULLY_CONNECTED.

    Per-channel weights: ``double(in_scale) * double(w_scale) / double(out_scale)`` (TFLM's
    ``PopulateConvolutionQuantizationParams``). Per-tensor weights of a fully connected layer go
    through ``GetQuantizedConvolutionMultipler``, which multiplies the two scales as doubles too.
    """
    assert weights.quant is not None
    in_s, out_s = float(f32(inp.scale)), float(f32(out.scale))
    mults, shifts = [], []
    for w_s in weights.quant.scale:
        m, s = quantize_multiplier(in_s * float(f32(w_s)) / out_s)
        mults.append(m)
        shifts.append(s)
    return mults, shifts

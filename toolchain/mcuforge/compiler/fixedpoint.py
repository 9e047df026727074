"""gemmlowp's scalar fixed-point arithmetic, bit for bit, for tables computed at compile time.

TFLM evaluates int8 LOGISTIC and TANH with gemmlowp fixed point. Their output depends only on
the int8 input, so mcuforge runs the very same integer arithmetic here, in Python, for all 256
inputs and ships the results as a table (``kernels/lut.h``). Every function mirrors the C/C++
one of the same name: int32 raw values, truncating division where gemmlowp divides, arithmetic
shifts where it shifts. A raw value with N integer bits stands for ``raw / 2**(31 - N)``.

The C copies of the helpers the SOFTMAX kernel needs at run time are in
``firmware/runtime/quant.h`` (``/* gemmlowp fixed-point helpers */``).
"""

from __future__ import annotations

import math

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap32(x: int) -> int:
    """Two's complement int32 wrap-around (what the reference's plain int arithmetic does)."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul: round(a * b / 2**31), ties away from zero."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    # C++ integer division truncates toward zero; Python's // floors.
    return v >> 31 if v >= 0 else -((-v) >> 31)


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2**exponent, ties away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def sat_shl(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT with exponent >= 0 (and Rescale to fewer integer bits)."""
    if exponent == 0:
        return x
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap32(x << exponent)


def rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    v = s + (1 if s >= 0 else -1)
    return v // 2 if v >= 0 else -((-v) // 2)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLM's double-rounding MultiplyByQuantizedMultiplier (``mf_mbqm`` in quant.h)."""
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    constant_term = 1895147668  # exp(-1/8), Q0.31
    one_third = 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


#: exp(-2**k) in Q0.31 for k = -2 .. 4 (gemmlowp's barrel shifter constants).
_EXP_MINUS_POW2 = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 with ``integer_bits`` integer bits; Q0.31 result."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod = wrap32((a & (one_quarter - 1)) - one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(sat_shl(a_mod, integer_bits))
    remainder = wrap32(a_mod - a)
    for k, multiplier in enumerate(_EXP_MINUS_POW2):
        exponent = k - 2
        if integer_bits > exponent and remainder & (1 << (fractional_bits + exponent)):
            result = srdhm(result, multiplier)
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def _newton_raphson_half_reciprocal(a: int) -> int:
    """x ~ 1 / half_denominator with 2 integer bits, half_denominator = (1 + a) / 2."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))  # 48/17 - 32/17 * d
    for _ in range(3):
        one_minus = wrap32((1 << 29) - srdhm(half_denominator, x))
        x = wrap32(x + sat_shl(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return sat_shl(_newton_raphson_half_reciprocal(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return sat_shl(wrap32(_newton_raphson_half_reciprocal(a) - (1 << 29)), 2)


def logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic: Q0.31 result for an input with ``integer_bits`` integer bits."""
    if a == 0:
        return 1 << 30
    abs_input = a if a > 0 else wrap32(-a)
    positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(wrap32(-abs_input), integer_bits)
    )
    return positive if a > 0 else wrap32(INT32_MAX - positive)


def tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh: Q0.31 result for an input with ``integer_bits`` integer bits."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap32(-a)
    # ExactMulByPot<1>: the same raw value read with one more integer bit is 2 * n.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return wrap32(-t) if a < 0 else t


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLM's CalculateInputRadius (floating-point build): the largest |input| whose rescaled
    value still fits ``integer_bits``; computed in double exactly as the reference does."""
    max_input_rescaled = (
        1.0
        * ((1 << integer_bits) - 1)
        * float(1 << (total_signed_bits - integer_bits))
        / float(1 << left_shift)
    )
    return int(math.floor(max_input_rescaled))

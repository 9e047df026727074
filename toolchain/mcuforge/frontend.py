"""Fixed-point log-mel feature front end for keyword spotting.

The front end turns 16 kHz mono int16 PCM into int8 log-mel features. Every step after the
(constant) table generation is integer arithmetic -- additions, multiplications, arithmetic right
shifts (floor) and table look-ups -- so a C port that uses the tables from :func:`tables` and the
same operation order produces bit-identical features on a microcontroller. The numpy code below
computes in int64 only so that numpy never wraps silently; the comments state the widths a C port
needs (int32 everywhere except the mel accumulator, which is uint64).

Parameters (module constants):

================  ==========  ===========================================================
name              value       meaning
================  ==========  ===========================================================
SAMPLE_RATE       16000       input sample rate, Hz (int16 PCM, mono)
WINDOW_SAMPLES    480         analysis window, 30 ms
STRIDE_SAMPLES    320         hop between frames, 20 ms
FFT_SIZE          512         radix-2 FFT length; the window is zero-padded to it
NUM_CHANNELS      40          triangular mel filters
LOWER_HZ          125         lower edge of the first mel filter, Hz
UPPER_HZ          7500        upper edge of the last mel filter, Hz
CLIP_SAMPLES      16000       one clip = 1 s, giving NUM_FRAMES = 49 frames
WINDOW_BITS       15          Hann window coefficients in Q15
TWIDDLE_BITS      15          FFT twiddle factors in Q15
NORM_BITS         14          each windowed frame is shifted left until its peak needs 14 bits
MEL_WEIGHT_BITS   12          mel filter weights in Q12
LOG_FRAC_BITS     16          log2 results in Q16
LOG_TABLE_BITS    5           log2 mantissa table: 32 linear segments (max error 2e-4 in log2)
LOG_FLOOR         6           log2 energy mapped to int8 -128 (about 36 dB above 1 LSB^2)
STEPS_PER_OCTAVE  6           int8 steps per log2 unit of energy (0.5 dB per step)
================  ==========  ===========================================================

Per frame of WINDOW_SAMPLES int16 samples ``x``:

1. ``y = (x * hann_q15 + 2**14) >> 15`` (|y| <= 32768).
2. Block normalisation: ``s = max(0, NORM_BITS - bit_length(max|y|))``; ``y <<= s``. Quiet frames
   keep their precision through the FFT's per-stage scaling; ``s`` is undone in the log domain.
3. In-place radix-2 decimation-in-time FFT of the zero-padded frame; each butterfly computes
   ``t = (w * b + 2**14) >> 15`` (complex, Q15 twiddles) and ``a' = (a + t) >> 1``,
   ``b' = (a - t) >> 1``. Magnitudes never grow, so all values fit int32.
4. Power ``P[k] = re[k]**2 + im[k]**2`` for k = 0..FFT_SIZE/2 (fits uint32).
5. Mel energies ``E[c] = sum_k W[c, k] * P[k]`` with Q12 weights (uint64 accumulator).
6. ``L = log2(E + 1)`` in Q16: leading-bit position plus a 33-entry table with linear
   interpolation of the 16-bit mantissa.
7. Undo the scalings: ``L += (2 * log2(FFT_SIZE) - MEL_WEIGHT_BITS - 2 * s) << 16``, so ``L`` is
   the log2 energy as if the FFT had been computed on the unscaled int16 samples.
8. ``feature = clip(((L - LOG_FLOOR << 16) * STEPS_PER_OCTAVE) >> 16, 0, 255) - 128`` (int8).

The int8 features are what the keyword models in ``models/wake_word`` take as their input; their
input quantisation is the identity (scale 1.0, zero point 0), so the device feeds them unchanged.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 480
STRIDE_SAMPLES = 320
FFT_SIZE = 512
FFT_STAGES = 9  # log2(FFT_SIZE)
NUM_CHANNELS = 40
LOWER_HZ = 125.0
UPPER_HZ = 7500.0
CLIP_SAMPLES = 16000
NUM_FRAMES = 1 + (CLIP_SAMPLES - WINDOW_SAMPLES) // STRIDE_SAMPLES
WINDOW_BITS = 15
TWIDDLE_BITS = 15
NORM_BITS = 14
MEL_WEIGHT_BITS = 12
LOG_FRAC_BITS = 16
LOG_TABLE_BITS = 5
LOG_FLOOR = 6
STEPS_PER_OCTAVE = 6

_NUM_BINS = FFT_SIZE // 2 + 1


def _round_half_away(values: np.ndarray) -> np.ndarray:
    """Round like C's ``lround`` so table values do not depend on numpy's banker's rounding."""
    return (np.sign(values) * np.floor(np.abs(values) + 0.5)).astype(np.int64)


@functools.cache
def hann_window_q15() -> np.ndarray:
    """Periodic Hann window of WINDOW_SAMPLES coefficients in Q15 (int64, values 0..32767)."""
    n = np.arange(WINDOW_SAMPLES)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / WINDOW_SAMPLES)
    return np.minimum(_round_half_away(window * (1 << WINDOW_BITS)), (1 << WINDOW_BITS) - 1)


@functools.cache
def twiddles_q15() -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of ``2*pi*k/FFT_SIZE`` for k < FFT_SIZE/2, Q15, clipped to int16 range."""
    k = np.arange(FFT_SIZE // 2)
    scale = 1 << TWIDDLE_BITS
    cos = np.clip(_round_half_away(np.cos(2.0 * np.pi * k / FFT_SIZE) * scale), -scale, scale - 1)
    sin = np.clip(_round_half_away(np.sin(2.0 * np.pi * k / FFT_SIZE) * scale), -scale, scale - 1)
    return cos, sin


@functools.cache
def bit_reverse_order() -> np.ndarray:
    """Index permutation that puts FFT input samples in bit-reversed order."""
    idx = np.arange(FFT_SIZE)
    rev = np.zeros_like(idx)
    for bit in range(FFT_STAGES):
        rev |= ((idx >> bit) & 1) << (FFT_STAGES - 1 - bit)
    return rev


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, ``1127 * ln(1 + f / 700)``."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * np.expm1(np.asarray(mel, dtype=np.float64) / 1127.0)


@functools.cache
def mel_center_hz() -> np.ndarray:
    """Centre frequency of each mel channel, Hz (float, for documentation and tests)."""
    edges = mel_to_hz(np.linspace(hz_to_mel(LOWER_HZ), hz_to_mel(UPPER_HZ), NUM_CHANNELS + 2))
    return edges[1:-1]


@functools.cache
def mel_weights_q12() -> np.ndarray:
    """Triangular mel filterbank, shape (NUM_CHANNELS, FFT_SIZE/2 + 1), Q12 int64 weights."""
    edges = mel_to_hz(np.linspace(hz_to_mel(LOWER_HZ), hz_to_mel(UPPER_HZ), NUM_CHANNELS + 2))
    freqs = np.arange(_NUM_BINS) * SAMPLE_RATE / FFT_SIZE
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (center - lower)
    falling = (upper - freqs[None, :]) / (upper - center)
    tri = np.clip(np.minimum(rising, falling), 0.0, 1.0)
    return _round_half_away(tri * (1 << MEL_WEIGHT_BITS))


@functools.cache
def log2_table_q16() -> np.ndarray:
    """``log2(1 + i / 2**LOG_TABLE_BITS)`` in Q16 for i = 0..2**LOG_TABLE_BITS (inclusive)."""
    i = np.arange((1 << LOG_TABLE_BITS) + 1)
    return _round_half_away(np.log2(1.0 + i / (1 << LOG_TABLE_BITS)) * (1 << LOG_FRAC_BITS))


def tables() -> dict[str, np.ndarray]:
    """All constant tables a C port needs, as integer arrays (emit them, never recompute)."""
    cos, sin = twiddles_q15()
    return {
        "hann_q15": hann_window_q15(),
        "twiddle_cos_q15": cos,
        "twiddle_sin_q15": sin,
        "bit_reverse": bit_reverse_order(),
        "mel_weights_q12": mel_weights_q12(),
        "log2_q16": log2_table_q16(),
    }


def _require_integer(name: str, values: np.ndarray) -> None:
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got {values.dtype}")


def bit_length(values: np.ndarray) -> np.ndarray:
    """Number of bits needed for each non-negative integer (0 for 0), like ``int.bit_length``.

    A binary search with shifts, the same as a C ``32 - __builtin_clz`` / ``64 - clzll``.
    """
    _require_integer("values", values)
    v = values.astype(np.uint64)
    n = np.zeros(v.shape, dtype=np.int64)
    for step in (32, 16, 8, 4, 2, 1):
        big = v >= np.uint64(1 << step)
        n += np.where(big, step, 0)
        v = np.where(big, v >> np.uint64(step), v)
    return n + (v > 0)


def window_and_normalize(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-2: Hann window (Q15) and block normalisation.

    Args:
        frames: int16 samples, shape (F, WINDOW_SAMPLES).

    Returns:
        The windowed, left-shifted frames (int64, |value| <= 32768) and the shift of each frame.
    """
    _require_integer("frames", frames)
    y = (frames.astype(np.int64) * hann_window_q15() + (1 << (WINDOW_BITS - 1))) >> WINDOW_BITS
    peak = np.abs(y).max(axis=1)
    shift = np.maximum(0, NORM_BITS - bit_length(peak))
    return y << shift[:, None], shift


def fft_q15(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: fixed-point radix-2 FFT with a right shift by one in every stage.

    Args:
        frames: integer samples, shape (F, n) with n <= FFT_SIZE (zero-padded to FFT_SIZE).

    Returns:
        Real and imaginary parts (int64, within int32), equal to ``fft(x) / FFT_SIZE`` up to
        rounding.
    """
    _require_integer("frames", frames)
    padded = np.zeros((frames.shape[0], FFT_SIZE), dtype=np.int64)
    padded[:, : frames.shape[1]] = frames
    re = padded[:, bit_reverse_order()]
    im = np.zeros_like(re)
    cos, sin = twiddles_q15()
    half_q = 1 << (TWIDDLE_BITS - 1)
    half = 1
    while half < FFT_SIZE:
        # Butterflies of this stage pair element j with j + half inside blocks of 2 * half.
        shape = (re.shape[0], FFT_SIZE // (2 * half), 2, half)
        re4, im4 = re.reshape(shape), im.reshape(shape)
        a_re, a_im, b_re, b_im = re4[:, :, 0], im4[:, :, 0], re4[:, :, 1], im4[:, :, 1]
        step = FFT_SIZE // (2 * half)
        w_re, w_im = cos[::step][:half], -sin[::step][:half]  # exp(-2*pi*i*k / (2*half))
        t_re = (b_re * w_re - b_im * w_im + half_q) >> TWIDDLE_BITS
        t_im = (b_re * w_im + b_im * w_re + half_q) >> TWIDDLE_BITS
        new_re = np.stack(((a_re + t_re) >> 1, (a_re - t_re) >> 1), axis=2)
        new_im = np.stack(((a_im + t_im) >> 1, (a_im - t_im) >> 1), axis=2)
        re, im = new_re.reshape(re.shape), new_im.reshape(im.shape)
        half *= 2
    return re, im


def power_spectrum(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """Step 4: ``re**2 + im**2`` of bins 0..FFT_SIZE/2 (int64, fits uint32)."""
    _require_integer("re", re)
    _require_integer("im", im)
    return re[:, :_NUM_BINS] ** 2 + im[:, :_NUM_BINS] ** 2


def mel_energies(power: np.ndarray) -> np.ndarray:
    """Step 5: Q12-weighted sums of the power spectrum per mel channel (uint64)."""
    _require_integer("power", power)
    return power.astype(np.uint64) @ mel_weights_q12().T.astype(np.uint64)


def log2_q16(values: np.ndarray) -> np.ndarray:
    """Step 6: ``log2(values + 1)`` in Q16 (int64) for non-negative integers below 2**62."""
    _require_integer("values", values)
    v = values.astype(np.uint64) + np.uint64(1)
    n = bit_length(v) - 1  # position of the leading one
    frac_bits = LOG_FRAC_BITS
    up = np.clip(frac_bits - n, 0, None).astype(np.uint64)
    down = np.clip(n - frac_bits, 0, None).astype(np.uint64)
    mantissa = ((v << up) >> down).astype(np.int64) - (1 << frac_bits)  # Q16, 0..65535
    seg_bits = frac_bits - LOG_TABLE_BITS
    idx = mantissa >> seg_bits
    rem = mantissa & ((1 << seg_bits) - 1)
    table = log2_table_q16()
    lo, hi = table[idx], table[idx + 1]
    frac = lo + (((hi - lo) * rem + (1 << (seg_bits - 1))) >> seg_bits)
    return (n << frac_bits) + frac


def to_int8(log2_energy_q16: np.ndarray) -> np.ndarray:
    """Step 8: map Q16 log2 energies to int8 features."""
    _require_integer("log2_energy_q16", log2_energy_q16)
    scaled = ((log2_energy_q16 - (LOG_FLOOR << LOG_FRAC_BITS)) * STEPS_PER_OCTAVE) >> LOG_FRAC_BITS
    return (np.clip(scaled, 0, 255) - 128).astype(np.int8)


def frame_features(frames: np.ndarray) -> np.ndarray:
    """Features of independent frames.

    Args:
        frames: int16 PCM, shape (F, WINDOW_SAMPLES).

    Returns:
        int8 features, shape (F, NUM_CHANNELS).
    """
    if frames.dtype != np.int16:
        raise TypeError(f"frames must be int16 PCM, got {frames.dtype}")
    if frames.ndim != 2 or frames.shape[1] != WINDOW_SAMPLES:
        raise ValueError(f"frames must have shape (F, {WINDOW_SAMPLES}), got {frames.shape}")
    windowed, shift = window_and_normalize(frames)
    re, im = fft_q15(windowed)
    log_e = log2_q16(mel_energies(power_spectrum(re, im)))
    correction = 2 * FFT_STAGES - MEL_WEIGHT_BITS - 2 * shift
    return to_int8(log_e + (correction[:, None] << LOG_FRAC_BITS))


def frame_signal(pcm: np.ndarray) -> np.ndarray:
    """Cut int16 PCM, shape (..., samples), into frames (..., F, WINDOW_SAMPLES).

    Clips shorter than one window are zero-padded to one window.
    """
    if pcm.shape[-1] < WINDOW_SAMPLES:
        pad = [(0, 0)] * (pcm.ndim - 1) + [(0, WINDOW_SAMPLES - pcm.shape[-1])]
        pcm = np.pad(pcm, pad)
    count = 1 + (pcm.shape[-1] - WINDOW_SAMPLES) // STRIDE_SAMPLES
    idx = np.arange(count)[:, None] * STRIDE_SAMPLES + np.arange(WINDOW_SAMPLES)[None, :]
    return pcm[..., idx]


def features(pcm: np.ndarray) -> np.ndarray:
    """Log-mel features of one clip.

    Args:
        pcm: int16 mono PCM at SAMPLE_RATE, shape (samples,). A 1 s clip (CLIP_SAMPLES) gives
            NUM_FRAMES = 49 frames; other lengths give ``1 + (samples - 480) // 320`` frames.

    Returns:
        int8 array of shape (frames, NUM_CHANNELS).
    """
    if pcm.dtype != np.int16:
        raise TypeError(f"pcm must be int16, got {pcm.dtype}")
    if pcm.ndim != 1:
        raise ValueError(f"pcm must be one-dimensional, got shape {pcm.shape}")
    return frame_features(frame_signal(pcm))


def features_batch(pcm: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Log-mel features of many equal-length clips, shape (clips, samples) -> (clips, F, C)."""
    if pcm.dtype != np.int16:
        raise TypeError(f"pcm must be int16, got {pcm.dtype}")
    if pcm.ndim != 2:
        raise ValueError(f"pcm must have shape (clips, samples), got {pcm.shape}")
    frames = frame_signal(pcm)
    out = np.empty(frames.shape[:2] + (NUM_CHANNELS,), dtype=np.int8)
    for start in range(0, pcm.shape[0], chunk):
        block = frames[start : start + chunk]
        flat = block.reshape(-1, WINDOW_SAMPLES)
        out[start : start + chunk] = frame_features(flat).reshape(block.shape[:2] + (-1,))
    return out

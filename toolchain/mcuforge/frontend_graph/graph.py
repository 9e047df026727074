"""Write an audio front end as a .tflite graph of TFLM signal-library ops, from parameters.

The graph is the one TFLM's ``micro_speech/audio_preprocessor.py`` has the TF converter make
(window, FFT, energy, mel filter bank, square root, noise reduction, PCAN gain control, log,
and an integer mapping to int8), written directly: one invocation turns one window of int16
samples into one feature frame; the noise estimate is state the graph keeps between
invocations. With :data:`MICRO_SPEECH` it reproduces TFLM's published
``audio_preprocessor_int8.tflite`` op for op and table for table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.compiler.ops.signal_spectrum import rfft_plan_problems
from mcuforge.frontend_graph import tables
from mcuforge.model.writer import TfliteWriter

#: TFLite's TensorType code of int16, the RFFT's "T" option.
_INT16 = 7
#: pcan_op.py checks its shift against these bits, then always passes 6.
_PCAN_SNR_BITS, _PCAN_SNR_SHIFT = 12, 6


@dataclass(frozen=True)
class FrontEndParams:
    """Front-end parameters; the defaults are micro_speech's (``FeatureParams``)."""

    sample_rate: int = 16000
    window_ms: float = 30
    #: Hop between windows: the caller's business (one window per invocation); kept for the record.
    hop_ms: float = 20
    window_scaling_bits: int = 12
    #: None: the smallest power of two holding the window.
    fft_length: int | None = None
    channels: int = 40
    lower_band_hz: float = 125.0
    upper_band_hz: float = 7500.0
    filter_bank_scaling_bits: int = 12
    filter_bank_alignment: int = 4
    filter_bank_block_size: int = 4
    #: The log's output scale is 2^post_scaling_bits.
    post_scaling_bits: int = 6
    #: SignalEnergy leaves bins outside the filter bank's band unwritten, and TFLM's graph zeroes
    #: them (CAST, STRIDED_SLICE, CONCATENATION, CAST). The filter bank only multiplies them by
    #: zero weights, so the features are the same without: False writes the shorter graph.
    zero_outside_band: bool = True
    noise_reduction: bool = True
    spectral_subtraction_bits: int = 14
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    clamping: bool = False
    #: PCAN needs the noise estimate, so it runs only with noise reduction.
    pcan: bool = True
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    pcan_smoothing_bits: int = 10
    #: "int8": (log * value_scale + value_div // 2) / value_div + output_offset, clipped to
    #: int8; "int16": the log features themselves.
    output: str = "int8"
    value_scale: int = 256
    value_div: int = int(25.6 * 26 + 0.5)
    output_offset: int = -128

    @property
    def window_samples(self) -> int:
        return int(self.window_ms * self.sample_rate / 1000)

    @property
    def fft(self) -> tuple[int, int]:
        """(FFT length, its log2 rounded up)."""
        if self.fft_length is None:
            return tables.pow2_fft_length(self.window_samples)
        return self.fft_length, int(np.ceil(np.log2(self.fft_length)))

    @property
    def correction_bits(self) -> int:
        return self.fft[1] - self.filter_bank_scaling_bits // 2


MICRO_SPEECH = FrontEndParams()


def check_params(p: FrontEndParams) -> None:
    """Raise ValueError for parameters TFLM's tools would refuse or its kernels cannot run."""
    n, _ = p.fft
    if p.window_samples < 2 or p.window_samples > n:
        raise ValueError(f"a window of {p.window_samples} samples needs 2..fft_length ({n})")
    if problems := rfft_plan_problems(n):
        raise ValueError(problems[0])
    if p.output not in ("int8", "int16"):
        raise ValueError(f"output {p.output!r}: 'int8' or 'int16'")
    if p.pcan and not p.noise_reduction:
        raise ValueError("PCAN gain control needs the noise estimate of noise reduction")
    if p.pcan and p.pcan_gain_bits - p.correction_bits - _PCAN_SNR_BITS < 1:
        raise ValueError("PCAN gain bits too few for the correction bits (pcan_op.py refuses)")
    if not 0 <= p.correction_bits < 32 or not 0 <= p.window_scaling_bits < 32:
        raise ValueError("correction and window scaling bits must be 0..31")


def write_frontend(p: FrontEndParams = MICRO_SPEECH) -> bytes:
    """The front end as .tflite bytes: input int16 [1, window samples], output int8 (or int16)
    [channels]."""
    check_params(p)
    n, _ = p.fft
    bins = n // 2 + 1
    fbank = tables.filter_bank_tables(
        bins, p.sample_rate, p.channels, p.lower_band_hz, p.upper_band_hz,
        alignment=p.filter_bank_alignment, block_size=p.filter_bank_block_size,
        weight_bits=p.filter_bank_scaling_bits)
    start, end = int(fbank["start_index"]), int(fbank["end_index"])
    reach = int(np.max(fbank["freq_starts"].astype(int) + fbank["widths"]))
    if reach > bins:
        raise ValueError(f"the filter bank's padded channels reach bin {reach - 1} of {bins}; "
                         "lower the upper band limit")
    w = TfliteWriter("mcuforge front end")
    samples = p.window_samples
    x = w.input("audio_frame", "int16", (1, samples))
    windowed = w.tensor("window", "int16", (1, samples))
    w.custom("SignalWindow",
             [x, w.const("hann_window_weights", tables.hann_window(samples,
                                                                   p.window_scaling_bits))],
             [windowed], {"shift": p.window_scaling_bits})
    flat = w.tensor("window_flat", "int16", (samples,))
    w.builtin("RESHAPE", [windowed, w.const("flat_shape", np.array([-1], np.int32))], [flat])
    scaled, shift = w.tensor("fft_input", "int16", (samples,)), w.tensor("fft_shift", "int32", ())
    w.custom("SignalFftAutoScale", [flat], [scaled, shift], {})
    spectrum = w.tensor("rfft", "int16", (n + 2,))
    w.custom("SignalRfft", [scaled], [spectrum], {"T": _INT16, "fft_length": n})
    energy = w.tensor("energy", "uint32", (bins,))
    w.custom("SignalEnergy", [spectrum], [energy], {"end_index": end, "start_index": start})
    if p.zero_outside_band:
        energy = _zero_outside(w, energy, bins, start, end)
    filtered = w.tensor("filter_bank", "uint64", (p.channels,))
    w.custom("SignalFilterBank",
             [energy] + [w.const(f"filter_bank_{k}", fbank[k]) for k in
                         ("weights", "unweights", "freq_starts", "weight_starts", "widths")],
             [filtered], {"num_channels": p.channels})
    feature = w.tensor("filter_bank_sqrt", "uint32", (p.channels,))
    w.custom("SignalFilterBankSquareRoot", [filtered, shift], [feature], {})
    if p.noise_reduction:
        feature = _noise_reduction(w, p, feature)
    log = w.tensor("log", "int16", (p.channels,))
    w.custom("SignalFilterBankLog", [feature], [log],
             {"input_correction_bits": p.correction_bits,
              "output_scale": 1 << p.post_scaling_bits})
    return w.finish([log if p.output == "int16" else _to_int8(w, p, log)])


def _zero_outside(w: TfliteWriter, energy: int, bins: int, start: int, end: int) -> int:
    """SignalEnergy leaves the bins outside [start, end) unwritten: the converter's graph zeroes
    them with CAST, STRIDED_SLICE, CONCATENATION of constant zeros and CAST back."""
    as_int = w.tensor("energy_int", "int32", (bins,))
    w.builtin("CAST", [energy], [as_int])
    part = w.tensor("energy_slice", "int32", (end - start,))
    opts = fb.StridedSliceOptionsT()
    w.builtin("STRIDED_SLICE", [as_int, w.const("slice_begin", np.array([start], np.int32)),
                                w.const("slice_end", np.array([end], np.int32)),
                                w.const("slice_strides", np.array([1], np.int32))], [part], opts)
    parts = [part]
    if start:
        parts.insert(0, w.const("zeros_head", np.zeros(start, np.int32)))
    if bins - end:
        parts.append(w.const("zeros_tail", np.zeros(bins - end, np.int32)))
    joined = w.tensor("energy_zeroed", "int32", (bins,))
    concat = fb.ConcatenationOptionsT()
    concat.axis = 0
    w.builtin("CONCATENATION", parts, [joined], concat)
    out = w.tensor("energy_uint", "uint32", (bins,))
    w.builtin("CAST", [joined], [out])
    return out


def _noise_reduction(w: TfliteWriter, p: FrontEndParams, feature: int) -> int:
    bits = p.spectral_subtraction_bits
    odd = p.odd_smoothing or p.even_smoothing  # filter_bank_ops: 0 disables the alternate
    smoothing, alternate = int(p.even_smoothing * (1 << bits)), int(odd * (1 << bits))
    out = w.tensor("noise_reduced", "uint32", (p.channels,))
    noise = w.tensor("noise_estimate", "uint32", (p.channels,))
    w.custom("SignalFilterBankSpectralSubtraction", [feature], [out, noise], {
        "alternate_one_minus_smoothing": (1 << bits) - alternate,
        "alternate_smoothing": alternate,
        "clamping": bool(p.clamping),
        "min_signal_remaining": int(p.min_signal_remaining * (1 << bits)),
        "num_channels": p.channels,
        "one_minus_smoothing": (1 << bits) - smoothing,
        "smoothing": smoothing,
        "smoothing_bits": p.smoothing_bits,
        "spectral_subtraction_bits": bits,
    })
    if not p.pcan:
        return out
    lut = tables.pcan_gain_lut(p.pcan_strength, p.pcan_offset,
                               p.pcan_smoothing_bits - p.correction_bits, p.pcan_gain_bits)
    gained = w.tensor("pcan", "uint32", (p.channels,))
    w.custom("SignalPCAN", [out, noise, w.const("pcan_gain_lut", lut)], [gained],
             {"snr_shift": _PCAN_SNR_SHIFT})
    return gained


def _to_int8(w: TfliteWriter, p: FrontEndParams, log: int) -> int:
    """CAST, MUL, ADD, DIV (truncating), ADD, MINIMUM, MAXIMUM, CAST: the int8 mapping."""
    shape = (p.channels,)
    value = w.tensor("log_int", "int32", shape)
    w.builtin("CAST", [log], [value])
    low = w.const("int8_min", np.int32(-128))
    steps = [("MUL", fb.MulOptionsT(), w.const("value_scale", np.int32(p.value_scale))),
             ("ADD", fb.AddOptionsT(), w.const("value_round", np.int32(p.value_div // 2))),
             ("DIV", fb.DivOptionsT(), w.const("value_div", np.int32(p.value_div))),
             ("ADD", fb.AddOptionsT(), w.const("value_offset", np.int32(p.output_offset))),
             ("MINIMUM", None, w.const("int8_max", np.int32(127))),
             ("MAXIMUM", None, low)]
    for i, (opcode, opts, const) in enumerate(steps):
        out = w.tensor(f"map{i}_{opcode.lower()}", "int32", shape)
        w.builtin(opcode, [value, const], [out], opts)
        value = out
    features = w.tensor("features", "int8", shape)
    w.builtin("CAST", [value], [features])
    return features

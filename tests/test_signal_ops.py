"""The TFLM signal-library ops, CAST and int32 ADD/MUL/DIV against the TFLM interpreter, bit for
bit, on graphs written directly (random sizes, tables and options), as streams where an op keeps
state; with the reference kernels and with the DSP family (its intrinsics emulated in C on the
host; tests/test_frontend_graph.py runs them on Cortex-M in QEMU)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge import resources
from mcuforge.compiler.ops import check_graph
from mcuforge.errors import UnsupportedModelError
from mcuforge.frontend_graph.tables import filter_bank_tables
from mcuforge.model import parse_model
from mcuforge.model.writer import TfliteWriter
from signalgen import DSP, REF, kernels, stream_mismatches

FAMILIES = {"ref": REF, "dsp": DSP}
#: kissfft's radices 2, 3, 4, 5: powers of two (the DSP kernel) and mixed sizes (reference).
FFT_LENGTHS = [64, 128, 256, 512, 1024, 2048, 60, 96, 100, 120, 240, 400]


def _audio_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise over four decades of amplitude, sometimes with full-scale values mixed in."""
    x = rng.standard_normal(n) * 10 ** rng.uniform(0, 4.6)
    if rng.random() < 0.3:
        x[rng.integers(0, n, 3)] = rng.choice([-32768, 32767], 3)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_spectrum_ops_random_sizes(family: str, tmp_path: Path) -> None:
    """Window, FftAutoScale, RFFT (every radix) and Energy, each FFT size its own chain."""
    rng = np.random.default_rng(11)
    w = TfliteWriter()
    outputs, views, lengths = [], {}, []
    for n in FFT_LENGTHS:
        length = int(n - rng.integers(0, n // 4))
        lengths.append(length)
        x = w.input(f"x{n}", "int16", (length,))
        scaled, shift = w.tensor(f"s{n}", "int16", (length,)), w.tensor(f"b{n}", "int32", ())
        w.custom("SignalFftAutoScale", [x], [scaled, shift], {})
        spectrum = w.tensor(f"f{n}", "int16", (n + 2,))
        w.custom("SignalRfft", [scaled], [spectrum], {"T": 7, "fft_length": n})
        start = int(rng.integers(0, n // 4))
        end = int(rng.integers(start, n // 2 + 2))
        energy = w.tensor(f"e{n}", "uint32", (n // 2 + 1,))
        w.custom("SignalEnergy", [spectrum], [energy], {"end_index": end, "start_index": start})
        views[len(outputs) + 3] = slice(start, end)  # TFLM leaves the other bins unwritten
        outputs += [scaled, shift, spectrum, energy]
    # A batched RFFT (two frames per call) and windows over a batch of frames.
    frames = w.input("frames", "int16", (2, 200))
    batched = w.tensor("batched", "int16", (2, 258))
    w.custom("SignalRfft", [frames], [batched], {"T": 7, "fft_length": 256})
    shift = int(rng.integers(0, 16))
    window = rng.integers(-20000, 20000, 240).astype(np.int16)
    windowed = w.tensor("windowed", "int16", (3, 240))
    w.custom("SignalWindow", [w.input("wx", "int16", (3, 240)), w.const("win", window)],
             [windowed], {"shift": shift})
    model = w.finish(outputs + [batched, windowed])
    steps = []
    for k in range(24):
        arrays = [_audio_like(rng, length) for length in lengths]
        if k == 1:  # TFLM's max-abs wraps on -32768: the order of values then matters
            arrays = [np.where(np.arange(a.size) == a.size // 2, -32768, a // 4).astype(np.int16)
                      for a in arrays]
        if k == 2:
            arrays = [np.zeros_like(a) for a in arrays]
        steps.append(arrays + [_audio_like(rng, 400).reshape(2, 200),
                               _audio_like(rng, 720).reshape(3, 240)])
    bad, manifest = stream_mismatches(model, steps, tmp_path, families=FAMILIES[family],
                                      views=views)
    assert not bad, "\n".join(bad[:10])
    used = kernels(manifest)
    if family == "dsp":
        assert "mcuforge_signal_rfft_s16_dsp" in used and "mcuforge_signal_rfft_s16" in used
        assert "mcuforge_signal_energy_s16_dsp" in used


def _random_filter_bank(rng: np.random.Generator, spectrum: int, channels: int,
                        negative: bool) -> list[np.ndarray]:
    widths = rng.integers(0, 10, channels + 1).astype(np.int16)
    count = int(widths.sum()) + 8
    fstart = np.array([rng.integers(0, spectrum - wd + 1) for wd in widths], np.int16)
    wstart = np.array([rng.integers(0, count - wd + 1) for wd in widths], np.int16)
    low = -4096 if negative else 0
    return [rng.integers(low, 4097, count).astype(np.int16),
            rng.integers(0, 4097, count).astype(np.int16), fstart, wstart, widths]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_filter_bank_chain_streams_with_state(family: str, tmp_path: Path) -> None:
    """FilterBank, SquareRoot, SpectralSubtraction (state), PCAN and Log with random tables and
    options, as streams with a reset in the middle."""
    rng = np.random.default_rng(23)
    w = TfliteWriter()
    outputs, inputs = [], []
    for chain in range(5):
        spectrum, channels = int(rng.integers(33, 300)), int(rng.integers(2, 48))
        if chain == 0:  # a real mel filter bank (TFLM's tables for 16 kHz, 257 bins)
            spectrum, channels = 257, 40
            t = filter_bank_tables(257, 16000, 40, 125.0, 7500.0)
            tables = [t[k] for k in ("weights", "unweights", "freq_starts", "weight_starts",
                                     "widths")]
        else:
            tables = _random_filter_bank(rng, spectrum, channels, negative=chain == 4)
        energy = w.input(f"energy{chain}", "uint32", (spectrum,))
        scale = w.input(f"scale{chain}", "int32", ())
        inputs.append((spectrum, chain))
        fbank = w.tensor(f"fb{chain}", "uint64", (channels,))
        w.custom("SignalFilterBank",
                 [energy] + [w.const(f"t{chain}_{i}", t) for i, t in enumerate(tables)],
                 [fbank], {"num_channels": channels})
        root = w.tensor(f"sqrt{chain}", "uint32", (channels,))
        w.custom("SignalFilterBankSquareRoot", [fbank, scale], [root], {})
        bits = int(rng.integers(10, 16))
        smooth, alt = int(rng.integers(1, 1 << 10)), int(rng.integers(0, 1 << 10))
        reduced = w.tensor(f"nr{chain}", "uint32", (channels,))
        noise = w.tensor(f"noise{chain}", "uint32", (channels,))
        w.custom("SignalFilterBankSpectralSubtraction", [root], [reduced, noise], {
            "alternate_one_minus_smoothing": (1 << bits) - alt, "alternate_smoothing": alt,
            "clamping": bool(chain % 2), "min_signal_remaining": int(rng.integers(0, 1 << bits)),
            "num_channels": channels, "one_minus_smoothing": (1 << bits) - smooth,
            "smoothing": smooth, "smoothing_bits": int(rng.integers(0, 12)),
            "spectral_subtraction_bits": bits})
        gained = w.tensor(f"pcan{chain}", "uint32", (channels,))
        lut = rng.integers(-2000, 32767, 125).astype(np.int16)
        w.custom("SignalPCAN", [reduced, noise, w.const(f"lut{chain}", lut)], [gained],
                 {"snr_shift": int(rng.integers(0, 12))})
        log = w.tensor(f"log{chain}", "int16", (channels,))
        w.custom("SignalFilterBankLog", [gained], [log],
                 {"input_correction_bits": int(rng.integers(0, 8)),
                  "output_scale": int(rng.integers(1, 1 << 12))})
        outputs += [fbank, root, reduced, noise, gained, log]
    model = w.finish(outputs)
    steps = []
    for _ in range(60):
        step = []
        for spectrum, _chain in inputs:
            magnitude = 10 ** rng.uniform(0, 9.3)
            step += [(rng.random(spectrum) * magnitude).astype(np.uint32),
                     np.array(rng.integers(0, 16), np.int32)]
        steps.append(step)
    bad, manifest = stream_mismatches(model, steps, tmp_path, families=FAMILIES[family],
                                      reset_at=30)
    assert not bad, "\n".join(bad[:10])
    assert manifest["stateful"] and manifest["state_bytes"] > 0
    if family == "dsp":  # negative weights (chain 4) keep the reference filter bank
        assert kernels(manifest).count("mcuforge_signal_filter_bank_dsp") == 4


def _octave_sweep(rng: np.random.Generator, width: int) -> list[np.ndarray]:
    """One step per octave [2^(k-1), 2^k) of uint32 (and 0..2 first): ``width`` values of it,
    evenly spread, so every leading-bit position and most fractions below it are taken."""
    steps = [np.resize(np.arange(3, dtype=np.uint64), width)]
    for k in range(2, 33):
        lo, hi = 1 << (k - 1), 1 << k
        values = lo + (np.arange(width, dtype=np.uint64) * (hi - lo)) // width
        values[-1] = hi - 1
        steps.append(np.where(rng.random(width) < 0.1, rng.integers(lo, hi, width), values))
    return [v.astype(np.uint32) for v in steps]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_pcan_gain_every_octave_and_fraction(family: str, tmp_path: Path) -> None:
    """PCAN's gain (a quadratic per octave of the noise estimate, 10 fraction bits) for noise
    estimates across every octave; a signal of 2^12 and no shift make each output
    (gain << 6) - 64, the gain itself."""
    rng = np.random.default_rng(31)
    channels = 1024
    w = TfliteWriter()
    noise = w.input("noise", "uint32", (channels,))
    outputs = []
    for k in range(3):
        lut = rng.integers(-32768, 32768, 125).astype(np.int16) if k else \
            rng.integers(0, 32767, 125).astype(np.int16)
        out = w.tensor(f"gain{k}", "uint32", (channels,))
        w.custom("SignalPCAN", [w.const(f"signal{k}", np.full(channels, 1 << 12, np.uint32)),
                                noise, w.const(f"lut{k}", lut)], [out], {"snr_shift": 0})
        outputs.append(out)
    steps = [[x] for x in _octave_sweep(rng, channels)]
    bad, _ = stream_mismatches(w.finish(outputs), steps, tmp_path, families=FAMILIES[family])
    assert not bad, "\n".join(bad[:10])


def test_log_every_octave(tmp_path: Path) -> None:
    """FilterBankLog (TFLM's Log32: leading bit, 128-segment correction table, two roundings)
    across every octave of its input, with several output scales and correction shifts."""
    rng = np.random.default_rng(37)
    width = 2048
    w = TfliteWriter()
    x = w.input("x", "uint32", (width,))
    outputs = []
    for scale, correction in ((64, 0), (1, 3), (12345, 0), (1 << 16, 1), (3, 7)):
        out = w.tensor(f"log{scale}_{correction}", "int16", (width,))
        w.custom("SignalFilterBankLog", [x], [out],
                 {"input_correction_bits": correction, "output_scale": scale})
        outputs.append(out)
    steps = [[v] for v in _octave_sweep(rng, width)]
    bad, _ = stream_mismatches(w.finish(outputs), steps, tmp_path)
    assert not bad, "\n".join(bad[:10])


def test_cast_between_integer_types(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    ranges = {"bool": (0, 1), "int8": (-128, 127), "int16": (-32768, 32767),
              "int32": (-(1 << 31), (1 << 31) - 1), "uint32": (0, (1 << 32) - 1)}
    w = TfliteWriter()
    outputs, sources = [], []
    for src in ranges:
        for dst in ("int8", "int16", "int32", "uint32"):
            y = w.tensor(f"{src}_{dst}", dst, (3, 11))
            w.builtin("CAST", [w.input(f"x_{src}_{dst}", src, (3, 11))], [y])
            outputs.append(y)
            sources.append(src)
    model = w.finish(outputs)
    steps = [[rng.integers(*ranges[s], (3, 11), endpoint=True).astype(
        np.bool_ if s == "bool" else s) for s in sources] for _ in range(4)]
    bad, manifest = stream_mismatches(model, steps, tmp_path)
    assert not bad, "\n".join(bad)
    # the four same-type casts and int32 <-> uint32 keep every byte: no code
    assert kernels(manifest).count("(alias)") == 6


ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
SHAPES = [((2, 3, 4), (2, 3, 4)), ((2, 1, 4), (3, 1)), ((), (5,)), ((7,), ()),
          ((4, 1, 1, 2, 3, 1), (5, 1, 1, 1)), ((1, 6), (6,))]


@pytest.mark.parametrize("opcode", ["ADD", "MUL", "DIV"])
def test_int32_arithmetic_broadcasts_and_clamps(opcode: str, tmp_path: Path) -> None:
    """int32 without quantization; TFLM's ADD ignores the fused activation on int32, MUL and
    DIV clamp to it."""
    rng = np.random.default_rng(hash(opcode) % 1000)
    options = {"ADD": fb.AddOptionsT, "MUL": fb.MulOptionsT, "DIV": fb.DivOptionsT}[opcode]
    w = TfliteWriter()
    outputs, shapes = [], []
    for act in ACTIVATIONS.values():
        for sa, sb in SHAPES:
            opts = options()
            opts.fusedActivationFunction = act
            a, b = w.input(f"a{len(shapes)}", "int32", sa), w.input(f"b{len(shapes)}", "int32", sb)
            y = w.tensor(f"y{len(shapes)}", "int32", np.broadcast_shapes(sa, sb))
            w.builtin(opcode, [a, b], [y], opts)
            outputs.append(y)
            shapes += [sa, sb]
    model = w.finish(outputs)

    def value(shape: tuple[int, ...], divisor: bool) -> np.ndarray:
        wide = rng.random() < 0.5
        v = (rng.integers(-(1 << 31), 1 << 31, shape) if wide else rng.integers(-60, 60, shape))
        v = np.asarray(v, dtype=np.int32)
        if divisor:  # x / 0 and INT32_MIN / -1 crash TFLM's x86 build (SIGFPE)
            v = np.where((v == 0) | (v == -1), 7, v).astype(np.int32)
        return v

    steps = [[value(s, opcode == "DIV" and i % 2 == 1) for i, s in enumerate(shapes)]
             for _ in range(8)]
    bad, manifest = stream_mismatches(model, steps, tmp_path)
    assert not bad, "\n".join(bad[:10])
    assert set(kernels(manifest)) == {f"mcuforge_{opcode.lower()}_s32"}


def test_int32_division_by_zero_and_overflow_give_what_sdiv_gives(tmp_path: Path) -> None:
    """No TFLM reference exists here: its x86 build dies of SIGFPE on x / 0 and INT32_MIN / -1.
    The kernel returns what Arm's SDIV (and TFLM on a Cortex-M) gives: 0 and INT32_MIN."""
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.target.host import HostModel

    w = TfliteWriter()
    a, b = w.input("a", "int32", (4,)), w.input("b", "int32", (4,))
    y = w.tensor("y", "int32", (4,))
    w.builtin("DIV", [a, b], [y], fb.DivOptionsT())
    host = HostModel(compile_graph(parse_model(w.finish([y]), "div")), tmp_path)
    got = host.run([np.array([7, -(1 << 31), -7, -(1 << 31)], np.int32),
                    np.array([0, -1, 2, 1], np.int32)])[0]
    assert got.tolist() == [0, -(1 << 31), -3, -(1 << 31)]


def _one_op(build) -> bytes:  # type: ignore[no-untyped-def]
    w = TfliteWriter()
    outputs = build(w)
    return w.finish(outputs)


def _custom(name: str, ins: list[tuple[str, tuple[int, ...]]], outs: list[tuple[str, tuple]],
            options: dict, consts: dict[int, np.ndarray] | None = None):  # type: ignore[no-untyped-def]
    def build(w: TfliteWriter) -> list[int]:
        inputs = [w.const(f"c{i}", (consts or {})[i]) if i in (consts or {})
                  else w.input(f"i{i}", d, s) for i, (d, s) in enumerate(ins)]
        outputs = [w.tensor(f"o{i}", d, s) for i, (d, s) in enumerate(outs)]
        w.custom(name, inputs, outputs, options)
        return outputs
    return build


def _tables(spectrum: int, channels: int, reach: int) -> dict[int, np.ndarray]:
    widths = np.full(channels + 1, 4, np.int16)
    return {1: np.ones(4 * (channels + 1), np.int16), 2: np.ones(4 * (channels + 1), np.int16),
            3: np.array([reach] + [0] * channels, np.int16),
            4: (np.arange(channels + 1) * 4).astype(np.int16), 5: widths}


REFUSED = [
    ("fft_length 14 needs a radix-7",
     _custom("SignalRfft", [("int16", (14,))], [("int16", (16,))], {"T": 7, "fft_length": 14})),
    ("option T=1 ",
     _custom("SignalRfft", [("int16", (64,))], [("int16", (66,))], {"T": 1, "fft_length": 64})),
    ("TFLM reads them by position",
     _custom("SignalWindow", [("int16", (8,)), ("int16", (8,))], [("int16", (8,))],
             {"shift": 3, "extra": 1})),
    ("channel 0 reads bins 30..33 of 32",
     _custom("SignalFilterBank", [("uint32", (32,))] + [("int16", (8,))] * 5,
             [("uint64", (1,))], {"num_channels": 1}, _tables(32, 1, 30))),
    ("computed at run time",
     _custom("SignalFilterBank", [("uint32", (32,))] + [("int16", (8,))] * 5,
             [("uint64", (1,))], {"num_channels": 1})),
    ("gain table has 40 entries",
     _custom("SignalPCAN", [("uint32", (4,)), ("uint32", (4,)), ("int16", (40,))],
             [("uint32", (4,))], {"snr_shift": 6})),
    ("end_index=9 is outside 0..8",
     _custom("SignalEnergy", [("int16", (16,))], [("uint32", (9,))],
             {"end_index": 9, "start_index": 0})),
]


@pytest.mark.parametrize("message,build", REFUSED, ids=[m.split()[0] for m, _ in REFUSED])
def test_unsupported_signal_nodes_are_refused_with_the_reason(message: str, build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedModelError, match=message.replace("(", r"\(")):
        check_graph(parse_model(_one_op(build), "refused"))


def test_int16_add_without_quantization_is_refused_by_name() -> None:
    def build(w: TfliteWriter) -> list[int]:
        y = w.tensor("y", "int16", (4,))
        w.builtin("ADD", [w.input("a", "int16", (4,)), w.input("b", "int16", (4,))], [y],
                  fb.AddOptionsT())
        return [y]

    with pytest.raises(UnsupportedModelError, match="int16 ADD without quantization"):
        check_graph(parse_model(_one_op(build), "add16"))


def _q15(x: np.ndarray) -> np.ndarray:
    return (x + (1 << 14)) >> 15


@pytest.mark.parametrize("radix", [2, 4])
def test_unit_twiddle_after_scale_down_is_the_identity(radix: int) -> None:
    """The DSP FFT skips kissfft's product by exp(0) = (32767, 0) (k = 0 butterflies and the
    whole innermost stage): after the stage's scaling down, q15(v * 32767) == v for every
    int16 v."""
    v = np.arange(-32768, 32768, dtype=np.int64)
    scaled = _q15(v * (32767 // radix))
    assert np.array_equal(_q15(scaled * 32767), scaled)


def test_dsp_square_root_equals_tflm_bit_by_bit_root(tmp_path: Path) -> None:
    """The DSP kernel's square root (Newton, one Zimmermann step) against the reference
    kernel's bit-by-bit one (TFLM's Sqrt32/Sqrt64): every value below 2^22, both sides of every
    square below 2^32 and of random large squares, and random 64-bit values of every size."""
    kernels_dir = resources.firmware_dir() / "runtime" / "kernels"
    harness = tmp_path / "sqrt.c"
    harness.write_text(f"""
#include <stdio.h>
#define mcuforge_signal_filter_bank_sqrt ref_sqrt
#include "{kernels_dir / 'ref' / 'signal_filterbank.c'}"
#undef mcuforge_signal_filter_bank_sqrt
#define mcuforge_signal_filter_bank_dsp dsp_filter_bank
#include "{kernels_dir / 'dsp' / 'signal_filterbank.c'}"
static unsigned long long s = 88172645463325252ull;
static unsigned long long next(void) {{ s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }}
static long bad;
static void check(unsigned long long x) {{
    if (sqrt64(x) != sqrt_round64(x) && bad++ < 5) printf("x=%llu\\n", x);
}}
int main(void) {{
    for (unsigned long long x = 0; x < (1ull << 22); ++x) check(x);
    for (unsigned long long k = 0; k < 65536; ++k)
        for (int d = -2; d <= 2; ++d) check(k * k + (unsigned long long)(long long)d);
    for (long i = 0; i < 2000000; ++i) {{
        unsigned long long r = next() >> (32 + next() % 33), x = next() >> (next() % 64);
        check(x);
        check(r * r + r);
        check(r * r + r + 1);
        check(r * r - 1);
    }}
    for (int d = 0; d < 1000; ++d) check(~0ull - (unsigned long long)d);
    printf("%ld\\n", bad);
    return bad != 0;
}}
""")
    exe = tmp_path / "sqrt"
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                    f"-I{resources.firmware_dir() / 'runtime'}", str(harness), "-o", str(exe)],
                   check=True, capture_output=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout

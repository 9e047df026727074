"""The fixed-point log-mel front end: shapes, integer-only arithmetic, and known signals."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge import frontend as fe


def _tone(freq_hz: float, amplitude: float = 8000.0) -> np.ndarray:
    t = np.arange(fe.CLIP_SAMPLES) / fe.SAMPLE_RATE
    return np.round(amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def test_one_second_gives_49_frames_of_40_int8_channels() -> None:
    feats = fe.features(_tone(1000.0))
    assert fe.NUM_FRAMES == 49
    assert feats.shape == (49, 40)
    assert feats.dtype == np.int8


def test_deterministic_and_batch_equals_single() -> None:
    rng = np.random.default_rng(3)
    clips = (rng.standard_normal((3, fe.CLIP_SAMPLES)) * 2000).astype(np.int16)
    single = np.stack([fe.features(c) for c in clips])
    assert np.array_equal(single, fe.features_batch(clips, chunk=2))
    assert np.array_equal(single, np.stack([fe.features(c.copy()) for c in clips]))


def test_rejects_float_input() -> None:
    with pytest.raises(TypeError, match="int16"):
        fe.features(np.zeros(fe.CLIP_SAMPLES, dtype=np.float32))
    with pytest.raises(TypeError, match="integer"):
        fe.fft_q15(np.zeros((1, 480), dtype=np.float64))
    with pytest.raises(TypeError, match="integer"):
        fe.log2_q16(np.ones(4, dtype=np.float32))


def test_every_stage_stays_integer_and_within_c_widths() -> None:
    rng = np.random.default_rng(0)
    # A full-scale square wave is the worst case for the FFT's value range.
    frames = np.where(rng.random((4, fe.WINDOW_SAMPLES)) < 0.5, -32768, 32767).astype(np.int16)
    windowed, shift = fe.window_and_normalize(frames)
    re, im = fe.fft_q15(windowed)
    power = fe.power_spectrum(re, im)
    energy = fe.mel_energies(power)
    log_e = fe.log2_q16(energy)
    for arr in (windowed, shift, re, im, power, energy, log_e):
        assert np.issubdtype(arr.dtype, np.integer)
    assert np.abs(windowed).max() <= 32768
    assert max(np.abs(re).max(), np.abs(im).max()) < 2**31
    assert power.max() < 2**32  # uint32 in C
    assert energy.dtype == np.uint64
    assert np.abs(log_e).max() < 2**31
    for name, table in fe.tables().items():
        assert np.issubdtype(table.dtype, np.integer), name


def test_fixed_point_fft_matches_float_fft() -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((8, fe.WINDOW_SAMPLES)) * 4000).astype(np.int64)
    re, im = fe.fft_q15(x)
    ref = np.fft.fft(x, fe.FFT_SIZE) / fe.FFT_SIZE
    # Nine stages of floor shifts and Q15 rounding: a few units of error on values in hundreds.
    assert np.abs(re - ref.real).max() < 6
    assert np.abs(im - ref.imag).max() < 6
    assert np.abs(ref).max() > 200


def test_integer_log2_is_accurate() -> None:
    values = np.concatenate([np.arange(0, 1000), np.geomspace(1e3, 2**60, 2000).astype(np.int64)])
    approx = fe.log2_q16(values) / 65536.0
    assert np.abs(approx - np.log2(values + 1.0)).max() < 3e-4


@pytest.mark.parametrize("freq_hz", [300.0, 1000.0, 2500.0, 6000.0])
def test_pure_tone_peaks_in_the_matching_mel_channel(freq_hz: float) -> None:
    feats = fe.features(_tone(freq_hz))
    channel = int(np.argmax(feats.astype(np.int32).sum(axis=0)))
    nearest = int(np.argmin(np.abs(fe.mel_center_hz() - freq_hz)))
    assert abs(channel - nearest) <= 1
    # Far from the tone the spectrum is much lower than at the tone.
    assert feats[:, channel].mean() - np.median(feats) > 40


def test_level_maps_to_six_steps_per_octave_of_energy() -> None:
    # 4x the amplitude = 16x the energy = 4 octaves = 24 int8 steps.
    quiet = fe.features(_tone(1000.0, 1000.0)).astype(np.int32)
    loud = fe.features(_tone(1000.0, 4000.0)).astype(np.int32)
    channel = int(np.argmax(quiet.sum(axis=0)))
    diff = loud[:, channel].mean() - quiet[:, channel].mean()
    assert abs(diff - 4 * fe.STEPS_PER_OCTAVE) <= 1.0


def test_silence_maps_to_the_floor_and_the_frame_shift_is_undone() -> None:
    assert np.all(fe.features(np.zeros(fe.CLIP_SAMPLES, dtype=np.int16)) == -128)
    # The block normalisation must not change the result for a quiet signal: compare a quiet
    # tone against the float reference of the same pipeline.
    pcm = _tone(1500.0, 300.0)
    frames = fe.frame_signal(pcm).astype(np.float64) * (fe.hann_window_q15() / 32768.0)
    power = np.abs(np.fft.rfft(frames, fe.FFT_SIZE)) ** 2
    energy = power @ (fe.mel_weights_q12().T / 4096.0)
    ref = (
        np.clip(np.floor((np.log2(energy + 1) - fe.LOG_FLOOR) * fe.STEPS_PER_OCTAVE), 0, 255) - 128
    )
    got = fe.features(pcm).astype(np.int32)
    # Within 30 dB of the peak; further down the FFT's truncation noise floor dominates.
    loud = ref > ref.max() - 60
    assert np.abs(got[loud] - ref[loud]).max() <= 2


def test_short_clip_is_padded_to_one_frame() -> None:
    assert fe.features(np.ones(100, dtype=np.int16)).shape == (1, fe.NUM_CHANNELS)
    assert fe.features(np.zeros(fe.CLIP_SAMPLES * 2, dtype=np.int16)).shape == (99, 40)

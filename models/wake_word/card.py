"""MODEL_CARD.md of the streaming wake-word model, from the numbers train.py measured."""

from __future__ import annotations

import statistics
from pathlib import Path

import streaming
from synth import ACCENTS, KEYWORDS, NEAR_MISSES, STREAM_NEAR_MISS, TRAIN_NEAR_MISS, UNKNOWN_WORDS

from mcuforge.pipeline import PipelineLayout
from mcuforge.pipeline.groundtruth import Outcome
from mcuforge.summary import inspect_model


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def write(path: Path, m: dict, pos: Outcome, neg: Outcome, first: Outcome,
          layout: PipelineLayout, device: dict | None = None) -> str:
    """Write the card; returns its text."""
    st = layout.stages[0]
    det = layout.detectors[0]
    per = pos.by_label(KEYWORDS)
    rows = "\n".join(f"| {k} | {h} / {n} | {_pct(h / n if n else 0.0)} |"
                     for k, (h, n) in per.items())
    lat = pos.latencies()
    fa_pos = len(pos.false_alarms)
    best = m["choice"]["best"]
    ag = m["agreement"]
    info = inspect_model(Path(st.spec.path))
    scenes = ", ".join(f"{v} {k}" for k, v in m["scenes"].items())
    dev = device or {}
    device_lines = (
        f"- instructions per step on Cortex-M4 (mps2-an386, QEMU icount): "
        f"{dev['instructions']:,} (first step {dev['first']:,}); instructions per inference "
        f"= per step, i.e. {dev['instructions'] / 3:,.0f} per 10 ms hop\n"
        f"- flash {dev['flash']:,} B, RAM {dev['ram']:,} B (arena {dev['arena']:,} B, state "
        f"{dev['state']:,} B)\n"
        f"- device output bit-exact with TFLM over {dev['steps']} consecutive steps of a held-out "
        f"recording (one stream, state carried): {dev['mismatches']} mismatches\n"
        if dev else "- device numbers: run train.py with --device\n")
    text = f"""# Wake-word model (streaming, int8)

Keyword spotting on a stream of 16 kHz audio: {", ".join(KEYWORDS)} (+ silence, unknown).
Every 30 ms the model takes the 3 newest feature frames and keeps what it needs of the past in
int8 state (resource variables), as ESPHome's micro_wake_word models do; the whole chain (front
end, model, detection rule) runs on the device: `models/pipelines/wake_word.toml`.

## Input
TFLM's audio front end (micro_speech's preprocessor: 30 ms window, 10 ms hop, 40 channels,
noise reduction and PCAN with state, log scale, int8), as the graph mcuforge writes itself
(`[frontend.graph]`; the same features as tflite-micro's `audio_preprocessor_int8.tflite`), its
frames fed unchanged:
model input `int8[1, 3, 40]` (scale 1, zero point 0), output `int8[1, 6]` softmax
(scale 1/256, zero point -128), the classes of `labels.txt`.

## Network
conv 5x40 -> {streaming.WIDTH} (stride 3 frames), {streaming.BLOCKS} residual blocks of depthwise
temporal conv ({streaming.DW_KERNEL} steps) + pointwise {streaming.WIDTH} -> {streaming.WIDTH},
pointwise -> 6, softmax. Receptive field {streaming.RECEPTIVE_FRAMES} frames (1.03 s). Trained
as the equivalent Keras model over whole scenes (`wake_word_float.keras`, valid convolutions over
time, one output per 30 ms step), then rebuilt as a streaming step with the same weights (batch
norm folded) and converted by the TF converter with resource variables and int8 variable
quantization (`streaming.py`).

Streaming int8 (TFLM) against the float Keras model on a held-out recording, {ag["steps"]} steps:
probabilities differ by at most {ag["max_abs"]:.3f} (mean {ag["mean_abs"]:.4f}); the arg max
agrees on {_pct(ag["argmax_agree"])} of steps.

## Data
Synthesised offline with espeak-ng (`synth.py`, seeded and deterministic): connected speech from
espeak-ng's library with word times, {m["n_voices"]} training voices (one of {len(ACCENTS)} English
accents + a training voice variant), 110-230 words per minute, pitch 15-90, in synthesised noise
(white, pink, brown, mains hum, babble, mixtures) at 3-35 dB SNR. 3 s training scenes: a keyword
with 0-2 other words around it ({scenes}), phrases of 1-6 other words (common words,
{len(UNKNOWN_WORDS)} of Speech Commands' other words, and {_pct(TRAIN_NEAR_MISS)} near misses:
{", ".join(NEAR_MISSES)}), noise only. {m["n_train"]} training scenes, {m["n_val"]} validation
scenes (unseen voices, used to pick the epoch).

Held-out evaluation: recordings spoken by {m["held_voices"]} voices built on voice variants never
used in training ({m["held_variants"]}), each phrase after a pause of 0.8-2.5 s in continuous
noise (5-30 dB SNR); their other words are everyday speech ({_pct(STREAM_NEAR_MISS)} near
misses). Run through the pipeline as the device runs it (host reference pipeline on TFLM: front
end every 10 ms, model every 30 ms, detectors).

## Detection (held-out voices)
Detector (ESPHome's rule, per keyword): mean of the last {det.smoothing} scores above
{best["cutoff"]} ({det.cutoff}/255), refractory {m["refractory_ms"]} ms; smoothing and cutoff
chosen on 26 min of recordings of training voices (`val.npz`): the best detection rate with at
most {m["max_val_fa"]} false alarms there.

A keyword counts as detected when a detection with its label comes between its start and 1 s
after its end.

| keyword | detected | rate |
|---|---|---|
{rows}

Detection rate on held-out voices: {_pct(pos.detection_rate)} ({len(pos.hits)} of {pos.spoken})
False alarms per hour on held-out speech without keywords: {neg.false_alarms_per_hour:.1f} \
({len(neg.false_alarms)} in {neg.seconds / 60:.1f} min)

Also in the keyword recordings ({pos.seconds / 60:.1f} min): {fa_pos} false alarms (wrong keyword
or a second detection). Latency from a keyword's end to its detection: median
{statistics.median(lat) if lat else 0:.2f} s.

The first held-out recording ({first.seconds:.0f} s) ships as `heldout.npz` (its front-end frames
and keyword times); heldout.npz: {len(first.hits)} of {first.spoken} keywords detected, \
{len(first.false_alarms)} false alarms.

## Size and cost
- parameters: {m["params"]}; int8 .tflite: {m["int8_bytes"]} bytes; float .keras:
  {m["float_bytes"]} bytes
- multiply-accumulates per step (30 ms): {info.macs}
- ops: {", ".join(sorted({r.opcode for r in info.ops}))}
{device_lines}
Measured with:

```
.venv/bin/mcuforge bench models/wake_word/wake_word_int8.tflite --board mps2-an386 --json
.venv/bin/mcuforge listen models/pipelines/wake_word.toml --board mps2-an386 --wav speech.wav
```

## Limits
Synthetic voices only: espeak-ng's voices are far more regular than people, and its noise is
synthesised; expect lower accuracy on real speech and real rooms (reverberation, distance,
microphones). `train.py` on 2 CPU cores: features {m["t_feat"]:.0f} s (0 when cached), training
{m["t_train"]:.0f} s, total {m["t_total"]:.0f} s with conversion and evaluation (seeded,
deterministic ops); `synth.py` adds about a minute.
"""
    path.write_text(text)
    return text

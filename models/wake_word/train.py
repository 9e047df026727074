"""Train the streaming wake-word model, convert it to int8 with state, and evaluate it as the
device runs it (run ``python synth.py`` first).

1. Features: TFLM's audio front end (the pipeline's ``[frontend.graph]``, the same features as
   ``audio_preprocessor_int8.tflite``: 30 ms window, 10 ms hop, 40 channels, int8, noise
   estimate carried from frame to frame), run by the TFLM interpreter over every 3 s training
   scene from a fresh state, exactly as the device computes them.
2. Training: the Keras model of :mod:`streaming` over a scene's frames, one softmax per 30 ms
   step. A step's target is the keyword from 50 ms before a keyword's end to 350 ms after it,
   "unknown" while another word is said and 500 ms after, else "silence"; steps while a keyword
   is still being said and 300 ms after its positive stretch do not count.
3. Conversion: the same weights as a streaming step with tf.Variable state, converted by the TF
   converter with resource variables and int8 variable quantization; the input quantization is
   the identity (the front end's int8 features go in unchanged).
4. Evaluation, as on the device: the pipeline ``models/pipelines/wake_word.toml`` (front end,
   model, ESPHome's smoothing/cutoff/refractory rule) run by the host reference pipeline (TFLM)
   over long recordings. The smoothing and cutoff are chosen on recordings of training voices
   (val.npz) and written into the pipeline file; held-out voices (heldout.npz) give the numbers
   of MODEL_CARD.md: detection rate per keyword and false alarms per hour.

Writes, next to this file: wake_word_float.keras, wake_word_int8.tflite, heldout.npz,
labels.txt, MODEL_CARD.md; and ../pipelines/wake_word.toml.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "toolchain"))  # run from a checkout without installing
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import card  # noqa: E402
import streaming  # noqa: E402
import tensorflow as tf  # noqa: E402
from synth import KEYWORDS, LABELS  # noqa: E402

from mcuforge.pipeline import PipelineLayout, load_pipeline, resolve  # noqa: E402
from mcuforge.pipeline.detect import Detector  # noqa: E402
from mcuforge.pipeline.groundtruth import Outcome, Spoken, match  # noqa: E402
from mcuforge.pipeline.reference import Event, run_reference  # noqa: E402
from mcuforge.reference import Reference  # noqa: E402

PIPELINE = HERE.parent / "pipelines" / "wake_word.toml"
HOP, WINDOW, RATE = 160, 480, 16000
SCENE_FIRST_FRAME = 1  # the Keras model reads frames [1, T): outputs line up with the device's
POSITIVE = (-0.05, 0.35)  # seconds around a keyword's end where the step's target is the keyword
GUARD_S = 0.3  # after the positive stretch: not counted
UNKNOWN_TAIL_S = 0.5
KEYWORD_WEIGHT = 3.0
REFRACTORY_MS = 500  # after a detection (and at the start of a stream)
SMOOTHING = (1, 3, 5, 8)
CUTOFFS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)
#: False alarms allowed in the validation recordings (26 min): about 10 per hour.
MAX_VAL_FALSE_ALARMS = 4


def frontend_model() -> Path | bytes:
    """The pipeline's front end: the graph mcuforge writes ([frontend.graph]) or a .tflite file."""
    fe = load_pipeline(PIPELINE).frontend
    return fe.data if fe.data is not None else fe.path


# --- features ---------------------------------------------------------------------------------

_SCENES: np.ndarray | None = None  # shared with forked workers


def _scene_batch(rows: range) -> np.ndarray:
    assert _SCENES is not None
    ref = Reference(frontend_model())
    n = (_SCENES.shape[1] - WINDOW) // HOP + 1
    out = np.zeros((len(rows), n, 40), dtype=np.int8)
    for k, i in enumerate(rows):
        ref.reset()
        audio = _SCENES[i]
        for f in range(n):
            out[k, f] = ref.run([audio[f * HOP : f * HOP + WINDOW]])[0]
    return out


def scene_features(path: Path, workers: int) -> np.ndarray:
    """int8 [N, frames, 40] of every scene, each from a fresh front-end state (cached)."""
    global _SCENES
    cache = path.with_name(path.stem + "_features.npy")
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        return np.load(cache)
    _SCENES = np.load(path)["x"]
    chunks = [range(i, min(i + 200, len(_SCENES))) for i in range(0, len(_SCENES), 200)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        feats = np.concatenate(pool.map(_scene_batch, chunks, chunksize=1))
    _SCENES = None
    np.save(cache, feats)
    return feats


def step_targets(ann: np.ndarray, scenes: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets and weights [scenes, steps] of the Keras model's outputs."""
    last_frame = SCENE_FIRST_FRAME + streaming.RECEPTIVE_FRAMES - 1 + \
        streaming.FRAMES_PER_STEP * np.arange(steps)
    t = last_frame * HOP + WINDOW  # samples heard when the step runs
    y = np.zeros((scenes, steps), dtype=np.int64)
    w = np.ones((scenes, steps), dtype=np.float32)
    pos_lo, pos_hi = (int(s * RATE) for s in POSITIVE)
    for scene, _label, s, e in ann[ann[:, 1] == 1]:
        y[scene, (t >= s) & (t <= e + UNKNOWN_TAIL_S * RATE)] = 1
    for scene, label, s, e in ann[ann[:, 1] >= 2]:
        pos = (t >= e + pos_lo) & (t <= e + pos_hi)
        ignore = ((t >= s) & (t < e + pos_lo)) | ((t > e + pos_hi) &
                                                  (t <= e + pos_hi + GUARD_S * RATE))
        w[scene, ignore] = 0.0
        y[scene, pos] = label
        w[scene, pos] = KEYWORD_WEIGHT
    return y, w


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One frequency mask (0-5 channels at the scene's floor) per scene: SpecAugment without
    time masks, which would hide what the per-step targets describe."""
    out = x.copy()
    for i in range(len(out)):
        f0, width = int(rng.integers(0, 36)), int(rng.integers(0, 6))
        out[i, :, f0 : f0 + width] = out[i].min()
    return out


def split_by_voice(voices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation scenes: every scene of a random ``fraction`` of the voices."""
    names = np.unique(voices[voices != ""])
    val_names = set(np.random.default_rng(seed).permutation(names)[: int(len(names) * fraction)])
    mask = np.array([v in val_names for v in voices])
    silence = np.nonzero(voices == "")[0]
    mask[silence[: int(len(silence) * fraction)]] = True
    return mask


# --- streams through the reference pipeline ---------------------------------------------------

_STREAMS: dict[str, object] = {}  # shared with forked workers
Run = tuple[list[Event], np.ndarray, np.ndarray | None]


def _run_stream(job: tuple[int, bool]) -> Run:
    """Events, model outputs [runs, 6] and (if asked) features of one stream of _STREAMS."""
    index, keep = job
    data, layout = _STREAMS["data"], _STREAMS["layout"]
    lo, hi = data["bounds"][index]  # type: ignore[index]
    trace = run_reference(layout, data["x"][lo:hi])  # type: ignore[arg-type,index]
    outputs = np.stack([o for _, o in trace.outputs(0)])
    features = np.stack([f.features for f in trace.frames]) if keep else None
    return trace.events, outputs, features


def run_streams(data: dict[str, np.ndarray], layout: PipelineLayout, workers: int,
                keep_first: bool = False) -> list[Run]:
    """Every recording of ``data`` through the reference pipeline (TFLM front end and model)."""
    _STREAMS.update(data=data, layout=layout)
    jobs = [(i, keep_first and i == 0) for i in range(len(data["bounds"]))]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        out = pool.map(_run_stream, jobs, chunksize=1)
    _STREAMS.clear()
    return out


def eval_layout(model: Path, smoothing: int, cutoff: float) -> PipelineLayout:
    """The wake-word pipeline with ``model`` and these detector settings."""
    spec = load_pipeline(PIPELINE)
    m = replace(spec.models[0], path=model, smoothing=smoothing, cutoff=cutoff,
                refractory_ms=REFRACTORY_MS)
    return resolve(replace(spec, models=(m,)))


def spoken_keywords(data: dict[str, np.ndarray], stream: int) -> list[Spoken]:
    ann = data["ann"]
    rows = ann[(ann[:, 0] == stream) & (ann[:, 1] >= 2)]
    return [Spoken(LABELS[int(lab)], int(s), int(e)) for _, lab, s, e in rows]


def replay(outputs: np.ndarray, frames: int, smoothing: int, cutoff: float,
           refractory: int) -> list[Event]:
    """The pipeline's detectors over recorded model outputs (as mcuforge.pipeline.reference
    runs them: push after the model's run, tick every frame, then check)."""
    dets = [Detector(smoothing, int(cutoff * 255), refractory) for _ in KEYWORDS]
    events = []
    for f in range(frames):
        run = f + 1
        if run % streaming.FRAMES_PER_STEP == 0:
            scores = outputs[run // streaming.FRAMES_PER_STEP - 1].astype(np.int32) + 128
            for k, d in enumerate(dets):
                d.push(int(scores[LABELS.index(KEYWORDS[k])]))
        for d in dets:
            d.tick()
        for k, d in enumerate(dets):
            found = d.check()
            if found is not None:
                events.append(Event(k, 0, "wake_word", KEYWORDS[k], f, f * HOP + WINDOW,
                                    found.mean, found.max))
    return events


def score(data: dict[str, np.ndarray], events: list[list[Event]]) -> tuple[Outcome, Outcome]:
    """(keyword streams, streams without keywords)."""
    pos, neg = Outcome(0.0, RATE), Outcome(0.0, RATE)
    for i, ev in enumerate(events):
        lo, hi = data["bounds"][i]
        got = match(ev, spoken_keywords(data, i), (hi - lo) / RATE, RATE)
        if data["positive"][i]:
            pos = pos.merge(got)
        else:
            neg = neg.merge(got)
    return pos, neg


def choose_detector(val: dict[str, np.ndarray], runs: list, refractory: int) -> dict:
    """The smoothing and cutoff with the best detection rate on the validation recordings with
    at most MAX_VAL_FALSE_ALARMS false alarms in them (ties: fewer false alarms, then the higher
    cutoff); if none qualifies, the fewest false alarms."""
    table = []
    for k in SMOOTHING:
        for c in CUTOFFS:
            events = [replay(out, (val["bounds"][i][1] - val["bounds"][i][0] - WINDOW) // HOP + 1,
                             k, c, refractory) for i, (_, out, _) in enumerate(runs)]
            pos, neg = score(val, events)
            fas = len(pos.false_alarms) + len(neg.false_alarms)
            table.append({"smoothing": k, "cutoff": c, "detection": pos.detection_rate,
                          "false_alarms": fas, "fa_per_hour": neg.false_alarms_per_hour})
    ok = [r for r in table if r["false_alarms"] <= MAX_VAL_FALSE_ALARMS]
    best = (max(ok, key=lambda r: (r["detection"], -r["false_alarms"], r["cutoff"])) if ok
            else min(table, key=lambda r: (r["false_alarms"], -r["detection"])))
    for r in table:
        print(f"  val: smoothing {r['smoothing']} cutoff {r['cutoff']:.2f}: detection "
              f"{100 * r['detection']:.1f} %, {r['false_alarms']} false alarms")
    return {"best": best, "table": table}


def write_pipeline(path: Path, smoothing: int, cutoff: float, refractory_ms: int) -> None:
    path.write_text(PIPELINE_TOML.format(smoothing=smoothing, cutoff=cutoff,
                                         refractory_ms=refractory_ms,
                                         labels=json.dumps(list(LABELS)),
                                         keywords=json.dumps(list(KEYWORDS))))


PIPELINE_TOML = """\
# Keyword spotting from raw audio: TFLM's audio front end, then the streaming wake-word model
# (models/wake_word), then ESPHome's detection rule per keyword. Paths are relative to this file.
# Written by models/wake_word/train.py (smoothing and cutoff chosen on validation recordings).
#
#   mcuforge listen models/pipelines/wake_word.toml --board mps2-an386 --wav speech.wav
name = "wake_word"

[source]
sample_rate = 16000
channels = 1

[frontend]
window_ms = 30           # newest 480 samples per frame
hop_ms = 10              # a frame every 160 samples

[frontend.graph]
# mcuforge writes TFLM's micro_speech preprocessor graph itself (int16[480] -> int8[40], noise
# estimate kept between frames): the features the model was trained on, the same as
# tflite-micro's audio_preprocessor_int8.tflite (docs/pipeline.md).
zero_outside_band = false  # skip zeroing FFT bins the filter bank ignores: same features, cheaper

[[model]]
name = "wake_word"
path = "../wake_word/wake_word_int8.tflite"  # int8[1, 3, 40] -> int8[1, 6] softmax, stateful
kind = "streaming"        # runs every 3 frames on the 3 new ones
smoothing = {smoothing}
cutoff = {cutoff}
refractory_ms = {refractory_ms}
labels = {labels}
detect = {keywords}
"""

# --- main -------------------------------------------------------------------------------------


def train(args: argparse.Namespace) -> tuple[tf.keras.Model, np.ndarray, dict]:
    train_npz = np.load(args.data / "train.npz")
    t0 = time.time()
    feats = scene_features(args.data / "train.npz", args.workers)[:, SCENE_FIRST_FRAME:]
    t_feat = time.time() - t0
    steps = streaming.window_outputs(feats.shape[1])
    y, w = step_targets(train_npz["ann"], len(feats), steps)
    val = split_by_voice(train_npz["voice"], 0.08, args.seed)
    x_tr, x_val = feats[~val].astype(np.float32), feats[val].astype(np.float32)
    rng = np.random.default_rng(args.seed)
    model = streaming.build_keras(len(LABELS))
    batches = int(np.ceil(len(x_tr) / args.batch))
    lr = tf.keras.optimizers.schedules.CosineDecay(3e-3, args.epochs * batches, alpha=0.02)
    model.compile(optimizer=tf.keras.optimizers.AdamW(lr, weight_decay=1e-3),
                  loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    best, best_loss = None, np.inf
    for epoch in range(args.epochs):
        hist = model.fit(augment(x_tr, rng), y[~val], sample_weight=w[~val],
                         batch_size=args.batch, epochs=1, verbose=0, shuffle=True)
        loss, acc = model.evaluate(x_val, y[val], sample_weight=w[val], verbose=0,
                                   batch_size=256)
        print(f"epoch {epoch + 1:2d} loss {hist.history['loss'][0]:.4f} val loss {loss:.4f} "
              f"val accuracy {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if loss < best_loss:
            best, best_loss = model.get_weights(), loss
    model.set_weights(best)
    info = {"t_feat": t_feat, "t_train": time.time() - t0 - t_feat, "val_loss": best_loss,
            "frames": feats.shape[1],
            "n_train": int((~val).sum()), "n_val": int(val.sum()),
            "n_voices": len(np.unique(train_npz["voice"][train_npz["voice"] != ""])),
            "scenes": {LABELS[c]: int(np.sum(np.isin(
                np.arange(len(feats)), train_npz["ann"][train_npz["ann"][:, 1] == c, 0])))
                for c in range(2, len(LABELS))}}
    return model, feats[val], info


def calibration_steps(frames: np.ndarray, seed: int) -> list[np.ndarray]:
    """Steps of consecutive validation scenes as one stream; the first carries -128 and 127 so
    that the observed input range is exactly [-128, 127] (identity input quantization)."""
    rng = np.random.default_rng(seed)
    picked = frames[rng.permutation(len(frames))[:40]]
    usable = picked.shape[1] // 3 * 3
    stream = picked[:, :usable].reshape(-1, 3, 40).astype(np.float32)
    stream[0, 0, 0], stream[0, -1, -1] = -128.0, 127.0
    return list(stream)


def agreement(data: bytes, model: tf.keras.Model, features: np.ndarray) -> dict:
    """The int8 streaming model (TFLM) against the float Keras model on one recording's
    features: every step once the state holds real frames."""
    ref = Reference(data)
    usable = len(features) // 3 * 3
    int8 = np.stack([ref.run([features[i : i + 3]])[0].reshape(-1)
                     for i in range(0, usable, 3)])
    probs8 = (int8.astype(np.float32) + 128) / 256
    float_out = model.predict(features[None, SCENE_FIRST_FRAME:usable].astype(np.float32),
                              verbose=0)[0]
    a = probs8[streaming.WARMUP_STEPS : streaming.WARMUP_STEPS + len(float_out)]
    b = float_out[: len(a)]
    return {"steps": len(a), "max_abs": float(np.abs(a - b).max()),
            "mean_abs": float(np.abs(a - b).mean()),
            "argmax_agree": float(np.mean(a.argmax(1) == b.argmax(1)))}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", action="store_true",
                        help="also measure the model on the emulated Cortex-M4 (QEMU)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    model, val_frames, info = train(args)
    float_path = args.out / "wake_word_float.keras"
    # uncompiled (no optimizer state), over a scene's frames: a fixed shape converts as it is
    export = streaming.build_keras(len(LABELS), frames=info["frames"])
    export.set_weights(model.get_weights())
    export.save(float_path)

    stream = streaming.StreamingModel(model)
    data = streaming.convert(stream, calibration_steps(val_frames, args.seed))
    int8_path = args.out / "wake_word_int8.tflite"
    int8_path.write_bytes(data)
    q = Reference(data)._interp.get_input_details(0)["quantization_parameters"]
    if (float(q["scales"][0]), int(q["zero_points"][0])) != (1.0, 0):
        raise SystemExit(f"input quantization is not the identity: {q}")
    (args.out / "labels.txt").write_text("\n".join(LABELS) + "\n")
    t_convert = time.time() - t_start

    # Detector settings on training voices (fresh recordings), then the held-out numbers.
    refractory = REFRACTORY_MS * RATE // (1000 * HOP)
    val = dict(np.load(args.data / "val.npz"))
    choice = choose_detector(val, run_streams(val, eval_layout(int8_path, 1, 0.5), args.workers),
                             refractory)
    best = choice["best"]
    layout = eval_layout(int8_path, best["smoothing"], best["cutoff"])
    held = dict(np.load(args.data / "heldout.npz"))
    runs = run_streams(held, layout, args.workers, keep_first=True)
    pos, neg = score(held, [ev for ev, _, _ in runs])
    features0 = runs[0][2]
    assert features0 is not None
    agree = agreement(data, model, features0)
    save_heldout(args.out / "heldout.npz", held, features0)
    if args.out == HERE:
        write_pipeline(PIPELINE, best["smoothing"], best["cutoff"], REFRACTORY_MS)

    metrics = {**info, "choice": choice, "agreement": agree, "t_convert": t_convert,
               "t_total": time.time() - t_start, "params": model.count_params(),
               "int8_bytes": len(data), "float_bytes": float_path.stat().st_size,
               "held_variants": str(held["heldout_variants"]).replace(",", ", "),
               "held_voices": len(np.unique(held["voice"])), "refractory_ms": REFRACTORY_MS,
               "max_val_fa": MAX_VAL_FALSE_ALARMS}
    device = measure_device(int8_path, features0) if args.device else None
    lo, hi = held["bounds"][0]
    first = match(runs[0][0], spoken_keywords(held, 0), (hi - lo) / RATE, RATE)
    text = card.write(args.out / "MODEL_CARD.md", metrics, pos, neg, first, layout, device)
    print(text)


def measure_device(model: Path, features: np.ndarray, steps: int = 300) -> dict:
    """Bit-exactness over consecutive steps of a held-out recording (one stream) and
    instructions per step, on mps2-an386 in QEMU."""
    import tempfile

    from mcuforge.bench import run_bench
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    board = get_board("mps2-an386")
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "steps.npy"
        np.save(inputs, features[: steps * 3].reshape(steps, 1, 3, 40))
        test = run_test(model, board, inputs_file=inputs)
        bench = run_bench(model, board)
    return {"steps": test.vectors, "mismatches": test.mismatches,
            "instructions": bench.instructions_per_inference,
            "first": bench.first_step_instructions or 0, "flash": bench.flash_bytes,
            "ram": bench.ram_bytes, "arena": bench.arena_bytes, "state": bench.state_bytes}


def save_heldout(path: Path, held: dict[str, np.ndarray], features: np.ndarray) -> None:
    """The first held-out recording as the model sees it: its front-end frames (int8
    [frames, 40]) and the keywords said in it (label, start, end in samples)."""
    ann = held["ann"][(held["ann"][:, 0] == 0) & (held["ann"][:, 1] >= 2)]
    lo, hi = held["bounds"][0]
    np.savez_compressed(path, frames=features.astype(np.int8), keywords=ann[:, 1:].astype(np.int64),
                        labels=np.array(LABELS), samples=np.int64(hi - lo),
                        voices=np.unique(held["voice"]))


if __name__ == "__main__":
    main()

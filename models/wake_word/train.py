"""Train, quantise and evaluate the wake-word model (run ``python synth.py`` first).

Features come from :mod:`mcuforge.frontend` (int8 log-mel, 49 frames x 40 channels); the model
is a small DS-CNN built from ops the mcuforge compiler supports (CONV_2D, DEPTHWISE_CONV_2D,
MEAN, FULLY_CONNECTED, SOFTMAX; batch norm folds into the convolutions). Quantisation goes
through :func:`mcuforge.quantize.quantize`; the int8 model's input quantisation is made the
identity (scale 1, zero point 0) so the device feeds the front end's int8 features unchanged.
Evaluation uses the held-out voices only, the int8 model under the TFLM reference interpreter.

Writes, next to this file: wake_word_float.keras, wake_word_int8.tflite, heldout.npz,
labels.txt, MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "toolchain"))  # run from a checkout without installing
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from synth import ACCENTS, UNKNOWN_WORDS  # noqa: E402

from mcuforge import frontend  # noqa: E402
from mcuforge.quantize import format_report, quantize, run_tflm  # noqa: E402
from mcuforge.summary import inspect_model  # noqa: E402

HELDOUT_PER_CLASS = 40  # clips per class shipped in heldout.npz


def load_features(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Clips of a synth.py split -> (int8 features [N, 49, 40, 1], labels, voices, label names)."""
    data = np.load(path)
    cache = path.with_name(path.stem + "_features.npy")
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        feats = np.load(cache)
    else:
        feats = frontend.features_batch(data["x"])[..., None]
        np.save(cache, feats)
    return feats, data["y"], data["voice"], [str(s) for s in data["labels"]]


def build_model(num_classes: int, width: int = 64) -> tf.keras.Model:
    """DS-CNN: one strided conv, three depthwise-separable blocks, global average, dense.

    Shapes: 49x40 -> conv 10x4 /2 -> 25x20x(width/4) -> dw /2 -> 13x10 -> width channels.
    """

    def bn_relu(x: tf.Tensor) -> tf.Tensor:
        return tf.keras.layers.ReLU()(tf.keras.layers.BatchNormalization(momentum=0.9)(x))

    inp = tf.keras.Input((frontend.NUM_FRAMES, frontend.NUM_CHANNELS, 1))
    x = bn_relu(
        tf.keras.layers.Conv2D(width // 4, (10, 4), strides=(2, 2), padding="same", use_bias=False)(
            inp
        )
    )
    for i, stride in enumerate([2, 1, 1]):
        x = bn_relu(
            tf.keras.layers.DepthwiseConv2D(
                3, strides=stride, padding="same", use_bias=False, name=f"dw{i}"
            )(x)
        )
        x = bn_relu(tf.keras.layers.Conv2D(width, 1, use_bias=False, name=f"pw{i}")(x))
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    out = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="wake_word_dscnn")


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random time shift (+-4 frames) and one time and one frequency mask (SpecAugment-lite)."""
    out = x.copy()
    for i in range(out.shape[0]):
        out[i] = np.roll(out[i], int(rng.integers(-4, 5)), axis=0)
        t0, f0 = int(rng.integers(0, frontend.NUM_FRAMES - 6)), int(rng.integers(0, 36))
        out[i, t0 : t0 + int(rng.integers(0, 6))] = -128
        out[i, :, f0 : f0 + int(rng.integers(0, 5))] = -128
    return out


def split_by_voice(voices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation clips: every clip of a random ``fraction`` of the voices."""
    names = np.unique(voices[voices != ""])
    val_names = set(np.random.default_rng(seed).permutation(names)[: int(len(names) * fraction)])
    mask = np.array([v in val_names for v in voices])
    silence = np.nonzero(voices == "")[0]
    mask[silence[: int(len(silence) * fraction)]] = True
    return mask


def stratified(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(
        np.concatenate([rng.permutation(np.nonzero(y == c)[0])[:per_class] for c in np.unique(y)])
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    t_start = time.time()
    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(args.seed)

    x, y, voices, labels = load_features(args.data / "train.npz")
    xh, yh, voices_h, _ = load_features(args.data / "heldout.npz")
    t_feat = time.time() - t_start
    val = split_by_voice(voices, 0.1, args.seed)
    x_tr, y_tr, x_val, y_val = x[~val], y[~val], x[val], y[val]

    model = build_model(len(labels))
    steps = args.epochs * int(np.ceil(len(x_tr) / 64))
    lr = tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    best, best_acc = None, -1.0
    for epoch in range(args.epochs):
        hist = model.fit(
            augment(x_tr, rng).astype(np.float32),
            y_tr,
            batch_size=64,
            epochs=1,
            verbose=0,
            shuffle=True,
        )
        val_acc = float(
            np.mean(model.predict(x_val.astype(np.float32), verbose=0).argmax(1) == y_val)
        )
        print(
            f"epoch {epoch + 1:2d} loss {hist.history['loss'][0]:.3f} "
            f"train {hist.history['accuracy'][0]:.3f} val {val_acc:.3f}",
            flush=True,
        )
        if val_acc >= best_acc:
            best, best_acc = model.get_weights(), val_acc
    model.set_weights(best)
    float_path = args.out / "wake_word_float.keras"
    export = build_model(len(labels))  # uncompiled: no optimizer state in the artifact
    export.set_weights(best)
    export.save(float_path)
    t_train = time.time() - t_start - t_feat

    # Calibration: training clips plus one clip holding -128 and 127, so that the observed
    # input range is exactly [-128, 127] and the int8 input quantisation is the identity.
    calib = x_tr[rng.permutation(len(x_tr))[:499]].astype(np.float32)
    extreme = calib[:1].copy()
    extreme[0, 0, 0, 0], extreme[0, -1, -1, 0] = -128.0, 127.0
    calib_path = args.data / "calibration.npz"
    np.savez(calib_path, x=np.concatenate([calib, extreme]))
    int8_path = args.out / "wake_word_int8.tflite"
    report = quantize(
        float_path, int8_path, calib_path, holdout_fraction=0.0, task="classification"
    )
    print(format_report(report))
    if (report.input_scale, report.input_zero_point) != (1.0, 0):
        raise SystemExit(
            f"input quantization is not the identity: {report.input_scale}, "
            f"{report.input_zero_point}"
        )

    float_pred = model.predict(xh.astype(np.float32), verbose=0).argmax(1)
    int8_pred = run_tflm(int8_path.read_bytes(), xh)[1].argmax(1)
    sub = stratified(yh, HELDOUT_PER_CLASS, args.seed)
    np.savez_compressed(
        args.out / "heldout.npz",
        x=xh[sub],
        y=yh[sub],
        labels=np.array(labels),
        voice=voices_h[sub],
        input_scale=np.float32(1.0),
        input_zero_point=np.int32(0),
    )
    (args.out / "labels.txt").write_text("\n".join(labels) + "\n")
    metrics = {
        "float_full": float(np.mean(float_pred == yh)),
        "int8_full": float(np.mean(int8_pred == yh)),
        "float_sub": float(np.mean(float_pred[sub] == yh[sub])),
        "int8_sub": float(np.mean(int8_pred[sub] == yh[sub])),
        "n_full": len(yh),
        "n_sub": len(sub),
        "val": best_acc,
        "params": model.count_params(),
        "macs": inspect_model(int8_path).macs,
        "int8_bytes": report.int8_bytes,
        "float_bytes": float_path.stat().st_size,
        "t_feat": t_feat,
        "t_train": t_train,
        "t_total": time.time() - t_start,
        "n_train": len(y_tr),
        "n_val": len(y_val),
        "ops": sorted(set(report.ops)),
    }
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (yh, int8_pred), 1)
    data_meta = np.load(args.data / "heldout.npz")
    held_variants = ""
    if "heldout_variants" in data_meta:
        held_variants = str(data_meta["heldout_variants"]).replace(",", ", ")
    write_card(
        args.out / "MODEL_CARD.md",
        metrics,
        labels,
        confusion,
        held_variants,
        len(np.unique(voices[voices != ""])),
        len(np.unique(voices_h[voices_h != ""])),
    )
    for key, value in metrics.items():
        print(f"{key}: {value}")


def write_card(
    path: Path,
    m: dict,
    labels: list[str],
    confusion: np.ndarray,
    held_variants: str,
    n_train_voices: int,
    n_held_voices: int,
) -> None:
    """Write MODEL_CARD.md from the measured numbers."""
    rows = "\n".join(
        f"| {labels[i]} | " + " | ".join(str(v) for v in confusion[i]) + " |"
        for i in range(len(labels))
    )
    text = f"""# Wake-word model (DS-CNN, int8)

Keyword spotting on 1 s of 16 kHz audio: {", ".join(labels)}.

## Input
int8 log-mel features from `mcuforge.frontend` (fixed point, bit-exact on a device):
{frontend.NUM_FRAMES} frames x {frontend.NUM_CHANNELS} mel channels, 30 ms window, 20 ms stride,
{frontend.LOWER_HZ:.0f}-{frontend.UPPER_HZ:.0f} Hz. Model input `int8[1, 49, 40, 1]` with
scale 1.0 and zero point 0: the front end's output goes in unchanged.

## Data
Synthesised offline with espeak-ng (`synth.py`): {n_train_voices} training voices (one of
{len(ACCENTS)} English accents + one of the training voice variants), speed 110-230 wpm,
pitch 15-90, random loudness and time offset, background noise (white, pink, brown, mains hum,
babble) at 3-40 dB SNR. "unknown" = {len(UNKNOWN_WORDS)} other words ("{
        '", "'.join(UNKNOWN_WORDS[:5])
    }", ...), "silence" = noise only. {m["n_train"]} training clips,
{m["n_val"]} validation clips (unseen voices, used to pick the epoch).

Held-out evaluation: {m["n_full"]} clips from {n_held_voices} voices built on voice variants never
used in training ({held_variants}).

## Accuracy (held-out voices)
| set | float (Keras) | int8 (TFLM reference) |
|---|---|---|
| held-out voices, {m["n_full"]} clips | {100 * m["float_full"]:.2f} % | \
{100 * m["int8_full"]:.2f} % |
| heldout.npz, {m["n_sub"]} clips | {100 * m["float_sub"]:.2f} % | {100 * m["int8_sub"]:.2f} % |

int8 accuracy on heldout.npz: {100 * m["int8_sub"]:.2f} %

Confusion of the int8 model on all held-out clips (rows: truth, columns: prediction):

| | {" | ".join(labels)} |
|---|{"---|" * len(labels)}
{rows}

## Size and cost
- parameters: {m["params"]}; int8 .tflite: {m["int8_bytes"]} bytes; float .keras: {m["float_bytes"]}
  bytes
- multiply-accumulates per inference: {m["macs"]}
- ops: {", ".join(m["ops"])}
- tensor arena on Cortex-M4: measure with `mcuforge bench` (see the device section)
- instructions per inference on Cortex-M4: measure with `mcuforge bench`

## Limits
Synthetic voices only: expect lower accuracy on real speech, and retrain with
`python synth.py --speech-commands DIR` when Speech Commands data is available.
`train.py` on 2 CPU cores: features {m["t_feat"]:.0f} s (0 when cached), training
{m["t_train"]:.0f} s, total {m["t_total"]:.0f} s (seeded, deterministic ops); `synth.py` adds
1-2 minutes.
"""
    path.write_text(text)


if __name__ == "__main__":
    main()

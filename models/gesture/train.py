"""Train, quantise and evaluate the gesture model (run ``python synth.py`` first).

Input: 128 x 3 accelerometer samples in milli-g (``float [1, 128, 3, 1]``, quantised to int8 by
the model's input parameters). A magic-wand-style CNN of CONV_2D, MAX_POOL_2D, RESHAPE,
FULLY_CONNECTED and SOFTMAX. Evaluated on held-out users (never seen in training), the int8
model under the TFLM reference interpreter.

Writes, next to this file: gesture_float.keras, gesture_int8.tflite, heldout.npz, labels.txt,
MODEL_CARD.md.
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from mcuforge.quantize import format_report, quantize, run_tflm  # noqa: E402
from mcuforge.summary import inspect_model  # noqa: E402


def build_model(num_classes: int) -> tf.keras.Model:
    """Two conv + max-pool stages over time, then two dense layers."""

    def bn_relu(x: tf.Tensor) -> tf.Tensor:
        return tf.keras.layers.ReLU()(tf.keras.layers.BatchNormalization(momentum=0.9)(x))

    inp = tf.keras.Input((128, 3, 1))
    x = bn_relu(tf.keras.layers.Conv2D(16, (4, 3), padding="same", use_bias=False)(inp))
    x = tf.keras.layers.MaxPooling2D((3, 3))(x)  # -> 42 x 1
    x = bn_relu(tf.keras.layers.Conv2D(32, (4, 1), padding="same", use_bias=False)(x))
    x = tf.keras.layers.MaxPooling2D((3, 1))(x)  # -> 14 x 1
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(16, activation="relu")(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    out = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="gesture_cnn")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    t_start = time.time()
    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    train, held = np.load(args.data / "train.npz"), np.load(args.data / "heldout.npz")
    labels = [str(s) for s in train["labels"]]
    x, y, users = train["x"][..., None], train["y"], train["user"]
    xh, yh = held["x"][..., None], held["y"]
    val_users = np.random.default_rng(args.seed).permutation(np.unique(users))[:8]
    val = np.isin(users, val_users)

    model = build_model(len(labels))
    steps = args.epochs * int(np.ceil((~val).sum() / 64))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(
            tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    best, best_acc = None, -1.0
    for epoch in range(args.epochs):
        hist = model.fit(x[~val], y[~val], batch_size=64, epochs=1, verbose=0, shuffle=True)
        val_acc = float(np.mean(model.predict(x[val], verbose=0).argmax(1) == y[val]))
        print(
            f"epoch {epoch + 1:2d} loss {hist.history['loss'][0]:.3f} val {val_acc:.3f}", flush=True
        )
        if val_acc >= best_acc:
            best, best_acc = model.get_weights(), val_acc
    model.set_weights(best)
    float_path = args.out / "gesture_float.keras"
    export = build_model(len(labels))  # uncompiled: no optimizer state in the artifact
    export.set_weights(best)
    export.save(float_path)

    calib_path = args.data / "calibration.npz"
    calib_idx = np.random.default_rng(args.seed).permutation(int((~val).sum()))[:500]
    np.savez(calib_path, x=x[~val][calib_idx], y=y[~val][calib_idx])
    int8_path = args.out / "gesture_int8.tflite"
    report = quantize(float_path, int8_path, calib_path, holdout_fraction=0.2)
    print(format_report(report))

    float_pred = model.predict(xh, verbose=0).argmax(1)
    raw_in = np.clip(np.round(xh / report.input_scale) + report.input_zero_point, -128, 127)
    xh_q = raw_in.astype(np.int8)
    int8_pred = run_tflm(int8_path.read_bytes(), xh_q)[1].argmax(1)
    np.savez_compressed(
        args.out / "heldout.npz",
        x=xh_q,
        y=yh,
        labels=np.array(labels),
        user=held["user"],
        input_scale=np.float32(report.input_scale),
        input_zero_point=np.int32(report.input_zero_point),
    )
    (args.out / "labels.txt").write_text("\n".join(labels) + "\n")
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (yh, int8_pred), 1)
    m = {
        "float": float(np.mean(float_pred == yh)),
        "int8": float(np.mean(int8_pred == yh)),
        "n": len(yh),
        "n_train": int((~val).sum()),
        "n_val": int(val.sum()),
        "users_train": len(np.unique(users)) - len(val_users),
        "users_held": len(np.unique(held["user"])),
        "params": model.count_params(),
        "macs": inspect_model(int8_path).macs,
        "int8_bytes": report.int8_bytes,
        "float_bytes": float_path.stat().st_size,
        "ops": sorted(set(report.ops)),
        "scale": report.input_scale,
        "zp": report.input_zero_point,
        "t_total": time.time() - t_start,
    }
    write_card(args.out / "MODEL_CARD.md", m, labels, confusion)
    for key, value in m.items():
        print(f"{key}: {value}")


def write_card(path: Path, m: dict, labels: list[str], confusion: np.ndarray) -> None:
    """Write MODEL_CARD.md from the measured numbers."""
    rows = "\n".join(
        f"| {labels[i]} | " + " | ".join(str(v) for v in confusion[i]) + " |"
        for i in range(len(labels))
    )
    path.write_text(f"""# Gesture model (accelerometer CNN, int8)

Classifies 5.12 s of 3-axis accelerometer data into {", ".join(labels)}.

## Input
128 samples at 25 Hz of x, y, z in milli-g (the magic-wand layout), model input
`int8[1, 128, 3, 1]` with scale {m["scale"]:.6g} mg per step and zero point {m["zp"]}:
`q = clamp(round(mg / {m["scale"]:.6g}) + {m["zp"]}, -128, 127)`.

## Data
Synthesised (`synth.py`): wand paths (W, circle, slope) with minimum-jerk motion, gravity
projected through each user's grip tilt (up to 35 deg) and wrist wobble, gesture duration
0.9-2.6 s, size 15-55 cm, 25 % left-handed (mirrored), sensor bias and noise; "idle" = still,
drift, walking, small movements, shaking, tilting. {m["n_train"]} training windows from
{m["users_train"]} users, {m["n_val"]} validation windows from 8 other users.

Held-out evaluation (heldout.npz): {m["n"]} windows from {m["users_held"]} users never seen in
training.

## Accuracy (held-out users)
| set | float (Keras) | int8 (TFLM reference) |
|---|---|---|
| heldout.npz, {m["n"]} windows | {100 * m["float"]:.2f} % | {100 * m["int8"]:.2f} % |

int8 accuracy on heldout.npz: {100 * m["int8"]:.2f} %

Confusion of the int8 model (rows: truth, columns: prediction):

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
Synthetic motion only; real sensors differ in axis orientation (remap axes to x right, y
forward, z up when the wand points forward) and sample rate (resample to 25 Hz).
Training takes {m["t_total"]:.0f} s on 2 CPU cores (seeded, deterministic ops).
""")


if __name__ == "__main__":
    main()

"""Train, quantise and evaluate the vibration autoencoder (run ``python synth.py`` first).

The autoencoder (FULLY_CONNECTED layers only, 64-32-16-8-16-32-64) learns to reconstruct the
standardised spectral features of healthy machines. Anomaly score = mean squared difference
between the model's input and its (dequantised) output; a window is an anomaly when the score
exceeds a threshold set at the 99th percentile of validation normals -- separately for the
float and the int8 model, since quantisation shifts the scores. The int8 model runs under the
TFLM reference interpreter and its score compares the dequantised int8 output with the
dequantised int8 input, which is what a device can compute from its own buffers.

Writes, next to this file: anomaly_float.keras, anomaly_int8.tflite, heldout.npz, labels.txt,
threshold.json, MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
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
from synth import KINDS, NUM_FEATURES, vibration_features  # noqa: E402

from mcuforge.quantize import format_report, quantize, run_tflm  # noqa: E402
from mcuforge.summary import inspect_model  # noqa: E402

PERCENTILE = 99.0


def build_model() -> tf.keras.Model:
    """Dense autoencoder with an 8-unit bottleneck and a linear output layer."""
    inp = tf.keras.Input((NUM_FEATURES,))
    x = inp
    for units in (32, 16, 8, 16, 32):
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    out = tf.keras.layers.Dense(NUM_FEATURES)(x)
    return tf.keras.Model(inp, out, name="vibration_autoencoder")


def int8_scores(tflite: bytes, x_q: np.ndarray, in_scale: float, in_zp: int) -> np.ndarray:
    """Scores of int8 inputs: dequantised output vs dequantised input, under TFLM."""
    recon = run_tflm(tflite, x_q)[1]
    return np.mean(((x_q.astype(np.float32) - in_zp) * in_scale - recon) ** 2, axis=1)


def quantize_input(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def rates(scores: np.ndarray, kind: np.ndarray, threshold: float) -> dict[str, float]:
    """False-alarm rate on normals, detection rate on all faults and on each fault kind."""
    flagged = scores > threshold
    out = {
        "false_alarm": float(flagged[kind == 0].mean()),
        "detection": float(flagged[kind > 0].mean()),
    }
    for k in range(1, len(KINDS)):
        out[KINDS[k]] = float(flagged[kind == k].mean())
    return out


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    t_start = time.time()
    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    data = {s: np.load(args.data / f"{s}.npz") for s in ("train", "val", "heldout")}
    feats = {s: vibration_features(d["x"]) for s, d in data.items()}
    mean, std = feats["train"].mean(axis=0), feats["train"].std(axis=0) + 1e-6
    z = {s: ((f - mean) / std).astype(np.float32) for s, f in feats.items()}
    kind_h = data["heldout"]["kind"]

    model = build_model()
    steps = args.epochs * int(np.ceil(len(z["train"]) / 64))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(
            tf.keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.05)
        ),
        loss="mse",
    )
    model.fit(
        z["train"],
        z["train"],
        batch_size=64,
        epochs=args.epochs,
        verbose=0,
        shuffle=True,
        validation_data=(z["val"], z["val"]),
    )
    float_path = args.out / "anomaly_float.keras"
    export = build_model()  # uncompiled: no optimizer state in the artifact
    export.set_weights(model.get_weights())
    export.save(float_path)

    def float_scores(x: np.ndarray) -> np.ndarray:
        return np.mean((x - model.predict(x, verbose=0)) ** 2, axis=1)

    thr_float = float(np.percentile(float_scores(z["val"]), PERCENTILE))
    calib_path = args.data / "calibration.npz"
    np.savez(
        calib_path,
        x=z["train"][np.random.default_rng(args.seed).permutation(len(z["train"]))[:500]],
    )
    int8_path = args.out / "anomaly_int8.tflite"
    report = quantize(float_path, int8_path, calib_path, holdout_fraction=0.2, task="regression")
    print(format_report(report))
    tflite = int8_path.read_bytes()
    s_in, zp_in = report.input_scale, report.input_zero_point
    val_q = quantize_input(z["val"], s_in, zp_in)
    thr_int8 = float(np.percentile(int8_scores(tflite, val_q, s_in, zp_in), PERCENTILE))
    held_q = quantize_input(z["heldout"], s_in, zp_in)
    r_float = rates(float_scores(z["heldout"]), kind_h, thr_float)
    r_int8 = rates(int8_scores(tflite, held_q, s_in, zp_in), kind_h, thr_int8)

    np.savez_compressed(
        args.out / "heldout.npz",
        x=held_q,
        y=(kind_h > 0).astype(np.int64),
        kind=kind_h,
        kinds=np.array(KINDS),
        machine=data["heldout"]["machine"],
        input_scale=np.float32(s_in),
        input_zero_point=np.int32(zp_in),
    )
    (args.out / "labels.txt").write_text("normal\nanomaly\n")
    (args.out / "threshold.json").write_text(
        json.dumps(
            {
                "score": "mean over the 64 features of (dequantized input - dequantized output)^2",
                "threshold_int8": thr_int8,
                "threshold_float": thr_float,
                "percentile_of_validation_normals": PERCENTILE,
                "input_scale": s_in,
                "input_zero_point": zp_in,
                "output_scale": report.output_scale,
                "output_zero_point": report.output_zero_point,
                "feature_mean": [round(float(v), 6) for v in mean],
                "feature_std": [round(float(v), 6) for v in std],
            },
            indent=1,
        )
        + "\n"
    )
    m = {
        "float": r_float,
        "int8": r_int8,
        "thr_float": thr_float,
        "thr_int8": thr_int8,
        "n_normal": int((kind_h == 0).sum()),
        "n_fault": int((kind_h > 0).sum()),
        "params": model.count_params(),
        "int8_bytes": report.int8_bytes,
        "float_bytes": float_path.stat().st_size,
        "ops": sorted(set(report.ops)),
        "macs": inspect_model(int8_path).macs,
        "max_err": report.max_abs_error,
        "mean_err": report.mean_abs_error,
        "t_total": time.time() - t_start,
    }
    write_card(args.out / "MODEL_CARD.md", m)
    print(json.dumps(m, indent=1))


def write_card(path: Path, m: dict) -> None:
    """Write MODEL_CARD.md from the measured numbers."""
    f, q = m["float"], m["int8"]
    rows = "\n".join(f"| {k} | {100 * f[k]:.1f} % | {100 * q[k]:.1f} % |" for k in KINDS[1:])
    path.write_text(f"""# Vibration anomaly detector (dense autoencoder, int8)

Detects faults in 0.512 s windows of machine vibration (one axis, 4 kHz).

## Input and score
64 spectral features from `synth.vibration_features` (Welch power spectrum, 32 single bins from
7.8 to 250 Hz and 32 log-spaced bands to 2 kHz, log10), standardised with `feature_mean` and
`feature_std` from threshold.json, then quantised with the model's input parameters
(threshold.json). The int8 model outputs the reconstruction; the host computes
`score = mean((dequant(input) - dequant(output))^2)` and flags an anomaly when
`score > threshold_int8` ({m["thr_int8"]:.4f}; float model: {m["thr_float"]:.4f}), the 99th
percentile of validation normals.

## Data
Synthesised (`synth.py`): units of one machine type at 1500 rpm +-4 %, each with its own
variation of the type's harmonic signature and structural resonance, plus load changes and
noise. Trained on 6000 normal windows of 60 machines; thresholds from 1000 normal windows of 20
other machines. Held-out (heldout.npz): 20 further machines, {m["n_normal"]} normal and
{m["n_fault"]} faulty windows (imbalance, misalignment, looseness, outer-race bearing fault;
severity uniform from barely visible to severe).

## Results (held-out machines)
| | float (Keras) | int8 (TFLM reference) |
|---|---|---|
| detection rate, all faults | {100 * f["detection"]:.1f} % | {100 * q["detection"]:.1f} % |
| false alarms on normals | {100 * f["false_alarm"]:.1f} % | {100 * q["false_alarm"]:.1f} % |
{rows}

int8 detection rate on heldout.npz: {100 * q["detection"]:.2f} %
int8 false alarm rate on heldout.npz: {100 * q["false_alarm"]:.2f} %

Reconstruction |float - int8| on calibration hold-out: max {m["max_err"]:.3f}, mean
{m["mean_err"]:.3f} (standardised units).

## Size and cost
- parameters: {m["params"]}; int8 .tflite: {m["int8_bytes"]} bytes; float .keras: {m["float_bytes"]}
  bytes
- multiply-accumulates per inference: {m["macs"]}
- ops: {", ".join(m["ops"])}
- tensor arena on Cortex-M4: measure with `mcuforge bench` (see the device section)
- instructions per inference on Cortex-M4: measure with `mcuforge bench`

## Limits
Synthetic vibration only; a real installation should re-fit `feature_mean`, `feature_std` and the
threshold on its own healthy data (retraining on it is better still). Mild faults are missed by
design of the severity range. Training takes {m["t_total"]:.0f} s on 2 CPU cores (seeded).
""")


if __name__ == "__main__":
    main()

"""Synthesise continuous accelerometer recordings for the gesture pipeline
(models/pipelines/gesture.toml): idle stretches and gestures of one user, as an LSM9DS1 at
50 Hz, +-4 g would give them.

The motion model is synth.py's (the recipe the model was trained on): minimum-jerk wand paths
in a vertical plane, gravity through the user's grip tilt and wrist wobble, hand tremor, sensor
bias and noise; here on one continuous time line, simulated at 200 Hz and averaged to 50 Hz
like the sensor's low-pass filter, then expressed in the sensor's units (0.122 mg per LSB,
rounded, clipped to int16).

A recording is a CSV file: a header ``ax,ay,az`` and one row of int16 values per sample, the
format ``mcuforge renode-suite --imu`` and ``mcuforge stream --csv`` read.

Usage: ``python record.py`` writes the recordings listed in RECORDINGS to recordings/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import synth

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "toolchain"))  # run from a checkout without installing

from mcuforge.pipeline.recording import write_csv  # noqa: E402

RATE_HZ = 50
FINE = 4  # simulation steps per sample
MG_PER_LSB = 0.122  # LSM9DS1 at +-4 g
#: name -> (seed, script): the script is a list of (label, seconds); a gesture's seconds are its
#: user's duration (the number is ignored), "idle" stretches hold the wand nearly still.
RECORDINGS: dict[str, tuple[int, list[tuple[str, float]]]] = {
    "wing_ring_slope": (7, [("idle", 5.5), ("wing", 0), ("idle", 4.0), ("ring", 0),
                            ("idle", 4.0), ("slope", 0), ("idle", 4.5)]),
    "ring_twice": (26, [("idle", 5.5), ("ring", 0), ("idle", 5.0), ("ring", 0), ("idle", 4.5)]),
    "idle_only": (2, [("idle", 14.0)]),
}


def render(seed: int, script: list[tuple[str, float]]) -> np.ndarray:
    """The recording as int16 [n, 3] in LSM9DS1 units."""
    rng = np.random.default_rng(seed)
    user = synth.random_user(rng)
    durations = [s if label == "idle" else user.duration_s * rng.uniform(0.85, 1.15)
                 for label, s in script]
    rate = RATE_HZ * FINE
    n = int(round(sum(durations) * RATE_HZ)) * FINE
    pos = 0.005 * synth.smooth_noise(rng, n, 3, 2.0, rate)  # hand tremor
    angles = np.deg2rad(user.wobble_deg) * synth.smooth_noise(rng, n, 3, 1.5, rate) * 0.5
    offset = np.zeros(3)
    start = 0
    for (label, _), seconds in zip(script, durations, strict=True):
        m = int(round(seconds * rate))
        if label != "idle":
            path = synth.gesture_path(rng, label, m, user.mirror) * user.size_m
            plane = np.zeros((m, 3))
            plane[:, 0], plane[:, 2] = path[:, 0], path[:, 1]  # drawn in the x-z plane
            pos[start : start + m] += offset + plane - plane[0]
            offset = offset + plane[-1] - plane[0]
        else:
            pos[start : start + m] += offset
        start += m
    pos[start:] += offset
    accel = synth.second_derivative(pos, 1.0 / rate) + np.array([0.0, 0.0, 9.81])
    ca, sa, cb, sb = np.cos(angles[:, 0]), np.sin(angles[:, 0]), np.cos(angles[:, 1]), np.sin(
        angles[:, 1])
    zero, one = np.zeros(n), np.ones(n)
    rot_x = np.stack([one, zero, zero, zero, ca, -sa, zero, sa, ca], 1).reshape(n, 3, 3)
    rot_y = np.stack([cb, zero, sb, zero, one, zero, -sb, zero, cb], 1).reshape(n, 3, 3)
    frame = np.einsum("ij,njk->nik", user.tilt, rot_x @ rot_y)
    mg = np.einsum("nji,nj->ni", frame, accel) / 9.81 * synth.G_MG
    mg = mg.reshape(-1, FINE, 3).mean(axis=1)
    mg += user.bias_mg + rng.normal(0, user.noise_mg, mg.shape)
    return np.clip(np.round(mg / MG_PER_LSB), -32768, 32767).astype(np.int16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "recordings")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (seed, script) in RECORDINGS.items():
        samples = render(seed, script)
        write_csv(args.out / f"{name}.csv", samples, ["ax", "ay", "az"])
        plan = ", ".join(label for label, _ in script if label != "idle") or "no gesture"
        print(f"{name}.csv: {len(samples)} samples ({len(samples) / RATE_HZ:.1f} s): {plan}")


if __name__ == "__main__":
    main()

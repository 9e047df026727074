"""Synthesise 3-axis accelerometer windows of wand gestures (wing, ring, slope, idle).

A window is 128 samples at 25 Hz (5.12 s) of x, y, z in milli-g, the input layout of the
magic-wand example (``[1, 128, 3, 1]``). A gesture is a path drawn in a vertical plane in front
of the user: "wing" a W, "ring" a circle, "slope" a line down to the lower left and then right
along the bottom. Each path segment follows a minimum-jerk profile; the accelerometer measures
the path's acceleration plus the reaction to gravity, both rotated into the device frame, plus
bias and noise.

Users differ in speed (gesture lasts 0.9-2.6 s), size (15-55 cm), how they hold the wand (tilt up
to 35 deg about a random axis, and which way the plane faces), wrist wobble, sensor bias and
noise. Each repetition varies again around the user's style. Held-out users are drawn from the
same population with other seeds and never appear in training.

"idle" windows: holding still, slow drift, walking (1.6-2.2 Hz bobbing), small random hand
movements, shaking, and put-down/pick-up tilts.

Usage: ``python synth.py`` writes data/train.npz and data/heldout.npz (x float32 mg [N, 128, 3],
y, user).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE_HZ = 25.0
WINDOW = 128
G_MG = 1000.0
LABELS = ["wing", "ring", "slope", "idle"]
DATA_DIR = Path(__file__).resolve().parent / "data"

_SHAPES = {
    "wing": np.array([[0.0, 1.0], [0.25, 0.0], [0.5, 0.6], [0.75, 0.0], [1.0, 1.0]]),
    "slope": np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]),
}


@dataclass(frozen=True)
class User:
    """How one person performs gestures."""

    duration_s: float  # time for one gesture
    size_m: float
    tilt: np.ndarray  # 3x3 rotation: device frame relative to the neutral grip
    mirror: bool  # left-handed users draw mirrored shapes
    wobble_deg: float
    bias_mg: np.ndarray
    noise_mg: float


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about a unit axis (Rodrigues)."""
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def random_user(rng: np.random.Generator) -> User:
    """Draw one user's style."""
    tilt = rotation(rng.standard_normal(3), np.deg2rad(rng.uniform(0, 35)))
    return User(
        duration_s=rng.uniform(0.9, 2.6),
        size_m=rng.uniform(0.15, 0.55),
        tilt=tilt,
        mirror=bool(rng.random() < 0.25),
        wobble_deg=rng.uniform(2, 15),
        bias_mg=rng.normal(0, 25, 3),
        noise_mg=rng.uniform(5, 30),
    )


def min_jerk_path(points: np.ndarray, n: int) -> np.ndarray:
    """Sample a polyline with minimum-jerk motion on each segment, n samples, shape (n, 2)."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    bounds = np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
    u = np.linspace(0.0, 1.0, n)
    seg = np.clip(np.searchsorted(bounds, u, side="right") - 1, 0, len(lengths) - 1)
    tau = (u - bounds[seg]) / (bounds[seg + 1] - bounds[seg])
    s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    return points[seg] + s[:, None] * (points[seg + 1] - points[seg])


def gesture_path(rng: np.random.Generator, label: str, n: int, mirror: bool) -> np.ndarray:
    """Planar path (n, 2), roughly unit size, with per-repetition jitter."""
    if label == "ring":
        start = rng.uniform(0, 2 * np.pi)
        # Angle follows a minimum-jerk profile: start and stop at rest.
        tau = np.linspace(0, 1, n)
        theta = start - 2 * np.pi * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
        radius = 0.5 * (1 + rng.normal(0, 0.05)) * np.array([1.0, rng.uniform(0.8, 1.2)])
        path = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    else:
        pts = _SHAPES[label] + rng.normal(0, 0.06, _SHAPES[label].shape)
        path = min_jerk_path(pts, n)
    if mirror:
        path[:, 0] = -path[:, 0]
    return path


def second_derivative(x: np.ndarray, dt: float) -> np.ndarray:
    """Central second difference along axis 0 (linear extrapolation at the edges)."""
    padded = np.concatenate([2 * x[:1] - x[1:2], x, 2 * x[-1:] - x[-2:-1]], axis=0)
    return (padded[2:] - 2 * padded[1:-1] + padded[:-2]) / dt**2


def smooth_noise(
    rng: np.random.Generator, n: int, dims: int, cutoff_hz: float, rate_hz: float
) -> np.ndarray:
    """Low-pass Gaussian noise, unit std, by zeroing FFT bins above the cutoff."""
    spec = np.fft.rfft(rng.standard_normal((n, dims)), axis=0)
    spec[np.fft.rfftfreq(n, 1 / rate_hz) > cutoff_hz] = 0
    out = np.fft.irfft(spec, n, axis=0)
    return out / (out.std(axis=0, keepdims=True) + 1e-9)


def render(rng: np.random.Generator, user: User, label: str) -> np.ndarray:
    """One window (WINDOW, 3) in mg for a gesture or idle label."""
    dt = 1.0 / RATE_HZ
    fine = 4  # simulate at 100 Hz, then average down to 25 Hz like a sensor's low-pass filter
    n = WINDOW * fine
    rate = RATE_HZ * fine
    pos = np.zeros((n, 3))  # metres, world frame (x right, y forward, z up)
    angles = np.deg2rad(user.wobble_deg) * smooth_noise(rng, n, 3, 1.5, rate) * 0.5
    if label == "idle":
        kind = rng.integers(6)
        t = np.arange(n) * dt / fine
        if kind == 1:
            pos += 0.05 * smooth_noise(rng, n, 3, 0.3, rate)
        elif kind == 2:
            f = rng.uniform(1.6, 2.2)
            pos[:, 2] += rng.uniform(0.01, 0.04) * np.sin(2 * np.pi * f * t)
            pos[:, 0] += rng.uniform(0.005, 0.02) * np.sin(np.pi * f * t)
        elif kind == 3:
            pos += rng.uniform(0.02, 0.08) * smooth_noise(rng, n, 3, 1.0, rate)
        elif kind == 4:
            pos += rng.uniform(0.005, 0.02) * smooth_noise(rng, n, 3, 6.0, rate)
        elif kind == 5:
            angles[:, 0] += np.deg2rad(rng.uniform(-60, 60)) / (1 + np.exp(-(t - t.mean())))
    else:
        duration = user.duration_s * rng.uniform(0.85, 1.15)
        m = int(duration * RATE_HZ * fine)
        path = gesture_path(rng, label, m, user.mirror) * user.size_m * rng.uniform(0.85, 1.15)
        start = int(rng.integers(0, n - m))
        plane = np.zeros((m, 3))
        plane[:, 0], plane[:, 2] = path[:, 0], path[:, 1]  # drawn in the x-z plane
        pos[start : start + m] = plane - plane[0]
        pos[start + m :] = plane[-1] - plane[0]
        pos += 0.005 * smooth_noise(rng, n, 3, 2.0, rate)  # hand tremor
    accel_world = second_derivative(pos, dt / fine)  # m/s^2
    specific_force = accel_world + np.array([0.0, 0.0, 9.81])  # what an accelerometer feels
    # Device frame = tilt @ wrist(t); the sensor reads the force in that frame.
    ca, sa, cb, sb = (
        np.cos(angles[:, 0]),
        np.sin(angles[:, 0]),
        np.cos(angles[:, 1]),
        np.sin(angles[:, 1]),
    )
    zero, one = np.zeros(n), np.ones(n)
    rot_x = np.stack([one, zero, zero, zero, ca, -sa, zero, sa, ca], 1).reshape(n, 3, 3)
    rot_y = np.stack([cb, zero, sb, zero, one, zero, -sb, zero, cb], 1).reshape(n, 3, 3)
    frame = np.einsum("ij,njk->nik", user.tilt, rot_x @ rot_y)
    out = np.einsum("nji,nj->ni", frame, specific_force)
    mg = out / 9.81 * G_MG
    mg = mg.reshape(WINDOW, fine, 3).mean(axis=1)
    mg += user.bias_mg + rng.normal(0, user.noise_mg, mg.shape)
    return np.clip(np.round(mg), -4000, 4000).astype(np.float32)


def build_split(seed: int, users: int, reps: int) -> dict[str, np.ndarray]:
    """``users`` random users, each performing every label ``reps`` times."""
    rng = np.random.default_rng(seed)
    xs, ys, us = [], [], []
    for u in range(users):
        user = random_user(rng)
        for label_id, label in enumerate(LABELS):
            for _ in range(reps):
                xs.append(render(rng, user, label))
                ys.append(label_id)
                us.append(u)
    return {"x": np.stack(xs), "y": np.array(ys, dtype=np.int64), "user": np.array(us)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--train-users", type=int, default=48)
    parser.add_argument("--heldout-users", type=int, default=12)
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument("--heldout-reps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train = build_split(args.seed, args.train_users, args.reps)
    held = build_split(args.seed + 1, args.heldout_users, args.heldout_reps)
    for name, data in (("train", train), ("heldout", held)):
        np.savez(args.out / f"{name}.npz", labels=np.array(LABELS), **data)
        print(f"{name}: {len(data['y'])} windows from {len(np.unique(data['user']))} users")


if __name__ == "__main__":
    main()

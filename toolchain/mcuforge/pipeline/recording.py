"""Sensor recordings: CSV files of int16 samples for pipelines that are not audio.

One row per sample, one column per channel, integers in the sensor's own units (what the
pipeline's front end takes: for the LSM9DS1 at +-4 g, 0.122 mg per LSB). A first row that is not
numbers is a header (``ax,ay,az``); empty lines and lines starting with ``#`` are skipped.
``mcuforge stream --csv`` sends them over the serial line, ``mcuforge renode-suite --imu`` gives
them to Renode's emulated sensor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.errors import RecordingError


def read_csv(path: Path, channels: int) -> np.ndarray:
    """The recording as int16 [n, channels]."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not a text (CSV) file") from None
    rows: list[list[int]] = []
    first = True
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header, first = first, False
        try:
            values = [int(c) for c in line.split(",")]
        except ValueError:
            if header:
                continue
            raise RecordingError(f"{path}:{number}: not {channels} integers: {line!r}") from None
        if len(values) != channels:
            raise RecordingError(f"{path}:{number}: {len(values)} values; the pipeline takes "
                                 f"{channels} channel(s) per sample")
        if any(not -32768 <= v <= 32767 for v in values):
            raise RecordingError(f"{path}:{number}: values must be int16 (-32768..32767): "
                                 f"{line!r}")
        rows.append(values)
    if not rows:
        raise RecordingError(f"{path}: the file holds no samples")
    return np.asarray(rows, dtype=np.int16).reshape(-1, channels)


def write_csv(path: Path, samples: np.ndarray, names: list[str]) -> None:
    """Writes samples [n, channels] with a header of channel names."""
    data = np.asarray(samples).reshape(len(samples), -1)
    lines = [",".join(names)] + [",".join(str(int(v)) for v in row) for row in data]
    Path(path).write_text("\n".join(lines) + "\n")

"""The demo's picture: front-end features and keyword scores over time, with what was said and
what the pipeline detected (docs/pipeline-scores.png)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mcuforge.pipeline import PipelineLayout
from mcuforge.pipeline.reference import run_reference
from mcuforge.plot import _pyplot

if TYPE_CHECKING:
    from mcuforge.demo import Recording


def plot_scores(layout: PipelineLayout, rec: Recording, path: Path) -> None:
    """Features (top) and per-keyword scores with the cutoff, the spoken keywords (shaded) and
    the detections (markers) below; the same values the device computed."""
    plt = _pyplot()
    rate = layout.spec.sample_rate
    trace = run_reference(layout, rec.samples)
    frames = np.stack([f.features for f in trace.frames]).astype(np.int32)
    t_frames = np.array([f.end_sample for f in trace.frames]) / rate
    stage = layout.stages[0]
    runs = trace.outputs(0)
    t_runs = np.array([trace.frames[i].end_sample for i, _ in runs]) / rate
    scores = np.stack([o.astype(np.int32) for _, o in runs]) + stage.score_offset
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(14, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [1, 1.4]})
    ax0.imshow(frames.T, aspect="auto", origin="lower", cmap="magma",
               extent=(t_frames[0], t_frames[-1], 0, frames.shape[1]))
    ax0.set_ylabel("front end\nchannel")
    ax0.set_title(f"{layout.spec.name}: TFLM audio front end every 10 ms, streaming model every "
                  f"{1000 * stage.stride * layout.hop / rate:.0f} ms (scores 0..255)")
    colors = dict(zip(stage.labels, plt.get_cmap("tab10").colors, strict=False))
    k = layout.detectors[0].smoothing
    for d in layout.detectors:
        raw = scores[:, d.element]
        # what the detector compares with the cutoff: the mean of the last K scores (its ring
        # restarts at zeros after a detection; this line does not)
        mean = np.convolve(raw, np.ones(k) / k)[: len(raw)]
        ax1.plot(t_runs, raw, lw=0.6, alpha=0.35, color=colors[d.label])
        ax1.plot(t_runs, mean, lw=1.2, color=colors[d.label], label=d.label)
    cutoff = layout.detectors[0].cutoff
    ax1.axhline(cutoff, color="grey", ls="--", lw=0.8)
    ax1.text(t_runs[-1], cutoff - 14, f"cutoff {cutoff}", color="grey", fontsize=8, ha="right")
    for s in rec.spoken:
        ax1.axvspan(s.start / rate, s.end / rate, color=colors.get(s.label, "grey"), alpha=0.15)
        ax1.text(s.start / rate, 262, s.label, fontsize=8, color=colors.get(s.label, "grey"))
    for e in trace.events:
        ax1.plot([e.end_sample / rate], [e.mean], marker="v", ms=8, color=colors[e.label],
                 markeredgecolor="black")
    ax1.set_ylim(0, 275)
    ax1.set_ylabel("score")
    ax1.set_xlabel(f"seconds (thick: mean of the last {k} scores, thin: each score; shaded: "
                   "keyword said; triangles: detections)")
    ax1.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, pil_kwargs={"optimize": True})
    plt.close(fig)

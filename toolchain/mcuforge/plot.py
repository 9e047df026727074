"""Pictures: the memory plan as a timeline, instructions per layer as bars (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mcuforge.compiler.plan import MemoryPlan
from mcuforge.errors import McuforgeError

if TYPE_CHECKING:
    from mcuforge.bench import BenchReport


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise McuforgeError("plotting needs matplotlib: pip install 'mcuforge[plot]'") from None
    return plt


def plot_plan(plan: MemoryPlan, title: str, path: Path) -> None:
    """Each buffer as a box: steps on x, arena offset on y."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 6))
    cmap = plt.get_cmap("tab20")
    for i, b in enumerate(sorted(plan.buffers, key=lambda b: b.first)):
        ax.add_patch(
            plt.Rectangle(
                (b.first - 0.45, b.offset),
                b.last - b.first + 0.9,
                b.size,
                facecolor=cmap(i % 20),
                edgecolor="black",
                linewidth=0.5,
            )
        )
        if b.size > plan.arena_bytes * 0.04:
            ax.text(b.first - 0.35, b.offset + b.size / 2, b.label, fontsize=7, va="center")
    ax.axhline(plan.arena_bytes, color="red", linestyle="--", label=f"arena {plan.arena_bytes} B")
    ax.axhline(
        plan.lower_bound, color="gray", linestyle=":", label=f"lower bound {plan.lower_bound} B"
    )
    ax.set_xlim(-1, max(plan.steps, 1))
    ax.set_ylim(0, max(plan.arena_bytes, 1) * 1.08)
    ax.set_xlabel("step")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{title}: memory plan")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_layers(report: BenchReport, path: Path) -> None:
    """Instructions per layer, coloured by op type."""
    plt = _pyplot()
    if not report.layers:
        raise McuforgeError("no per-layer profile to plot")
    ops = sorted({layer.op for layer in report.layers})
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(max(6, len(report.layers) * 0.35), 5))
    ax.bar(
        [layer.step for layer in report.layers],
        [layer.instructions for layer in report.layers],
        color=[cmap(ops.index(layer.op) % 10) for layer in report.layers],
    )
    for i, op in enumerate(ops):
        ax.bar([], [], color=cmap(i % 10), label=op)
    ax.set_xlabel("step")
    ax.set_ylabel("instructions")
    ax.set_title(
        f"{report.model} on {report.board}: {report.instructions_per_inference} "
        "instructions per inference"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""S2's plots: training loss and first-layer gradient norm per architecture, ReLU solid and sigmoid dashed."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from annstudy.report import figures, interactive
from annstudy.report.document import Chart
from annstudy.report.interactive import Panel
from annstudy.studies.activations.results import VariantResult

STYLES = {"relu": "-", "sigmoid": "--"}


def figure(results: list[VariantResult], path: Path, title: str) -> Path:
    """Training loss (left) and first-layer |grad| (right, log scale): ReLU solid, sigmoid dashed."""
    colors = figures.arch_colors()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(14, 5.5))
    for r in results:
        if r.record.curves.empty:
            continue
        label = f"{r.arch} {r.act}"
        figures.seed_band(ax_loss, r.record.curves, "step", "train_loss", colors[r.arch], label, STYLES.get(r.act, ":"))
        figures.seed_band(ax_grad, r.record.curves, "step", "grad_norm", colors[r.arch], None, STYLES.get(r.act, ":"))
    ax_loss.set(xlabel="training step (batches of 50)", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_grad.set(
        xlabel="training step (batches of 50)",
        ylabel="‖∂loss/∂W₁‖ (L2 norm)",
        title="First-layer gradient norm (log scale)",
    )
    ax_grad.set_yscale("log")
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False, bbox_to_anchor=(0.5, -0.08)
    )
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return figures.save_figure(fig, path)


def curve_charts(results: list[VariantResult], fallback: Path) -> list[Chart]:
    """The figure's two panels to explore in the HTML: every seed of every architecture and activation."""
    return interactive.curve_charts(
        {f"{r.arch} {r.act}": r.record.curves for r in results},
        x="step",
        series="variant",
        panels=[Panel("train_loss", "training loss"), Panel("grad_norm", "first-layer gradient norm ‖∂L/∂W₁‖", True)],
        study="S2",
        fallback=fallback,
        caption="S2 {name} per seed (thin) and mean (thick), by architecture and activation.",
    )

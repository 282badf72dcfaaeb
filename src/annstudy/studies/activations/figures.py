"""S2's plots: training loss and first-layer gradient (RMS per weight) along training, and that gradient by depth.

The gradient is drawn as RMS per weight (‖∂L/∂W₁‖ / √(number of first-layer weights)) everywhere: the raw
norms of a 25,088-weight and a 144-weight layer differ by their size alone and cannot be compared.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from annstudy.report import figures, interactive, palette
from annstudy.report.document import Chart
from annstudy.report.interactive import Panel
from annstudy.studies.activations.claims import DepthRatio
from annstudy.studies.activations.results import EARLY_STEPS, VariantResult

STYLES = {"relu": "-", "sigmoid": "--"}
MARKERS = {"relu": "o", "sigmoid": "s"}
NAMES = {"relu": "ReLU"}
RMS_LABEL = "first-layer gradient, RMS per weight"


def figure(results: list[VariantResult], path: Path, title: str) -> Path:
    """Training loss (left) and first-layer gradient RMS per weight (right, log scale): ReLU solid, sigmoid dashed."""
    colors = palette.arch_colors()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(14, 5.5))
    for r in results:
        curves = r.rms_curves()
        if curves.empty:
            continue
        style = STYLES.get(r.act, ":")
        figures.seed_band(ax_loss, curves, "step", "train_loss", colors[r.arch], f"{r.arch} {r.act}", style)
        figures.seed_band(ax_grad, curves, "step", "grad_rms", colors[r.arch], None, style)
    ax_loss.set(xlabel="training step (batches of 50)", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_grad.set(xlabel="training step (batches of 50)", ylabel="‖∂L/∂W₁‖ / √(weights)", title=f"{RMS_LABEL} (log)")
    ax_grad.set_yscale("log")
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False, bbox_to_anchor=(0.5, -0.08)
    )
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return figures.save_figure(fig, path)


def _seed_points(ax, results: list[VariantResult], depth: dict[str, int]) -> None:
    """Left panel: every seed's early RMS (hollow where the run did not train) and the geometric mean per depth."""
    for act, color in palette.ACTIVATION_COLORS.items():
        runs = sorted((r for r in results if r.act == act and r.early_rms_per_seed()), key=lambda r: depth[r.arch])
        if not runs:
            continue
        offset = -0.08 if act == "relu" else 0.08
        xs, means = [], []
        for r in runs:
            values = np.array(r.early_rms_per_seed())
            x = depth[r.arch] + offset
            face = color if r.trained else "none"
            ax.scatter([x] * len(values), values, s=22, marker=MARKERS[act], facecolors=face, edgecolors=color)
            xs.append(x)
            means.append(float(10 ** np.log10(values[values > 0]).mean()) if (values > 0).any() else np.nan)
        label = f"{NAMES.get(act, act)} (geometric mean; hollow: run did not train)"
        ax.plot(xs, means, STYLES[act], color=color, lw=1.6, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="depth (weight layers)", ylabel="‖∂L/∂W₁‖ / √(weights)", title=f"{RMS_LABEL}, per seed")
    ax.legend(frameon=False, fontsize=8)


def _ratio_panel(ax, ratios: list[DepthRatio], threshold: float) -> None:
    """Right panel: sigmoid / ReLU per depth with its 95 % interval, and the threshold that counts as vanished."""
    color = palette.ACTIVATION_COLORS["sigmoid"]
    for r in ratios:
        if np.isfinite(r.low):
            ax.plot([r.depth, r.depth], [r.low, r.high], color=color, lw=2)
        ax.plot(r.depth, r.ratio, "o", color=color, ms=6)
        ax.annotate(r.arch, (r.depth, r.ratio), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.axhline(threshold, ls="--", color="0.35", lw=1.2, label=f"{threshold:g}×: counts as vanished")
    ax.axhline(1.0, ls=":", color="0.6", lw=1, label="1×: equal")
    ax.set_yscale("log")
    ax.set(xlabel="depth (weight layers)", ylabel="sigmoid / ReLU (RMS per weight)", title="Ratio, 95 % interval")
    ax.legend(frameon=False, fontsize=8, loc="lower left")


def depth_figure(
    results: list[VariantResult], ratios: list[DepthRatio], depth: dict[str, int], threshold: float, path: Path
) -> Path:
    """The depth answer in one picture: early first-layer gradient by depth (left), sigmoid / ReLU (right)."""
    fig, (ax_rms, ax_ratio) = plt.subplots(1, 2, figsize=(12, 4.6))
    _seed_points(ax_rms, results, depth)
    _ratio_panel(ax_ratio, ratios, threshold)
    ticks = sorted(set(depth[r.arch] for r in results))
    for ax in (ax_rms, ax_ratio):
        ax.set_xticks(ticks)
    fig.suptitle(f"S2: first-layer gradient over the first {EARLY_STEPS} steps of every run, by depth", fontsize=12)
    fig.tight_layout()
    return figures.save_figure(fig, path)


def curve_charts(results: list[VariantResult], fallback: Path) -> list[Chart]:
    """The figure's two panels to explore in the HTML: every seed of every architecture and activation."""
    return interactive.curve_charts(
        {f"{r.arch} {r.act}": r.rms_curves() for r in results},
        x="step",
        series="variant",
        panels=[Panel("train_loss", "training loss"), Panel("grad_rms", RMS_LABEL, True)],
        study="S2",
        fallback=fallback,
        caption="S2 {name} per seed (thin) and mean (thick), by architecture and activation.",
    )

"""S3's plots: loss and validation accuracy per variant, the interactive charts, the schedule's passes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from annstudy.report import figures, interactive, palette
from annstudy.report.document import Chart
from annstudy.report.interactive import Panel
from annstudy.studies.learning_rates.results import label
from annstudy.studies.variants import Variant


def colors(variants: tuple[str, ...]) -> dict[str, tuple]:
    """One colour per variant, fixed by params order, so a variant keeps its colour across figures."""
    return palette.ordered_colors(variants)  # the interactive charts' colours, in the same order


def curve_charts(records: list[Variant], fallback: Path) -> list[Chart]:
    """Every variant's curves, every seed, to explore in the HTML (the constant rates, the schedule, Adam)."""
    return interactive.curve_charts(
        {label(rec.name): rec.curves for rec in records},
        x="epoch",
        series="variant",
        panels=[Panel("val_acc", "validation accuracy"), Panel("train_loss", "training loss", True)],
        study="S3",
        fallback=fallback,
        caption="S3 {name} per seed (thin) and mean (thick): constant rates, the step schedule and Adam.",
    )


def _draw(ax_loss, ax_acc, rec: Variant, color) -> bool:
    """One variant on both panels: its seed band, × at each diverged seed's last point, its rate drops.

    Returns whether it drew a rate drop (the accuracy panel's title says what the dotted lines are).
    """
    c = rec.curves
    n_div, n = len(rec.diverged), len(rec.run["seeds"])
    name = label(rec.name) + (f" ({n_div}/{n} diverged)" if n_div else "")
    if c.empty:  # diverged before the first log step: nothing to draw, but it stays in the legend
        ax_loss.plot([], [], "x", color=color, label=f"{name}, before the first log")
        return False
    figures.seed_band(ax_loss, c, "epoch", "train_loss", color, name)
    figures.seed_band(ax_acc, c, "epoch", "val_acc", color, None)
    for seed, _step in rec.diverged:
        rows = c[c["seed"] == seed]
        if not rows.empty:
            ax_loss.plot(rows["epoch"].iloc[-1], rows["train_loss"].iloc[-1], "x", color=color, ms=9)
    drops = False
    for seed_row in rec.run["seeds"]:
        for change in seed_row["lr_changes"]:
            ax_acc.axvline(change["epoch"], color=color, lw=0.8, ls=":", alpha=0.7)
            drops = True
    return drops


def curves_figure(records: list[Variant], colors: dict, path: Path, title: str) -> Path:
    """Training loss (left, log scale) and validation accuracy (right), one curve per variant.

    Diverged seeds are drawn up to their last finite log step and marked with an ×.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(14, 5.5))
    drops = False
    for rec in records:
        drops = _draw(ax_loss, ax_acc, rec, colors[rec.name]) or drops
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Training loss (log scale)")
    ax_loss.set_yscale("log")
    ax_acc.set(
        xlabel="epoch",
        ylabel="validation accuracy",
        title="Validation accuracy" + (" (dotted: rate drops)" if drops else ""),
    )
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.06))
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return figures.save_figure(fig, path)


def _pass_panel(ax, i: int, passes: dict, palette) -> None:
    """Pass ``i`` of every seed: its validation curve, the drops it trains with, the plateau it found."""
    rates: list[float] = []
    for c, (seed, seed_passes) in enumerate(passes.items()):
        if i >= len(seed_passes):
            continue
        p = seed_passes[i]
        rates = [q["lr"] for q in seed_passes[: i + 1]]
        epochs = list(range(1, len(p["val_acc"]) + 1))
        ax.plot(epochs, p["val_acc"], "-", color=palette[c], lw=1.2, label=f"seed {seed}")
        for earlier in seed_passes[:i]:  # the drops this pass trains with
            ax.axvline(earlier["plateau"], color=palette[c], lw=0.8, ls=":", alpha=0.7)
        if p["plateau"] is not None:
            ax.plot(p["plateau"], p["val_acc"][p["plateau"] - 1], "o", color=palette[c], ms=8, mfc="none")
    ax.set(xlabel="epoch", title=f"pass {i + 1}: " + " → ".join(f"{r:g}" for r in rates))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def passes_figure(rec: Variant, path: Path, title: str) -> Path:
    """One panel per pass: every seed's full-validation accuracy per epoch, a dot at the plateau found on it.

    Why: the drop epochs are read off these curves (the exercise's "by eye" step); the figure shows
    what the rule saw.
    """
    passes = rec.run.get("passes", {})
    n = max((len(p) for p in passes.values()), default=1)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.2), squeeze=False, sharey=True)
    palette = sns.color_palette("colorblind", n_colors=max(len(passes), 3))
    for i, ax in enumerate(axes[0]):
        _pass_panel(ax, i, passes, palette)
    axes[0][0].set_ylabel("validation accuracy (full split)")
    axes[0][0].legend(fontsize=8, ncol=2)
    fig.suptitle(title + " — ○ plateau found, dotted: the drops a pass trains with", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return figures.save_figure(fig, path)

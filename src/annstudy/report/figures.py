"""Figures of the report (matplotlib/seaborn, high-DPI PNG).

Every architecture keeps one colour in every figure (:func:`arch_colors`, fixed by the
registry order, not by which architectures a run happens to include), the same one as in the
interactive charts: both read :mod:`annstudy.report.palette`. Figures keep an opaque white
background in both colour schemes: the HTML shows them on a white card in dark mode, where the
black axis text stays readable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from annstudy.report import palette  # noqa: E402
from annstudy.report.stats import Accuracy  # noqa: E402

DPI = 110  # 14-inch figures come out 1,540 px wide: sharp at the page width, and the HTML stays under 3 MB
sns.set_theme(context="notebook", style="whitegrid")


def arch_colors() -> dict[str, str]:
    """Every registered architecture's colour (report/palette.py), the same in the PNGs and the charts."""
    return palette.arch_colors()


def save_figure(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def seed_band(ax, frame: pd.DataFrame, x: str, y: str, color, label: str | None, style: str = "-") -> None:
    """Mean over seeds of ``y`` at each ``x`` with a ±1 std band."""
    g = frame.groupby(x)[y]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    ax.plot(mean.index, mean.values, style, color=color, label=label, lw=1.6)
    ax.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.18, lw=0)


def comparison_panel(curves: Mapping[str, pd.DataFrame], finals: pd.DataFrame, path: Path, title: str) -> Path:
    """S1 2x2 panel: loss; train/val accuracy; test vs final train accuracy; val vs train accuracy.

    ``curves[arch]`` is the tidy per-seed log; ``finals`` has one row per (arch, seed)
    with train_acc and test_acc from the evaluate stage. Training accuracy along training is the
    eval-mode one on a fixed training subset (``train_acc_eval``) where logged, so it compares
    with the eval-mode validation accuracy (a running train-mode mean lags the weights and runs
    with dropout on: it makes a dropout network look better on validation than on training).
    """
    colors = arch_colors()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (ax_loss, ax_acc), (ax_test, ax_gen) = axes
    for arch, frame in curves.items():
        if frame.empty:
            continue
        c = colors[arch]
        train = "train_acc_eval" if "train_acc_eval" in frame else "train_acc"
        seed_band(ax_loss, frame, "step", "train_loss", c, arch)
        seed_band(ax_acc, frame, "step", train, c, arch, "-")
        seed_band(ax_acc, frame, "step", "val_acc", c, None, "--")
        mean = frame.groupby("step")[[train, "val_acc"]].mean()
        ax_gen.plot(mean[train], mean["val_acc"], "-", color=c, lw=1.4, label=arch)
        ax_gen.plot(mean[train].iloc[-1], mean["val_acc"].iloc[-1], "o", color=c, ms=6)
    ax_loss.set(xlabel="training step (batches)", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_loss.set_yscale("log")
    ax_acc.set(
        xlabel="training step (batches)",
        ylabel="accuracy (eval mode)",
        title="Accuracy: train subset (solid), val (dashed)",
    )
    for arch, g in finals.groupby("arch", sort=False):
        ax_test.errorbar(
            g["train_acc"].mean(),
            g["test_acc"].mean(),
            xerr=g["train_acc"].std(ddof=1) if len(g) > 1 else None,
            yerr=g["test_acc"].std(ddof=1) if len(g) > 1 else None,
            fmt="o",
            color=colors[arch],
            ms=8,
            capsize=3,
            label=arch,
        )
        ax_test.scatter(g["train_acc"], g["test_acc"], color=colors[arch], s=12, alpha=0.45)
    for ax in (ax_test, ax_gen):
        lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
        hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([lo, hi], [lo, hi], ":", color="gray", lw=1, label="y = x")
        ax.set_xlim(lo, hi), ax.set_ylim(lo, hi)
    ax_test.set(
        xlabel="final train accuracy (eval mode)",
        ylabel="test accuracy",
        title="Test vs final train accuracy (mean ± std, dots: seeds)",
    )
    ax_gen.set(
        xlabel="train accuracy (logged, eval mode, fixed subset)",
        ylabel="validation accuracy (logged, eval mode)",
        title="Validation vs train accuracy along training",
    )
    handles, labels = ax_loss.get_legend_handles_labels()
    if labels:  # none when every seed of every architecture diverged before its first log step
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(title, fontsize=14)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return save_figure(fig, path)


def _is_rgb(images: torch.Tensor) -> bool:
    """[N, C, H, W] with three colour channels (else the first channel is drawn in gray)."""
    return images.shape[1] == 3


def weight_grid(weight: torch.Tensor, image_shape: tuple[int, int, int], path: Path, title: str) -> Path:
    """One tile per first-layer unit/filter (MLP rows reshaped to the image size).

    Gray inputs: gray scale symmetric around 0. RGB inputs: a colour tile, each channel
    mapped from [-max|w|, max|w|] to [0, 1] (mid-gray = 0).
    """
    w = weight.detach().cpu().float()
    tiles = w.reshape(w.shape[0], *image_shape) if w.dim() == 2 else w  # [N, C, h, w]
    n = tiles.shape[0]
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2 + 0.5), squeeze=False)
    lim = float(tiles.abs().max()) or 1.0
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if _is_rgb(tiles):
            ax.imshow((tiles[i].permute(1, 2, 0) / lim + 1).div(2).numpy(), interpolation="nearest")
        else:
            ax.imshow(tiles[i, 0].numpy(), cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _tiles(weight: torch.Tensor, image_shape: tuple[int, int, int]) -> torch.Tensor:
    """First-layer weights as [N, C, h, w] tiles (MLP rows reshaped to the image size)."""
    w = weight.detach().cpu().float()
    return w.reshape(w.shape[0], *image_shape) if w.dim() == 2 else w


def weight_change(init: torch.Tensor, trained: torch.Tensor) -> float:
    """‖W − W₀‖ / ‖W₀‖ (Frobenius): how far training moved the first layer from its initialisation."""
    w0, w = init.detach().cpu().double(), trained.detach().cpu().double()
    return float((w - w0).norm() / w0.norm().clamp_min(1e-30))


def weight_pair_grid(
    init: torch.Tensor,
    trained: torch.Tensor,
    image_shape: tuple[int, int, int],
    path: Path,
    title: str,
    max_tiles: int = 16,
) -> Path:
    """The first ``max_tiles`` units/filters at initialisation (left) and trained (right), same units in the same
    places, on one gray scale symmetric around 0 with a colour bar: what training added is what differs.

    RGB inputs: colour tiles, each channel mapped from [−max|w|, max|w|] to [0, 1] (mid-gray = 0, no colour bar).
    """
    before, after = _tiles(init, image_shape)[:max_tiles], _tiles(trained, image_shape)[:max_tiles]
    n = before.shape[0]
    cols = min(4, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    lim = float(max(before.abs().max(), after.abs().max())) or 1.0
    widths = [1.0] * cols + [0.3] + [1.0] * cols  # a narrow gap column between the two blocks
    fig, axes = plt.subplots(
        rows,
        2 * cols + 1,
        figsize=(2 * cols * 0.95 + 1.3, rows * 0.95 + 0.8),
        squeeze=False,
        gridspec_kw={"width_ratios": widths, "wspace": 0.08, "hspace": 0.08},
    )
    image = None
    for block, tiles in enumerate((before, after)):
        for i in range(rows * cols):
            ax = axes[i // cols, block * (cols + 1) + i % cols]
            ax.axis("off")
            if i >= n:
                continue
            if _is_rgb(tiles):
                ax.imshow((tiles[i].permute(1, 2, 0) / lim + 1).div(2).numpy(), interpolation="nearest")
            else:
                image = ax.imshow(tiles[i, 0].numpy(), cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
        axes[0, block * (cols + 1)].set_title(["initialisation", "trained"][block], fontsize=9, loc="left")
    for row in axes[:, cols]:
        row.axis("off")
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02)
        bar.set_label("weight", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def literal(label: str) -> str:
    """``label`` as matplotlib must draw it: class names are data, and an unescaped "$" would start
    mathtext (``$\\frac{1}$`` fails to parse and would take the whole report down)."""
    return label.replace("$", r"\$")


def confusion_matrix(confusion: np.ndarray, classes: list[str], path: Path, title: str) -> Path:
    """Row-normalised confusion matrix (colour = recall share), annotated with counts."""
    confusion = np.asarray(confusion)
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8.5, 7))
    sns.heatmap(
        share,
        annot=confusion,
        fmt="d",
        cmap="Blues",
        vmin=0,
        vmax=1,
        ax=ax,
        xticklabels=[literal(c) for c in classes],
        yticklabels=[literal(c) for c in classes],
        cbar_kws={"label": "share of true class"},
        annot_kws={"fontsize": 8},
    )
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
    fig.tight_layout()
    return save_figure(fig, path)


def misclassified_grid(
    images: torch.Tensor, true: list[int], pred: list[int], classes: list[str], path: Path, title: str
) -> Path:
    """Test images the model got wrong, titled 'true → predicted'."""
    n = len(true)
    cols = min(8, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            if _is_rgb(images):  # scaled to [-1, 1] by load_prepared
                ax.imshow(images[i].cpu().permute(1, 2, 0).add(1).div(2).clamp(0, 1).numpy(), interpolation="nearest")
            else:
                ax.imshow(images[i, 0].cpu().numpy(), cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{literal(classes[true[i]])}\n→ {literal(classes[pred[i]])}", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot: an accuracy, its two intervals and the published value it meets."""

    label: str
    mean: float
    seed: tuple[float, float]  # t-interval over seeds, or the range of the values when n <= 2
    sampling: tuple[float, float]  # Wilson interval over the test set
    reference: tuple[float, float] | None = None  # published range; (bar, bar) draws a bar as a line


def forest_row(label: str, acc: Accuracy, reference: tuple[float, float] | None = None) -> ForestRow:
    """A row from per-seed accuracies: the t-interval over seeds, or the range of the values when n <= 2."""
    seed = (min(acc.values), max(acc.values)) if acc.n < 3 else (acc.summary.ci_low, acc.summary.ci_high)
    return ForestRow(label, acc.mean, seed, acc.sampling, reference)


def forest_plot(
    rows: list[ForestRow],
    path: Path,
    title: str,
    xlabel: str = "test accuracy (%)",
    band_label: str = "published range",
    line_label: str = "exercise bar",
    width: float = 8,
) -> Path:
    """Accuracy per row with the seed interval (dark, thin) over the test-sampling interval (light, thick),
    and the published range as a gray band (a bar as a dotted line): colour-blind-safe colours."""
    dark, light = sns.color_palette("colorblind")[0], sns.color_palette("colorblind")[9]
    height = 0.55 * len(rows) + 1.9
    fig, ax = plt.subplots(figsize=(width, height))
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        if r.reference is not None:
            lo, hi = (100 * v for v in r.reference)
            if hi > lo:
                ax.fill_betweenx([y - 0.38, y + 0.38], lo, hi, color="0.82", lw=0)
            else:
                ax.plot([lo, lo], [y - 0.38, y + 0.38], ":", color="0.3", lw=1.5)
        ax.plot([100 * v for v in r.sampling], [y, y], color=light, lw=7, solid_capstyle="butt")
        ax.plot([100 * v for v in r.seed], [y, y], color=dark, lw=2)
        ax.plot(100 * r.mean, y, "o", color=dark, ms=6)
    ax.set_yticks(range(len(rows)), [r.label for r in reversed(rows)])
    handles = [
        plt.Line2D([], [], color=dark, lw=2, marker="o", label="mean, 95 % t-interval over seeds (range if n ≤ 2)"),
        plt.Line2D([], [], color=light, lw=7, label="Wilson 95 % over the test set"),
        plt.matplotlib.patches.Patch(color="0.82", label=band_label),
        plt.Line2D([], [], ls=":", color="0.3", label=line_label),
    ]
    kinds = {r.reference[1] > r.reference[0] for r in rows if r.reference is not None}
    handles = handles[:2] + [h for h, band in zip(handles[2:], (True, False)) if band in kinds]  # only what is drawn
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=9)
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1))  # the legend's two rows under the x label, whatever the height
    return save_figure(fig, path)

"""Figures of the S5/S6 small-network studies (built on the helpers of report/figures.py).

Curves are means over seeds with a ±1 std band (``figures.seed_band``); 3D surfaces and
decision regions show one member (named in the title), as an average of networks is
not a network that was trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from annstudy.report.figures import plt, save_figure, seed_band
from annstudy.report.palette import CYCLE

PALETTE = list(CYCLE[:10])  # the report's one palette (report/palette.py), as the interactive charts


def curves(
    frame: pd.DataFrame,
    x: str,
    series: Sequence[tuple],
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    log: bool = False,
    logx: bool = False,
) -> Path:
    """``series``: (column, label[, colour index, line style]) drawn as mean over seeds with a ±1 std band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (column, label, *look) in enumerate(series):
        colour, style = (look + [i, "-"][len(look) :])[:2]
        seed_band(ax, frame, x, column, PALETTE[colour], label, style)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if log:  # a ±1 std band can reach below 0: keep the axis on the means
        lowest = min(frame.groupby(x)[spec[0]].mean().min() for spec in series)
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(lowest, 1e-12) / 3)
    if logx:
        ax.set_xscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return save_figure(fig, path)


def panels(
    frame: pd.DataFrame,
    x: str,
    panels: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    path: Path,
    title: str,
    xlabel: str,
) -> Path:
    """Side-by-side :func:`curves`: ``panels`` = (y label, series) per panel."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.2), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels):
        for i, (column, label) in enumerate(series):
            seed_band(ax, frame, x, column, PALETTE[i], label)
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.legend(loc="best", frameon=True)
    fig.suptitle(title)
    return save_figure(fig, path)


def fit_1d(
    x: np.ndarray,
    y: np.ndarray,
    lines: Sequence[tuple[np.ndarray, np.ndarray, str, str]],
    path: Path,
    title: str,
    xlabel: str = "x",
    ylabel: str = "y",
) -> Path:
    """Data points and fitted curves: ``lines`` = (grid x, prediction, label, line style)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.scatter(x, y, s=9, color="0.55", alpha=0.7, label="data", lw=0)
    for i, (gx, gy, label, style) in enumerate(lines):
        ax.plot(gx, gy, style, color=PALETTE[i], lw=1.8, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return save_figure(fig, path)


def surfaces(
    axis: np.ndarray, panels: Sequence[tuple[str, np.ndarray]], x: np.ndarray, y: np.ndarray, path: Path, title: str
) -> Path:
    """One 3D subplot per network: its fitted surface over [-5, 5]^2 and the training points."""
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = plt.figure(figsize=(5.2 * cols, 4.6 * rows))
    gx, gy = np.meshgrid(axis, axis, indexing="xy")
    for i, (label, z) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        ax.plot_surface(gx, gy, z, cmap="viridis", alpha=0.75, lw=0, antialiased=True)
        ax.scatter(x[:, 0], x[:, 1], y, s=3, color="crimson", alpha=0.5, depthshade=False)
        ax.set(xlabel="x₁", ylabel="x₂", zlabel="y", title=label, zlim=(-0.2, 1.2))
        ax.view_init(elev=25, azim=-60)
    fig.suptitle(title)
    return save_figure(fig, path)


def error_maps(
    axis: np.ndarray, truth: np.ndarray, panels: Sequence[tuple[str, np.ndarray]], path: Path, title: str
) -> Path:
    """The true surface, then one map of fitted − true per network on one symmetric colour scale.

    One shared diverging scale (blue below, red above the truth; colour-blind-safe RdBu) makes the
    networks comparable at a glance: a paler map is a better fit, wherever it sits on the page.
    """
    extent = (axis[0], axis[-1], axis[0], axis[-1])
    lim = max((float(np.abs(z - truth).max()) for _, z in panels), default=1.0) or 1.0
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(1.9 * (len(panels) + 1) + 0.9, 2.6), squeeze=False)
    axes = axes[0]
    im_true = axes[0].imshow(truth, origin="lower", extent=extent, cmap="viridis", interpolation="nearest")
    axes[0].set_title("true surface", fontsize=9)
    for ax, (label, z) in zip(axes[1:], panels):
        im_err = ax.imshow(
            z - truth, origin="lower", extent=extent, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest"
        )
        ax.set_title(label, fontsize=9)
    for i, ax in enumerate(axes):
        ax.grid(False)
        ax.set_xticks([-5, 0, 5]), ax.set_yticks([-5, 0, 5] if i == 0 else [])
        ax.tick_params(labelsize=7)
    fig.colorbar(im_true, ax=axes[0], fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    if panels:
        bar = fig.colorbar(im_err, ax=list(axes[1:]), fraction=0.02, pad=0.02)
        bar.set_label("fitted − true", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def points_2d(x: np.ndarray, y: np.ndarray, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5.2))
    for k in np.unique(y):
        ax.scatter(*x[y == k].T, s=7, color=PALETTE[int(k)], label=f"class {k}", lw=0)
    ax.set(xlabel="x₁", ylabel="x₂", title=title, xlim=(-1, 1), ylim=(-1, 1), aspect="equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return save_figure(fig, path)


def decision_regions(
    axis: np.ndarray, pred: np.ndarray, point_sets: Sequence[tuple[str, np.ndarray, np.ndarray]], path: Path, title: str
) -> Path:
    """contourf of the predicted class over the grid, one panel per point set (train, test)."""
    classes = int(pred.max()) + 1
    cmap = plt.matplotlib.colors.ListedColormap(PALETTE[: max(classes, 2)])
    fig, axes = plt.subplots(1, len(point_sets), figsize=(5.6 * len(point_sets), 5.2), squeeze=False)
    for ax, (label, x, y) in zip(axes[0], point_sets):
        ax.contourf(axis, axis, pred, levels=np.arange(classes + 1) - 0.5, cmap=cmap, alpha=0.35)
        ax.scatter(*x.T, c=y, cmap=cmap, vmin=-0.5, vmax=classes - 0.5, s=7, edgecolors="k", linewidths=0.2)
        ax.set(xlabel="x₁", ylabel="x₂", title=label, aspect="equal")
    fig.suptitle(title)
    return save_figure(fig, path)


def signal_examples(
    x: np.ndarray, y: np.ndarray, names: Sequence[str], path: Path, title: str, per_class: int = 3
) -> Path:
    fig, axes = plt.subplots(
        per_class, len(names), figsize=(6.5 * len(names), 1.7 * per_class), sharex=True, squeeze=False
    )
    for k, name in enumerate(names):
        for row, i in enumerate(np.flatnonzero(y == k)[:per_class]):
            ax = axes[row, k]
            ax.plot(x[i], color=PALETTE[k], lw=0.9)
            ax.set(ylabel="amplitude")
            if row == 0:
                ax.set_title(name)
    for ax in axes[-1]:
        ax.set_xlabel("sample")
    fig.suptitle(title)
    return save_figure(fig, path)


Series = tuple[pd.DataFrame, str, str, str, str]  # frame, x column, y column, label, line style


def cost_panels(
    panels: Sequence[tuple[str, Sequence[Series]]],
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    goal: tuple[float, str] | None = None,
) -> Path:
    """One log-cost panel per (panel title, series); each series is a mean over seeds with a ±1 std band.

    Each series has its own frame (mini-batch costs and epoch-end costs live at different x), and
    its label is expected to carry the final cost, so the number sits beside its curve.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.4), squeeze=False)
    for i_ax, (ax, (name, series)) in enumerate(zip(axes[0], panels)):
        lowest = []
        for i, (frame, x, y, label, style) in enumerate(series):
            seed_band(ax, frame, x, y, PALETTE[i % 10], label, style)
            lowest.append(frame.groupby(x)[y].mean().min())
        if goal is not None:
            ax.axhline(goal[0], color="0.3", ls=":", lw=1.2, label=goal[1])
            lowest.append(goal[0])  # the goal line stays in view
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(min(lowest, default=1e-6), 1e-12) / 3)
        ax.set(xlabel=xlabel, ylabel=ylabel if i_ax == 0 else "", title=name)
        ax.legend(loc="upper right", frameon=True, fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def grouped_panels(
    frame: pd.DataFrame,
    x: str,
    group: str,
    panels: Sequence[tuple[str, Sequence[tuple[str, str, str]]]],
    path: Path,
    title: str,
    xlabel: str,
    group_label=str,
    log: Sequence[bool] = (),
) -> Path:
    """Side-by-side panels, one colour per value of ``group`` (e.g. a learning rate) and one line style per
    series: ``panels`` = (y label, [(column, series label, style)]); means over seeds with a ±1 std band."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.4), squeeze=False)
    for k, (ax, (ylabel, series)) in enumerate(zip(axes[0], panels)):
        for i, (value, part) in enumerate(frame.groupby(group, sort=False)):
            for column, label, style in series:
                seed_band(ax, part, x, column, PALETTE[i % 10], f"{group_label(value)}, {label}", style)
        if k < len(log) and log[k]:
            ax.set_yscale("log")
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.legend(loc="best", frameon=True, fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)

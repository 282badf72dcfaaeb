"""S4's plots: validation curves per sweep, test accuracy per swept value, the forest of choices, the lab's figures.

The lab's two figures (the first training image, the result grid) read the prepared digits and the
predictions the base stage saved: no model is run here.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from annstudy.data import digits
from annstudy.data.prepared import load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.report.document import Figure
from annstudy.report.figures import forest_plot, forest_row, literal, save_figure, seed_band
from annstudy.report.stats import pct
from annstudy.store.artifacts import load_torch
from annstudy.studies.hyperparameters.results import REFERENCE, VariantSummary, axis_label
from annstudy.studies.hyperparameters.run import train_dir


def _colors(variants: list[VariantSummary]) -> list:
    """Ordered axes (numbers) get a sequential palette, named ones distinct colours."""
    numeric = all(isinstance(v.value, (int, float)) for v in variants)
    return sns.color_palette("viridis" if numeric else "tab10", n_colors=max(len(variants), 3))


def curves_figure(axis: str, variants: list[VariantSummary], base: VariantSummary, path: Path) -> Path:
    """Validation accuracy per epoch, one curve per value (mean over seeds, ±1 std band), base dashed."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for v, color in zip(variants, _colors(variants)):
        if not v.epochs.empty:
            seed_band(ax, v.epochs, "epoch", "val_acc", color, v.label())
    if axis in ("penalty", "model"):
        seed_band(ax, base.epochs, "epoch", "val_acc", "gray", "base", "--")
    ax.set(
        xlabel="epoch",
        ylabel="validation accuracy (eval mode, full split)",
        title=f"S4 sweep of the {axis_label(axis)}: validation accuracy (mean ± std over seeds)",
    )
    ax.legend(title=axis_label(axis), loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return save_figure(fig, path)


def _summary_panel(ax, axis: str, variants: list[VariantSummary], base: VariantSummary, first_column: bool) -> None:
    """One sweep's test accuracy per value (mean ± std) against the base and the reference."""
    numeric = all(isinstance(v.value, (int, float)) for v in variants)
    xs = [v.value for v in variants] if numeric else list(range(len(variants)))
    means = [v.test.mean for v in variants]
    stds = [v.test.std for v in variants]
    ax.errorbar(xs, means, yerr=stds, fmt="o-" if numeric else "o", color="tab:blue", capsize=3, ms=5)
    ax.axhline(base.test.mean, color="gray", ls="--", lw=1, label=f"base {base.test.mean:.3f}")
    ax.axhline(REFERENCE, color="tab:green", ls=":", lw=1, label=f"reference ≈ {REFERENCE}")
    if axis == "lr":
        ax.set_xscale("log")
    elif axis == "hidden":
        ax.set_xscale("log", base=2)
    if not numeric:
        ax.set_xticks(xs, [v.label() for v in variants], rotation=35, ha="right")
        ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set(
        xlabel=axis_label(axis),
        ylabel="test accuracy" if first_column else "",
        title=f"Sweep: {axis_label(axis)}",
    )


def summary_figure(sweeps: dict[str, list[VariantSummary]], base: VariantSummary, path: Path) -> Path:
    """Final test accuracy against the swept value, one panel per axis (log axes for lr and width)."""
    cols = min(3, len(sweeps))
    rows = math.ceil(len(sweeps) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(sweeps) :]:
        ax.axis("off")
    for i, (ax, (axis, variants)) in enumerate(zip(axes.flat, sweeps.items())):
        _summary_panel(ax, axis, variants, base, i % cols == 0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("S4: final test accuracy per swept value (mean ± std over seeds)", fontsize=13)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return save_figure(fig, path)


def forest_figure(
    sweeps: dict[str, list[VariantSummary]], base: VariantSummary, n_test: int, budget: str, path: Path, out: Path
) -> Figure:
    """The base and, per sweep, the value chosen on validation: test accuracy with both intervals against the
    ≈ 0.97 reference for a small model on digits (a dotted line); the caption says which reach it."""
    chosen = [("base", base)]
    for axis, variants in sweeps.items():
        healthy = [v for v in variants if len(v.healthy)]
        if healthy:
            pick = max(healthy, key=lambda v: v.val_mean)  # as choice(): validation only
            chosen.append((f"{axis_label(axis)}: {pick.label()}", pick))
    rows = [forest_row(f"{label} ({budget})", v.accuracy(n_test), (REFERENCE, REFERENCE)) for label, v in chosen]
    forest_plot(
        rows,
        path,
        "S4 test accuracy: base and each sweep's validation choice",
        line_label=f"reference ≈ {pct(REFERENCE)}",
    )
    reach = [label for label, v in chosen if v.accuracy(n_test).mean >= REFERENCE]
    caption = (
        f"Test accuracy of the base model and of the value each sweep picks on validation (seed interval over the "
        f"test-sampling interval), against the ≈ {pct(REFERENCE)} reference (dotted): "
        + (f"{len(reach)} of {len(chosen)} reach it on the mean ({', '.join(reach)})" if reach else "none reaches it")
        + f"; the base: {base.accuracy(n_test).mean * 100:.1f} %."
    )
    return Figure(path.relative_to(out), caption)


def first_image_figure(x, label: str, path: Path) -> Path:
    """The lab's first figure: the first training image (8x8, as the network sees it after scaling)."""
    fig, ax = plt.subplots(figsize=(2.8, 2.8))
    ax.imshow(x.reshape(8, 8), cmap="gray_r")
    ax.set(title=f"first training image: label {literal(label)}", xticks=[], yticks=[])
    return save_figure(fig, path)


def result_grid_figure(x, true, pred, classes: list[str], path: Path, title: str, cols: int = 8) -> Path:
    """The lab's classification result: test images with predicted and true labels, errors in red."""
    n = len(true)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.35 * cols, 1.55 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set(xticks=[], yticks=[])
        if i >= n:
            ax.axis("off")
            continue
        wrong = int(pred[i]) != int(true[i])
        ax.imshow(x[i].reshape(8, 8), cmap="gray_r")
        colour = "crimson" if wrong else "black"
        ax.set_title(f"{literal(classes[int(pred[i])])} / {literal(classes[int(true[i])])}", color=colour, fontsize=9)
        for spine in ax.spines.values():
            spine.set(color=colour, linewidth=2.5 if wrong else 0.5)
    fig.suptitle(title)
    return save_figure(fig, path)


def lab_figures(out: Path, base: VariantSummary, shown: int = 32) -> tuple[list, dict]:
    """The first training image and the result grid of the validation-selected base seed (test only reported)."""
    data = load_prepared(prepared_dir(digits.NAME), "cpu")
    saved = load_torch(train_dir("base") / "predictions.pt")
    healthy = base.healthy
    if not len(healthy):
        return [], {}
    best = healthy.sort_values("val_acc", ascending=False, kind="stable").iloc[0]
    seed = int(best["seed"])
    pred = saved["test_pred"][list(saved["seeds"]).index(seed)].numpy()
    true = data.test.y.numpy()
    errors = int((pred != true).sum())
    fig_dir = out / "figures"
    first = first_image_figure(
        data.train.x[0].numpy(), data.classes[int(data.train.y[0])], fig_dir / "hyperparameters_first_image.png"
    )
    grid = result_grid_figure(
        data.test.x[:shown].numpy(),
        true[:shown],
        pred[:shown],
        data.classes,
        fig_dir / "hyperparameters_results.png",
        f"Base model (seed {seed}, chosen on validation): predicted / true",
    )
    blocks = [
        Figure(first.relative_to(out), "The first training image (scaled pixels, dark = ink) and its label."),
        Figure(
            grid.relative_to(out),
            f"The first {min(shown, len(true))} test images with predicted / true label; errors in red "
            f"({int((pred[:shown] != true[:shown]).sum())} here, {errors} of all {len(true)} test images: "
            f"accuracy {pct(1 - errors / len(true))}). Seed {seed} is the base seed with the highest "
            f"validation accuracy ({pct(float(best['val_acc']))}).",
        ),
    ]
    return blocks, {"seed": seed, "test_errors": errors}

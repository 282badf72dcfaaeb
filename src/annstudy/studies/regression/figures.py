"""S5's plots: the linear neuron's cost and line, the non-linear fit, the bell networks' costs, errors and surfaces.

Each function draws from the typed results (results.py) and returns the report's Figure block with
its caption, so the caption is written beside the plot it describes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annstudy.data.synthetic import nonlinear_function
from annstudy.report import small_figures as figs
from annstudy.report.document import Figure
from annstudy.studies.regression.claims import GOAL
from annstudy.studies.regression.config import RegressionSettings
from annstudy.studies.regression.results import BellRun, LinearRun, NonlinearRun


def linear_figures(run: LinearRun, study: RegressionSettings, out: Path) -> list[Figure]:
    """The cost of every mini-batch (log-log) and the data with the true and the fitted line."""
    path = figs.curves(
        run.batches,
        "step",
        [("batch_loss", "mini-batch cost")],
        out / "figures" / "regression_linear_cost.png",
        f"Linear neuron: cost per mini-batch (mean over {len(run.summary['per_seed'])} seeds, ±1 std)",
        "mini-batch (step, log scale)",
        "MSE of the mini-batch",
        log=True,
        logx=True,
    )
    cost = Figure(path.relative_to(out), "Cost of every mini-batch during SGD.")
    w, b = run.w, run.b
    grid = np.linspace(0, study.linear_x_max, 50)
    lines = [
        (grid, study.linear_a * grid + study.linear_b, "true line", "--"),
        (grid, w.mean * grid + b.mean, f"fitted (mean w = {w.mean:.3f}, b = {b.mean:.3f})", "-"),
    ]
    path = figs.fit_1d(
        run.x, run.y, lines, out / "figures" / "regression_linear_fit.png", "Linear neuron: data and fitted line"
    )
    return [cost, Figure(path.relative_to(out), "Data and the fitted line.")]


def nonlinear_cost_figure(run: NonlinearRun, study: RegressionSettings, per_epoch: int, out: Path) -> Figure:
    """Mini-batch cost and whole-training-set cost at each epoch's end, in y's units, against the goal."""
    r = run.summary
    batches = run.batches.assign(cost=lambda f: f["batch_loss"] * run.scale)
    epochs = run.epochs.assign(step=lambda f: f["epoch"] * per_epoch, cost=lambda f: f["train_loss"] * run.scale)
    path = figs.cost_panels(
        [
            (
                f"{r['architecture']}, {study.nonlinear_optimizer} lr {study.nonlinear_lr:g}",
                [
                    (batches, "step", "cost", "mini-batch cost", "-"),
                    (epochs, "step", "cost", f"whole training set, end of epoch (final {run.mse.mean:.3g})", "-"),
                ],
            )
        ],
        out / "figures" / "regression_nonlinear_cost.png",
        f"Non-linear 1D fit: training cost (mean over {len(r['per_seed'])} seeds, ±1 std)",
        "SGD step (mini-batch)",
        "MSE (y units, log scale)",
        goal=(GOAL, f"goal {GOAL:g}"),
    )
    final = ", ".join(f"seed {p['seed']}: {p['train_mse']:.4f}" for p in r["per_seed"])
    return Figure(path.relative_to(out), f"Training cost over the iterations; final cost per seed: {final}.")


def nonlinear_fit_figure(run: NonlinearRun, out: Path) -> Figure:
    """The data, the MLP's mean fit and, for synthetic data, the noise-free function."""
    lines = [(run.grid, run.pred.mean(0), f"MLP (mean of {len(run.pred)} seeds)", "-")]
    if run.synthetic:
        lines.append((run.grid, nonlinear_function(run.grid), "f(x) (noise-free)", "--"))
    path = figs.fit_1d(
        run.x,
        run.y,
        lines,
        out / "figures" / "regression_nonlinear_fit.png",
        "Non-linear 1D regression: data and fit",
    )
    return Figure(path.relative_to(out), "Data, the noise-free function and the MLP fit.")


def bell_cost_figure(epochs: pd.DataFrame, summary: pd.DataFrame, n_small: int, out: Path, noise: float) -> Figure:
    """Training cost per epoch of every bell network, 1,000 points left and the small set right, with the noise
    floor noise² as a line: the level a perfect fit of the bell reaches on fresh data."""
    panels = []
    for data, name in (("full", "1,000 training points"), ("small", f"{n_small} training points (full batch)")):
        rows = summary[summary["data"] == data]
        series = [
            (
                epochs[(epochs["arch"] == row.arch) & (epochs["data"] == data)],
                "epoch",
                "train_loss",
                f"{row.arch}: final {row.train.mean:.2g}",
                "-",
            )
            for row in rows.itertuples()
        ]
        if series:
            panels.append((name, series))
    path = figs.cost_panels(
        panels,
        out / "figures" / "regression_bell_cost.png",
        "2D bell: training cost per epoch (whole training set; mean over seeds, ±1 std)",
        "epoch",
        "training MSE (log scale)",
        goal=(noise**2, f"noise floor {noise:g}²"),
    )
    return Figure(
        path.relative_to(out),
        "Training cost of every bell network; the final cost is in the legend, the dotted line is the noise "
        f"floor {noise:g}² = {noise**2:.2g} that no fit of the noise-free bell goes below "
        "on fresh data (training cost under it = fitting the noise).",
    )


def bell_truth(axis: np.ndarray) -> np.ndarray:
    """The noise-free bell exp(−|x|²/4) on the grid, laid out as run.py's surfaces (row = x₂, column = x₁)."""
    gx, gy = np.meshgrid(axis, axis, indexing="xy")
    return np.exp(-(gx**2 + gy**2) / 4.0)


def error_map_figure(axis: np.ndarray, fitted: dict[str, np.ndarray], study: RegressionSettings, out: Path) -> Figure:
    """Fitted − true for every 1,000-point network on one colour scale, beside the true surface; the caption
    names the closest and the farthest fit by their RMS error over the grid, read against the noise sd."""
    truth = bell_truth(axis)
    rms = {a: float(np.sqrt(np.mean((z - truth) ** 2))) for a, z in fitted.items()}
    panels = [(f"{a}\nRMS {rms[a]:.3f}", z) for a, z in fitted.items()]
    seed = study.seeds[0]
    path = figs.error_maps(
        axis,
        truth,
        panels,
        out / "figures" / "regression_bell_errors.png",
        f"2D bell, 1,000 points: fitted − true (seed {seed}; one colour scale)",
    )
    lo, hi = min(rms, key=rms.get), max(rms, key=rms.get)
    caption = (
        f"The true bell (left) and each network's error, fitted − true, on one symmetric colour scale (red: above "
        f"the truth, blue: below; seed {seed}). {lo} deviates least (RMS {rms[lo]:.3f} over the grid, "
        f"{rms[lo] / study.bell_noise:.1f}× the noise sd {study.bell_noise:g}), {hi} most (RMS {rms[hi]:.3f}, "
        f"{rms[hi] / study.bell_noise:.1f}× the noise sd); errors largest where the map is darkest."
    )
    return Figure(path.relative_to(out), caption)


def small_surfaces_figure(run: BellRun, study: RegressionSettings, out: Path) -> Figure:
    """The surfaces the small-set networks fit (first seed), over the few points they saw."""
    n = run.summary["n_small"]
    panels = [
        (f"{a}, {n} points (seed {study.seeds[0]})", run.surfaces[f"{a}/small"][0].numpy()) for a in run.small["arch"]
    ]
    path = figs.surfaces(
        run.axis,
        panels,
        run.x[:n],
        run.y[:n],
        out / "figures" / "regression_bell_small.png",
        f"2D bell: the smallest and the largest network on {n} points",
    )
    return Figure(path.relative_to(out), "Surfaces fitted to the small training set (red points).")

"""S1's figures: the forest plot, the comparison panel and its charts, first-layer weights, the chosen
architecture's errors. Each function draws under ``out/figures`` and returns the document blocks that
show it; the numbers come from the stage records (results.py), the confusion counts and misclassified
test images from the evaluate stage, which ran the chosen seed on the test set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from annstudy.data.prepared import PreparedDataset
from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.report import figures as draw
from annstudy.report import interactive
from annstudy.report.document import Chart, Figure, Heading, Paragraph
from annstudy.report.interactive import Panel
from annstudy.report.stats import pct
from annstudy.studies.architectures.references import PUBLISHED_DATASET, PUBLISHED_RANGES
from annstudy.studies.architectures.results import ArchResult, trained_model

WEIGHT_TILES = 16  # units/filters shown per side: 32 MLP tiles a side would double the page weight of the figure
CHARTED = {
    "val_acc": "validation accuracy",
    "train_acc_eval": "training accuracy (eval mode, fixed subset)",
    "train_loss": "training loss",
}


def forest(results: list[ArchResult], dataset: str, n_test: int, path: Path) -> Path:
    """One row per architecture that trained, with the published range when the dataset has one."""
    rows = []
    for r in results:
        if r.test.n == 0:
            continue
        ref = PUBLISHED_RANGES.get(r.arch) if dataset == PUBLISHED_DATASET else None
        rows.append(draw.forest_row(f"{r.arch} ({r.budget})", r.accuracy(n_test), ref))
    return draw.forest_plot(rows, path, f"S1 test accuracy on {dataset}")


def forest_figure(results: list[ArchResult], dataset: str, n_test: int, out: Path) -> Figure:
    path = forest(results, dataset, n_test, out / "figures" / "architectures_forest.png")
    return Figure(
        path.relative_to(out),
        "Test accuracy per architecture: the seed interval over the test-set sampling interval; gray: the "
        "published range for this dataset (studies.md), dotted: the exercise's bar.",
    )


def curve_charts(results: list[ArchResult], fallback: Path) -> list[Chart]:
    """The panel's curves to explore in the HTML: every seed of every architecture, values on hover."""
    return interactive.curve_charts(
        {r.arch: r.curves for r in results},
        x="step",
        series="arch",
        panels=[Panel(metric, name) for metric, name in CHARTED.items()],
        study="S1",
        fallback=fallback,
        caption="S1 {name} at every log step, per seed (thin) and mean (thick), by architecture.",
    )


def panel_figures(results: list[ArchResult], dataset: str, seeds: int, out: Path) -> list:
    """The comparison panel of every architecture's curves and final accuracies, and its interactive charts."""
    finals = pd.concat([r.per_seed.assign(arch=r.arch) for r in results], ignore_index=True)
    finals = finals[~finals["diverged"]]
    panel = draw.comparison_panel(
        {r.arch: r.curves for r in results},
        finals,
        out / "figures" / "architectures_panel.png",
        f"S1 architectures on {dataset}: mean over {seeds} seeds, band ±1 std",
    )
    return [
        Figure(
            panel.relative_to(out),
            "Comparison panel: training loss; train and validation accuracy, both in eval mode at every log step "
            "(train on a fixed subset of training images; the running train-mode mean is recorded beside it as "
            "`train_acc`, not drawn); test vs final train accuracy; validation vs train accuracy along training.",
        ),
        *curve_charts(results, panel.relative_to(out)),
    ]


def initial_first_layer(arch: str, image_shape: tuple[int, int, int], classes: int, seed: int) -> torch.Tensor:
    """The first layer as training initialised it: ``torch.manual_seed(seed)`` then the model (engine/seeds.py,
    models/stacked.stack_seeds), so the initialisation needs no file of its own."""
    with torch.random.fork_rng(devices=[]):  # the report's own random state stays as it was
        torch.manual_seed(seed)
        return first_layer_weight(build_model(arch, image_shape, classes))


def weights_caption(arch: str, seed: int, init: torch.Tensor, trained: torch.Tensor) -> str:
    """The caption (= alt text) of a weight figure: how far training moved the layer, and what that looks like."""
    change = draw.weight_change(init, trained)
    n = min(WEIGHT_TILES, trained.shape[0])
    return (
        f"{arch}, seed {seed} (best on validation): the first {n} of {trained.shape[0]} first-layer units at "
        f"initialisation (left) and trained (right) on one gray scale; training moved the layer by "
        f"‖W − W₀‖ / ‖W₀‖ = {100 * change:.0f} % (100 % = a change as large as the initial weights)."
    )


def weight_figures(results: list[ArchResult], data: PreparedDataset, out: Path) -> list:
    """Per architecture: the chosen seed's first layer, trained beside initialised."""
    blocks: list = [
        Heading("First-layer weights", level=3),
        Paragraph(
            f"Weights of the first layer of each architecture's seed with the highest validation accuracy beside "
            f"the same units at initialisation (rebuilt: `torch.manual_seed(seed)`, then the model, as training "
            f"did), the first {WEIGHT_TILES} units or filters, one tile each (MLP units reshaped to the image size; "
            "one gray scale per figure, symmetric around 0, with its colour bar; colour for RGB inputs)."
        ),
    ]
    classes = len(data.classes)
    for r in results:
        seed = r.chosen_seed
        trained = first_layer_weight(trained_model(r, data.image_shape, classes))
        init = initial_first_layer(r.arch, data.image_shape, classes, seed)
        path = draw.weight_pair_grid(
            init,
            trained,
            data.image_shape,
            out / "figures" / f"weights_{r.arch}.png",
            f"{r.arch}: first layer, seed {seed} (best validation accuracy)",
            WEIGHT_TILES,
        )
        blocks.append(Figure(path.relative_to(out), weights_caption(r.arch, seed, init, trained)))
    return blocks


def error_figures(best: ArchResult, data: PreparedDataset, shown: int, out: Path) -> list:
    """The chosen architecture's confusion matrix and first ``shown`` misclassified test images, of its seed
    chosen on validation: as the evaluate stage recorded them."""
    seed, n_test = best.chosen_seed, len(data.test.y)
    names = best.evaluation["classes"]
    blocks: list = [
        Heading("Errors of the chosen architecture", level=3),
        Paragraph(
            f"Chosen on mean validation accuracy: **{best.arch}** ({pct(best.val_mean)} validation, test "
            f"{best.accuracy(n_test).fmt()}); confusion matrix and misclassified test images of its seed with "
            f"the highest validation accuracy ({seed})."
        ),
    ]
    path = draw.confusion_matrix(
        best.evaluation["confusion"],
        names,
        out / "figures" / "confusion_best.png",
        f"{best.arch} (seed {seed}): test confusion matrix",
    )
    blocks.append(Figure(path.relative_to(out), f"Confusion matrix of {best.arch}, seed {seed} (rows: true class)."))
    wrong = best.evaluation["misclassified"][:shown]
    if wrong:
        idx = [w["index"] for w in wrong]
        path = draw.misclassified_grid(
            data.test.x[idx],
            [w["true"] for w in wrong],
            [w["pred"] for w in wrong],
            names,
            out / "figures" / "misclassified_best.png",
            f"{best.arch} (seed {seed}): first misclassified test images",
        )
        blocks.append(Figure(path.relative_to(out), "Misclassified test images, titled true → predicted class."))
    return blocks

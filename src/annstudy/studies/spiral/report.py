"""S6 spiral report section: cross-validated accuracy, early stopping, data and decision regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annstudy.params.settings import Settings
from annstudy.report import small_figures as figs
from annstudy.report.comparisons import accuracy_bar
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.questions import MEASURED, questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, pct, summarize
from annstudy.store.artifacts import load_torch
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.spiral.config import SpiralSettings
from annstudy.studies.spiral.run import STUDY, prepared_dir, train_dir


def best_folds(members: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the fold model with the lowest validation loss (the one the exercise keeps):
    chosen on validation, then scored on the test set."""
    return members.loc[members.groupby("seed")["val_loss"].idxmin(), ["seed", "fold", "val_loss", "test_acc"]]


def region_facts(axis: np.ndarray, pred: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """What the decision-region figure shows, measured: the share of points lying in their own arm's region
    (each point looked up in its grid cell) and how far from the centre the others lie."""
    step = axis[1] - axis[0]
    col = np.clip(np.rint((x[:, 0] - axis[0]) / step).astype(int), 0, len(axis) - 1)
    row = np.clip(np.rint((x[:, 1] - axis[0]) / step).astype(int), 0, len(axis) - 1)
    right = pred[row, col] == y
    radius = np.linalg.norm(x, axis=1)
    return {
        "in_own_region": float(right.mean()),
        "errors": int((~right).sum()),
        "radius_errors": float(radius[~right].mean()) if (~right).any() else float("nan"),
        "radius_all": float(radius.mean()),
    }


def questions(claim, chosen, n_models: int, mean_test: float, facts: dict, arms: int, member: tuple) -> list:
    """studies.md's spiral questions: the validated fold model's test accuracy, what the regions show."""
    where = (
        f"the {facts['errors']} that are not lie at mean radius {facts['radius_errors']:.2f} against "
        f"{facts['radius_all']:.2f} for all test points"
        + (" — near the centre, where the arms crowd together" if facts["radius_errors"] < facts["radius_all"] else "")
        if facts["errors"]
        else "none falls outside it"
    )
    return questions_block(
        [
            (
                "What test accuracy does the validated fold model reach?",
                f"{pct(float(chosen['test_acc']))} for seed {int(chosen['seed'])}, fold {int(chosen['fold'])}, the "
                f"lowest validation loss of the {n_models} fold models (their mean test accuracy: {pct(mean_test)}).",
                claim,
            ),
            (
                "What do the decision regions show?",
                (
                    f"{arms} interleaved spiral bands that follow the arms from the centre outwards"
                    if facts["in_own_region"] >= 0.9
                    else "regions that do not follow the arms yet (under 90 % of the test points in their own)"
                )
                + f" (seed {member[0]}, fold {member[1]}); {pct(facts['in_own_region'])} of the test points lie in "
                f"their own arm's region, {where}.",
                MEASURED,
            ),
        ]
    )


def build(settings: Settings, out: Path) -> StudySection:
    study: SpiralSettings = settings.studies[STUDY]
    r = read_record(train_dir()).summary
    data = load_torch(prepared_dir() / "data.pt")
    regions = load_torch(train_dir() / "regions.pt")
    epochs = read_record(train_dir()).table("epochs")
    members = pd.DataFrame(r["per_member"])
    ok = members[members["diverged_step"].isna()]
    test, val = summarize(ok["test_acc"], bounds=(0.0, 1.0)), summarize(ok["val_acc"], bounds=(0.0, 1.0))
    reached = test.mean >= study.target_acc
    n_test = len(data["y_test"])
    chosen = ok.loc[ok["val_loss"].idxmin()]  # the exercise: the fold model with the best validation loss
    label = f"the fold model with the lowest validation loss (seed {int(chosen['seed'])}, fold {int(chosen['fold'])})"
    acc = Accuracy((float(chosen["test_acc"]),), n_test)
    claim = accuracy_bar(
        label, acc, study.target_acc, f"≤ {study.max_epochs} epochs (early stopping)", study.arms, "the target"
    )
    key = f"{pct(acc.mean)} (Wilson, {n_test} points: {acc.fmt_sampling()})"
    findings = [Finding("What test accuracy does the validated fold model reach?", claim, key)]
    per_fold = ok.groupby("fold").agg(
        val_acc=("val_acc", "mean"),
        test_acc=("test_acc", "mean"),
        stopped=("stopped_epoch", "mean"),
        best=("best_epoch", "mean"),
    )
    best = best_folds(ok)
    best_test = summarize(best["test_acc"])
    per_seed_best = ", ".join(f"seed {row.seed}: fold {row.fold} ({pct(row.test_acc)})" for row in best.itertuples())
    doc = Document("")
    doc.add(
        Heading("S6 Spiral"),
        Paragraph(
            f"{study.arms} interleaved spiral arms in [−1, 1]² ({study.points_per_arm} points per arm, "
            f"{study.turns:g} turn, noise σ {study.noise:g}); {len(data['y'])} points for {study.folds}-fold "
            f"cross-validation, {len(data['y_test'])} held-out test points. MLP {r['architecture']} (ReLU), "
            f"{study.optimizer} from lr {study.lr:g}, ×{study.lr_decay:g} every {study.lr_decay_every} epochs, "
            f"batch {study.batch_size or 'full'}; early stopping on the fold's validation loss (patience "
            f"{study.patience}, best weights restored), at most {study.max_epochs} epochs. "
            f"{len(ok)} models = {study.folds} folds × {len(study.seeds)} seeds, each scored on the test set."
        ),
        Paragraph(f"**{findings[0].question}** {claim.sentence()}"),
        Paragraph(
            f"Beside it, the mean over all {len(ok)} fold models: test {Accuracy(tuple(ok['test_acc']), n_test).fmt()}"
            f", cross-validation accuracy {pct(val.mean)}; the target {pct(study.target_acc)} is "
            f"{'reached' if reached else '**not** reached'} on average. Per seed, the fold model with the lowest "
            f"validation loss: {per_seed_best}; mean test accuracy {pct(best_test.mean)}."
        ),
        Table(
            ["fold", "validation accuracy", "test accuracy", "stopped at epoch", "best epoch (restored)"],
            [
                [str(k), pct(row.val_acc), pct(row.test_acc), f"{row.stopped:.0f}", f"{row.best:.0f}"]
                for k, row in per_fold.iterrows()
            ],
            caption="Per fold, mean over seeds.",
        ),
    )
    fig_dir = out / "figures"
    path = figs.points_2d(
        data["x"].numpy(),
        data["y"].numpy(),
        fig_dir / "spiral_data.png",
        f"{study.arms}-arm spiral: cross-validation pool",
    )
    doc.add(Figure(path.relative_to(out), "The spiral data (cross-validation pool), coloured by arm."))
    seed, fold = regions["member"]
    path = figs.decision_regions(
        regions["axis"].numpy(),
        regions["pred"].numpy(),
        [
            ("with training points", data["x"].numpy(), data["y"].numpy()),
            ("with test points", data["x_test"].numpy(), data["y_test"].numpy()),
        ],
        fig_dir / "spiral_regions.png",
        f"Decision regions of the seed {seed}, fold {fold} model (the lowest validation loss)",
    )
    doc.add(Figure(path.relative_to(out), "Decision regions (contourf over a grid) with training and test points."))
    path = figs.panels(
        epochs,
        "epoch",
        [
            ("cross-entropy", [("train_loss", "train"), ("val_loss", "validation")]),
            ("accuracy", [("train_acc", "train"), ("val_acc", "validation")]),
        ],
        fig_dir / "spiral_curves.png",
        "Spiral: per-epoch cost and accuracy (mean over folds × seeds still training, ±1 std)",
        "epoch",
    )
    doc.add(Figure(path.relative_to(out), "Per-epoch cost and accuracy; members drop out as they stop early."))
    facts = region_facts(
        regions["axis"].numpy(), regions["pred"].numpy(), data["x_test"].numpy(), data["y_test"].numpy()
    )
    doc.add(*questions(claim, chosen, len(ok), test.mean, facts, study.arms, (seed, fold)))
    # headline only: the validated fold model's test accuracy (every fold model's numbers are in the record)
    metrics = {
        "n_test": n_test,
        "chosen": {"test_acc": round(acc.mean, 5)},
        "diverged": bool(len(ok) < len(members)),
    }
    seconds = prepare_stage_seconds(prepared_dir()) | {"spiral (train)": r["wall_seconds"]}
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], findings, [settings_table(study)])

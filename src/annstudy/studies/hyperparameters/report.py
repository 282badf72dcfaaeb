"""The S4 section of the report: hyperparameter sweeps of an MLP on sklearn digits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from annstudy.data import digits
from annstudy.data.prepared import load_meta, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.params.settings import Settings
from annstudy.report.claims import Arm, compare
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.figures import forest_plot, forest_row, save_figure, seed_band
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, Summary, pct, summarize
from annstudy.store.artifacts import load_torch, write_tsv
from annstudy.store.records import read_record
from annstudy.studies.hyperparameters.config import HyperparametersSettings
from annstudy.studies.hyperparameters.run import STUDY, train_dir

REFERENCE = 0.97  # studies.md: a small model on digits reaches about 0.97 test accuracy
AXIS_LABELS = {
    "base": "base model",
    "lr": "learning rate",
    "hidden": "hidden units",
    "optimizer": "optimizer",
    "penalty": "weight penalty",
    "model": "model",
}


@dataclass
class VariantSummary:
    name: str
    axis: str
    value: object
    per_seed: pd.DataFrame  # seed, diverged, {train,val,test}_{loss,acc}
    epochs: pd.DataFrame  # variant, seed, epoch, train_loss, train_acc, val_loss, val_acc
    seconds: float

    @property
    def healthy(self) -> pd.DataFrame:
        return self.per_seed[~self.per_seed["diverged"]]

    @property
    def diverged(self) -> int:
        return int(self.per_seed["diverged"].sum())

    @property
    def test(self) -> Summary:
        return summarize(self.healthy["test_acc"], bounds=(0.0, 1.0))

    @property
    def val_mean(self) -> float:
        """Mean final validation accuracy over healthy seeds: the only basis of a choice."""
        return float(self.healthy["val_acc"].mean()) if len(self.healthy) else float("nan")

    def accuracy(self, n_test: int) -> Accuracy:
        return Accuracy(tuple(float(v) for v in self.healthy["test_acc"]), n_test)

    def arm(self, budget: str, classes: int = 10) -> Arm:
        h = self.healthy
        loss = float(h["train_loss"].mean()) if "train_loss" in h and len(h) else None
        values = tuple(float(v) for v in h["test_acc"])
        return Arm(self.label(), values, budget, loss, self.test.mean if len(h) else None, classes)

    def label(self) -> str:
        """The swept value as a legend/table entry (the variant name where the value is a name)."""
        if self.axis in ("base", "penalty", "model"):
            return self.name
        return f"{self.value:g}" if isinstance(self.value, float) else str(self.value)


def load_axis(axis: str, root: str | Path = "data") -> tuple[list[VariantSummary], dict]:
    """The variants of one axis as written by ``hyperparameters_train@<axis>`` (or ``_base``)."""
    record = read_record(train_dir(axis, root))  # a clear error when the stage has not run
    results, epochs = record.summary, record.table("epochs")
    variants = [
        VariantSummary(
            v["name"],
            v["axis"],
            v["value"],
            pd.DataFrame(v["per_seed"]),
            epochs[epochs["variant"] == v["name"]],
            float(v["seconds"]),
        )
        for v in results["variants"]
    ]
    return variants, results


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
        title=f"S4 sweep of the {AXIS_LABELS.get(axis, axis)}: validation accuracy (mean ± std over seeds)",
    )
    ax.legend(title=AXIS_LABELS.get(axis, axis), loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return save_figure(fig, path)


def summary_figure(sweeps: dict[str, list[VariantSummary]], base: VariantSummary, path: Path) -> Path:
    """Final test accuracy against the swept value, one panel per axis (log axes for lr and width)."""
    cols = min(3, len(sweeps))
    rows = math.ceil(len(sweeps) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(sweeps) :]:
        ax.axis("off")
    for i, (ax, (axis, variants)) in enumerate(zip(axes.flat, sweeps.items())):
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
            xlabel=AXIS_LABELS.get(axis, axis),
            ylabel="test accuracy" if i % cols == 0 else "",
            title=f"Sweep: {AXIS_LABELS.get(axis, axis)}",
        )
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
            chosen.append((f"{AXIS_LABELS.get(axis, axis)}: {pick.label()}", pick))
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


def sweep_table(axis: str, variants: list[VariantSummary], n_test: int) -> Table:
    rows = []
    for v in variants:
        h = v.healthy
        div = f"{v.diverged} of {len(v.per_seed)}" if v.diverged else "0"
        last = v.epochs[v.epochs["epoch"] == v.epochs["epoch"].max()] if not v.epochs.empty else v.epochs
        acc = v.accuracy(n_test)
        rows.append(
            [
                v.label(),
                pct(v.val_mean),
                acc.fmt(),
                acc.fmt_sampling(),
                pct(h["train_acc"].mean()),
                f"{last['train_loss'].mean():.3f}" if not last.empty else "—",
                div,
            ]
        )
    return Table(
        [
            AXIS_LABELS.get(axis, axis),
            "val acc",
            "test acc",
            "test sampling",
            "train acc",
            "last-epoch train loss",
            "diverged seeds",
        ],
        rows,
        caption="Eval-mode accuracies of the final weights on the full splits (diverged seeds excluded): the value "
        "is chosen on val acc; test acc with the per-seed values (n ≤ 2) or the 95 % t-interval over seeds, test "
        f"sampling the Wilson 95 % interval over the {n_test:,} test images. Training loss: the last epoch's mean "
        "cross-entropy in train mode, without the penalty.",
    )


def choice(axis: str, variants: list[VariantSummary], budget: str, n_test: int) -> Finding | None:
    """The value with the highest validation accuracy, its test accuracy, and a test against the runner-up."""
    ranked = sorted((v for v in variants if len(v.healthy)), key=lambda v: v.val_mean, reverse=True)
    if len(ranked) < 2:
        return None
    best, second = ranked[0], ranked[1]
    label = AXIS_LABELS.get(axis, axis)
    gap = best.test.mean - second.test.mean
    ahead = "level with" if abs(gap) < 0.0005 else ("ahead of" if gap > 0 else "behind")
    claim = compare(
        f"best {label} on validation: {best.label()} ({pct(best.val_mean)} val); on test it is {ahead} the "
        f"validation runner-up {second.label()} ({pct(second.val_mean)} val)",
        best.arm(budget),
        second.arm(budget),
    )
    return Finding(f"Sweep of the {label}: which value (chosen on validation)?", claim, best.accuracy(n_test).fmt())


def _first_epoch_at(v: VariantSummary, level: float) -> int | None:
    """The first epoch whose mean validation accuracy reaches ``level`` (None if none does)."""
    if v.epochs.empty:
        return None
    mean = v.epochs.groupby("epoch")["val_acc"].mean()
    hit = mean[mean >= level]
    return int(hit.index[0]) if len(hit) else None


def sweep_answer(axis: str, candidates: list[VariantSummary], found: Finding | None, epochs: int, level: float = 0.9):
    """studies.md's S4 question for one sweep: what the validation curves show, and the value chosen on them."""
    label = AXIS_LABELS.get(axis, axis)
    healthy = sorted((v for v in candidates if len(v.healthy)), key=lambda v: v.val_mean, reverse=True)
    if found is None or len(healthy) < 2:
        return None
    best, worst = healthy[0], healthy[-1]
    reach = {v.label(): _first_epoch_at(v, level) for v in healthy}
    fast = sorted((e, k) for k, e in reach.items() if e is not None)
    never = [k for k, e in reach.items() if e is None]
    if fast:
        curves = f"the fastest curve reaches {pct(level)} validation accuracy at epoch {fast[0][0]} ({fast[0][1]})"
        if never:
            verb = "reaches" if len(never) == 1 else "reach"
            curves += f"; {', '.join(never)} never {verb} it in {epochs} epochs"
    else:
        curves = f"no curve reaches {pct(level)} validation accuracy in {epochs} epochs"
    answer = (
        f"Chosen on validation: **{best.label()}** ({pct(best.val_mean)} val, {pct(best.test.mean)} test); lowest: "
        f"{worst.label()} ({pct(worst.val_mean)} val). Curves: {curves}."
    )
    return (
        f"Sweep of the {label}: what do the validation curves show, and which value is chosen?",
        answer,
        found.claim,
    )


def s4_settings_table(study: HyperparametersSettings) -> Table:
    """:func:`settings_table` with one row per sweep axis and without the base's bookkeeping fields."""
    table = settings_table(study)
    # bookkeeping, or fixed by design (one curve row per epoch, full splits, one full-batch evaluation)
    skipped = {
        "sweeps",
        "base.name",
        "base.axis",
        "base.value",
        "train.log_every",
        "train.val_subset",
        "train.train_limit",
        "train.train_eval_subset",
        "train.eval_batch_size",
        "train.channels_last",
    }
    rows = [row for row in table.rows if row[0] not in skipped]
    rows += [
        [f"sweeps.{axis}", ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
        for axis, values in study.sweeps
    ]
    return Table(table.header, rows, caption=table.caption)


def metrics(base: VariantSummary, sweeps: dict[str, list[VariantSummary]]) -> dict:
    """``base`` and one entry per swept value: test accuracy mean/std (None + diverged when no seed survived)."""
    out = {}
    for v in [base, *(v for variants in sweeps.values() for v in variants)]:
        ok = len(v.healthy) > 0
        entry = {
            "test_acc_mean": round(v.test.mean, 5) if ok else None,
            "test_acc_std": round(v.test.std, 5) if ok else None,
        }
        if v.diverged:
            entry["diverged"] = v.diverged
        out[v.name] = entry
    return out


def write_plot_data(base: VariantSummary, sweeps: dict[str, list[VariantSummary]], out: Path) -> None:
    """``hyperparameters_val_acc.tsv``: epoch + the mean validation accuracy of every variant (for `compare`)."""
    columns = {
        v.name: v.epochs.groupby("epoch")["val_acc"].mean()
        for v in [base, *(v for vs in sweeps.values() for v in vs)]
        if not v.epochs.empty
    }
    write_tsv(out / "hyperparameters_val_acc.tsv", pd.DataFrame(columns).rename_axis("epoch").reset_index())


def first_image_figure(x, label: str, path: Path) -> Path:
    """The lab's first figure: the first training image (8x8, as the network sees it after scaling)."""
    fig, ax = plt.subplots(figsize=(2.8, 2.8))
    ax.imshow(x.reshape(8, 8), cmap="gray_r")
    ax.set(title=f"first training image: label {label}", xticks=[], yticks=[])
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
        ax.set_title(f"{classes[int(pred[i])]} / {classes[int(true[i])]}", color=colour, fontsize=9)
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


def numpy_exercise(record: dict) -> tuple[Paragraph, dict]:
    """The lab's Exercise 1 in NumPy: its test accuracy over seeds and the worst autograd difference."""
    per_seed = record["per_seed"]
    acc = summarize([r["test_acc"] for r in per_seed])
    worst = max(r["autograd_diff"] for r in per_seed)
    accs = ", ".join(f"{r['test_acc']:.4f}" for r in per_seed)
    mses = ", ".join(f"{r['final_mse']:.4f}" for r in per_seed)
    text = (
        f"The lab's Exercise 1 from scratch in NumPy (input + bias → fully connected → sigmoid, MSE "
        f"against one-hot labels, full-batch gradient descent at lr {record['lr']:g} for {record['steps']} "
        f"steps, `scratch/sigmoid_net.py`): test accuracy **{acc.fmt()}** over {len(per_seed)} seeds "
        f"(per seed {accs}), final training MSE {mses}. Its gradients equal torch autograd's "
        f"to {worst:.1e} (float64, largest absolute difference over every weight and seed)."
    )
    metrics = {"test_acc_mean": round(acc.mean, 5), "test_acc_std": round(acc.std, 5), "autograd_max_diff": worst}
    return Paragraph(text), metrics


def build(settings: Settings, out: Path) -> StudySection:
    """The S4 section: data and settings, base result, one subsection per sweep, summary figure."""
    study: HyperparametersSettings = settings.studies[STUDY]
    fig_dir = out / "figures"
    meta = load_meta(prepared_dir(digits.NAME))
    (base,), base_run = load_axis("base")
    sweeps = {axis: load_axis(axis)[0] for axis in study.axes}
    sizes, split = meta["sizes"], meta["split"]
    n_test = int(sizes["test"])
    t = base_run["train"]  # as trained (the same as `study.train` when run by the pipeline)
    doc = Document("")
    doc.add(
        Heading("S4 Hyperparameters"),
        Paragraph(
            f"`{digits.NAME}` ({meta['source']}): train {sizes['train']:,} / val {sizes['val']:,} / test "
            f"{sizes['test']:,} images, test and validation drawn stratified ({split['test_per_class']} and "
            f"{split['val_per_class']} per class, split seed {split['seed']}); input scaling: "
            f"{meta['scaling']['description']}. Base model: MLP 64-{base_run['variants'][0]['config']['hidden'][0]}"
            f"-10, ReLU, cross-entropy, {study.base.optimizer} lr {study.base.lr:g}, batch {t['batch_size']}, "
            f"{t['epochs']} epochs, {len(t['seeds'])} seeds. Each sweep changes one knob and keeps the rest at the "
            "base; the seeds of a variant train together as one stacked network (exact per seed). Every "
            "best value is chosen on validation accuracy; its test accuracy is reported."
        ),
        Heading("Base model", level=3),
        Paragraph(
            f"Test accuracy **{base.accuracy(n_test).fmt_full()}**; reference for a small model on digits: "
            f"about {pct(REFERENCE)}."
        ),
    )
    figures, result_grid = lab_figures(out, base)
    doc.add(*figures)
    budget = f"{t['epochs']} epochs"
    findings, answers = [], []
    for axis, variants in sweeps.items():
        label = AXIS_LABELS.get(axis, axis)
        path = curves_figure(axis, variants, base, fig_dir / f"hyperparameters_{axis}.png")
        # a penalty or a model is chosen against the base (no penalty, the plain MLP) as well
        candidates = [*variants, base] if axis in ("penalty", "model") else variants
        found = choice(axis, candidates, budget, n_test)
        findings += [found] if found else []
        answers.append(sweep_answer(axis, candidates, found, int(t["epochs"])))
        doc.add(
            Heading(f"Sweep: {label}", level=3),
            sweep_table(axis, variants, n_test),
            Paragraph(found.claim.sentence() if found else "Fewer than two values trained: nothing to choose."),
            Figure(
                path.relative_to(out),
                f"Validation accuracy per epoch for every {label} (mean over seeds, band ±1 std).",
            ),
        )
        for v in variants:
            if v.diverged:
                doc.add(
                    Paragraph(
                        f"**{v.name} diverged** (non-finite loss) for {v.diverged} of "
                        f"{len(v.per_seed)} seeds; excluded from its statistics."
                    )
                )
    if "optimizer" in sweeps:
        doc.add(
            Paragraph(
                f"All optimizers share lr {study.base.lr:g} (the sweep keeps the rest fixed): this is "
                "far below the step sizes plain SGD and Adadelta (torch default lr 1.0) are usually "
                "run with, so their low accuracy here says as much about the fixed lr as about them. AdamW "
                "is Adam plus torch's default decoupled weight decay (0.01 · lr · w per step), a "
                "small regularizer: expect it within noise of Adam on this small model."
            )
        )
    numpy_record = read_record(train_dir("numpy")).summary
    numpy_text, numpy_metrics = numpy_exercise(numpy_record)
    doc.add(Heading("Exercise 1 in NumPy", level=3), numpy_text)
    if sweeps:
        path = summary_figure(sweeps, base, fig_dir / "hyperparameters_summary.png")
        doc.add(
            Heading("Summary", level=3),
            forest_figure(sweeps, base, n_test, budget, fig_dir / "hyperparameters_forest.png", out),
            Figure(
                path.relative_to(out),
                "Final test accuracy against the swept value (mean ± std over "
                "seeds); dashed: base model; dotted: the ≈ 0.97 reference.",
            ),
        )
    doc.add(*questions_block([a for a in answers if a is not None]))
    write_plot_data(base, sweeps, out / "plots")
    seconds = {"hyperparameters_base": float(base_run["wall_seconds"])}
    seconds["hyperparameters_numpy"] = float(numpy_record["wall_seconds"])
    seconds |= {
        f"hyperparameters_train@{axis}": float(read_record(train_dir(axis)).summary["wall_seconds"]) for axis in sweeps
    }
    all_metrics = metrics(base, sweeps) | {"numpy_sigmoid": numpy_metrics}
    if result_grid:
        all_metrics["base_result_grid"] = result_grid
    return StudySection(STUDY, doc.blocks, all_metrics, seconds, [digits.NAME], findings, [s4_settings_table(study)])

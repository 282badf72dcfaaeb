"""The S4 section of the report: hyperparameter sweeps of an MLP on sklearn digits.

The section's layout only: results.py reads the records, claims.py makes each sweep's validation
choice and figures.py draws; here they are put in order with the tables, the NumPy exercise and the
plot data that `annstudy compare` reads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annstudy.data import digits
from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.params.settings import Settings
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import pct
from annstudy.report.units import accuracy_spread, percent
from annstudy.store.artifacts import write_tsv
from annstudy.store.records import read_record
from annstudy.studies.hyperparameters import literature
from annstudy.studies.hyperparameters.claims import choices, sweep_answer
from annstudy.studies.hyperparameters.config import HyperparametersSettings
from annstudy.studies.hyperparameters.figures import curves_figure, forest_figure, lab_figures, summary_figure
from annstudy.studies.hyperparameters.results import REFERENCE, VariantSummary, axis_label, load_axis, metrics
from annstudy.studies.hyperparameters.run import STUDY, train_dir


def _row(v: VariantSummary, n_test: int) -> list[str]:
    """One value's row: validation (what chooses), test with both intervals, train, divergence."""
    h = v.healthy
    div = f"{v.diverged} of {len(v.per_seed)}" if v.diverged else "0"
    last = v.epochs[v.epochs["epoch"] == v.epochs["epoch"].max()] if not v.epochs.empty else v.epochs
    acc = v.accuracy(n_test)
    return [
        v.label(),
        pct(v.val_mean),
        acc.fmt(),
        acc.fmt_sampling(),
        pct(h["train_acc"].mean()),
        f"{last['train_loss'].mean():.3f}" if not last.empty else "—",
        div,
    ]


def sweep_table(axis: str, variants: list[VariantSummary], n_test: int) -> Table:
    """Every value of one sweep; the choice is made on the val acc column."""
    return Table(
        [
            axis_label(axis),
            "val acc",
            "test acc",
            "test sampling",
            "train acc",
            "last-epoch train loss",
            "diverged seeds",
        ],
        [_row(v, n_test) for v in variants],
        caption="Eval-mode accuracies of the final weights on the full splits (diverged seeds excluded): the value "
        "is chosen on val acc; test acc with the per-seed values (n ≤ 2) or the 95 % t-interval over seeds, test "
        f"sampling the Wilson 95 % interval over the {n_test:,} test images. Training loss: the last epoch's mean "
        "cross-entropy in train mode, without the penalty.",
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


def write_plot_data(base: VariantSummary, sweeps: dict[str, list[VariantSummary]], out: Path) -> None:
    """``hyperparameters_val_acc.tsv``: epoch + the mean validation accuracy of every variant (for `compare`)."""
    columns = {
        v.name: v.epochs.groupby("epoch")["val_acc"].mean()
        for v in [base, *(v for vs in sweeps.values() for v in vs)]
        if not v.epochs.empty
    }
    write_tsv(out / "hyperparameters_val_acc.tsv", pd.DataFrame(columns).rename_axis("epoch").reset_index())


def numpy_exercise(record: dict) -> tuple[Paragraph, dict]:
    """The lab's Exercise 1 in NumPy: its test accuracy over seeds; metrics: the worst autograd difference."""
    per_seed = record["per_seed"]
    worst = max(r["autograd_diff"] for r in per_seed)
    accs = ", ".join(percent(r["test_acc"]) for r in per_seed)
    mses = ", ".join(f"{r['final_mse']:.4f}" for r in per_seed)
    text = (
        f"The lab's Exercise 1 from scratch in NumPy (input + bias → fully connected → sigmoid, MSE "
        f"against one-hot labels, full-batch gradient descent at lr {record['lr']:g} for {record['steps']} "
        f"steps, `scratch/sigmoid_net.py`): test accuracy **{accuracy_spread([r['test_acc'] for r in per_seed])}** "
        f"over {len(per_seed)} seeds "
        f"(per seed {accs}), final training MSE {mses}. Its gradients equal torch autograd's "
        f"to {worst:.1e} (float64, largest absolute difference over every weight and seed)."
    )
    return Paragraph(text), {"autograd_max_diff": worst}


def _intro(study: HyperparametersSettings, meta: dict, base: VariantSummary, base_run: dict, n_test: int) -> list:
    """The data, the base model's settings and its test accuracy against the reference."""
    sizes, split = meta["sizes"], meta["split"]
    t = base_run["train"]  # as trained (the same as `study.train` when run by the pipeline)
    return [
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
    ]


def candidates(axis: str, variants: list[VariantSummary], base: VariantSummary) -> list[VariantSummary]:
    """The values a sweep chooses among: a penalty or a model also against the base (no penalty, the plain MLP)."""
    return [*variants, base] if axis in ("penalty", "model") else variants


def _sweep_blocks(
    axis: str,
    variants: list[VariantSummary],
    base: VariantSummary,
    run: dict,
    found: Finding | None,
    n_test: int,
    out: Path,
) -> tuple[list, tuple | None]:
    """One sweep's subsection and its answer to the exercise's question (``found``: its validation choice)."""
    label = axis_label(axis)
    path = curves_figure(axis, variants, base, out / "figures" / f"hyperparameters_{axis}.png")
    answer = sweep_answer(axis, candidates(axis, variants, base), found, int(run["train"]["epochs"]))
    blocks = [
        Heading(f"Sweep: {label}", level=3),
        sweep_table(axis, variants, n_test),
        Paragraph(found.claim.sentence() if found else "Fewer than two values trained: nothing to choose."),
        Figure(
            path.relative_to(out),
            f"Validation accuracy per epoch, one curve per value of the {label} (mean over seeds, band ±1 std).",
        ),
    ]
    blocks += [
        Paragraph(
            f"**{v.name} diverged** (non-finite loss) for {v.diverged} of "
            f"{len(v.per_seed)} seeds; excluded from its statistics."
        )
        for v in variants
        if v.diverged
    ]
    return blocks, answer


OPTIMIZER_NOTE = (
    "All optimizers share lr {lr:g} (the sweep keeps the rest fixed): this is "
    "far below the step sizes plain SGD and Adadelta (torch default lr 1.0) are usually "
    "run with, so their low accuracy here says as much about the fixed lr as about them. AdamW "
    "is Adam plus torch's default decoupled weight decay (0.01 · lr · w per step), a "
    "small regularizer: expect it within noise of Adam on this small model."
)


def _summary_blocks(sweeps: dict, base: VariantSummary, run: dict, n_test: int, out: Path) -> list:
    """The forest of each sweep's validation choice and the test accuracy per swept value."""
    fig_dir = out / "figures"
    path = summary_figure(sweeps, base, fig_dir / "hyperparameters_summary.png")
    budget = f"{run['train']['epochs']} epochs"
    return [
        Heading("Summary", level=3),
        forest_figure(sweeps, base, n_test, budget, fig_dir / "hyperparameters_forest.png", out),
        Figure(
            path.relative_to(out),
            "Final test accuracy against the swept value (mean ± std over "
            "seeds); dashed: base model; dotted: the ≈ 0.97 reference.",
        ),
    ]


def _seconds(base_run: dict, numpy_record: dict, sweeps: dict) -> dict[str, float]:
    """Wall time of the base, NumPy and sweep stages, as their records hold them."""
    seconds = {"hyperparameters (base)": float(base_run["wall_seconds"])}
    seconds["hyperparameters (numpy)"] = float(numpy_record["wall_seconds"])
    seconds |= {
        f"hyperparameters ({axis})": float(read_record(train_dir(axis)).summary["wall_seconds"]) for axis in sweeps
    }
    return seconds


def build(settings: Settings, out: Path) -> StudySection:
    """The S4 section: data and settings, base result, one subsection per sweep, summary figure."""
    study: HyperparametersSettings = settings.studies[STUDY]
    meta = load_meta(prepared_dir(digits.NAME))
    (base,), base_run = load_axis("base")
    sweeps = {axis: load_axis(axis)[0] for axis in study.axes}
    n_test = int(meta["sizes"]["test"])
    blocks = _intro(study, meta, base, base_run, n_test)
    lab, _ = lab_figures(out, base)
    blocks += lab
    budget = f"{base_run['train']['epochs']} epochs"
    found = choices({axis: candidates(axis, variants, base) for axis, variants in sweeps.items()}, budget, n_test)
    answers = []
    for axis, variants in sweeps.items():
        sweep, answer = _sweep_blocks(axis, variants, base, base_run, found.get(axis), n_test, out)
        blocks += sweep
        answers.append(answer)
    findings = list(found.values())
    if "optimizer" in sweeps:
        blocks.append(Paragraph(OPTIMIZER_NOTE.format(lr=study.base.lr)))
    numpy_record = read_record(train_dir("numpy")).summary
    numpy_text, numpy_metrics = numpy_exercise(numpy_record)
    blocks += [Heading("Exercise 1 in NumPy", level=3), numpy_text]
    if sweeps:
        blocks += _summary_blocks(sweeps, base, base_run, n_test, out)
    chosen_among = {axis: candidates(axis, variants, base) for axis, variants in sweeps.items()}
    blocks += literature.blocks(base, chosen_among, n_test, settings.profile)
    blocks += questions_block([a for a in answers if a is not None])
    write_plot_data(base, sweeps, out / "plots")
    all_metrics = metrics(base, chosen_among, n_test) | {"numpy_sigmoid": numpy_metrics}
    seconds = _seconds(base_run, numpy_record, sweeps)
    return StudySection(STUDY, blocks, all_metrics, seconds, [digits.NAME], findings, [s4_settings_table(study)])

"""The S1 section of the report: architecture comparison on images.

Built from the stage records only (results.py): the evaluate stage ran every seed on the test
set and recorded the predictions the section shows, so nothing here runs a model. The parts:
claims.py (findings), questions.py (the exercise's questions), tables.py, figures.py, plots.py
(the files behind S1's DVC plots), references.py (the published numbers compared against).
"""

from __future__ import annotations

import math
from pathlib import Path

from annstudy.data.prepared import PreparedDataset, load_meta, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.params.settings import Settings
from annstudy.report.document import Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection
from annstudy.report.units import plural
from annstudy.studies.architectures import figures, literature, plots, tables, worked_checks
from annstudy.studies.architectures.claims import better_matrix, claims
from annstudy.studies.architectures.questions import questions
from annstudy.studies.architectures.results import ArchResult, chosen_architecture, load_results


def _epochs_phrase(epochs: list[int], stop_patience: int = 0) -> str:
    if stop_patience > 0:
        return (
            f"at most {epochs[-1]} epochs, each seed stopped after {plural(stop_patience, 'epoch')} without a lower "
            "full-validation loss and evaluated at its best epoch"
        )
    if len(epochs) == 1:
        return f"{epochs[0]} epoch{'s' if epochs[0] != 1 else ''}"
    return f"{', '.join(map(str, epochs[:-1]))} or {epochs[-1]} epochs (per architecture, see the table)"


def stopping_note(results: list[ArchResult]) -> list[Paragraph]:
    """Under early stopping, the epochs each architecture's seeds reached: matched budgets by the rule,
    not by the epochs (docs/report.md), so a reader sees how far each went."""
    stopped = [r for r in results if r.stop_patience]
    if not stopped:
        return []
    reached = "; ".join(f"{r.arch} {r.reached}" for r in stopped)
    return [
        Paragraph(
            f"**Training length.** Epochs trained per seed (best epoch, evaluated, in brackets): {reached}. "
            "Architectures stopped by the same rule under the same maximum count as matched budgets."
        )
    ]


def section(
    settings: Settings,
    data: PreparedDataset,
    results: list[ArchResult],
    matrix: Table,
    findings: list[Finding],
    out: Path,
) -> list:
    """The S1 section's blocks before the worked checks (figures under ``out/figures``)."""
    study = settings.studies["architectures"]
    n_test = len(data.test.y)
    blocks: list = [
        Heading("S1 Architectures"),
        Paragraph(
            f"{len(results)} architectures trained on `{study.dataset}` with {study.train.optimizer} "
            f"(lr {study.train.lr:g}), batch {study.train.batch_size}, "
            f"{_epochs_phrase(sorted({study.train_for(r.arch).epochs for r in results}), study.stop_patience)}, "
            f"{len(study.train.seeds)} seeds each. Every choice (architecture, the seed whose weights are "
            "shown) is made on validation accuracy; test accuracy only reports the chosen one."
        ),
        *[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in findings],
        tables.results_table(results, study, n_test),
        *stopping_note(results),
        Paragraph(
            f"**Verdict rule** (from the final eval-mode accuracies, means over seeds): *underfitting* when "
            f"train accuracy < {study.underfit_train_acc:g}; otherwise *overfitting* when train − val "
            f"accuracy > {study.overfit_gap:g}; otherwise *generalizing*."
        ),
        figures.forest_figure(results, study.dataset, n_test, out),
        Heading("Is A better than B?", level=3),
        matrix,
    ]
    for r in results:
        if r.diverged_seeds:
            where = ", ".join(f"seed {s} at step {step}" for s, step in r.diverged_seeds)
            blocks.append(Paragraph(f"**{r.arch} diverged** (non-finite loss): {where}; excluded from its statistics."))
    blocks += figures.panel_figures(results, study.dataset, len(study.train.seeds), out)
    blocks += figures.weight_figures(results, data, out)
    blocks += figures.error_figures(chosen_architecture(results), data, study.misclassified_shown, out)
    return blocks


def _rounded(value: float) -> float | None:
    """JSON-safe: a NaN (no healthy seed to average) becomes null."""
    return None if math.isnan(value) else round(value, 5)


def metrics(results: list[ArchResult], n_test: int) -> dict:
    """metrics.json's S1 headline: per architecture the test accuracy over seeds, and the validation choice.

    Compact, so `dvc exp show` stays readable; per-seed numbers, the chosen seed, the best-on-test seed and
    the losses stay in the stage records (data/architectures/*/live) and the DVC plots. No wall times
    either: a metric that changes on every rerun would defeat `dvc exp show --only-changed`. Accuracies
    are over the seeds that did not diverge, null when every seed diverged. ``chosen``: the architecture
    with the highest mean validation accuracy and the test accuracy of its seed chosen on validation (one
    model: ``n_test`` gives its sampling error).
    """
    chosen = chosen_architecture(results)
    return {
        "n_test": n_test,
        "chosen": {
            "arch": chosen.arch,
            "test_acc": _rounded(chosen.seed_test(chosen.chosen_seed)) if chosen.test.n else None,
        },
        **{r.arch: {"test_acc_mean": _rounded(r.test.mean), "test_acc_std": _rounded(r.test.std)} for r in results},
    }


def build(settings: Settings, out: Path) -> StudySection:
    """The S1 section: findings, results table, tests, figures; settings and per-layer tables in the appendix.
    Also writes the files behind S1's DVC plots into ``out/plots``."""
    study = settings.studies["architectures"]
    data = load_prepared(prepared_dir(study.dataset))
    results = load_results(study.archs)
    n_test, classes = len(data.test.y), len(data.classes)
    matrix, comparisons = better_matrix(results)
    findings = claims(results, comparisons, classes, n_test)
    blocks = section(settings, data, results, matrix, findings, out)
    blocks += literature.blocks(results, study.dataset, n_test, settings.profile)
    checks, _ = worked_checks.section(len(data.train.y), study.train.batch_size, results[0].epochs, out)
    blocks += [*checks, *questions_block(questions(results, findings, comparisons, study, data, n_test))]
    appendix = [
        tables.settings_table(settings, load_meta(prepared_dir(study.dataset)), results),
        tables.split_table(results, study),
        *tables.architecture_tables(results, data.image_shape, classes),
    ]
    plots.write_curves(results, out / "plots")
    plots.write_confusion(chosen_architecture(results), out / "plots")
    seconds = {f"architectures@{r.arch} (train)": r.wall_seconds for r in results}
    seconds |= {f"architectures@{r.arch} (evaluate)": float(r.evaluation.get("wall_seconds", 0.0)) for r in results}
    return StudySection(
        "architectures",
        blocks,
        metrics(results, n_test),
        seconds,
        [study.dataset],
        findings,
        appendix,
    )

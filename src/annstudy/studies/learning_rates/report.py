"""The S3 section of the report: constant SGD rates, the exercise's multi-pass schedule, and Adam.

The section's layout only: results.py reads the records, claims.py states what they support and
figures.py draws them; here they are put in order with the table and the settings.
"""

from __future__ import annotations

from pathlib import Path

from annstudy.engine.schedules import describe_rule
from annstudy.params.settings import Settings
from annstudy.report import budgets
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import StudySection, settings_table
from annstudy.report.stats import Accuracy, pct
from annstudy.report.units import plural
from annstudy.studies.learning_rates.claims import findings, questions
from annstudy.studies.learning_rates.config import ADAM, CONSTANT_PREFIX, SCHEDULED, LearningRatesSettings, constant_lr
from annstudy.studies.learning_rates.figures import colors, curve_charts, curves_figure, passes_figure
from annstudy.studies.learning_rates.results import (
    budget,
    drops,
    final_val,
    fired,
    label,
    load_records,
    metrics,
    stopped,
    test_size,
)
from annstudy.studies.learning_rates.run import STUDY
from annstudy.studies.variants import Variant


def stage_name(variant: str) -> str:
    """The dvc.yaml stage that trains ``variant`` (``lr_0.1`` -> ``learning_rates_sgd@0.1``)."""
    if constant_lr(variant) is not None:
        return f"learning_rates_sgd@{variant.removeprefix(CONSTANT_PREFIX)}"
    return f"learning_rates_{variant}"


def _row(rec: Variant, n_test: int) -> list[str]:
    """One variant's row: accuracies, divergence and the drops of the schedule."""
    acc = Accuracy(tuple(rec.test_accs), n_test)
    div = rec.diverged
    val = final_val(rec)
    return [
        label(rec.name),
        budgets.reached(rec.run),
        pct(sum(val) / len(val)) if val else "—",
        acc.fmt() if acc.n else "— (all diverged)",
        acc.fmt_sampling() if acc.n else "—",
        f"{len(div)} of {len(rec.run['seeds'])}"
        + (" (" + ", ".join(f"seed {s} at step {st}" for s, st in div) + ")" if div else ""),
        drops(rec),
    ]


def _table(records: list[Variant], n_test: int) -> Table:
    """Every variant's final accuracies: validation (the basis of every choice) and test."""
    early = any(stopped(rec) for rec in records)
    epochs, when = ("epochs (best)", "best epoch") if early else ("epochs", "last epoch")
    return Table(
        ["variant", epochs, f"val acc ({when})", "test acc", "test sampling", "diverged", "rate drops"],
        [_row(rec, n_test) for rec in records],
        caption=(
            "Early stopping: epochs (best) is the range over seeds of the epochs trained and, in brackets, of the "
            "epoch with the lowest full-validation loss, whose weights are evaluated. Accuracies in eval mode at "
            "each seed's best epoch"
            if early
            else "Accuracies in eval mode after the last epoch"
        )
        + ", over the seeds that did not diverge (a run whose "
        "loss became NaN/inf stops there and is excluded): validation on the full split (what every choice "
        "uses); test with the per-seed values (n ≤ 2) or the 95 % t-interval, and the Wilson 95 % interval "
        f"over the {n_test:,} test images.",
    )


def _intro(study: LearningRatesSettings) -> list:
    """The heading, the setup and how the schedule finds its drops."""
    return [
        Heading("S3 Learning rates"),
        Paragraph(
            f"`{study.arch}` on `{study.dataset}`, SGD (momentum {study.train.momentum:g}), batch "
            f"{study.train.batch_size}, {len(study.train.seeds)} seeds: constant rates, a step schedule whose "
            f"drops are found by a plateau rule, and Adam (lr {study.adam_lr:g})."
        ),
        Paragraph(
            '**Schedule** (the exercise\'s passes, its "by eye" step replaced by a stated rule, per seed): '
            + describe_rule(study.schedule_lrs, study.schedule_epochs, study.patience, study.min_delta)
            + ". A retrain repeats the previous pass exactly up to the plateau epoch (same initialisation, "
            "batches and rate), so it continues from that pass's state there; a pass that will drop stops "
            "once its plateau is confirmed. The scheduled seeds are trained one at a time (each finds its own "
            "plateaus); the others as one stacked network."
        ),
        *_stopping(study),
    ]


def _stopping(study: LearningRatesSettings) -> list[Paragraph]:
    """The one early-stopping rule of every variant, when the profile sets one."""
    if not study.stop_patience:
        return []
    most = sorted({study.epochs, study.schedule_epochs, study.adam_epochs})
    first = (
        "is shorter, so its drops normally fire first"
        if study.patience < study.stop_patience
        else "is not shorter, so the stopping rule may end a seed before its drops"
    )
    return [
        Paragraph(
            f"**Early stopping** (every variant, the schedule too): a seed stops after "
            f"{plural(study.stop_patience, 'epoch')} without a lower full-validation loss, at most "
            f"{' / '.join(map(str, most))} epochs, and is evaluated at its best epoch; variants stopped by this rule "
            f"under one maximum count as matched budgets. The schedule's plateau window ({study.patience}) {first}; "
            "a seed whose best epoch comes before its first drop is flagged in the claims (*confounded*)."
        )
    ]


def _curve_blocks(study: LearningRatesSettings, records: list[Variant], out: Path) -> list:
    """The constant rates' figure with the interactive charts, then the schedule against Adam."""
    palette = colors(study.variants)
    band = f"mean over {len(study.train.seeds)} seeds, band ±1 std"
    constant = [r for r in records if constant_lr(r.name) is not None]
    compared = [r for r in records if r.name in (SCHEDULED, ADAM)]
    blocks: list = []
    if constant:
        title = f"S3 {study.arch}: SGD at constant rates — {band}"
        path = curves_figure(constant, palette, out / "figures" / "learning_rates_constant.png", title)
        caption = (
            "Constant rates: training loss (left), validation accuracy "
            "(right); × marks the last finite point of a diverged seed."
        )
        blocks += [Figure(path.relative_to(out), caption), *curve_charts(constant + compared, path.relative_to(out))]
    if compared:
        title = f"S3 {study.arch}: step schedule vs Adam — {band}"
        path = curves_figure(compared, palette, out / "figures" / "learning_rates_schedule_adam.png", title)
        caption = "Scheduled SGD vs Adam; dotted lines: epochs after which a seed's rate dropped."
        blocks.append(Figure(path.relative_to(out), caption))
    return blocks


def _schedule_blocks(study: LearningRatesSettings, sched: Variant | None, out: Path) -> list:
    """The passes figure and the drops found; a warning that says so when no seed's rate dropped."""
    blocks: list = []
    if sched is not None and sched.run.get("passes"):
        title = f"S3 {study.arch}: the schedule's passes"
        path = passes_figure(sched, out / "figures" / "learning_rates_passes.png", title)
        blocks.append(
            Figure(
                path.relative_to(out),
                "The passes of the schedule per seed: full-validation accuracy per epoch of each pass (a pass that "
                "drops stops once its plateau is confirmed); ○ the plateau epoch the rule found, where the next "
                "pass drops the rate.",
            )
        )
        blocks.append(Paragraph(f"**Detected drop epochs per seed**: {drops(sched)}."))
    if sched is not None and not fired(sched):
        blocks.append(
            Paragraph(
                f"**No plateau was found**: no seed's validation accuracy stopped increasing by the rule within "
                f"{budget(sched)}, so the 'scheduled' run is SGD at a constant {sched.run['train']['lr']:g}; "
                "nothing here says whether the schedule works. The exercise allows training longer: raise "
                "`schedule_epochs` (and `epochs`) until a plateau appears."
            )
        )
    return blocks


def _diverged_blocks(records: list[Variant]) -> list:
    """One line per variant with a diverged seed: where it diverged (its numbers exclude that seed)."""
    return [
        Paragraph(
            f"**{label(rec.name)} diverged** (non-finite training loss): "
            + ", ".join(f"seed {s} at step {st}" for s, st in rec.diverged)
            + "."
        )
        for rec in records
        if rec.diverged
    ]


def build(settings: Settings, out: Path) -> StudySection:
    """The S3 section (the registry's entry): setup, curves, the schedule's passes, results and questions."""
    study: LearningRatesSettings = settings.studies[STUDY]
    records = load_records(study)
    n_test = test_size(study.dataset)
    found = findings(records, n_test)
    sched = next((r for r in records if r.name == SCHEDULED), None)
    blocks = [
        *_intro(study),
        *_curve_blocks(study, records, out),
        *_schedule_blocks(study, sched, out),
        *_diverged_blocks(records),
        Heading("Results", level=3),
        _table(records, n_test),
        *[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in found],
        *questions_block(questions(records, found)),
    ]
    appendix = [
        settings_table(
            study,
            "Effective S3 settings (profile values resolved). `train.*` are the constant-rate "
            "variants' settings; `scheduled` uses `schedule_lrs` and `schedule_epochs`, `adam` uses "
            "`adam_lr` and `adam_epochs`.",
        )
    ]
    seconds = {stage_name(r.name): r.wall_seconds for r in records}
    return StudySection(STUDY, blocks, metrics(records, n_test), seconds, [study.dataset], found, appendix)

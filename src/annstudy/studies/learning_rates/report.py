"""The S3 section of the report: constant SGD rates, the plateau-driven schedule, and Adam."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from annstudy.engine.schedules import PlateauSteps
from annstudy.params import Settings
from annstudy.report import figures
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.section import StudySection, settings_table
from annstudy.report.stats import summarize
from annstudy.studies.learning_rates.config import ADAM, CONSTANT_PREFIX, SCHEDULED, LearningRatesSettings, constant_lr
from annstudy.studies.learning_rates.run import STUDY, variant_dir
from annstudy.variants import Variant, read_variant


def stage_name(variant: str) -> str:
    """The dvc.yaml stage that trains ``variant`` (``lr_0.1`` -> ``learning_rates_sgd@0.1``)."""
    if constant_lr(variant) is not None:
        return f"learning_rates_sgd@{variant.removeprefix(CONSTANT_PREFIX)}"
    return f"learning_rates_{variant}"


def _colors(variants: tuple[str, ...]) -> dict[str, tuple]:
    palette = sns.color_palette("colorblind", n_colors=max(len(variants), 5))
    return {v: palette[i] for i, v in enumerate(variants)}


def _label(variant: str) -> str:
    if variant == SCHEDULED:
        return "SGD, plateau schedule"
    if variant == ADAM:
        return "Adam"
    return f"SGD lr {constant_lr(variant):g}"


def curves_figure(records: list[Variant], colors: dict, path: Path, title: str) -> Path:
    """Training loss (left, log scale) and validation accuracy (right), one curve per variant.

    Diverged seeds are drawn up to their last finite log step and marked with an ×.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(14, 5.5))
    drops = False
    for rec in records:
        c = rec.curves
        n_div, n = len(rec.diverged), len(rec.run["seeds"])
        label = _label(rec.name) + (f" ({n_div}/{n} diverged)" if n_div else "")
        if c.empty:  # diverged before the first log step: nothing to draw, but it stays in the legend
            ax_loss.plot([], [], "x", color=colors[rec.name], label=f"{label}, before the first log")
            continue
        figures.seed_band(ax_loss, c, "epoch", "train_loss", colors[rec.name], label)
        figures.seed_band(ax_acc, c, "epoch", "val_acc", colors[rec.name], None)
        for seed, _step in rec.diverged:
            rows = c[c["seed"] == seed]
            if not rows.empty:
                ax_loss.plot(rows["epoch"].iloc[-1], rows["train_loss"].iloc[-1], "x", color=colors[rec.name], ms=9)
        for seed_row in rec.run["seeds"]:
            for change in seed_row["lr_changes"]:
                ax_acc.axvline(change["epoch"], color=colors[rec.name], lw=0.8, ls=":", alpha=0.7)
                drops = True
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Training loss (log scale)")
    ax_loss.set_yscale("log")
    ax_acc.set(
        xlabel="epoch",
        ylabel="validation accuracy",
        title="Validation accuracy" + (" (dotted: rate drops)" if drops else ""),
    )
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.06))
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return figures.save_figure(fig, path)


def _drops(rec: Variant) -> str:
    per_seed = [
        f"seed {s['seed']}: "
        + (", ".join(f"after epoch {c['epoch']} → {c['lr']:g}" for c in s["lr_changes"]) or "none")
        for s in rec.run["seeds"]
    ]
    return "; ".join(per_seed) if rec.name == SCHEDULED else "—"


def _table(records: list[Variant]) -> Table:
    rows = []
    for rec in records:
        t = summarize(rec.test_accs)
        train = rec.run["train"]
        div = rec.diverged
        rows.append(
            [
                _label(rec.name),
                str(train["epochs"]),
                t.fmt() if t.n else "— (all diverged)",
                t.fmt_ci() if t.n else "—",
                f"{len(div)} of {len(rec.run['seeds'])}"
                + (" (" + ", ".join(f"seed {s} at step {st}" for s, st in div) + ")" if div else ""),
                _drops(rec),
            ]
        )
    return Table(
        ["variant", "epochs", "test acc (mean ± std)", "95 % CI", "diverged", "rate drops"],
        rows,
        caption="Test accuracy in eval mode on the full test split after the last epoch, over the seeds "
        "that did not diverge (a run whose loss became NaN/inf stops there and is excluded).",
    )


def findings(records: list[Variant]) -> list[str]:
    """Plain statements supported by the numbers: best variant, divergences, scheduled vs Adam."""
    lines = []
    ranked = [(rec, summarize(rec.test_accs)) for rec in records if rec.test_accs]
    if ranked:
        best, s = max(ranked, key=lambda p: p[1].mean)
        lines.append(
            f"Highest mean test accuracy: **{_label(best.name)}** ({s.fmt()}, n = {s.n}, "
            f"{best.run['train']['epochs']} epochs; the variants' epochs differ, see the table)."
        )
    for rec in records:
        if rec.diverged:
            where = ", ".join(f"seed {s} at step {st}" for s, st in rec.diverged)
            lines.append(f"**{_label(rec.name)} diverged** (non-finite training loss): {where}.")
    by = {rec.name: rec for rec in records}
    if SCHEDULED in by and ADAM in by and by[SCHEDULED].test_accs and by[ADAM].test_accs:
        a, b = summarize(by[SCHEDULED].test_accs), summarize(by[ADAM].test_accs)
        ea, eb = by[SCHEDULED].run["train"]["epochs"], by[ADAM].run["train"]["epochs"]
        if ea != eb:
            lines.append(
                f"The schedule trained {ea} epochs and Adam {eb} (S1 settings): unequal budgets, so the "
                "comparison below is of the two procedures as configured, not of the optimizers alone."
            )
        overlap = not (a.ci_low > b.ci_high or b.ci_low > a.ci_high)
        lines.append(
            f"Scheduled SGD {a.fmt()} vs Adam {b.fmt()}: a difference of {(a.mean - b.mean) * 100:+.2f} "
            "percentage points; the 95 % intervals "
            + ("overlap, so this run does not show either to be better." if overlap else "do not overlap.")
            if a.n > 1 and b.n > 1
            else f"Scheduled SGD {a.fmt()} vs Adam {b.fmt()} (too few seeds for an interval)."
        )
    return lines


def metrics(records: list[Variant]) -> dict:
    out = {}
    for rec in records:
        t = summarize(rec.test_accs)
        entry = {
            "test_acc_mean": round(t.mean, 5) if t.n else None,
            "test_acc_std": round(t.std, 5) if t.n else None,
            "diverged": len(rec.diverged),
        }
        if rec.name == SCHEDULED:
            entry["drop_epochs"] = [[c["epoch"] for c in s["lr_changes"]] for s in rec.run["seeds"]]
        out[rec.name] = entry
    return out


def build(settings: Settings, out: Path) -> StudySection:
    study: LearningRatesSettings = settings.studies[STUDY]
    records = [read_variant(v, variant_dir(v)) for v in study.variants]
    colors = _colors(study.variants)
    seeds = len(study.train.seeds)
    fig_dir = out / "figures"
    band = f"mean over {seeds} seeds, band ±1 std"
    constant = [r for r in records if constant_lr(r.name) is not None]
    compared = [r for r in records if r.name in (SCHEDULED, ADAM)]
    blocks = [
        Heading("S3 Learning rates"),
        Paragraph(
            f"`{study.arch}` on `{study.dataset}`, SGD (momentum {study.train.momentum:g}), batch "
            f"{study.train.batch_size}, {seeds} seeds: constant rates, a step schedule whose drops are found "
            f"by a plateau rule, and Adam (lr {study.adam_lr:g})."
        ),
        settings_table(
            study,
            "Effective S3 settings (profile values resolved). `train.*` are the constant-rate "
            "variants' settings; `scheduled` uses `schedule_lrs` and `schedule_epochs`, `adam` uses "
            "`adam_lr` and `adam_epochs`.",
        ),
        Paragraph(
            "**Plateau rule** (checked per seed after every epoch): "
            + PlateauSteps.describe(study.schedule_lrs, study.patience, study.min_delta)
            + ". "
            "The scheduled seeds are trained one at a time (each finds its own plateaus); the others as "
            "one stacked network."
        ),
    ]
    if constant:
        path = curves_figure(
            constant,
            colors,
            fig_dir / "learning_rates_constant.png",
            f"S3 {study.arch}: SGD at constant rates — {band}",
        )
        blocks.append(
            Figure(
                path.relative_to(out),
                "Constant rates: training loss (left), validation accuracy "
                "(right); × marks the last finite point of a diverged seed.",
            )
        )
    if compared:
        path = curves_figure(
            compared,
            colors,
            fig_dir / "learning_rates_schedule_adam.png",
            f"S3 {study.arch}: plateau schedule vs Adam — {band}",
        )
        blocks.append(
            Figure(
                path.relative_to(out), "Scheduled SGD vs Adam; dotted lines: epochs after which a seed's rate dropped."
            )
        )
    blocks += [Heading("Results", level=3), _table(records), *[Paragraph(line) for line in findings(records)]]
    seconds = {stage_name(r.name): r.wall_seconds for r in records}
    return StudySection(STUDY, blocks, metrics(records), seconds, [study.dataset])

"""The S3 section of the report: constant SGD rates, the exercise's multi-pass schedule, and Adam."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.engine.schedules import describe_rule
from annstudy.params.settings import Settings
from annstudy.report import figures, interactive
from annstudy.report.claims import Arm, Claim, compare
from annstudy.report.document import Chart, Figure, Heading, Paragraph, Table
from annstudy.report.interactive import Panel
from annstudy.report.questions import MEASURED, questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, pct, summarize
from annstudy.studies.learning_rates.config import ADAM, CONSTANT_PREFIX, SCHEDULED, LearningRatesSettings, constant_lr
from annstudy.studies.learning_rates.run import STUDY, variant_dir
from annstudy.studies.variants import Variant, read_variant


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
        return "SGD, step schedule"
    if variant == ADAM:
        return "Adam"
    return f"SGD lr {constant_lr(variant):g}"


def curve_charts(records: list[Variant], fallback: Path) -> list[Chart]:
    """Every variant's curves, every seed, to explore in the HTML (the constant rates, the schedule, Adam)."""
    return interactive.curve_charts(
        {_label(rec.name): rec.curves for rec in records},
        x="epoch",
        series="variant",
        panels=[Panel("val_acc", "validation accuracy"), Panel("train_loss", "training loss", True)],
        study="S3",
        fallback=fallback,
        caption="S3 {name} per seed (thin) and mean (thick): constant rates, the step schedule and Adam.",
    )


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
    """Per seed: the drops of the final pass, and why the passes ended (no plateau found, or no rate left)."""
    if rec.name != SCHEDULED:
        return "—"
    passes = rec.run.get("passes", {})
    per_seed = []
    for s in rec.run["seeds"]:
        drops = ", ".join(f"after epoch {c['epoch']} → {c['lr']:g}" for c in s["lr_changes"]) or "none"
        last = (passes.get(str(s["seed"])) or [{}])[-1]
        missing = last and last.get("plateau") is None and len(passes[str(s["seed"])]) < len(rec.run["schedule_lrs"])
        note = f" (no plateau found at {last['lr']:g})" if missing else ""
        per_seed.append(f"seed {s['seed']}: {drops}{note}")
    return "; ".join(per_seed)


def drop_epochs(rec: Variant) -> list[list[int]]:
    """Per seed, the epochs after which the rate dropped (the plateaus the passes found)."""
    return [[c["epoch"] for c in s["lr_changes"]] for s in rec.run["seeds"]]


def passes_figure(rec: Variant, path: Path, title: str) -> Path:
    """One panel per pass: every seed's full-validation accuracy per epoch, a dot at the plateau found on it.

    Why: the drop epochs are read off these curves (the exercise's "by eye" step); the figure shows
    what the rule saw.
    """
    passes = rec.run.get("passes", {})
    n = max((len(p) for p in passes.values()), default=1)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.2), squeeze=False, sharey=True)
    palette = sns.color_palette("colorblind", n_colors=max(len(passes), 3))
    for i, ax in enumerate(axes[0]):
        rates: list[float] = []
        for c, (seed, seed_passes) in enumerate(passes.items()):
            if i >= len(seed_passes):
                continue
            p = seed_passes[i]
            rates = [q["lr"] for q in seed_passes[: i + 1]]
            epochs = list(range(1, len(p["val_acc"]) + 1))
            ax.plot(epochs, p["val_acc"], "-", color=palette[c], lw=1.2, label=f"seed {seed}")
            for earlier in seed_passes[:i]:  # the drops this pass trains with
                ax.axvline(earlier["plateau"], color=palette[c], lw=0.8, ls=":", alpha=0.7)
            if p["plateau"] is not None:
                ax.plot(p["plateau"], p["val_acc"][p["plateau"] - 1], "o", color=palette[c], ms=8, mfc="none")
        ax.set(xlabel="epoch", title=f"pass {i + 1}: " + " → ".join(f"{r:g}" for r in rates))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation accuracy (full split)")
    axes[0][0].legend(fontsize=8, ncol=2)
    fig.suptitle(title + " — ○ plateau found, dotted: the drops a pass trains with", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return figures.save_figure(fig, path)


def _table(records: list[Variant], n_test: int) -> Table:
    rows = []
    for rec in records:
        acc = Accuracy(tuple(rec.test_accs), n_test)
        train = rec.run["train"]
        div = rec.diverged
        val = final_val(rec)
        rows.append(
            [
                _label(rec.name),
                str(train["epochs"]),
                pct(sum(val) / len(val)) if val else "—",
                acc.fmt() if acc.n else "— (all diverged)",
                acc.fmt_sampling() if acc.n else "—",
                f"{len(div)} of {len(rec.run['seeds'])}"
                + (" (" + ", ".join(f"seed {s} at step {st}" for s, st in div) + ")" if div else ""),
                _drops(rec),
            ]
        )
    return Table(
        ["variant", "epochs", "val acc (last epoch)", "test acc", "test sampling", "diverged", "rate drops"],
        rows,
        caption="Accuracies in eval mode after the last epoch, over the seeds that did not diverge (a run whose "
        "loss became NaN/inf stops there and is excluded): validation on the full split (what every choice "
        "uses); test with the per-seed values (n ≤ 2) or the 95 % t-interval, and the Wilson 95 % interval "
        f"over the {n_test:,} test images.",
    )


def final_val(rec: Variant, epoch: int | None = None) -> tuple[float, ...]:
    """Per healthy seed: validation accuracy at ``epoch`` (default: each seed's last epoch)."""
    e = rec.epochs
    if e.empty:
        return ()
    healthy = {s["seed"] for s in rec.run["seeds"] if not s["diverged"]}
    e = e[e["seed"].isin(healthy)]
    rows = e[e["epoch"] == epoch] if epoch is not None else e.sort_values("epoch").groupby("seed").tail(1)
    return tuple(float(v) for v in rows.sort_values("seed")["val_acc"])


def _budget(rec: Variant) -> str:
    epochs = int(rec.run["train"]["epochs"])
    return f"{epochs} epoch{'s' if epochs != 1 else ''}"


def _arm(rec: Variant, values: tuple[float, ...], budget: str | None = None, classes: int = 10) -> Arm:
    acc = sum(values) / len(values) if values else None
    return Arm(_label(rec.name), values, budget or _budget(rec), None, acc, classes)


def fired(rec: Variant) -> bool:
    return any(s["lr_changes"] for s in rec.run["seeds"])


def findings(records: list[Variant], n_test: int) -> list[Finding]:
    """Best constant rate on validation; whether the schedule fired; schedule vs Adam at equal epochs."""
    found = []
    by = {rec.name: rec for rec in records}
    constant = sorted(
        (r for r in records if constant_lr(r.name) is not None and r.test_accs),
        key=lambda r: sum(final_val(r)) / max(len(final_val(r)), 1),
        reverse=True,
    )
    if len(constant) >= 2:
        best, second = constant[0], constant[1]
        ahead = "ahead of" if summarize(best.test_accs).mean >= summarize(second.test_accs).mean else "behind"
        claim = compare(
            f"{_label(best.name)} reaches the highest validation accuracy of the constant rates; on test it is "
            f"{ahead} {_label(second.name)}",
            _arm(best, tuple(best.test_accs)),
            _arm(second, tuple(second.test_accs)),
        )
        key = Accuracy(tuple(best.test_accs), n_test).fmt()
        found.append(Finding("How does the learning rate affect the point reached (chosen on validation)?", claim, key))
    sched, adam = by.get(SCHEDULED), by.get(ADAM)
    base = next((r for r in records if constant_lr(r.name) == (sched.run["train"]["lr"] if sched else None)), None)
    if sched and sched.test_accs and base and base.test_accs:
        found += _versus_constant(sched, base)
    if sched and adam and sched.test_accs and adam.test_accs:
        found += _versus_adam(sched, adam, n_test)
    return found


def _versus_constant(sched: Variant, base: Variant) -> list[Finding]:
    """The schedule against SGD at its starting rate: validation accuracy at the epochs both ran, test as run.

    Up to the first drop the two are the same procedure, so the equal-epoch comparison says something
    about the drops only when a drop came before that epoch (otherwise it is marked confounded).
    """
    question = "Does the schedule work?"
    epoch = min(int(sched.run["train"]["epochs"]), int(base.run["train"]["epochs"]))
    budget = f"{epoch} epoch{'s' if epoch != 1 else ''}"
    a, b = final_val(sched, epoch), final_val(base, epoch)
    before = [c["epoch"] for s in sched.run["seeds"] for c in s["lr_changes"] if c["epoch"] < epoch]
    out = []
    if a and b:
        none = [] if before else [f"no seed's rate dropped before epoch {epoch}: up to there both are SGD at 0.1"]
        claim = compare(
            f"at equal epochs ({epoch}), scheduled SGD vs {_label(base.name)} on validation accuracy",
            _arm(sched, a, budget),
            _arm(base, b, budget),
            confounders=none,
        )
        out.append(Finding(question, claim, f"{(sum(a) / len(a) - sum(b) / len(b)) * 100:+.1f} points (val)"))
    never = [] if fired(sched) else [f"the schedule never fired: no seed's rate dropped in {_budget(sched)}"]
    claim = compare(
        f"as configured, scheduled SGD vs {_label(base.name)} on test accuracy",
        _arm(sched, tuple(sched.test_accs)),
        _arm(base, tuple(base.test_accs)),
        confounders=never,
    )
    out.append(Finding(question, claim, _drops(sched)))
    return out


def _versus_adam(sched: Variant, adam: Variant, n_test: int) -> list[Finding]:
    """Schedule vs Adam: validation accuracy at the epochs both ran (matched budget), test as configured."""
    question = "Schedule vs Adam in accuracy?"
    epoch = min(int(sched.run["train"]["epochs"]), int(adam.run["train"]["epochs"]))
    budget = f"{epoch} epoch{'s' if epoch != 1 else ''}"
    a, b = final_val(sched, epoch), final_val(adam, epoch)
    out = []
    if a and b:
        before = [c["epoch"] for s in sched.run["seeds"] for c in s["lr_changes"] if c["epoch"] < epoch]
        none = [] if before else [f"no seed's rate dropped before epoch {epoch}: the schedule is not yet in play"]
        claim = compare(
            f"at equal epochs ({epoch}), scheduled SGD vs Adam on validation accuracy",
            _arm(sched, a, budget),
            _arm(adam, b, budget),
            confounders=none,
        )
        out.append(Finding(question, claim, f"{(sum(a) / len(a) - sum(b) / len(b)) * 100:+.1f} points (val)"))
    never = [] if fired(sched) else ["the schedule never fired"]
    claim: Claim = compare(
        "as configured, scheduled SGD vs Adam on test accuracy",
        _arm(sched, tuple(sched.test_accs)),
        _arm(adam, tuple(adam.test_accs)),
        confounders=never,
    )
    diff = (summarize(sched.test_accs).mean - summarize(adam.test_accs).mean) * 100
    out.append(Finding(question, claim, f"{diff:+.1f} points (test)"))
    return out


def _mean(values: tuple[float, ...] | list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def final_loss(rec: Variant) -> float | None:
    """Mean over seeds of the last logged training loss (a diverged seed's last finite one)."""
    c = rec.curves
    if c.empty:
        return None
    return float(c.sort_values("step").groupby("seed")["train_loss"].last().mean())


def _speed_and_point(rec: Variant) -> str:
    """Convergence speed (validation accuracy after epoch 1) and the point reached (last epoch, final loss)."""
    if not rec.test_accs:
        return f"{_label(rec.name)} diverged in every seed"
    first, last, loss = _mean(final_val(rec, 1)), _mean(final_val(rec)), final_loss(rec)
    epochs = int(rec.run["train"]["epochs"])
    text = f"{_label(rec.name)}: val {pct(first)} after epoch 1" if first is not None else _label(rec.name)
    if epochs > 1 and last is not None:
        text += f", {pct(last)} after epoch {epochs}"
    return text + (f", final training loss {loss:.3f}" if loss is not None else "")


def _gain_after_drops(rec: Variant) -> float | None:
    """Mean over seeds that dropped: final validation accuracy minus that at the first drop (the plateau level)."""
    e = rec.epochs
    gains = []
    for s in rec.run["seeds"]:
        if not s["lr_changes"] or s["diverged"]:
            continue
        rows = e[e["seed"] == s["seed"]].sort_values("epoch")
        at = rows[rows["epoch"] == s["lr_changes"][0]["epoch"]]["val_acc"]
        if len(at):
            gains.append(float(rows["val_acc"].iloc[-1]) - float(at.iloc[0]))
    return _mean(gains)


def questions(records: list[Variant], found: list[Finding]) -> list[tuple]:
    """The exercise's S3 questions, each answered from this run's numbers with the status of its claim."""
    by = {rec.name: rec for rec in records}
    claims = {f.question: f.claim for f in found}
    constant = [r for r in records if constant_lr(r.name) is not None]
    items = []
    point = claims.get("How does the learning rate affect the point reached (chosen on validation)?")
    items.append(
        (
            "How does the learning rate affect convergence speed and the point reached?",
            "; ".join(_speed_and_point(r) for r in constant)
            + (f". {point.statement[0].upper()}{point.statement[1:]}." if point else "."),
            point or MEASURED,
        )
    )
    sched = by.get(SCHEDULED)
    works_all = [f.claim for f in found if f.question == "Does the schedule work?"]
    works = works_all[0] if works_all else None
    if sched is not None:
        gain = _gain_after_drops(sched)
        sense = (
            f"in the sense that validation accuracy rose by {gain * 100:+.1f} points from the first plateau to the "
            "end (mean over the seeds that dropped)"
            if gain is not None
            else "no seed's rate dropped, so the schedule was not tested"
        )
        versus = "".join(f"; {c.statement}: {c.statistic} ({c.status.value})" for c in works_all)
        items.append(
            (
                "Does the schedule work, and in what sense?",
                f"Drops found: {_drops(sched)}; {sense}{versus}.",
                works or MEASURED,
            )
        )
    adam = [f.claim for f in found if f.question == "Schedule vs Adam in accuracy?"]
    if sched is not None and ADAM in by and adam:
        first = (_mean(final_val(sched, 1)), _mean(final_val(by[ADAM], 1)))
        speed = (
            f" After epoch 1 (convergence): scheduled {pct(first[0])}, Adam {pct(first[1])} on validation."
            if None not in first
            else ""
        )
        items.append(
            (
                "Schedule vs Adam in accuracy and convergence?",
                " ".join(f"{c.statement[0].upper()}{c.statement[1:]}: {c.statistic} ({c.status.value})." for c in adam)
                + speed,
                adam[0],
            )
        )
    return items


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
            entry["drop_epochs"] = drop_epochs(rec)
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
    ]
    appendix = [
        settings_table(
            study,
            "Effective S3 settings (profile values resolved). `train.*` are the constant-rate "
            "variants' settings; `scheduled` uses `schedule_lrs` and `schedule_epochs`, `adam` uses "
            "`adam_lr` and `adam_epochs`.",
        )
    ]
    blocks += [
        Paragraph(
            '**Schedule** (the exercise\'s passes, its "by eye" step replaced by a stated rule, per seed): '
            + describe_rule(study.schedule_lrs, study.schedule_epochs, study.patience, study.min_delta)
            + ". A retrain repeats the previous pass exactly up to the plateau epoch (same initialisation, "
            "batches and rate), so it continues from that pass's state there; a pass that will drop stops "
            "once its plateau is confirmed. The scheduled seeds are trained one at a time (each finds its own "
            "plateaus); the others as one stacked network."
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
        blocks += curve_charts(constant + compared, path.relative_to(out))
    if compared:
        path = curves_figure(
            compared,
            colors,
            fig_dir / "learning_rates_schedule_adam.png",
            f"S3 {study.arch}: step schedule vs Adam — {band}",
        )
        blocks.append(
            Figure(
                path.relative_to(out), "Scheduled SGD vs Adam; dotted lines: epochs after which a seed's rate dropped."
            )
        )
    n_test = _test_size(study.dataset)
    found = findings(records, n_test)
    sched = next((r for r in records if r.name == SCHEDULED), None)
    if sched is not None and sched.run.get("passes"):
        path = passes_figure(sched, fig_dir / "learning_rates_passes.png", f"S3 {study.arch}: the schedule's passes")
        blocks.append(
            Figure(
                path.relative_to(out),
                "The passes of the schedule per seed: full-validation accuracy per epoch of each pass (a pass that "
                "drops stops once its plateau is confirmed); ○ the plateau epoch the rule found, where the next "
                "pass drops the rate.",
            )
        )
        blocks.append(Paragraph(f"**Detected drop epochs per seed**: {_drops(sched)}."))
    if sched is not None and not fired(sched):
        blocks.append(
            Paragraph(
                f"**No plateau was found**: no seed's validation accuracy stopped increasing by the rule within "
                f"{_budget(sched)}, so the 'scheduled' run is SGD at a constant {sched.run['train']['lr']:g}; "
                "nothing here says whether the schedule works. The exercise allows training longer: raise "
                "`schedule_epochs` (and `epochs`) until a plateau appears."
            )
        )
    for rec in records:
        if rec.diverged:
            where = ", ".join(f"seed {s} at step {st}" for s, st in rec.diverged)
            blocks.append(Paragraph(f"**{_label(rec.name)} diverged** (non-finite training loss): {where}."))
    blocks += [
        Heading("Results", level=3),
        _table(records, n_test),
        *[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in found],
        *questions_block(questions(records, found)),
    ]
    seconds = {stage_name(r.name): r.wall_seconds for r in records}
    return StudySection(STUDY, blocks, metrics(records), seconds, [study.dataset], found, appendix)


def _test_size(dataset: str) -> int:
    """Number of test images of the prepared dataset (for the Wilson interval)."""
    return int(load_meta(prepared_dir(dataset))["sizes"]["test"])

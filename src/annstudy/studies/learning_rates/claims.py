"""S3's numbers turned into statements with a status, and the exercise's questions answered with them.

Why apart from the layout: the comparisons here decide what the run supports (equal budgets, a
schedule that never fired is a confounder), and the section only prints their sentences.
"""

from __future__ import annotations

from collections.abc import Mapping

from annstudy.report import budgets
from annstudy.report.claims import Arm, Claim, weakest
from annstudy.report.comparisons import Contrast, compare, holm_family
from annstudy.report.questions import MEASURED
from annstudy.report.section import Finding
from annstudy.report.stats import Accuracy, pct, summarize
from annstudy.studies.learning_rates.config import ADAM, SCHEDULED, constant_lr
from annstudy.studies.learning_rates.results import (
    budget,
    drops,
    final_loss,
    final_val,
    gain_after_drops,
    label,
    mean,
    stopped,
)
from annstudy.studies.variants import Variant

POINT_QUESTION = "How does the learning rate affect the point reached (chosen on validation)?"
WORKS_QUESTION = "Does the schedule work?"
ADAM_QUESTION = "Schedule vs Adam in accuracy?"


def _arm(rec: Variant, values: tuple[float, ...], budget_: str | None = None, classes: int = 10) -> Arm:
    """A variant as a side of a claim; its accuracy says whether it trained."""
    acc = sum(values) / len(values) if values else None
    return Arm(label(rec.name), values, budget_ or budget(rec), None, acc, classes)


def _epochs_text(epoch: int) -> str:
    return f"{epoch} epoch{'s' if epoch != 1 else ''}"


def _best_constant(records: list[Variant], n_test: int) -> list[Finding]:
    """The constant rate with the highest validation accuracy against the runner-up, on test."""
    constant = sorted(
        (r for r in records if constant_lr(r.name) is not None and r.test_accs),
        key=lambda r: sum(final_val(r)) / max(len(final_val(r)), 1),
        reverse=True,
    )
    if len(constant) < 2:
        return []
    best, second = constant[0], constant[1]
    ahead = "ahead of" if summarize(best.test_accs).mean >= summarize(second.test_accs).mean else "behind"
    claim = compare(
        f"{label(best.name)} reaches the highest validation accuracy of the constant rates; on test it is "
        f"{ahead} {label(second.name)}",
        _arm(best, tuple(best.test_accs)),
        _arm(second, tuple(second.test_accs)),
    )
    return [Finding(POINT_QUESTION, claim, Accuracy(tuple(best.test_accs), n_test).fmt())]


def findings(records: list[Variant], n_test: int) -> list[Finding]:
    """Best constant rate on validation; the schedule against its starting rate and against Adam (a family each)."""
    found = _best_constant(records, n_test)
    by = {rec.name: rec for rec in records}
    sched, adam = by.get(SCHEDULED), by.get(ADAM)
    base = next((r for r in records if constant_lr(r.name) == (sched.run["train"]["lr"] if sched else None)), None)
    if sched and sched.test_accs and base and base.test_accs:
        found += _versus(sched, base, WORKS_QUESTION, "S3: does the schedule work?")
    if sched and adam and sched.test_accs and adam.test_accs:
        found += _versus(sched, adam, ADAM_QUESTION, "S3: schedule vs Adam")
    return found


def schedule_confounders(drops_by_seed: dict[int, list[int]], epoch: int | Mapping[int, int]) -> list[str]:
    """A confounder per seed whose rate never dropped before ``epoch``: that seed is constant-rate SGD there,
    so the comparison says nothing about the schedule for it (studies.md: *confounded*). ``epoch`` is one
    epoch for every seed, or per seed the epoch of its evaluated weights (its best, under early stopping)."""
    until = epoch if isinstance(epoch, Mapping) else dict.fromkeys(drops_by_seed, epoch)
    its = " (its best)" if isinstance(epoch, Mapping) else ""
    return [
        f"the schedule did not fire for seed {seed} before epoch {until[seed]}{its}: that seed is constant-rate SGD"
        for seed, epochs in drops_by_seed.items()
        if not any(e < until[seed] for e in epochs)
    ]


def _drops_by_seed(sched: Variant) -> dict[int, list[int]]:
    """Per seed that did not diverge, the epochs after which its rate dropped."""
    return {int(s["seed"]): [int(c["epoch"]) for c in s["lr_changes"]] for s in sched.run["seeds"] if not s["diverged"]}


def _ahead(a: tuple[float, ...], b: tuple[float, ...]) -> str:
    """The direction the statement claims, as the key number shows it (one decimal of a point)."""
    gap = mean(a) - mean(b)
    return "level with" if abs(gap) < 0.0005 else ("ahead of" if gap > 0 else "behind")


def _validation_contrast(sched: Variant, other: Variant) -> Contrast | None:
    """Scheduled SGD against ``other`` on validation accuracy at a matched budget: at the last epoch both ran
    or, under early stopping, at each seed's best epoch (the evaluated weights; one rule, one budget)."""
    drops_by_seed, name = _drops_by_seed(sched), label(other.name)
    if stopped(sched) or stopped(other):
        a, b = final_val(sched), final_val(other)
        where, until = "at their best epochs", budgets.best_epochs(sched.run)
        budget_a, budget_b = budget(sched), budget(other)
    else:
        epoch = min(int(sched.run["train"]["epochs"]), int(other.run["train"]["epochs"]))
        a, b = final_val(sched, epoch), final_val(other, epoch)
        where, until, budget_a = f"at equal epochs ({epoch})", epoch, _epochs_text(epoch)
        budget_b = budget_a
    if not (a and b):
        return None
    return Contrast(
        f"{where}, scheduled SGD ends {_ahead(a, b)} {name} on validation accuracy",
        _arm(sched, a, budget_a),
        _arm(other, b, budget_b),
        tuple(schedule_confounders(drops_by_seed, until)),
    )


def _versus(sched: Variant, other: Variant, question: str, family: str) -> list[Finding]:
    """Scheduled SGD against ``other``: validation accuracy at a matched budget (:func:`_validation_contrast`)
    and test accuracy as configured; one family of two tests, Holm within it."""
    name = label(other.name)
    drops_by_seed = _drops_by_seed(sched)
    validation = _validation_contrast(sched, other)
    a, b = (validation.a.values, validation.b.values) if validation else ((), ())
    contrasts = [validation] if validation else []
    test_a, test_b = tuple(sched.test_accs), tuple(other.test_accs)
    evaluated = budgets.best_epochs(sched.run) if stopped(sched) else int(sched.run["train"]["epochs"])
    same = stopped(sched) and budget(sched) == budget(other)
    configured = f"both {budget(sched)}" if same else f"{budget(sched)} against {budget(other)}"
    contrasts.append(
        Contrast(
            f"as configured ({configured}), scheduled SGD ends {_ahead(test_a, test_b)} {name} on test accuracy",
            _arm(sched, test_a),
            _arm(other, test_b),
            tuple(schedule_confounders(drops_by_seed, evaluated)),
        )
    )
    claims = holm_family(contrasts, family)
    keys = [f"{(mean(a) - mean(b)) * 100:+.1f} points (val)"] if a and b else []
    keys.append(f"{(summarize(test_a).mean - summarize(test_b).mean) * 100:+.1f} points (test)")
    return [Finding(question, claim, key) for claim, key in zip(claims, keys)]


def _speed_and_point(rec: Variant) -> str:
    """Convergence speed (validation accuracy after epoch 1) and the point reached (last epoch, final loss)."""
    if not rec.test_accs:
        return f"{label(rec.name)} diverged in every seed"
    first, last, loss = mean(final_val(rec, 1)), mean(final_val(rec)), final_loss(rec)
    epochs = int(rec.run["train"]["epochs"])
    text = f"{label(rec.name)}: val {pct(first)} after epoch 1" if first is not None else label(rec.name)
    if stopped(rec) and last is not None:
        text += f", {pct(last)} at the best epochs (epochs trained {budgets.reached(rec.run)})"
    elif epochs > 1 and last is not None:
        text += f", {pct(last)} after epoch {epochs}"
    return text + (f", final training loss {loss:.3f}" if loss is not None else "")


def _rate_question(records: list[Variant], point: Claim | None) -> tuple:
    """How the rate changes convergence speed and the point reached, per constant rate."""
    constant = [r for r in records if constant_lr(r.name) is not None]
    return (
        "How does the learning rate affect convergence speed and the point reached?",
        "; ".join(_speed_and_point(r) for r in constant)
        + (f". {point.statement[0].upper()}{point.statement[1:]}." if point else "."),
        point or MEASURED,
    )


def _schedule_question(sched: Variant, works_all: list[Claim]) -> tuple:
    """What the drops found did to validation accuracy, with the schedule's claims."""
    gain = gain_after_drops(sched)
    sense = (
        f"in the sense that validation accuracy rose by {gain * 100:+.1f} points from the first plateau to the "
        "end (mean over the seeds that dropped)"
        if gain is not None
        else "no seed's rate dropped, so the schedule was not tested"
    )
    versus = "".join(f"; {c.statement}: {c.statistic} ({c.status.value})" for c in works_all)
    return (
        "Does the schedule work, and in what sense?",
        f"Drops found: {drops(sched)}; {sense}{versus}.",
        weakest(works_all) if works_all else MEASURED,
    )


def _adam_question(sched: Variant, adam_rec: Variant, adam: list[Claim]) -> tuple:
    """The schedule against Adam, on accuracy (the claims) and on speed (after epoch 1)."""
    first = (mean(final_val(sched, 1)), mean(final_val(adam_rec, 1)))
    speed = (
        f" After epoch 1 (convergence): scheduled {pct(first[0])}, Adam {pct(first[1])} on validation."
        if None not in first
        else ""
    )
    return (
        "Schedule vs Adam in accuracy and convergence?",
        " ".join(f"{c.statement[0].upper()}{c.statement[1:]}: {c.statistic} ({c.status.value})." for c in adam) + speed,
        weakest(adam),
    )


def questions(records: list[Variant], found: list[Finding]) -> list[tuple]:
    """The exercise's S3 questions, each answered from this run's numbers with the status of its claim."""
    by = {rec.name: rec for rec in records}
    claims = {f.question: f.claim for f in found}
    items = [_rate_question(records, claims.get(POINT_QUESTION))]
    sched = by.get(SCHEDULED)
    if sched is not None:
        items.append(_schedule_question(sched, [f.claim for f in found if f.question == WORKS_QUESTION]))
    adam = [f.claim for f in found if f.question == ADAM_QUESTION]
    if sched is not None and ADAM in by and adam:
        items.append(_adam_question(sched, by[ADAM], adam))
    return items

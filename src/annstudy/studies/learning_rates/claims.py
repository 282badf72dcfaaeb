"""S3's numbers turned into statements with a status, and the exercise's questions answered with them.

Why apart from the layout: the comparisons here decide what the run supports (equal budgets, a
schedule that never fired is a confounder), and the section only prints their sentences.
"""

from __future__ import annotations

from annstudy.report.claims import Arm, Claim, compare
from annstudy.report.questions import MEASURED
from annstudy.report.section import Finding
from annstudy.report.stats import Accuracy, pct, summarize
from annstudy.studies.learning_rates.config import ADAM, SCHEDULED, constant_lr
from annstudy.studies.learning_rates.results import (
    budget,
    drops,
    final_loss,
    final_val,
    fired,
    gain_after_drops,
    label,
    mean,
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
    """Best constant rate on validation; whether the schedule fired; schedule vs Adam at equal epochs."""
    found = _best_constant(records, n_test)
    by = {rec.name: rec for rec in records}
    sched, adam = by.get(SCHEDULED), by.get(ADAM)
    base = next((r for r in records if constant_lr(r.name) == (sched.run["train"]["lr"] if sched else None)), None)
    if sched and sched.test_accs and base and base.test_accs:
        found += _versus_constant(sched, base)
    if sched and adam and sched.test_accs and adam.test_accs:
        found += _versus_adam(sched, adam, n_test)
    return found


def _val_at_equal_epochs(sched: Variant, other: Variant, question: str, name: str, not_yet: str) -> list[Finding]:
    """Scheduled SGD against ``other`` on validation accuracy at the last epoch both ran.

    Up to the first drop the schedule is SGD at its starting rate, so without a drop before that
    epoch the comparison says nothing about the drops (``not_yet`` names that confounder).
    """
    epoch = min(int(sched.run["train"]["epochs"]), int(other.run["train"]["epochs"]))
    a, b = final_val(sched, epoch), final_val(other, epoch)
    if not (a and b):
        return []
    before = [c["epoch"] for s in sched.run["seeds"] for c in s["lr_changes"] if c["epoch"] < epoch]
    none = [] if before else [f"no seed's rate dropped before epoch {epoch}: {not_yet}"]
    claim = compare(
        f"at equal epochs ({epoch}), scheduled SGD vs {name} on validation accuracy",
        _arm(sched, a, _epochs_text(epoch)),
        _arm(other, b, _epochs_text(epoch)),
        confounders=none,
    )
    return [Finding(question, claim, f"{(sum(a) / len(a) - sum(b) / len(b)) * 100:+.1f} points (val)")]


def _versus_constant(sched: Variant, base: Variant) -> list[Finding]:
    """The schedule against SGD at its starting rate: validation accuracy at the epochs both ran, test as run."""
    out = _val_at_equal_epochs(sched, base, WORKS_QUESTION, label(base.name), "up to there both are SGD at 0.1")
    never = [] if fired(sched) else [f"the schedule never fired: no seed's rate dropped in {budget(sched)}"]
    claim = compare(
        f"as configured, scheduled SGD vs {label(base.name)} on test accuracy",
        _arm(sched, tuple(sched.test_accs)),
        _arm(base, tuple(base.test_accs)),
        confounders=never,
    )
    out.append(Finding(WORKS_QUESTION, claim, drops(sched)))
    return out


def _versus_adam(sched: Variant, adam: Variant, n_test: int) -> list[Finding]:
    """Schedule vs Adam: validation accuracy at the epochs both ran (matched budget), test as configured."""
    out = _val_at_equal_epochs(sched, adam, ADAM_QUESTION, "Adam", "the schedule is not yet in play")
    never = [] if fired(sched) else ["the schedule never fired"]
    claim: Claim = compare(
        "as configured, scheduled SGD vs Adam on test accuracy",
        _arm(sched, tuple(sched.test_accs)),
        _arm(adam, tuple(adam.test_accs)),
        confounders=never,
    )
    diff = (summarize(sched.test_accs).mean - summarize(adam.test_accs).mean) * 100
    out.append(Finding(ADAM_QUESTION, claim, f"{diff:+.1f} points (test)"))
    return out


def _speed_and_point(rec: Variant) -> str:
    """Convergence speed (validation accuracy after epoch 1) and the point reached (last epoch, final loss)."""
    if not rec.test_accs:
        return f"{label(rec.name)} diverged in every seed"
    first, last, loss = mean(final_val(rec, 1)), mean(final_val(rec)), final_loss(rec)
    epochs = int(rec.run["train"]["epochs"])
    text = f"{label(rec.name)}: val {pct(first)} after epoch 1" if first is not None else label(rec.name)
    if epochs > 1 and last is not None:
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
    works = works_all[0] if works_all else None
    return (
        "Does the schedule work, and in what sense?",
        f"Drops found: {drops(sched)}; {sense}{versus}.",
        works or MEASURED,
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
        adam[0],
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

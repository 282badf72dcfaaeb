"""One rule set that gives every conclusion of the report its status.

A sentence that compares or concludes is a :class:`Claim`: the statement, the statistic it
rests on, the test, the number of seeds per arm and each arm's training budget. Its status
is computed here, never written by hand, in this order (the first rule that applies wins):

1. *did not train*: an arm whose final training loss is within :data:`LOSS_MARGIN` of ln C
   (the loss of a uniform guess over C classes) or whose accuracy is within
   :data:`CHANCE_MARGIN` of chance (1 / C) is no evidence for anything;
2. *confounded*: the arms had unequal budgets (epochs or steps), or something the claim
   depends on did not happen (a learning-rate schedule that never fired);
3. *supported*: the test rejects "no difference" at ``alpha`` (or a one-arm claim passed its check);
4. *not significant*: not significant, and the observed difference is below the smallest one that
   matters (``min_effect``, e.g. one accuracy point): more seeds would only pin down a negligible gap;
5. *underpowered*: not significant, and more seeds than were run would be needed to detect the
   observed difference at 80 % power (the number is stated); fewer than 2 seeds per arm always is.

(The power is computed for the *observed* difference, so a non-significant result nearly always
needs more seeds than were run: the smallest effect that matters is what separates 4 from 5.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Sequence

from annstudy.report.stats import Accuracy, pct, seeds_needed, summarize, welch_p

LOSS_MARGIN = 0.05  # nats: final cross-entropy within this of ln C counts as "never left the uniform guess"
CHANCE_MARGIN = 0.02  # accuracy within 2 points of 1 / C counts as chance
ALPHA = 0.05
POWER = 0.8


class Status(str, Enum):
    SUPPORTED = "supported"
    NOT_SIGNIFICANT = "not significant"
    UNDERPOWERED = "underpowered"
    CONFOUNDED = "confounded"
    DID_NOT_TRAIN = "did not train"


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: per-seed values of the compared metric and what the run was given."""

    label: str
    values: tuple[float, ...]
    budget: str  # e.g. "15 epochs"; arms compare as equals only when their budgets are equal strings
    final_loss: float | None = None  # mean final training cross-entropy, for the did-not-train rule
    accuracy: float | None = None  # mean accuracy, for the chance rule
    classes: int | None = None


def did_not_train(arm: Arm) -> str | None:
    """Why ``arm`` never trained (loss at ln C or accuracy at chance), None when it did."""
    if not arm.classes:
        return None
    ln_c = math.log(arm.classes)
    if arm.final_loss is not None and abs(arm.final_loss - ln_c) <= LOSS_MARGIN:
        return f"{arm.label}: final loss {arm.final_loss:.3f} within {LOSS_MARGIN:g} of ln {arm.classes} = {ln_c:.3f}"
    chance = 1 / arm.classes
    if arm.accuracy is not None and arm.accuracy <= chance + CHANCE_MARGIN:
        return f"{arm.label}: accuracy {arm.accuracy * 100:.1f} % at chance ({chance * 100:.1f} %)"
    return None


@dataclass(frozen=True)
class Claim:
    statement: str
    statistic: str  # e.g. "+5.6 points"
    test: str  # e.g. "Welch t-test, p = 0.01"
    n: int  # seeds per arm (the smallest arm)
    budgets: tuple[str, ...]
    status: Status
    reason: str = ""  # why the status (the did-not-train numbers, the confounder, the seeds needed)
    key: str = field(default="", compare=False)  # the key number as shown in the findings table

    @property
    def budget(self) -> str:
        unique = list(dict.fromkeys(self.budgets))
        return unique[0] if len(unique) == 1 else " vs ".join(self.budgets)

    def sentence(self) -> str:
        """The statement with its evidence and status, for the report's text."""
        why = f"; {self.reason}" if self.reason else ""
        evidence = f"{self.statistic}; {self.test}; n = {self.n}; budget {self.budget}"
        return f"{self.statement} ({evidence}) — *{self.status.value}*{why}."


def judge(
    arms: Sequence[Arm],
    p: float | None,
    diff: float,
    spread: float,
    confounders: Sequence[str] = (),
    min_effect: float = 0.0,
) -> tuple[Status, str]:
    """The rule set (module docstring): status and reason from the arms, the p-value and the effect."""
    untrained = [why for arm in arms if (why := did_not_train(arm))]
    if untrained:
        return Status.DID_NOT_TRAIN, "; ".join(untrained)
    budgets = {arm.budget for arm in arms}
    reasons = list(confounders) + (
        [f"unequal budgets ({' vs '.join(a.budget for a in arms)})"] if len(budgets) > 1 else []
    )
    if reasons:
        return Status.CONFOUNDED, "; ".join(reasons)
    if p is not None and p < ALPHA:
        return Status.SUPPORTED, ""
    n = min((len(a.values) for a in arms), default=0)
    if n >= 2 and abs(diff) < min_effect:
        return (
            Status.NOT_SIGNIFICANT,
            f"the observed difference is below the smallest that matters here ({min_effect:g})",
        )
    needed = seeds_needed(diff, spread, ALPHA, POWER)
    if n < 2 or (needed is not None and needed > n):
        return Status.UNDERPOWERED, (
            f"detecting the observed difference at 80 % power needs about {needed} seeds per arm ({n} run)"
            if needed
            else "at least 2 seeds per arm are needed for a test"
        )
    return Status.NOT_SIGNIFICANT, (
        f"p ≥ {ALPHA:g} although about {needed} seeds per arm would detect the observed difference ({n} run)"
    )


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """Root mean of the two sample variances (the spread the power calculation assumes)."""
    sa, sb = summarize(a), summarize(b)
    if sa.n < 2 or sb.n < 2:
        return float("nan")
    return math.sqrt((sa.std**2 + sb.std**2) / 2)


MIN_ACCURACY_EFFECT = 0.01  # one accuracy point: the smallest difference between two networks that matters here


def compare(
    statement: str,
    a: Arm,
    b: Arm,
    confounders: Sequence[str] = (),
    p: float | None = None,
    unit: str = "points",
    min_effect: float | None = None,
) -> Claim:
    """Claim "a differs from b" on the per-seed values, Welch's test unless an (adjusted) ``p`` is given.

    ``unit="points"``: the values are accuracies, shown in percentage points, and the smallest
    difference that matters defaults to :data:`MIN_ACCURACY_EFFECT`; otherwise it defaults to 0.
    """
    diff = summarize(a.values).mean - summarize(b.values).mean
    if p is None:
        p = welch_p(list(a.values), list(b.values)) if min(len(a.values), len(b.values)) >= 2 else None
        test = "Welch t-test" + (f", p = {p:.2g}" if p is not None else " not possible")
    else:
        test = f"Welch t-test, Holm-adjusted p = {p:.2g}"
    if min_effect is None:
        min_effect = MIN_ACCURACY_EFFECT if unit == "points" else 0.0
    status, reason = judge((a, b), p, diff, pooled_std(a.values, b.values), confounders, min_effect)
    if unit == "points":  # say the smallest difference that matters in the unit the reader sees
        reason = reason.replace(f"({min_effect:g})", f"({min_effect * 100:g} point{'s' if min_effect != 0.01 else ''})")
    shown = f"{diff * 100:+.1f} points" if unit == "points" else f"{diff:+.3g} {unit}"
    statistic = f"{a.label} − {b.label} = {shown}"
    n = min(len(a.values), len(b.values))
    return Claim(statement, statistic, test, n, (a.budget, b.budget), status, reason)


def against(
    statement: str,
    arm: Arm,
    threshold: float,
    interval: tuple[float, float],
    test: str,
    confounders: Sequence[str] = (),
    statistic: str | None = None,
) -> Claim:
    """A one-arm claim about a bar or a published value: supported when ``interval`` lies wholly on one side.

    The caller words ``statement`` from the numbers (above or below); this rule says whether the
    uncertainty lets it be said at all.
    """
    low, high = interval
    untrained = did_not_train(arm)
    if untrained:
        status, reason = Status.DID_NOT_TRAIN, untrained
    elif confounders:
        status, reason = Status.CONFOUNDED, "; ".join(confounders)
    elif low > threshold or high < threshold:
        status, reason = Status.SUPPORTED, ""
    else:
        status, reason = (
            Status.NOT_SIGNIFICANT,
            f"the interval [{low * 100:.1f}, {high * 100:.1f}] contains {threshold * 100:.1f} %",
        )
    if statistic is None:
        statistic = f"{summarize(arm.values).mean * 100:.1f} % vs {threshold * 100:.1f} %"
    return Claim(statement, statistic, test, len(arm.values), (arm.budget,), status, reason)


def accuracy_bar(
    label: str,
    acc: Accuracy,
    bar: float,
    budget: str,
    classes: int,
    what: str,
    confounders: Sequence[str] = (),
    verbs: tuple[str, str] = ("reaches", "misses"),
) -> Claim:
    """``label`` reaches / misses ``what`` (a bar, chance, a published figure) given both uncertainties of ``acc``."""
    verb = verbs[0] if acc.mean >= bar else verbs[1]
    arm = Arm(label, acc.values, budget, None, acc.mean, classes)
    test = f"seed spread and Wilson interval over {acc.n_test:,} test images together"
    return against(f"{label} {verb} {what} ({pct(bar)})", arm, bar, acc.interval, test, confounders)


def training(arm: Arm) -> Claim:
    """Whether a run trained at all: the did-not-train rule applied to one arm, stated either way."""
    why = did_not_train(arm)
    test = f"final loss vs ln C (margin {LOSS_MARGIN:g}), accuracy vs chance (+{CHANCE_MARGIN * 100:g} points)"
    loss = f"final loss {arm.final_loss:.3f}" if arm.final_loss is not None else "no loss"
    acc = f"accuracy {arm.accuracy * 100:.1f} %" if arm.accuracy is not None else "no accuracy"
    if why:
        statement = f"{arm.label} did not train: it never left the uniform guess over {arm.classes} classes"
        return Claim(statement, f"{loss}, {acc}", test, len(arm.values), (arm.budget,), Status.DID_NOT_TRAIN, why)
    return Claim(f"{arm.label} trained", f"{loss}, {acc}", test, len(arm.values), (arm.budget,), Status.SUPPORTED)

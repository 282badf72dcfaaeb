"""One rule set that gives every conclusion of the report its status (docs/report.md, "The claim rule set").

A sentence that compares or concludes is a :class:`Claim`: the statement, the statistic it
rests on, the test with the p-value its status uses, the number of seeds per arm and each
arm's training budget. Its status is computed here from the per-seed records, never written
by hand. Every comparison belongs to the :class:`Family` of the study question it answers and
its p-value is Holm-adjusted within that family (a family of one is not adjusted). The first
rule that applies wins:

1. *did not train*: an arm's final training loss is within :data:`LOSS_MARGIN` of ln C (the
   loss of a uniform guess over C classes) or its accuracy within :data:`CHANCE_MARGIN` of
   chance: no accuracy evidence. Except for a claim whose subject is the manipulation that broke
   training (``manipulation=True``, e.g. unscaled inputs): there exactly one arm failing to
   train *is* the effect, and the claim is *supported* (rule 3) after rule 2;
2. *confounded*: unequal budgets (epochs or steps), or something the claim depends on did not
   happen (a learning-rate schedule that did not fire for some seed). A budget is a fixed number
   of epochs, or an early-stopping rule with its maximum (:func:`training_budget`): arms stopped
   by the same rule under the same maximum are matched whatever epoch each seed stopped at;
   fixed-epoch arms at different epochs are not;
3. *supported*: the family-adjusted Welch p < :data:`ALPHA`; a one-arm claim: its interval,
   at the family's level, lies clear of the bar (or inside / outside a published band);
4. *equivalent*: the difference lies within +- the smallest difference that matters (1
   accuracy point unless the study says otherwise): both one-sided tests of TOST reject at the
   family's adjusted level ``ALPHA / m``;
5. *inconclusive*: neither; the reason states the seeds per arm a decision would need at the
   adjusted level (to detect the observed difference at 80 % power, or to show equivalence,
   whichever is fewer), or that a test needs 2 seeds per arm.

"Not significant" is never a status: absence of evidence is *inconclusive* unless TOST shows
the gap is negligible.

This module holds the model (:class:`Claim`, :class:`Status`, :class:`Arm`, :class:`Family`) and the
rules (:func:`judge`); report/comparisons.py builds claims from per-seed values with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Sequence

from annstudy.report.stats import seeds_for_equivalence, seeds_needed

LOSS_MARGIN = 0.05  # nats: final cross-entropy within this of ln C counts as "never left the uniform guess"
CHANCE_MARGIN = 0.02  # accuracy within 2 points of 1 / C counts as chance
ALPHA = 0.05
POWER = 0.8
MIN_ACCURACY_EFFECT = 0.01  # one accuracy point: the smallest difference between two networks that matters here


class Status(str, Enum):
    """The five statuses of a claim, the single source of their names (render styles them by value)."""

    SUPPORTED = "supported"
    EQUIVALENT = "equivalent"
    INCONCLUSIVE = "inconclusive"
    CONFOUNDED = "confounded"
    DID_NOT_TRAIN = "did not train"


WEAKEST_FIRST = (Status.DID_NOT_TRAIN, Status.CONFOUNDED, Status.INCONCLUSIVE, Status.EQUIVALENT, Status.SUPPORTED)


@dataclass(frozen=True)
class Family:
    """The tests that answer one study question: Holm-adjusted together; ``level`` is the adjusted alpha."""

    size: int = 1
    name: str = ""

    @property
    def level(self) -> float:
        """alpha / m: Holm's strictest step, the level for TOST and for the seeds a decision needs."""
        return ALPHA / self.size

    @property
    def level_text(self) -> str:
        """The level as the report prints it, the Holm divisor shown so a reader sees the family's size."""
        return f"α = {ALPHA:g}" if self.size == 1 else f"α = {ALPHA:g}/{self.size}"

    @property
    def p_text(self) -> str:
        """Which p the test text quotes: a family's is adjusted, and saying so keeps it from being read as raw."""
        return "p" if self.size == 1 else "Holm-adjusted p"

    @property
    def over(self) -> str:
        """'' or ' (family: 21 tests, all pairs of architectures)' after the p."""
        if self.size == 1:
            return ""
        return f" (family: {self.size} tests{', ' + self.name if self.name else ''})"


ALONE = Family()


def training_budget(epochs: int, stop_patience: int = 0) -> str:
    """An arm's budget as claims compare it (equal strings: matched): ``15 epochs``, or under early
    stopping the rule and its maximum, ``≤ 20 epochs, stop patience 3``.

    Why the rule and not the epochs reached: each seed of an early-stopped arm trained until its
    validation loss stopped falling, so two arms stopped by one rule under one maximum were given
    the same chance to converge even when one stopped at epoch 9 and the other at 14; the epochs
    each seed reached are shown beside the claim (:func:`epochs_reached`), never compared.
    """
    fixed = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    return fixed if stop_patience <= 0 else f"≤ {fixed}, stop patience {stop_patience}"


def epochs_reached(trained: Sequence[int], best: Sequence[int]) -> str:
    """The epochs an arm's seeds trained and the best epochs evaluated: ``7–12 (best 4–9)``, ``15`` when
    every seed trained the same epochs and ended at its last, ``—`` without seeds."""
    if not trained:
        return "—"

    def span(values: Sequence[int]) -> str:
        low, high = min(values), max(values)
        return str(low) if low == high else f"{low}–{high}"

    same = list(trained) == list(best)
    return span(trained) if same else f"{span(trained)} (best {span(best)})"


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: per-seed values of the compared metric and what the run was given."""

    label: str
    values: tuple[float, ...]
    budget: str  # training_budget(): "15 epochs"; arms compare as equals only when their budgets are equal strings
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
    """One sentence of the report that compares or concludes, with the evidence its status was computed from."""

    statement: str
    statistic: str  # e.g. "+5.6 points"
    test: str  # the test and the p its status uses, e.g. "Welch t-test, Holm-adjusted p = 0.11 (family: ...)"
    n: int  # seeds per arm (the smallest arm)
    budgets: tuple[str, ...]
    status: Status
    reason: str = ""  # why the status (the did-not-train numbers, the confounder, the seeds needed)
    key: str = field(default="", compare=False)  # the key number as shown in the findings table
    p: float | None = field(default=None, compare=False)  # the (adjusted) p the status used, None for none

    @property
    def budget(self) -> str:
        """One budget when the arms share it, else "a vs b": unequal budgets are what confounded a claim."""
        unique = list(dict.fromkeys(self.budgets))
        return unique[0] if len(unique) == 1 else " vs ".join(self.budgets)

    def sentence(self) -> str:
        """The statement with its evidence and status, for the report's text."""
        why = f"; {self.reason}" if self.reason else ""
        evidence = f"{self.statistic}; {self.test}; n = {self.n}; budget {self.budget}"
        return f"{self.statement} ({evidence}) — *{self.status.value}*{why}."


def weakest(claims: Sequence[Claim]) -> Claim:
    """An answer resting on several claims is as strong as its weakest."""
    return min(claims, key=lambda c: WEAKEST_FIRST.index(c.status))


@dataclass(frozen=True)
class Evidence:
    """What the two-arm rules read: the difference, its spread and both tests, with the family they belong to."""

    diff: float  # mean(a) - mean(b)
    spread: float  # root mean of the two sample variances
    n: int  # seeds in the smaller arm
    p: float | None  # difference test (Welch), adjusted within the family; None with fewer than 2 seeds
    tost: float | None  # equivalence test's p; None without a margin or with fewer than 2 seeds
    margin: float  # the smallest difference that matters (0: no equivalence can be claimed)
    family: Family = ALONE


def margin_text(value: float, unit: str) -> str:
    """A margin as the report prints it: accuracy margins in points ("1 point"), other units as they are."""
    return f"{value * 100:g} point{'s' if value != 0.01 else ''}" if unit == "points" else f"{value:g}"


def _undecided(ev: Evidence, unit: str = "points") -> str:
    """Why an inconclusive claim is inconclusive: the seeds per arm a decision needs, at the family's level."""
    if ev.n < 2:
        return f"a test needs at least 2 seeds per arm ({ev.n} run)"
    detect = seeds_needed(ev.diff, ev.spread, ev.family.level, POWER)
    equal = seeds_for_equivalence(ev.diff, ev.spread, ev.margin, ev.family.level, POWER) if ev.margin else None
    options = [
        (max(n, ev.n + 1), what)  # the run had too few, whatever the approximation says
        for n, what in ((detect, "detect the observed difference"), (equal, "show equivalence"))
        if n is not None
    ]
    if not options:
        return f"the observed difference is 0 and this metric has no margin: no number of seeds decides it ({ev.n} run)"
    n, what = min(options)
    margin = f" within ±{margin_text(ev.margin, unit)}" if what == "show equivalence" else ""
    return f"about {n:,} seeds per arm would {what}{margin} at {ev.family.level_text}, 80 % power ({ev.n} run)"


def judge(
    arms: Sequence[Arm], ev: Evidence, confounders: Sequence[str] = (), manipulation: bool = False, unit: str = "points"
) -> tuple[Status, str]:
    """The rule set (module docstring): status and reason from the arms, the adjusted tests and the effect."""
    untrained = [why for arm in arms if (why := did_not_train(arm))]
    effect = manipulation and len(untrained) == 1 and len(arms) == 2
    if untrained and not effect:
        return Status.DID_NOT_TRAIN, "; ".join(untrained)
    budgets = {arm.budget for arm in arms}
    reasons = list(confounders) + (
        [f"unequal budgets ({' vs '.join(a.budget for a in arms)})"] if len(budgets) > 1 else []
    )
    if reasons:
        return Status.CONFOUNDED, "; ".join(reasons)
    if effect:
        broken = next(a for a in arms if did_not_train(a))
        other = next(a for a in arms if a is not broken)
        return Status.SUPPORTED, f"{untrained[0]}, while {other.label} trained: failing to train is the effect"
    if ev.p is not None and ev.p < ALPHA:
        return Status.SUPPORTED, ""
    if ev.tost is not None and ev.tost < ev.family.level:
        return (
            Status.EQUIVALENT,
            f"the difference lies within ±{margin_text(ev.margin, unit)}, the smallest that matters",
        )
    return Status.INCONCLUSIVE, _undecided(ev, unit)

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
   happen (a learning-rate schedule that did not fire for some seed);
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Sequence

from annstudy.report.stats import (
    Accuracy,
    holm,
    pct,
    seeds_for_equivalence,
    seeds_for_interval,
    seeds_needed,
    summarize,
    test_images_for_interval,
    tost_p,
    welch_p,
    wilson,
)

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
        return f"α = {ALPHA:g}" if self.size == 1 else f"α = {ALPHA:g}/{self.size}"

    @property
    def p_text(self) -> str:
        return "p" if self.size == 1 else "Holm-adjusted p"

    @property
    def over(self) -> str:
        """'' or ' (family: 21 tests, all pairs of architectures)' after the p."""
        if self.size == 1:
            return ""
        return f" (family: {self.size} tests{', ' + self.name if self.name else ''})"


ALONE = Family()


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
    test: str  # the test and the p its status uses, e.g. "Welch t-test, Holm-adjusted p = 0.11 (family: ...)"
    n: int  # seeds per arm (the smallest arm)
    budgets: tuple[str, ...]
    status: Status
    reason: str = ""  # why the status (the did-not-train numbers, the confounder, the seeds needed)
    key: str = field(default="", compare=False)  # the key number as shown in the findings table
    p: float | None = field(default=None, compare=False)  # the (adjusted) p the status used, None for none

    @property
    def budget(self) -> str:
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


def _fmt(value: float, unit: str) -> str:
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
    margin = f" within ±{_fmt(ev.margin, unit)}" if what == "show equivalence" else ""
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
        return Status.EQUIVALENT, f"the difference lies within ±{_fmt(ev.margin, unit)}, the smallest that matters"
    return Status.INCONCLUSIVE, _undecided(ev, unit)


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """Root mean of the two sample variances (the spread the power calculation assumes)."""
    sa, sb = summarize(a), summarize(b)
    if sa.n < 2 or sb.n < 2:
        return float("nan")
    return math.sqrt((sa.std**2 + sb.std**2) / 2)


def _test_text(ev: Evidence, status: Status, unit: str, effect: bool) -> str:
    """The tests, each with the p the status used (the adjusted one in a family)."""
    if effect:
        return "did-not-train rule on each arm (final loss vs ln C, accuracy vs chance)"
    if ev.p is None:
        return "no test (fewer than 2 seeds per arm)"
    text = f"Welch t-test, {ev.family.p_text} = {ev.p:.2g}{ev.family.over}"
    if ev.tost is not None and status in (Status.EQUIVALENT, Status.INCONCLUSIVE):
        text += f"; TOST ±{_fmt(ev.margin, unit)} at {ev.family.level_text}, p = {ev.tost:.2g}"
    return text


def compare(
    statement: str,
    a: Arm,
    b: Arm,
    confounders: Sequence[str] = (),
    p: float | None = None,
    unit: str = "points",
    min_effect: float | None = None,
    family: Family = ALONE,
    manipulation: bool = False,
) -> Claim:
    """Claim "a differs from b" on the per-seed values: Welch's test and, for a margin, TOST.

    In a family of more than one test, ``p`` must be the Holm-adjusted p of this comparison
    (:func:`holm_family` computes it); alone, the raw Welch p is computed here.
    ``unit="points"``: the values are accuracies, shown in percentage points, and the smallest
    difference that matters defaults to :data:`MIN_ACCURACY_EFFECT`; otherwise to 0 (no equivalence).
    """
    n = min(len(a.values), len(b.values))
    if p is None and family.size > 1:
        raise ValueError(f"{statement!r}: a family of {family.size} tests needs the Holm-adjusted p")
    if p is None and n >= 2:
        p = welch_p(list(a.values), list(b.values))
    margin = (MIN_ACCURACY_EFFECT if unit == "points" else 0.0) if min_effect is None else min_effect
    tost = tost_p(list(a.values), list(b.values), margin) if margin > 0 and n >= 2 else None
    diff = summarize(a.values).mean - summarize(b.values).mean
    ev = Evidence(diff, pooled_std(a.values, b.values), n, p if n >= 2 else None, tost, margin, family)
    status, reason = judge((a, b), ev, confounders, manipulation, unit)
    shown = f"{diff * 100:+.1f} points" if unit == "points" else f"{diff:+.3g} {unit}"
    effect = manipulation and status is Status.SUPPORTED and any(did_not_train(arm) for arm in (a, b))
    test = _test_text(ev, status, unit, effect)
    used = None if effect else (ev.tost if status is Status.EQUIVALENT else ev.p)
    return Claim(statement, f"{a.label} − {b.label} = {shown}", test, n, (a.budget, b.budget), status, reason, p=used)


@dataclass(frozen=True)
class Contrast:
    """One comparison of a family, before the family's correction (the arguments of :func:`compare`)."""

    statement: str
    a: Arm
    b: Arm
    confounders: tuple[str, ...] = ()
    unit: str = "points"
    min_effect: float | None = None
    manipulation: bool = False


def holm_family(contrasts: Sequence[Contrast], name: str = "") -> list[Claim]:
    """The claims of one study question: Welch p of every contrast Holm-adjusted over all of them, then judged.

    A contrast without a test (fewer than 2 seeds) still counts in the family, with p = 1.
    """
    raw = [
        welch_p(list(c.a.values), list(c.b.values)) if min(len(c.a.values), len(c.b.values)) >= 2 else 1.0
        for c in contrasts
    ]
    family = Family(len(contrasts), name)
    return [
        compare(c.statement, c.a, c.b, c.confounders, q, c.unit, c.min_effect, family, c.manipulation)
        for c, q in zip(contrasts, holm(raw))
    ]


def against(
    statement: str,
    arm: Arm,
    threshold: float,
    interval: tuple[float, float],
    test: str,
    confounders: Sequence[str] = (),
    statistic: str | None = None,
    undecided: str = "",
    percent: bool = True,
) -> Claim:
    """A one-arm claim about a bar: supported when ``interval`` (at the family's level) lies wholly on one side.

    The caller words ``statement`` from the numbers (above or below); this rule says whether the
    uncertainty lets it be said at all. ``undecided`` says what would decide it when it does not;
    ``percent``: the values are accuracies, shown in percent (otherwise as they are, e.g. a cost).
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
        status = Status.INCONCLUSIVE
        shown = (
            f"[{low * 100:.1f}, {high * 100:.1f}] contains {threshold * 100:.1f} %"
            if percent
            else f"[{low:.3g}, {high:.3g}] contains {threshold:g}"
        )
        reason = f"the interval {shown}"
        reason += f"; {undecided}" if undecided else ""
    if statistic is None:
        statistic = f"{summarize(arm.values).mean * 100:.1f} % vs {threshold * 100:.1f} %"
    return Claim(statement, statistic, test, len(arm.values), (arm.budget,), status, reason)


def _interval_test(acc: Accuracy, confidence: float) -> str:
    """Which uncertainty the one-arm interval holds: at n = 1 only the test set's, never a 'seed spread'."""
    images = f"Wilson interval over {acc.n_test:,} test items"
    level = f"{confidence * 100:.4g} %"
    if acc.n == 1:
        return f"{level} {images} (one model: no seed spread)"
    seeds = "the range of the 2 seeds" if acc.n == 2 else f"the t-interval over {acc.n} seeds"
    return f"{level}: {seeds} and the {images} together"


def _what_decides(acc: Accuracy, bar: float, confidence: float) -> str:
    """What would put the interval clear of the bar: more test items when test sampling alone straddles it,
    otherwise more seeds (the seed interval does)."""
    gap = acc.mean - bar
    low, high = wilson(acc.mean, acc.n_test, confidence)
    if low <= bar <= high:
        items = test_images_for_interval(acc.mean, gap, confidence)
        return (
            f"about {items:,} test items would put the sampling interval clear of it ({acc.n_test:,} used)"
            if (items)
            else ""
        )
    seeds = seeds_for_interval(gap, acc.summary.std, confidence) if acc.n >= 2 else None
    return (
        f"about {max(seeds, acc.n + 1)} seeds would put the seed interval clear of it ({acc.n} run)" if (seeds) else ""
    )


def accuracy_bar(
    label: str,
    acc: Accuracy,
    bar: float,
    budget: str,
    classes: int,
    what: str,
    confounders: Sequence[str] = (),
    verbs: tuple[str, str] = ("reaches", "misses"),
    family: Family = ALONE,
) -> Claim:
    """``label`` reaches / misses ``what`` (a bar, chance, a published figure) given both uncertainties of ``acc``.

    In a family of m such claims the interval is at 1 - alpha / m (Bonferroni, Holm's strictest step).
    """
    confidence = 1 - family.level
    verb = verbs[0] if acc.mean >= bar else verbs[1]
    arm = Arm(label, acc.values, budget, None, acc.mean, classes)
    test = _interval_test(acc, confidence) + family.over
    return against(
        f"{label} {verb} {what} ({pct(bar)})",
        arm,
        bar,
        acc.interval_at(confidence),
        test,
        confounders,
        statistic=f"{pct(acc.mean)} vs {pct(bar)}",
        undecided=_what_decides(acc, bar, confidence),
    )


def band(
    label: str,
    acc: Accuracy,
    centre: float,
    tolerance: float,
    budget: str,
    classes: int,
    what: str,
    confounders: Sequence[str] = (),
    family: Family = ALONE,
) -> Claim:
    """``label`` lands inside / below / above ``what``'s band centre ± tolerance, the wording the figure uses.

    Supported when the interval (at the family's level) lies wholly inside the band, or wholly
    outside it on the side the mean is; otherwise inconclusive.
    """
    confidence = 1 - family.level
    low_band, high_band = centre - tolerance, centre + tolerance
    inside = abs(acc.mean - centre) <= tolerance
    where = "inside" if inside else ("below" if acc.mean < centre else "above")
    shown = f"{centre * 100:.0f} ± {tolerance * 100:g} %"
    statement = f"{label} ({pct(acc.mean)}) lands {where} {what} {shown}"
    arm = Arm(label, acc.values, budget, None, acc.mean, classes)
    low, high = acc.interval_at(confidence)
    clear = (low_band <= low and high <= high_band) if inside else (high < low_band or low > high_band)
    test = _interval_test(acc, confidence) + family.over
    statistic = (
        f"{pct(acc.mean)} [{low * 100:.1f}, {high * 100:.1f}] vs band [{low_band * 100:.1f}, {high_band * 100:.1f}]"
    )
    untrained = did_not_train(arm)
    if untrained:
        status, reason = Status.DID_NOT_TRAIN, untrained
    elif confounders:
        status, reason = Status.CONFOUNDED, "; ".join(confounders)
    elif clear:
        status, reason = Status.SUPPORTED, ""
    else:
        status, reason = Status.INCONCLUSIVE, "the interval crosses an edge of the band"
    return Claim(statement, statistic, test, acc.n, (budget,), status, reason)


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

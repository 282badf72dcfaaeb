"""The claim builders: from per-seed values to a :class:`~annstudy.report.claims.Claim` with its status.

Every comparison or conclusion a study's report states is built here, so the rule set of
report/claims.py is applied the same way everywhere: two arms (:func:`compare`, and
:func:`holm_family` for the comparisons that answer one study question together), one arm
against a bar (:func:`against`, :func:`accuracy_bar`) or a published band (:func:`band`), and
whether a run trained at all (:func:`training`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from annstudy.report.claims import (
    ALONE,
    CHANCE_MARGIN,
    LOSS_MARGIN,
    MIN_ACCURACY_EFFECT,
    Arm,
    Claim,
    Evidence,
    Family,
    Status,
    did_not_train,
    judge,
    margin_text,
)
from annstudy.report.stats import (
    Accuracy,
    holm,
    pct,
    seeds_for_interval,
    summarize,
    test_images_for_interval,
    tost_p,
    welch_p,
    wilson,
)


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
        text += f"; TOST ±{margin_text(ev.margin, unit)} at {ev.family.level_text}, p = {ev.tost:.2g}"
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


def _one_arm_status(arm: Arm, confounders: Sequence[str], clear: bool, unclear: str) -> tuple[Status, str]:
    """The rule set for one arm: rules 1 and 2 as for two arms, then supported only when the interval is
    ``clear`` of the bar or band edge, else inconclusive for the reason ``unclear``."""
    untrained = did_not_train(arm)
    if untrained:
        return Status.DID_NOT_TRAIN, untrained
    if confounders:
        return Status.CONFOUNDED, "; ".join(confounders)
    if clear:
        return Status.SUPPORTED, ""
    return Status.INCONCLUSIVE, unclear


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
    shown = (
        f"[{low * 100:.1f}, {high * 100:.1f}] contains {threshold * 100:.1f} %"
        if percent
        else f"[{low:.3g}, {high:.3g}] contains {threshold:g}"
    )
    unclear = f"the interval {shown}" + (f"; {undecided}" if undecided else "")
    status, reason = _one_arm_status(arm, confounders, low > threshold or high < threshold, unclear)
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
        if not items:
            return ""
        return f"about {items:,} test items would put the sampling interval clear of it ({acc.n_test:,} used)"
    seeds = seeds_for_interval(gap, acc.summary.std, confidence) if acc.n >= 2 else None
    if not seeds:
        return ""
    return f"about {max(seeds, acc.n + 1)} seeds would put the seed interval clear of it ({acc.n} run)"


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
    status, reason = _one_arm_status(arm, confounders, clear, "the interval crosses an edge of the band")
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

"""Comparison with the literature: one rule that says whether a run reproduced a published figure.

A published figure is a range (``0.87–0.88``) or a value with a tolerance (``68 % ± 3``); a run's
accuracy is a mean over seeds with the interval its section shows (the 95 % t-interval over seeds
for n >= 3; for n <= 2 no interval, the mean alone). :func:`verdict` is the rule:

- *reproduced*: the mean lies in the range, or its interval overlaps it;
- *below* / *above*: the whole interval (the mean, without one) lies below / above the range.

Each study keeps its published figures and its table in its own ``literature.py``; this module
holds the rule, the table every study renders and the sentence that a demonstration profile's
numbers are below convergence (so a *below* there says nothing about the literature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from annstudy.report.document import Paragraph, Table
from annstudy.report.stats import MIN_SEEDS_FOR_INTERVAL, Accuracy

VERDICTS = ("reproduced", "below", "above")
DEMONSTRATION_PROFILES = ("quick", "smoke")  # params.yaml's profiles that stop short of convergence


def verdict(mean: float, low: float | None, high: float | None, ref_low: float, ref_high: float) -> str:
    """*reproduced*, *below* or *above* the published range [ref_low, ref_high] (a value: ref_low == ref_high).

    ``low``/``high``: the run's interval around ``mean``, None where there is none (n <= 2): then
    the mean alone is judged.
    """
    if not ref_low <= ref_high:
        raise ValueError(f"published range [{ref_low}, {ref_high}] is empty")
    if not math.isfinite(mean):
        raise ValueError(f"no mean to judge: {mean}")
    low, high = (mean, mean) if low is None or high is None else (min(low, mean), max(high, mean))
    if high < ref_low:
        return "below"
    if low > ref_high:
        return "above"
    return "reproduced"


@dataclass(frozen=True)
class Reference:
    """A published figure as a range, and as the table shows it (``0.87–0.88 (MLP)``)."""

    low: float
    high: float
    shown: str


def band(centre: float, tolerance: float, what: str = "") -> Reference:
    """A published value with the tolerance a study allows around it, e.g. ``68 % ± 3 points``."""
    shown = f"{centre * 100:.0f} % ± {tolerance * 100:g} points" + (f" ({what})" if what else "")
    return Reference(centre - tolerance, centre + tolerance, shown)


def judged(acc: Accuracy, ref: Reference) -> str:
    """The verdict of an accuracy over seeds: its t-interval for n >= 3, its mean alone for n <= 2."""
    s = acc.summary
    if acc.n >= MIN_SEEDS_FOR_INTERVAL:
        return verdict(s.mean, s.ci_low, s.ci_high, ref.low, ref.high)
    return verdict(s.mean, None, None, ref.low, ref.high)


BAR_WORDS = {"above": "reached", "reproduced": "on the bar (the interval straddles it)", "below": "not reached"}


def bar_note(acc: Accuracy, bar: float) -> str:
    """An exercise's bar (``≥ 0.80``) judged by the same rule as a range of one point: *reached* when the
    interval (the mean, n <= 2) lies above it, *not reached* below it, else on the bar."""
    if acc.n == 0:
        return f"exercise bar ≥ {bar:.2f}"
    return f"exercise bar ≥ {bar:.2f}: {BAR_WORDS[judged(acc, Reference(bar, bar, ''))]}"


@dataclass(frozen=True)
class Row:
    """One compared model: its name, its test accuracy over seeds, the published figure (None: none for
    this setting) and a note (why there is no verdict, or a bar beside the range)."""

    name: str
    acc: Accuracy
    reference: Reference | None
    note: str = ""


def cells(row: Row) -> list[str]:
    """A row as the table shows it: a verdict only with a published figure and at least one healthy seed."""
    if row.acc.n == 0:
        return [row.name, "—", row.reference.shown if row.reference else "—", "— (no healthy seed)", row.note]
    if row.reference is None:
        return [row.name, row.acc.fmt(), "—", "—", row.note]
    return [row.name, row.acc.fmt(), row.reference.shown, f"*{judged(row.acc, row.reference)}*", row.note]


RULE = (  # plain words: a caption is set in italics
    "Verdict: reproduced when the mean lies in the published range or its interval (95 % t over seeds, "
    "n ≥ 3; the mean alone for n ≤ 2, whose per-seed values are listed) overlaps it, i.e. not shown to "
    "differ from it; below / above when it lies wholly below / above (report/literature.py)."
)


def literature_table(rows: list[Row], caption: str) -> Table:
    """The comparison of a section's models with the published figures, its rule stated after ``caption``."""
    return Table(
        ["model", "test accuracy (ours)", "published", "verdict", "note"],
        [cells(r) for r in rows],
        caption=f"{caption} {RULE}",
    )


def demonstration_note(profile: str) -> Paragraph | None:
    """The sentence a demonstration profile's comparison needs: below convergence, a *below* says nothing."""
    if profile not in DEMONSTRATION_PROFILES:
        return None
    return Paragraph(
        f"Profile **{profile}** is a demonstration: its budgets stop short of convergence (every setting it "
        "changes: *Deviations from studies.md*), so its numbers may sit below what the networks reach and a "
        "*below* verdict here says nothing about the literature; the comparison is the converged run's."
    )

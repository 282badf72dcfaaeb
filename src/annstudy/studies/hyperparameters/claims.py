"""S4's choices turned into statements with a status, and the exercise's question answered per sweep.

Why apart from the layout: every value here is chosen on validation accuracy and only then read on
test; keeping that rule in one module keeps the tables and figures from choosing on test.
"""

from __future__ import annotations

from annstudy.report.comparisons import Contrast, holm_family
from annstudy.report.section import Finding
from annstudy.report.stats import pct
from annstudy.studies.hyperparameters.results import VariantSummary, axis_label, chosen_on_validation

FAMILY = "S4: each sweep's validation choice against its runner-up"


def _contrast(axis: str, variants: list[VariantSummary], budget: str) -> Contrast | None:
    """The value with the highest validation accuracy against the validation runner-up, on test."""
    ranked = sorted((v for v in variants if len(v.healthy)), key=lambda v: v.val_mean, reverse=True)
    if len(ranked) < 2:
        return None
    best, second = ranked[0], ranked[1]
    gap = best.test.mean - second.test.mean
    ahead = "level with" if abs(gap) < 0.0005 else ("ahead of" if gap > 0 else "behind")
    return Contrast(
        f"best {axis_label(axis)} on validation: {best.label()} ({pct(best.val_mean)} val); on test it is {ahead} "
        f"the validation runner-up {second.label()} ({pct(second.val_mean)} val)",
        best.arm(budget),
        second.arm(budget),
    )


def choices(candidates: dict[str, list[VariantSummary]], budget: str, n_test: int) -> dict[str, Finding]:
    """Per sweep, the value chosen on validation and its test against the runner-up. studies.md asks one S4
    question of every sweep, so the sweeps' tests are one family, Holm-corrected together."""
    contrasts = {axis: c for axis, variants in candidates.items() if (c := _contrast(axis, variants, budget))}
    claims = holm_family(list(contrasts.values()), FAMILY)
    found = {}
    for axis, claim in zip(contrasts, claims):
        best = chosen_on_validation(candidates[axis])
        question = f"Sweep of the {axis_label(axis)}: which value (chosen on validation)?"
        found[axis] = Finding(question, claim, best.accuracy(n_test).fmt())
    return found


def _first_epoch_at(v: VariantSummary, level: float) -> int | None:
    """The first epoch whose mean validation accuracy reaches ``level`` (None if none does)."""
    if v.epochs.empty:
        return None
    mean = v.epochs.groupby("epoch")["val_acc"].mean()
    hit = mean[mean >= level]
    return int(hit.index[0]) if len(hit) else None


def _curves(healthy: list[VariantSummary], epochs: int, level: float) -> str:
    """Which curve reaches ``level`` first, and which never do within the budget."""
    reach = {v.label(): _first_epoch_at(v, level) for v in healthy}
    fast = sorted((e, k) for k, e in reach.items() if e is not None)
    never = [k for k, e in reach.items() if e is None]
    if not fast:
        return f"no curve reaches {pct(level)} validation accuracy in {epochs} epochs"
    curves = f"the fastest curve reaches {pct(level)} validation accuracy at epoch {fast[0][0]} ({fast[0][1]})"
    if never:
        verb = "reaches" if len(never) == 1 else "reach"
        curves += f"; {', '.join(never)} never {verb} it in {epochs} epochs"
    return curves


def sweep_answer(axis: str, candidates: list[VariantSummary], found: Finding | None, epochs: int, level: float = 0.9):
    """studies.md's S4 question for one sweep: what the validation curves show, and the value chosen on them."""
    label = axis_label(axis)
    healthy = sorted((v for v in candidates if len(v.healthy)), key=lambda v: v.val_mean, reverse=True)
    if found is None or len(healthy) < 2:
        return None
    best, worst = healthy[0], healthy[-1]
    answer = (
        f"Chosen on validation: **{best.label()}** ({pct(best.val_mean)} val, {pct(best.test.mean)} test); lowest: "
        f"{worst.label()} ({pct(worst.val_mean)} val). Curves: {_curves(healthy, epochs, level)}."
    )
    return (
        f"Sweep of the {label}: what do the validation curves show, and which value is chosen?",
        answer,
        found.claim,
    )

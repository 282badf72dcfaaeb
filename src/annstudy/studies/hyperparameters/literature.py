"""S4 against the literature: a small model on sklearn digits reaches about 0.97 test accuracy (studies.md).

Judged for the base model (studies.md's small MLP 64-32-10) and for each sweep's value chosen on
validation, by report/literature.py's rule against 0.97 ± :data:`TOLERANCE`.
"""

from __future__ import annotations

from annstudy.report.document import Heading
from annstudy.report.literature import Row, band, demonstration_note, literature_table
from annstudy.studies.hyperparameters.results import REFERENCE, VariantSummary, axis_label, chosen_on_validation

TOLERANCE = 0.02  # "about 0.97": two points either side (7 of the 350 test images)
SOURCE = "studies.md, S4 'Reference'"


def rows(base: VariantSummary, candidates: dict[str, list[VariantSummary]], n_test: int) -> list[Row]:
    """The base model, then per sweep the value chosen on validation (its test accuracy, never used to choose)."""
    reference = band(REFERENCE, TOLERANCE, "small model")
    found = [Row("base model", base.accuracy(n_test), reference)]
    for axis, variants in candidates.items():
        best = chosen_on_validation(variants)
        if best is not None:
            found.append(Row(f"{axis_label(axis)}: {best.label()} (chosen on val)", best.accuracy(n_test), reference))
    return found


def blocks(base: VariantSummary, candidates: dict[str, list[VariantSummary]], n_test: int, profile: str) -> list:
    """The comparison with the reference: the table, and the demonstration profile's caveat."""
    caption = (
        f"Test accuracy on digits ({n_test:,} test images; mean over the seeds that did not diverge) against "
        f"the reference for a small model ({SOURCE}: about {REFERENCE:g}, here ± {TOLERANCE:g})."
    )
    out: list = [
        Heading("Comparison with the literature", level=3),
        literature_table(rows(base, candidates, n_test), caption),
    ]
    note = demonstration_note(profile)
    return out + ([note] if note else [])

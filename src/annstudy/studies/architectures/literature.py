"""S1 against the literature: each architecture's test accuracy against its published range.

The ranges and the exercise's bars are references.py's (studies.md's figures, per dataset); the
verdict is the one rule of report/literature.py, computed from the records.
"""

from __future__ import annotations

from annstudy.report.document import Heading, Paragraph
from annstudy.report.literature import Reference, Row, bar_note, demonstration_note, literature_table
from annstudy.studies.architectures.references import EXERCISE_BARS, LITERATURE, PUBLISHED_SOURCE
from annstudy.studies.architectures.results import ArchResult


def rows(results: list[ArchResult], dataset: str, n_test: int) -> list[Row]:
    """One row per architecture: its test accuracy over healthy seeds, its range on ``dataset`` (None where
    studies.md gives none) and the exercise's bar where it sets one."""
    ranges, bars = LITERATURE.get(dataset, {}), EXERCISE_BARS.get(dataset, {})
    found = []
    for r in results:
        acc = r.accuracy(n_test)
        ref = Reference(*ranges[r.arch]) if r.arch in ranges else None
        note = bar_note(acc, bars[r.arch]) if r.arch in bars else ""
        if ref is None:
            note = note or f"no published figure for {r.arch} on {dataset}"
        found.append(Row(f"{r.arch} ({r.budget})", acc, ref, note))
    return found


def blocks(results: list[ArchResult], dataset: str, n_test: int, profile: str) -> list:
    """The section's comparison with the literature: the table, and why it settles nothing when it cannot."""
    out: list = [Heading("Comparison with the literature", level=3)]
    if dataset not in LITERATURE:
        out.append(
            Paragraph(
                f"The published ranges ({PUBLISHED_SOURCE}) are for {' and '.join(f'`{d}`' for d in LITERATURE)}; "
                f"they do not apply to `{dataset}`, so no architecture gets a verdict."
            )
        )
    caption = (
        f"Test accuracy on `{dataset}` (mean over the seeds that did not diverge) against the published range "
        f"({PUBLISHED_SOURCE}); note: the exercise's bar where it sets one."
    )
    out.append(literature_table(rows(results, dataset, n_test), caption))
    note = demonstration_note(profile)
    return out + ([note] if note else [])

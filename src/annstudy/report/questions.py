"""The exercise's questions at the end of a study's section, each with its answer and the answer's status.

studies.md ("Questions each study's report answers") lists them. An answer is built by the
study's report from its own run's numbers and carries the status of the claim it rests on
(:mod:`annstudy.report.claims`); a question no number can answer is marked *conceptual*
and its answer kept short; a plain fact of the data (a count, a length) is *measured*.
"""

from __future__ import annotations

from typing import Sequence

from annstudy.report.claims import Claim, Status
from annstudy.report.document import Heading, Paragraph

CONCEPTUAL = "conceptual"
MEASURED = "measured"  # a fact read off the data or the run (a count, a length): nothing to test

Item = tuple[str, str, Status | Claim | str | None]  # question, answer, status (None = conceptual)


def status_text(status: Status | Claim | str | None) -> str:
    """The label shown after an answer: a claim's or a status's value, or *conceptual* for None."""
    if status is None:
        return CONCEPTUAL
    if isinstance(status, Claim):
        return status.status.value
    return status.value if isinstance(status, Status) else str(status)


def questions_block(items: Sequence[Item], heading: str = "Questions of the exercise") -> list:
    """Document blocks: a level-3 heading, then one paragraph per question with its answer and status."""
    if not items:
        return []
    blocks: list = [Heading(heading, level=3)]
    for question, answer, status in items:
        blocks.append(Paragraph(f"**{question}** {answer} — *{status_text(status)}*"))
    return blocks

"""The one rule for every choice S1 makes: on validation accuracy, never on test.

S1 chooses twice: the seed whose weights, confusion matrix and errors are shown (the evaluate
stage writes that seed's test predictions; the report shows them) and the architecture whose
errors are shown (the report section and its DVC confusion plot). Both go through
:func:`chosen_on_validation`, which another study can import for its own choices. It lives in a
study package rather than in ``annstudy.report`` because the evaluate stage uses it: dvc.yaml
lists a study's modules file by file but the report package as a whole, so a report change
would otherwise rerun every evaluate stage.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")


def chosen_on_validation(
    candidates: Iterable[T], val_score: Callable[[T], float | None], healthy: Callable[[T], bool]
) -> T:
    """The candidate with the highest validation score among those that did not diverge (when every
    one diverged, among all). Ties go to the first listed, so list the candidates in a fixed order
    (seeds ascending, architectures as configured); a missing or NaN score ranks lowest."""

    def key(candidate: T) -> tuple[bool, float]:
        score = val_score(candidate)
        return healthy(candidate), -math.inf if score is None or math.isnan(score) else float(score)

    return max(candidates, key=key)  # max keeps the first of equal keys


def chosen_seed_row(per_seed: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The evaluate record's row (``seed``, ``diverged``, ``val_acc``, ...) of the seed chosen on
    validation accuracy; ties: the lowest seed."""
    rows = sorted(per_seed, key=lambda row: row["seed"])
    return chosen_on_validation(rows, lambda row: row["val_acc"], lambda row: not row["diverged"])

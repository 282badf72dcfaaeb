"""S6 MNIST-1D against the paper: each model's test accuracy against the published one ± the study's tolerance.

The published figures (Greydanus 2020, the MNIST-1D README: MLP about 68 %, CNN about 94 %) are
``studies.mnist1d.published_acc`` and the tolerance ``studies.mnist1d.tolerance`` (params.yaml);
they hold at the paper's budget, 6,000 steps of batch 100 on 4,000 series. A run at another
budget gets its verdict too, flagged "not at the paper's budget", computed from the config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from annstudy.report.document import Heading
from annstudy.report.literature import Row, band, demonstration_note, judged, literature_table
from annstudy.report.stats import Accuracy
from annstudy.studies.mnist1d.config import Mnist1dSettings

SOURCE = "Greydanus (2020), MNIST-1D README"


@dataclass(frozen=True)
class Budget:
    """Optimizer steps, batch and training series of one run: the paper's is :data:`PAPER`."""

    steps: int
    batch_size: int
    n_train: int

    def __str__(self) -> str:
        return f"{self.steps:,} steps of batch {self.batch_size} on {self.n_train:,} series"


PAPER = Budget(6_000, 100, 4_000)


def budget(study: Mnist1dSettings) -> Budget:
    """This run's budget from its config: epochs × steps per epoch (the last batch of an epoch may be short)."""
    n_train = round(study.num_samples * study.train_split)
    return Budget(study.epochs * math.ceil(n_train / study.batch_size), study.batch_size, n_train)


def rows(accs: dict[str, Accuracy], study: Mnist1dSettings) -> list[Row]:
    """One row per model: ours against published ± tolerance, noted when the budget is not the paper's."""
    at_paper = budget(study) == PAPER
    found = []
    for name, acc in accs.items():
        ref = study.published_acc.get(name)
        reference = None if ref is None else band(ref, study.tolerance)
        note = "" if reference is None or at_paper else "not at the paper's budget"
        found.append(Row(name, acc, reference, note or ("" if reference else "no published figure")))
    return found


def blocks(accs: dict[str, Accuracy], study: Mnist1dSettings, profile: str) -> list:
    """The comparison with the paper: the table, with this run's budget against the paper's."""
    ours = budget(study)
    where = (
        f"this run trained the paper's budget ({PAPER})"
        if ours == PAPER
        else f"this run trained {ours}, the paper {PAPER}: a verdict here does not test the paper's figure"
    )
    caption = (
        f"Test accuracy (mean over the seeds that did not diverge) against the published figure ({SOURCE}) ± "
        f"the study's tolerance (`studies.mnist1d.tolerance`); {where}."
    )
    out: list = [Heading("Comparison with the literature", level=3), literature_table(rows(accs, study), caption)]
    note = demonstration_note(profile)
    return out + ([note] if note else [])


def confounders(study: Mnist1dSettings) -> list[str]:
    """What keeps this run from testing the paper's figure: its budget when it is not the paper's."""
    ours = budget(study)
    return [] if ours == PAPER else [f"this run trains {ours}, the paper {PAPER}"]


def judged_band(acc: Accuracy, published: float, tolerance: float) -> str:
    """The table's verdict of one model, for the forest figure's caption."""
    return judged(acc, band(published, tolerance))

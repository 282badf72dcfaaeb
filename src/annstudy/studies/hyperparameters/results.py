"""S4's stage records as typed results: one :class:`VariantSummary` per trained variant of a sweep axis.

Why a class: the tables, the validation choice, the figures and metrics.json read the same per-seed
accuracies (healthy seeds only), so the filtering and the summaries live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from annstudy.report.claims import Arm
from annstudy.report.stats import Accuracy, Summary, summarize
from annstudy.store.records import read_record
from annstudy.studies.hyperparameters.run import train_dir

REFERENCE = 0.97  # studies.md: a small model on digits reaches about 0.97 test accuracy
AXIS_LABELS = {
    "base": "base model",
    "lr": "learning rate",
    "hidden": "hidden units",
    "optimizer": "optimizer",
    "penalty": "weight penalty",
    "model": "model",
}


def axis_label(axis: str) -> str:
    """The axis as the figures, tables and sentences name it (its key where it has no label)."""
    return AXIS_LABELS.get(axis, axis)


@dataclass
class VariantSummary:
    """One trained variant of a sweep axis: its per-seed final accuracies and its per-epoch curves."""

    name: str
    axis: str
    value: object
    per_seed: pd.DataFrame  # seed, diverged, {train,val,test}_{loss,acc}
    epochs: pd.DataFrame  # variant, seed, epoch, train_loss, train_acc, val_loss, val_acc
    seconds: float

    @property
    def healthy(self) -> pd.DataFrame:
        return self.per_seed[~self.per_seed["diverged"]]

    @property
    def diverged(self) -> int:
        return int(self.per_seed["diverged"].sum())

    @property
    def test(self) -> Summary:
        return summarize(self.healthy["test_acc"], bounds=(0.0, 1.0))

    @property
    def val_mean(self) -> float:
        """Mean final validation accuracy over healthy seeds: the only basis of a choice."""
        return float(self.healthy["val_acc"].mean()) if len(self.healthy) else float("nan")

    def accuracy(self, n_test: int) -> Accuracy:
        return Accuracy(tuple(float(v) for v in self.healthy["test_acc"]), n_test)

    def arm(self, budget: str, classes: int = 10) -> Arm:
        h = self.healthy
        loss = float(h["train_loss"].mean()) if "train_loss" in h and len(h) else None
        values = tuple(float(v) for v in h["test_acc"])
        return Arm(self.label(), values, budget, loss, self.test.mean if len(h) else None, classes)

    def label(self) -> str:
        """The swept value as a legend/table entry (the variant name where the value is a name)."""
        if self.axis in ("base", "penalty", "model"):
            return self.name
        return f"{self.value:g}" if isinstance(self.value, float) else str(self.value)


def load_axis(axis: str, root: str | Path = "data") -> tuple[list[VariantSummary], dict]:
    """The variants of one axis as written by stage ``hyperparameters`` (step ``train:<axis>`` or ``train:base``)."""
    record = read_record(train_dir(axis, root))  # a clear error when the stage has not run
    results, epochs = record.summary, record.table("epochs")
    variants = [
        VariantSummary(
            v["name"],
            v["axis"],
            v["value"],
            pd.DataFrame(v["per_seed"]),
            epochs[epochs["variant"] == v["name"]],
            float(v["seconds"]),
        )
        for v in results["variants"]
    ]
    return variants, results


def chosen_on_validation(candidates: list[VariantSummary]) -> VariantSummary | None:
    """The candidate with the highest mean validation accuracy (first of equals; healthy ones only)."""
    healthy = [v for v in candidates if len(v.healthy)]
    return max(healthy, key=lambda v: v.val_mean) if healthy else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def metrics(base: VariantSummary, candidates: dict[str, list[VariantSummary]], n_test: int) -> dict:
    """metrics.json's S4 headline: the base model's test accuracy and, per sweep, the value chosen on
    validation (a name for the penalty and model axes: ``base`` is none/the plain MLP) and its mean test
    accuracy (its spread, like every value's, is in the report).

    Every swept value's accuracy stays in the stage records (data/hyperparameters/train/<axis>/live), the
    DVC plots and `annstudy compare`, which reads those records.
    """
    ok = len(base.healthy) > 0
    out: dict = {
        "n_test": n_test,
        "base": {
            "test_acc_mean": _rounded(base.test.mean if ok else None),
            "test_acc_std": _rounded(base.test.std if ok else None),
        },
    }
    for axis, variants in candidates.items():
        best = chosen_on_validation(variants)
        if best is None:  # every seed of every value diverged
            out[axis] = {"chosen": None, "test_acc_mean": None}
            continue
        out[axis] = {
            "chosen": best.name if axis in ("penalty", "model") else best.value,
            "test_acc_mean": _rounded(best.test.mean),
        }
    return out

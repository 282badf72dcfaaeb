"""The S1 stage records as typed results: one :class:`ArchResult` per architecture.

Everything here is read from the train and evaluate records (annstudy/store/records.py); nothing
runs a model. The report's claims, tables and figures take these results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import nn

from annstudy.models.zoo import build_model
from annstudy.report import budgets
from annstudy.report.claims import Arm
from annstudy.report.stats import Accuracy, Summary, summarize
from annstudy.store.artifacts import load_torch
from annstudy.store.records import read_record
from annstudy.studies.architectures.config import ArchitecturesSettings
from annstudy.studies.architectures.run import eval_dir, train_dir
from annstudy.studies.architectures.selection import chosen_on_validation, chosen_seed_row


@dataclass
class ArchResult:
    arch: str
    run: dict  # summary of the train stage's record
    evaluation: dict  # summary of the evaluate stage's record
    curves: pd.DataFrame  # tidy per-seed log
    epoch_rows: pd.DataFrame | None = None  # per seed and epoch: val_loss, val_acc on the full validation split

    @property
    def params(self) -> int:
        return int(self.run["params"])

    @property
    def train_seconds(self) -> float:
        return float(sum(s["train_seconds"] for s in self.run["seeds"]))

    @property
    def wall_seconds(self) -> float:
        """Wall time of the train stage's training (all seeds)."""
        return float(self.run.get("wall_seconds", self.train_seconds))

    @property
    def throughput(self) -> float:
        """Training images per second, all seeds together."""
        samples = sum(s["steps"] for s in self.run["seeds"]) * self.run["train"]["batch_size"]
        return samples / self.train_seconds if self.train_seconds else float("nan")

    @property
    def per_seed(self) -> pd.DataFrame:
        return pd.DataFrame(self.evaluation["per_seed"])

    @property
    def healthy(self) -> pd.DataFrame:
        frame = self.per_seed
        return frame[~frame["diverged"]]

    @property
    def test(self) -> Summary:
        return summarize(self.healthy["test_acc"])

    @property
    def diverged_seeds(self) -> list[tuple[int, int]]:
        return [(s["seed"], s["diverged_step"]) for s in self.run["seeds"] if s["diverged"]]

    @property
    def epochs(self) -> int:
        return int(self.run["train"]["epochs"])

    @property
    def stop_patience(self) -> int:
        """The early-stopping patience it trained with (0: every seed trained ``epochs``)."""
        return budgets.stop_patience(self.run)

    @property
    def budget(self) -> str:
        """What claims compare (report/claims.py): the epochs, or the stopping rule and its maximum."""
        return budgets.budget(self.run)

    @property
    def reached(self) -> str:
        """The epochs its seeds trained and the best epochs saved, e.g. ``7–12 (best 4–9)``."""
        return budgets.reached(self.run)

    @property
    def val_mean(self) -> float:
        """Mean validation accuracy over healthy seeds: what every choice of architecture uses."""
        return float(self.healthy["val_acc"].mean()) if len(self.healthy) else float("nan")

    @property
    def chosen_seed(self) -> int:
        """The seed whose weights are shown: chosen on validation (annstudy/studies/architectures/selection.py)."""
        return int(chosen_seed_row(self.per_seed.to_dict("records"))["seed"])

    def seed_test(self, seed: int) -> float:
        return float(self.per_seed.set_index("seed").loc[seed, "test_acc"])

    @property
    def best_test(self) -> tuple[int, float] | None:
        """The exercise's "best test accuracy over seeds": (seed, accuracy), reported beside the chosen seed,
        never used to choose (it is the maximum of noisy values, biased upwards)."""
        frame = self.healthy
        if not len(frame):
            return None
        row = max(frame.to_dict("records"), key=lambda r: (r["test_acc"], -r["seed"]))
        return int(row["seed"]), float(row["test_acc"])

    @property
    def val_loss_last(self) -> float:
        """Mean over healthy seeds of the last epoch's full-validation loss (recorded every epoch)."""
        e = self.epoch_rows
        if e is None or e.empty or "val_loss" not in e:
            return float("nan")
        healthy = set(self.healthy["seed"])
        last = e[e["seed"].isin(healthy)].sort_values("epoch").groupby("seed")["val_loss"].last()
        return float(last.mean()) if len(last) else float("nan")

    @property
    def final_accuracies(self) -> tuple[float, float]:
        """(train, val): the final eval-mode accuracies, means over healthy seeds, that the verdict judges."""
        h = self.healthy
        return h["train_acc"].mean(), h["val_acc"].mean()

    def accuracy(self, n_test: int) -> Accuracy:
        return Accuracy(tuple(float(v) for v in self.healthy["test_acc"]), n_test)

    def arm(self, classes: int) -> Arm:
        """The architecture as one side of a claim: per-seed test accuracy, budget, final train loss."""
        h = self.healthy
        loss = float(h["train_loss"].mean()) if "train_loss" in h and len(h) else None
        return Arm(self.arch, tuple(float(v) for v in h["test_acc"]), self.budget, loss, self.test.mean, classes)


def load_results(archs: tuple[str, ...], root: str | Path = "data") -> list[ArchResult]:
    results = []
    for arch in archs:
        tdir, edir = train_dir(arch, root), eval_dir(arch, root)
        train, evaluation = read_record(tdir), read_record(edir)
        results.append(
            ArchResult(arch, train.summary, evaluation.summary, train.table("curves"), train.table("epochs"))
        )
    return results


def chosen_architecture(results: list[ArchResult]) -> ArchResult:
    """The architecture with the highest mean validation accuracy; one whose seeds all diverged comes last."""
    return chosen_on_validation(results, lambda r: r.val_mean, lambda r: r.test.n > 0)


def trained_model(r: ArchResult, image_shape: tuple[int, int, int], classes: int) -> nn.Module:
    """The chosen seed's network with its trained weights from the train stage (for its weights, not to run)."""
    model = build_model(r.arch, image_shape, classes)
    model.load_state_dict(load_torch(train_dir(r.arch) / "weights.pt")[r.chosen_seed])
    return model


def is_cnn(arch: str) -> bool:
    return not arch.startswith("mlp")


def verdict(train_acc: float, val_acc: float, study: ArchitecturesSettings) -> str:
    """The stated rule: underfitting below a train-accuracy bar, else overfitting above a gap."""
    if train_acc < study.underfit_train_acc:
        return "underfitting"
    if train_acc - val_acc > study.overfit_gap:
        return "overfitting"
    return "generalizing"

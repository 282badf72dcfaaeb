"""S2's stage records as typed results: one :class:`VariantResult` per architecture x activation.

Why a class: the section reads the same per-seed numbers (final loss, first-layer gradient RMS, test
accuracy) in its claims, tables, questions and metrics; computing them here keeps those in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.report import budgets
from annstudy.report.claims import Arm, did_not_train
from annstudy.report.stats import Summary, summarize
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.run import variant_dir
from annstudy.studies.variants import Variant, read_variant

EARLY_STEPS = 50  # S2's depth answer reads the first-layer gradient over the first 50 SGD steps of every run


@dataclass
class VariantResult:
    """One trained variant (architecture x activation) and its per-seed numbers, read off its record."""

    arch: str
    act: str
    record: Variant
    weights: int = 1  # first-layer weights: the norm over 25,088 weights and over 144 are not comparable
    classes: int = 10

    @property
    def name(self) -> str:
        return f"{self.arch}_{self.act}"

    def _per_seed(self, column: str, how: str) -> Summary:
        """Over seeds of one per-seed number: the last logged value or the mean over all log steps."""
        c = self.record.curves
        if c.empty:
            return summarize([])
        g = c.sort_values("step").groupby("seed")[column]
        return summarize(list(g.last() if how == "last" else g.mean()))

    @property
    def final_loss(self) -> Summary:
        return self._per_seed("train_loss", "last")

    def final_loss_values(self) -> tuple[float, ...]:
        c = self.record.curves
        if c.empty:
            return ()
        return tuple(float(v) for v in c.sort_values("step").groupby("seed")["train_loss"].last())

    @property
    def grad_mean(self) -> Summary:
        """First-layer gradient norm averaged over the whole run (per seed), then over seeds."""
        return self._per_seed("grad_norm", "mean")

    @property
    def grad_final(self) -> Summary:
        return self._per_seed("grad_norm", "last")

    @property
    def test(self) -> Summary:
        return summarize(self.record.test_accs, bounds=(0.0, 1.0))

    def grad_rms_per_seed(self) -> tuple[float, ...]:
        """Per seed: the run's mean ‖∂L/∂W₁‖ divided by √(number of first-layer weights), i.e. RMS per weight."""
        c = self.record.curves
        if c.empty:
            return ()
        means = c.sort_values("step").groupby("seed")["grad_norm"].mean()
        return tuple(float(g) / np.sqrt(self.weights) for g in means)

    @property
    def grad_rms(self) -> Summary:
        return summarize(self.grad_rms_per_seed(), bounds=(0.0, np.inf))

    def early_rms_per_seed(self) -> tuple[float, ...]:
        """Per seed: RMS per weight of ‖∂L/∂W₁‖ over the first :data:`EARLY_STEPS` steps (at least one log).

        Why early: how large the gradient reaching the first layer is, before training changes the
        weights, is a property of the architecture and activation; it is evidence about vanishing
        whether or not the run goes on to train (a run stuck at ln C is often stuck *because* of it).
        Same window in every profile (one log row at log_every 50, five at 10). Non-finite rows are left out.
        """
        c = self.record.curves
        if c.empty:
            return ()
        c = c[np.isfinite(c["grad_norm"])].sort_values("step")
        out = []
        for _, g in c.groupby("seed"):
            window = g[g["step"] <= max(EARLY_STEPS, int(g["step"].iloc[0]))]
            out.append(float(window["grad_norm"].mean()) / float(np.sqrt(self.weights)))
        return tuple(out)

    @property
    def early_rms(self) -> Summary:
        return summarize(self.early_rms_per_seed(), bounds=(0.0, np.inf))

    def rms_curves(self):
        """The per-seed curves with ``grad_rms`` = ‖∂L/∂W₁‖ / √(first-layer weights): the figures' gradient axis."""
        c = self.record.curves
        return c.assign(grad_rms=c["grad_norm"] / np.sqrt(self.weights)) if "grad_norm" in c else c

    @property
    def budget(self) -> str:
        """What claims compare (report/claims.py): the epochs, or the stopping rule and its maximum."""
        return budgets.budget(self.record.run)

    @property
    def reached(self) -> str:
        """The epochs its seeds trained (and, under early stopping, the best epochs evaluated)."""
        return budgets.reached(self.record.run)

    @property
    def trained(self) -> bool:
        """The did-not-train rule of report/claims.py on this variant's final loss and test accuracy."""
        return not did_not_train(self.arm(()))

    def arm(self, values: tuple[float, ...]) -> Arm:
        """This variant as a side of a claim about ``values`` (per seed); its loss and accuracy say if it trained."""
        loss = self.final_loss.mean if self.final_loss.n else None
        acc = self.test.mean if self.test.n else None
        return Arm(f"{self.arch} {self.act}", values, self.budget, loss, acc, self.classes)


def weight_layers(arch: str, image_shape: tuple[int, int, int]) -> int:
    """Depth as the number of weighted (Linear/Conv) layers."""
    model = build_model(arch, image_shape)
    return sum(1 for m in model.modules() if hasattr(m, "weight") and m.weight is not None and m.weight.dim() > 1)


def first_layer_size(arch: str, image_shape: tuple[int, int, int]) -> int:
    """Number of weights of the first Linear/Conv layer (25,088 for mlp_1 on 28x28, 144 for cnn_3)."""
    return int(first_layer_weight(build_model(arch, image_shape)).numel())


def load_results(study: ActivationsSettings, root: str | Path = "data", unscaled: bool = False) -> list[VariantResult]:
    """Every variant of the main runs (or of the unscaled ablation) in params order.

    The first layer's size comes from a freshly built, untrained model of the recorded image shape:
    the RMS per weight needs it and the record does not store it.
    """
    results = []
    for variant in study.unscaled_variants if unscaled else study.variants:
        arch, act = study.split_variant(variant, unscaled)
        record = read_variant(variant, variant_dir(variant, root, unscaled))
        shape = tuple(record.run.get("image_shape", (1, 28, 28)))
        results.append(VariantResult(arch, act, record, first_layer_size(arch, shape)))
    return results

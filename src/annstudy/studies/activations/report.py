"""The S2 section of the report: ReLU vs sigmoid, training loss and first-layer gradients by depth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from annstudy.models.zoo import build_model
from annstudy.params import Settings
from annstudy.report import figures
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.section import StudySection, settings_table
from annstudy.report.stats import Summary, summarize
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.run import STUDY, variant_dir
from annstudy.variants import Variant, read_variant

STYLES = {"relu": "-", "sigmoid": "--"}


@dataclass
class VariantResult:
    arch: str
    act: str
    record: Variant

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

    @property
    def grad_mean(self) -> Summary:
        """First-layer gradient norm averaged over the whole run (per seed), then over seeds."""
        return self._per_seed("grad_norm", "mean")

    @property
    def grad_final(self) -> Summary:
        return self._per_seed("grad_norm", "last")

    @property
    def test(self) -> Summary:
        return summarize(self.record.test_accs)


def weight_layers(arch: str, image_shape: tuple[int, int, int]) -> int:
    """Depth as the number of weighted (Linear/Conv) layers."""
    model = build_model(arch, image_shape)
    return sum(1 for m in model.modules() if hasattr(m, "weight") and m.weight is not None and m.weight.dim() > 1)


def load_results(study: ActivationsSettings, root: str | Path = "data") -> list[VariantResult]:
    results = []
    for variant in study.variants:
        arch, act = study.split_variant(variant)
        results.append(VariantResult(arch, act, read_variant(variant, variant_dir(variant, root))))
    return results


def figure(results: list[VariantResult], path: Path, title: str) -> Path:
    """Training loss (left) and first-layer |grad| (right, log scale): ReLU solid, sigmoid dashed."""
    colors = figures.arch_colors()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(14, 5.5))
    for r in results:
        if r.record.curves.empty:
            continue
        label = f"{r.arch} {r.act}"
        figures.seed_band(ax_loss, r.record.curves, "step", "train_loss", colors[r.arch], label, STYLES.get(r.act, ":"))
        figures.seed_band(ax_grad, r.record.curves, "step", "grad_norm", colors[r.arch], None, STYLES.get(r.act, ":"))
    ax_loss.set(xlabel="training step (batches of 50)", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_grad.set(
        xlabel="training step (batches of 50)",
        ylabel="‖∂loss/∂W₁‖ (L2 norm)",
        title="First-layer gradient norm (log scale)",
    )
    ax_grad.set_yscale("log")
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False, bbox_to_anchor=(0.5, -0.08)
    )
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return figures.save_figure(fig, path)


def _fmt_g(s: Summary) -> str:
    """Mean ± std [95 % CI] in 3 significant digits: gradient norms span orders of magnitude."""
    ci = f" [{s.ci_low:.3g}, {s.ci_high:.3g}]" if s.n >= 2 else ""
    return f"{s.mean:.3g} ± {s.std:.2g}{ci}"


def _table(results: list[VariantResult], depth: dict[str, int]) -> Table:
    rows = []
    for r in results:
        div = r.record.diverged
        rows.append(
            [
                r.arch,
                str(depth[r.arch]),
                r.act,
                str(r.record.run["train"]["epochs"]),
                f"{r.final_loss.fmt(3)} {r.final_loss.fmt_ci(3)}",
                _fmt_g(r.grad_mean),
                f"{r.grad_final.mean:.3g}",
                f"{r.test.fmt()} {r.test.fmt_ci()}",
                ", ".join(f"seed {s} at step {step}" for s, step in div) or "—",
            ]
        )
    return Table(
        [
            "architecture",
            "weight layers",
            "activation",
            "epochs",
            "final train loss",
            "mean ‖∂L/∂W₁‖",
            "last ‖∂L/∂W₁‖",
            "test acc",
            "diverged",
        ],
        rows,
        caption="Mean ± std [95 % Student-t CI] over seeds. Final train loss: the last log interval's mean. "
        "‖∂L/∂W₁‖: L2 norm of the loss gradient w.r.t. the first layer's weights, averaged over each log "
        "interval; 'mean' averages the whole run, 'last' is the final interval. Test accuracy in eval mode "
        "on the full test split.",
    )


def depth_findings(results: list[VariantResult], depth: dict[str, int], study: ActivationsSettings) -> list[str]:
    """Per activation: gradient magnitude along depth, and where sigmoid's falls below the stated share of ReLU's."""
    by = {(r.arch, r.act): r for r in results}
    archs = sorted({r.arch for r in results}, key=lambda a: (depth[a], study.archs.index(a)))
    lines = []
    for act in study.activations:
        seq = [(a, by[(a, act)].grad_mean.mean) for a in archs if (a, act) in by]
        finite = [(a, g) for a, g in seq if np.isfinite(g)]
        if len(finite) >= 2:
            first, last = finite[0], finite[-1]
            trend = (
                f"from {first[1]:.3g} ({first[0]}, {depth[first[0]]} weight layers) to {last[1]:.3g} "
                f"({last[0]}, {depth[last[0]]} layers), a factor {last[1] / first[1]:.3g}"
            )
        else:
            trend = "too few architectures to compare"
        listing = ", ".join(f"{a} ({depth[a]}) {g:.3g}" for a, g in seq)
        lines.append(f"**{act}**: mean first-layer ‖∂L/∂W₁‖ by depth — {listing}; {trend}.")
    if {"relu", "sigmoid"} <= set(study.activations):
        ratios = [
            (a, by[(a, "sigmoid")].grad_mean.mean / by[(a, "relu")].grad_mean.mean)
            for a in archs
            if (a, "sigmoid") in by and (a, "relu") in by
        ]
        listing = ", ".join(f"{a} {q:.3g}" for a, q in ratios)
        vanished = [a for a, q in ratios if q < study.vanish_ratio]
        verdict = (
            f"below {study.vanish_ratio:g} (our rule for 'vanished') in "
            + ", ".join(f"**{a}** ({depth[a]} weight layers)" for a in vanished)
            + f"; the shallowest of them has {depth[vanished[0]]} weight layers"
            if vanished
            else f"never below {study.vanish_ratio:g} (our rule for 'vanished') in these architectures"
        )
        lines.append(f"**sigmoid / ReLU** gradient ratio: {listing}; {verdict}.")
    return lines


def metrics(results: list[VariantResult]) -> dict:
    def num(x: float, digits: int = 5) -> float | None:
        return round(float(x), digits) if np.isfinite(x) else None

    return {
        r.name: {
            "final_loss": num(r.final_loss.mean),
            "first_layer_grad_norm": num(r.grad_mean.mean, 8),
            "first_layer_grad_norm_last": num(r.grad_final.mean, 8),
            "test_acc_mean": num(r.test.mean),
            "diverged": len(r.record.diverged),
        }
        for r in results
    }


def build(settings: Settings, out: Path) -> StudySection:
    study: ActivationsSettings = settings.studies[STUDY]
    results = load_results(study)
    shape = tuple(results[0].record.run["image_shape"]) if results else (1, 28, 28)
    depth = {a: weight_layers(a, shape) for a in study.archs}
    seeds = len(study.train.seeds)
    path = figure(
        results,
        out / "figures" / "activations_loss_grad.png",
        f"S2 ReLU (solid) vs sigmoid (dashed) on {study.dataset}, SGD lr {study.train.lr:g}: "
        f"mean over {seeds} seeds, band ±1 std",
    )
    blocks = [
        Heading("S2 Activations"),
        Paragraph(
            f"Each architecture trained twice on `{study.dataset}`: with ReLU as given and with every ReLU "
            f"replaced by the logistic sigmoid; {study.train.optimizer} lr {study.train.lr:g}, momentum "
            f"{study.train.momentum:g}, batch {study.train.batch_size}, {seeds} seeds (trained together "
            "as one stacked network; each seed's gradient is its own slice of the stacked gradient). "
            "Logged every log step: training loss and the norm of the loss gradient w.r.t. the first "
            "layer's weights, both averaged over the steps since the previous log."
        ),
        settings_table(study),
        Figure(
            path.relative_to(out),
            "Training loss (left) and first-layer gradient norm (right, log scale); "
            "ReLU solid, sigmoid dashed, one colour per architecture.",
        ),
        Heading("Gradient magnitude and depth", level=3),
        *[Paragraph(line) for line in depth_findings(results, depth, study)],
        _table(results, depth),
    ]
    seconds = {f"activations_train@{r.arch}-{r.act}": r.record.wall_seconds for r in results}
    return StudySection(STUDY, blocks, metrics(results), seconds, [study.dataset])

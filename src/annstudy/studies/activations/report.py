"""The S2 section of the report: ReLU vs sigmoid, training loss and first-layer gradients by depth."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.params.settings import Settings
from annstudy.report import figures, interactive
from annstudy.report.claims import Arm, Claim, Status, compare, did_not_train, training
from annstudy.report.document import Chart, Figure, Heading, Paragraph, Table
from annstudy.report.interactive import Panel
from annstudy.report.questions import MEASURED, questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, Summary, pct, summarize
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.run import STUDY, variant_dir
from annstudy.studies.variants import Variant, read_variant

STYLES = {"relu": "-", "sigmoid": "--"}


@dataclass
class VariantResult:
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

    @property
    def budget(self) -> str:
        epochs = int(self.record.run["train"]["epochs"])
        return f"{epochs} epoch{'s' if epochs != 1 else ''}"

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
    results = []
    for variant in study.unscaled_variants if unscaled else study.variants:
        arch, act = study.split_variant(variant, unscaled)
        record = read_variant(variant, variant_dir(variant, root, unscaled))
        shape = tuple(record.run.get("image_shape", (1, 28, 28)))
        results.append(VariantResult(arch, act, record, first_layer_size(arch, shape)))
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


def curve_charts(results: list[VariantResult], fallback: Path) -> list[Chart]:
    """The figure's two panels to explore in the HTML: every seed of every architecture and activation."""
    return interactive.curve_charts(
        {f"{r.arch} {r.act}": r.record.curves for r in results},
        x="step",
        series="variant",
        panels=[Panel("train_loss", "training loss"), Panel("grad_norm", "first-layer gradient norm ‖∂L/∂W₁‖", True)],
        study="S2",
        fallback=fallback,
        caption="S2 {name} per seed (thin) and mean (thick), by architecture and activation.",
    )


LOSS_MARGIN_TEXT = "0.05 nats"


def _fmt_per_seed(values: tuple[float, ...], digits: int, style: str = "f") -> str:
    """n <= 2: the per-seed values; more: mean [95 % t-interval], clipped at 0 (losses and norms are >= 0)."""
    if not values:
        return "—"
    if len(values) <= 2:
        return ", ".join(f"{v:.{digits}{style}}" for v in values)
    s = summarize(values, bounds=(0.0, np.inf))
    return f"{s.mean:.{digits}{style}} [{s.ci_low:.{digits}{style}}, {s.ci_high:.{digits}{style}}]"


def _trained(r: VariantResult) -> str:
    why = did_not_train(r.arm(()))
    return "**did not train**" if why else "yes"


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
                _fmt_per_seed(r.final_loss_values(), 3),
                f"{r.weights:,}",
                _fmt_per_seed(r.grad_rms_per_seed(), 3, "g"),
                Accuracy(tuple(r.record.test_accs), 0).fmt(),
                _trained(r),
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
            "first-layer weights",
            "RMS ∂L/∂w₁ per weight",
            "test acc",
            "trained?",
            "diverged",
        ],
        rows,
        caption="Per seed (n ≤ 2: the values themselves; otherwise mean [95 % t-interval clipped at 0]). Final train "
        "loss: the last log interval's mean. RMS ∂L/∂w₁ per weight: the L2 norm of the loss gradient w.r.t. the "
        "first layer's weights, averaged over the run's log intervals, divided by √(number of those weights), "
        "so layers of 25,088 and of 144 weights compare. Test accuracy in eval mode on the full test split. "
        f"trained?: *did not train* when the final loss is within {LOSS_MARGIN_TEXT} of ln C or the accuracy "
        "is at chance (report/claims.py).",
    )


STRENGTH = [Status.DID_NOT_TRAIN, Status.CONFOUNDED, Status.UNDERPOWERED, Status.NOT_SIGNIFICANT, Status.SUPPORTED]


def ratio_claims(results: list[VariantResult], depth: dict[str, int], study: ActivationsSettings) -> list[Claim]:
    """Per architecture: is sigmoid's first-layer gradient (RMS per weight) below ``vanish_ratio`` × ReLU's?

    Welch's test on the per-seed log10 RMS, ReLU's shifted by log10(vanish_ratio): a significant
    difference says on which side of the rule's threshold the ratio lies.
    """
    by = {(r.arch, r.act): r for r in results}
    archs = sorted({r.arch for r in results}, key=lambda a: (depth[a], study.archs.index(a)))
    shift = float(np.log10(study.vanish_ratio))
    out = []
    for a in archs:
        if (a, "sigmoid") not in by or (a, "relu") not in by:
            continue
        sig, relu = by[(a, "sigmoid")], by[(a, "relu")]
        if not (sig.grad_rms_per_seed() and relu.grad_rms_per_seed()):
            continue
        ratio = sig.grad_rms.mean / relu.grad_rms.mean
        word = "below" if ratio < study.vanish_ratio else "above"
        claim = compare(
            f"{a} ({depth[a]} weight layers): sigmoid's first-layer gradient is {ratio:.3g} × ReLU's (RMS per "
            f"weight), {word} the {study.vanish_ratio:g} that counts as vanished",
            sig.arm(tuple(float(np.log10(g)) for g in sig.grad_rms_per_seed())),
            relu.arm(tuple(float(np.log10(g)) + shift for g in relu.grad_rms_per_seed())),
            unit="log10 (ratio / threshold)",
            min_effect=0.0,
        )
        out.append(replace(claim, key=f"ratio {ratio:.3g}"))
    return out


def depth_findings(
    results: list[VariantResult], depth: dict[str, int], study: ActivationsSettings
) -> tuple[list[str], list[Finding]]:
    """Sentences for the section and findings for the table: a depth conclusion only from runs that trained."""
    claims = ratio_claims(results, depth, study)
    lines = [c.sentence() for c in claims]
    evidence = [c for c in claims if c.status is not Status.DID_NOT_TRAIN]
    question = "From which depth do sigmoid gradients vanish (runs that trained only)?"
    findings = []
    vanished = [c for c in evidence if " below the " in c.statement]
    if vanished:
        findings.append(Finding(question, vanished[0], vanished[0].key))
    elif evidence:
        deepest = evidence[-1]
        weakest = min(evidence, key=lambda c: STRENGTH.index(c.status))  # the claim is as strong as its weakest part
        statement = (
            f"in every architecture that trained, up to {deepest.statement.split(':')[0]}, sigmoid's first-layer "
            f"gradient stays above {study.vanish_ratio:g} × ReLU's: no vanishing shown"
        )
        combined = replace(deepest, statement=statement, status=weakest.status, reason=weakest.reason)
        findings.append(Finding(question, combined, deepest.key))
    untrained = [r for r in results if did_not_train(r.arm(()))]
    for r in untrained:
        claim = training(r.arm(tuple(r.final_loss_values())))
        findings.append(Finding("Which runs are no evidence?", claim, claim.statistic))
    if untrained:
        names = ", ".join(f"{r.arch} {r.act}" for r in untrained)
        lines.append(f"No depth conclusion rests on {names}: those runs did not train (see the table).")
    return lines, findings


def scaling_claims(scaled: list[VariantResult], unscaled: list[VariantResult]) -> list[Claim]:
    """Per ablated variant: test accuracy on inputs in [0, 255] against the same variant on [-1, 1].

    The did-not-train rule judges the unscaled arm on its own loss and accuracy, so a run that never
    left the uniform guess is said to be that, not "worse".
    """
    by = {r.name: r for r in scaled}
    out = []
    for u in unscaled:
        s = by.get(u.name)
        if s is None:
            continue
        raw = replace(u.arm(tuple(u.record.test_accs)), label=f"{u.arch} {u.act} on [0, 255]")
        if not raw.values:  # every seed diverged: nothing to compare, and that is the answer
            out.append(
                Claim(
                    f"{u.arch} {u.act} on [0, 255] diverged in every seed (loss NaN/inf)",
                    "no finite test accuracy",
                    "divergence check at every log step",
                    len(u.record.run["seeds"]),
                    (u.budget,),
                    Status.DID_NOT_TRAIN,
                    "; ".join(f"seed {seed} at step {step}" for seed, step in u.record.diverged),
                )
            )
            continue
        ref = replace(s.arm(tuple(s.record.test_accs)), label=f"{s.arch} {s.act} on [-1, 1]")
        word = "below" if summarize(raw.values).mean < summarize(ref.values).mean else "not below"
        out.append(compare(f"Without input scaling {u.arch} {u.act} ends {word} its scaled run on test", raw, ref))
    return out


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}×" if np.isfinite(a) and np.isfinite(b) and b > 0 else "—"


def scaling_table(scaled: list[VariantResult], unscaled: list[VariantResult]) -> Table:
    by = {r.name: r for r in scaled}
    rows = []
    for u in unscaled:
        s = by.get(u.name)
        if s is None:
            continue
        rows.append(
            [
                u.arch,
                u.act,
                _fmt_per_seed(s.final_loss_values(), 3),
                _fmt_per_seed(u.final_loss_values(), 3),
                _fmt_per_seed(s.grad_rms_per_seed(), 3, "g"),
                _fmt_per_seed(u.grad_rms_per_seed(), 3, "g"),
                _ratio(u.grad_rms.mean, s.grad_rms.mean),
                Accuracy(tuple(s.record.test_accs), 0).fmt(),
                Accuracy(tuple(u.record.test_accs), 0).fmt() if u.record.test_accs else "—",
                _trained(u),
                ", ".join(f"seed {seed} at step {step}" for seed, step in u.record.diverged) or "—",
            ]
        )
    return Table(
        [
            "architecture",
            "activation",
            "final loss [-1, 1]",
            "final loss [0, 255]",
            "RMS ∂L/∂w₁ [-1, 1]",
            "RMS ∂L/∂w₁ [0, 255]",
            "gradient ratio",
            "test acc [-1, 1]",
            "test acc [0, 255]",
            "trained? [0, 255]",
            "diverged [0, 255]",
        ],
        rows,
        caption="The input-scaling ablation: the same training (settings, seeds, budget) on inputs left in [0, 255] "
        "against the main runs on [-1, 1]; per seed as in the table above (a diverged seed's loss and gradient "
        "count up to its last finite log step). Gradient ratio: unscaled / scaled RMS per weight.",
    )


WHY_VANISH = (
    "The sigmoid's derivative is at most 0.25 (and near 0 where a unit saturates); backpropagation multiplies "
    "one such factor per sigmoid layer between the loss and the first layer, so the first layer's gradient "
    "shrinks roughly geometrically with depth. ReLU's derivative is 1 wherever a unit is active, so depth alone "
    "does not shrink it."
)


def _depth_answer(results: list[VariantResult], depth: dict[str, int], study: ActivationsSettings) -> str:
    """The sigmoid/ReLU gradient ratio per architecture by depth, and ReLU's own gradient from shallowest to deepest."""
    by = {(r.arch, r.act): r for r in results}
    archs = sorted({r.arch for r in results}, key=lambda a: (depth[a], study.archs.index(a)))
    parts, relu = [], []
    for a in archs:
        sig, rel = by.get((a, "sigmoid")), by.get((a, "relu"))
        if rel is not None and rel.grad_rms.n:
            relu.append((a, rel.grad_rms.mean))
        if sig is None or rel is None or not (sig.grad_rms.n and rel.grad_rms.n):
            continue
        flag = " (did not train)" if did_not_train(sig.arm(())) or did_not_train(rel.arm(())) else ""
        parts.append(f"{a} ({depth[a]} layers) {sig.grad_rms.mean / rel.grad_rms.mean:.2g}×{flag}")
    text = "Sigmoid's first-layer gradient as a share of ReLU's (RMS per weight): " + ", ".join(parts or ["—"])
    if len(relu) >= 2:
        text += (
            f". ReLU's own first-layer gradient goes from {relu[0][1]:.3g} ({relu[0][0]}) to {relu[-1][1]:.3g} "
            f"({relu[-1][0]})"
        )
    return text + f"; below {study.vanish_ratio:g}× counts as vanished."


def _scaling_answer(unscaled: list[VariantResult], scaled: list[VariantResult]) -> str:
    by = {r.name: r for r in scaled}
    parts = []
    for u in unscaled:
        s = by.get(u.name)
        if s is None:
            continue
        loss_s = f"{s.final_loss.mean:.3f}" if s.final_loss.n else "—"
        loss_u = f"{u.final_loss.mean:.3f}" if u.final_loss.n else "—"
        acc_u = pct(u.test.mean) if u.test.n else "— (diverged)"
        acc_s = pct(s.test.mean) if s.test.n else "—"
        div = f", {len(u.record.diverged)} of {len(u.record.run['seeds'])} seeds diverged" if u.record.diverged else ""
        div += " (did not train: loss at ln C or accuracy at chance)" if did_not_train(u.arm(())) else ""
        grad = _ratio(u.grad_rms.mean, s.grad_rms.mean)
        loss = f"final loss {loss_s} → {loss_u}"
        parts.append(f"{u.arch} {u.act}: {loss}, first-layer gradient {grad}, test {acc_s} → {acc_u}{div}")
    return "On inputs in [0, 255] instead of [-1, 1] (scaled → unscaled): " + "; ".join(parts) + "."


def questions(
    results: list[VariantResult],
    unscaled: list[VariantResult],
    findings: list[Finding],
    depth: dict[str, int],
    study: ActivationsSettings,
) -> list[tuple]:
    """The exercise's S2 questions, answered from this run's numbers with the status of the claim each rests on."""
    depth_claim = next((f.claim for f in findings if f.question.startswith("From which depth")), None)
    untrained = next((f.claim for f in findings if f.question == "Which runs are no evidence?"), None)
    items = [
        (
            "How does gradient behaviour differ between the architectures, and what happens as depth grows?",
            _depth_answer(results, depth, study)
            + (f" {depth_claim.statement[0].upper()}{depth_claim.statement[1:]}." if depth_claim else ""),
            depth_claim or untrained or MEASURED,
        ),
        ("Why?", WHY_VANISH, None),
    ]
    scaling = next((f.claim for f in findings if f.question == "What happens without input scaling?"), None)
    if unscaled:
        items.append(("What happens without input scaling?", _scaling_answer(unscaled, results), scaling or MEASURED))
    return items


def metrics(results: list[VariantResult]) -> dict:
    def num(x: float, digits: int = 5) -> float | None:
        return round(float(x), digits) if np.isfinite(x) else None

    return {
        r.name: {
            "final_loss": num(r.final_loss.mean),
            "first_layer_grad_norm": num(r.grad_mean.mean, 8),
            "first_layer_grad_rms": num(r.grad_rms.mean, 10),
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
    lines, findings = depth_findings(results, depth, study)
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
        Figure(
            path.relative_to(out),
            "Training loss (left) and first-layer gradient norm (right, log scale); "
            "ReLU solid, sigmoid dashed, one colour per architecture.",
        ),
        *curve_charts(results, path.relative_to(out)),
        Heading("Gradient magnitude and depth", level=3),
        Paragraph(
            "Within each architecture, sigmoid against ReLU: the first-layer gradient as RMS per weight, the "
            "two compared by Welch's test on the per-seed log10 values; a run whose loss never left ln C "
            "(or whose accuracy stayed at chance) is marked *did not train* and is no evidence."
        ),
        *[Paragraph(line) for line in lines],
        _table(results, depth),
    ]
    seconds = {f"activations_train@{r.arch}-{r.act}": r.record.wall_seconds for r in results}
    values = metrics(results)
    unscaled = load_results(study, unscaled=True) if study.unscaled_variants else []
    if unscaled:
        claims = scaling_claims(results, unscaled)
        blocks += [
            Heading("Without input scaling (inputs in [0, 255])", level=3),
            Paragraph(
                "The exercise's bonus question, answered by measurement: "
                + ", ".join(f"{r.arch} {r.act}" for r in unscaled)
                + " trained exactly as above but on the raw pixel values in [0, 255] instead of [-1, 1]."
            ),
            scaling_table(results, unscaled),
            *[Paragraph(c.sentence()) for c in claims],
        ]
        if claims:
            worst = min(claims, key=lambda c: STRENGTH.index(c.status))
            findings.append(Finding("What happens without input scaling?", worst, worst.statistic))
        values["unscaled"] = metrics(unscaled)
        seconds |= {f"activations_unscaled@{r.arch}-{r.act}": r.record.wall_seconds for r in unscaled}
    blocks += questions_block(questions(results, unscaled, findings, depth, study))
    return StudySection(STUDY, blocks, values, seconds, [study.dataset], findings, [settings_table(study)])

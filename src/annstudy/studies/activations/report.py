"""The S2 section of the report: ReLU vs sigmoid, training loss and first-layer gradients by depth.

The section's layout only: the records are read in results.py, the statements and their statuses come
from claims.py and the plots from figures.py; here they are put in order with the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annstudy.params.settings import Settings
from annstudy.report import budgets
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, summarize
from annstudy.report.units import plural
from annstudy.studies.activations.claims import (
    DEPTH_QUESTION,
    SCALING_QUESTION,
    DepthRatio,
    depth_claim,
    depth_ratios,
    metrics,
    questions,
    ratio_sentence,
    ratio_text,
    scaling_claims,
    training_finding,
)
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.figures import curve_charts, depth_figure, figure
from annstudy.studies.activations.results import EARLY_STEPS, VariantResult, load_results, weight_layers
from annstudy.studies.activations.run import STUDY

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
    """The table's trained? cell: the did-not-train rule of report/claims.py, so table and claims agree."""
    return "yes" if r.trained else "**did not train**"


def _diverged(r: VariantResult) -> str:
    return ", ".join(f"seed {seed} at step {step}" for seed, step in r.record.diverged) or "—"


def _row(r: VariantResult, depth: dict[str, int]) -> list[str]:
    """One variant's row of the main table: per-seed loss and gradient RMS, test accuracy, whether it trained."""
    return [
        r.arch,
        str(depth[r.arch]),
        r.act,
        r.reached,
        _fmt_per_seed(r.final_loss_values(), 3),
        f"{r.weights:,}",
        _fmt_per_seed(r.early_rms_per_seed(), 3, "g"),
        Accuracy(tuple(r.record.test_accs), 0).fmt(),
        _trained(r),
        _diverged(r),
    ]


def _table(results: list[VariantResult], depth: dict[str, int]) -> Table:
    """Every variant by depth: the numbers the depth claims rest on, per seed."""
    stopped = any(budgets.stop_patience(r.record.run) for r in results)
    return Table(
        [
            "architecture",
            "weight layers",
            "activation",
            "epochs (best)" if stopped else "epochs",
            "final train loss",
            "first-layer weights",
            f"RMS ∂L/∂w₁ per weight, first {EARLY_STEPS} steps",
            "test acc",
            "trained?",
            "diverged",
        ],
        [_row(r, depth) for r in results],
        caption="Per seed (n ≤ 2: the values themselves; otherwise mean [95 % t-interval clipped at 0]). Final train "
        "loss: the last log interval's mean. RMS ∂L/∂w₁ per weight: the L2 norm of the loss gradient w.r.t. the "
        f"first layer's weights, averaged over the first {EARLY_STEPS} SGD steps (at least one log interval), "
        "divided by √(number of those weights), so layers of 25,088 and of 144 weights compare. Test accuracy in "
        "eval mode on the full test split"
        + (
            " at each seed's best epoch (early stopping: epochs (best) is the range over seeds of the epochs "
            "trained and, in brackets, of the epoch with the lowest full-validation loss). "
            if stopped
            else ". "
        )
        + f"trained?: *did not train* when the final loss is within {LOSS_MARGIN_TEXT} of ln C or the accuracy "
        "is at chance (report/claims.py).",
    )


def _scaling_row(u: VariantResult, s: VariantResult) -> list[str]:
    return [
        u.arch,
        u.act,
        _fmt_per_seed(s.final_loss_values(), 3),
        _fmt_per_seed(u.final_loss_values(), 3),
        _fmt_per_seed(s.early_rms_per_seed(), 3, "g"),
        _fmt_per_seed(u.early_rms_per_seed(), 3, "g"),
        ratio_text(u.early_rms.mean, s.early_rms.mean),
        Accuracy(tuple(s.record.test_accs), 0).fmt(),
        Accuracy(tuple(u.record.test_accs), 0).fmt() if u.record.test_accs else "—",
        _trained(u),
        _diverged(u),
    ]


def scaling_table(scaled: list[VariantResult], unscaled: list[VariantResult]) -> Table:
    """The ablation side by side with the main runs, so the effect of [0, 255] inputs is read per row."""
    by = {r.name: r for r in scaled}
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
        [_scaling_row(u, by[u.name]) for u in unscaled if by.get(u.name) is not None],
        caption="The input-scaling ablation: the same training (settings, seeds, budget) on inputs left in [0, 255] "
        "against the main runs on [-1, 1]; per seed as in the table above (a diverged seed's loss and gradient "
        "count up to its last finite log step). Gradient ratio: unscaled / scaled RMS per weight over the first "
        f"{EARLY_STEPS} steps.",
    )


def _depth_table(ratios: list[DepthRatio], threshold: float) -> Table:
    """Behind the depth answer: per architecture the ratio, its interval, its test, the runs that did not train."""
    rows = [
        [
            r.arch,
            str(r.depth),
            r.fmt(),
            "below" if r.below(threshold) else "above",
            f"{r.p:.2g}",
            str(r.n),
            ", ".join(r.untrained) or "—",
        ]
        for r in ratios
    ]
    return Table(
        ["architecture", "weight layers", "sigmoid / ReLU [95 %]", f"vs {threshold:g}×", "p", "n", "did not train"],
        rows,
        caption=f"Sigmoid's first-layer gradient as a share of ReLU's, RMS per weight over the first {EARLY_STEPS} "
        "steps of every run (those that did not train included: the gradient at the start is evidence either way). "
        "Ratio of geometric means over seeds with its Welch 95 % interval on log10; p: Welch's test of the per-seed "
        f"log10 values against the {threshold:g}× line.",
    )


def _length(study: ActivationsSettings, results: list[VariantResult]) -> str:
    """How long each variant trained, said where early stopping made it differ between variants."""
    if not study.stop_patience:
        return ""
    reached = "; ".join(f"{r.arch} {r.act} {r.reached}" for r in results)
    return (
        f"; at most {plural(study.epochs, 'epoch')}, each seed stopped after {plural(study.stop_patience, 'epoch')} "
        "without a "
        "lower full-validation loss and evaluated at its best epoch (one rule, one maximum: matched budgets). "
        f"Epochs trained per seed (best in brackets): {reached}"
    )


def _main_blocks(study: ActivationsSettings, results: list[VariantResult], depth: dict, out: Path) -> list:
    """Setup, the curves figure and its charts."""
    seeds = len(study.train.seeds)
    path = figure(
        results,
        out / "figures" / "activations_loss_grad.png",
        f"S2 ReLU (solid) vs sigmoid (dashed) on {study.dataset}, SGD lr {study.train.lr:g}: "
        f"mean over {plural(seeds, 'seed')}, band ±1 std",
    )
    return [
        Heading("S2 Activations"),
        Paragraph(
            f"Each architecture trained twice on `{study.dataset}`: with ReLU as given and with every ReLU "
            f"replaced by the logistic sigmoid; {study.train.optimizer.upper()} lr {study.train.lr:g}, momentum "
            f"{study.train.momentum:g}, batch {study.train.batch_size}, {plural(seeds, 'seed')} (trained together "
            "as one stacked network; each seed's gradient is its own slice of the stacked gradient)"
            + _length(study, results)
            + ". "
            "Logged at every log step: training loss and the norm of the loss gradient w.r.t. the first "
            "layer's weights, both averaged over the steps since the previous log. The gradient is shown as RMS per "
            "weight (norm / √(number of weights)): the norms of a 25,088-weight and a 144-weight layer do not compare."
        ),
        Figure(
            path.relative_to(out),
            "Training loss (left) and first-layer gradient as RMS per weight (right, log scale); "
            "ReLU solid, sigmoid dashed, one colour per architecture.",
        ),
        *curve_charts(results, path.relative_to(out)),
    ]


def _depth_blocks(
    study: ActivationsSettings, results: list[VariantResult], depth: dict, out: Path
) -> tuple[list, list[DepthRatio], Finding | None]:
    """The depth answer: its figure, one sentence per architecture, the table of ratios, and its finding."""
    ratios = depth_ratios(results, depth, study)
    claim = depth_claim(ratios, study)
    path = depth_figure(results, ratios, depth, study.vanish_ratio, out / "figures" / "activations_depth.png")
    blocks = [
        Heading("Gradient magnitude and depth", level=3),
        Paragraph(
            "Within each architecture, sigmoid against ReLU: the first-layer gradient over the first "
            f"{EARLY_STEPS} SGD steps, as RMS per weight, in **every** run. A run that never left the uniform guess "
            "is no evidence about accuracy, but the gradient its first layer received is the evidence on vanishing."
        ),
        Figure(
            path.relative_to(out),
            f"First-layer gradient (RMS per weight, first {EARLY_STEPS} steps) against depth: every seed of ReLU "
            "and sigmoid (hollow: the run did not train), and sigmoid / ReLU with its 95 % interval against the "
            f"{study.vanish_ratio:g}× line.",
        ),
        *([Paragraph(f"**Answer.** {claim.sentence()}")] if claim else []),
        *[Paragraph(ratio_sentence(r, study.vanish_ratio)) for r in ratios],
        _depth_table(ratios, study.vanish_ratio),
        _table(results, depth),
    ]
    finding = Finding(DEPTH_QUESTION, claim, claim.key) if claim else None
    return blocks, ratios, finding


def _scaling_blocks(results: list[VariantResult], unscaled: list[VariantResult]) -> tuple[list, list]:
    """The input-scaling ablation's subsection and its claims (one finding each: both directions count)."""
    claims = scaling_claims(results, unscaled)
    blocks = [
        Heading("Without input scaling (inputs in [0, 255])", level=3),
        Paragraph(
            "The exercise's bonus question, answered by measurement: "
            + ", ".join(f"{r.arch} {r.act}" for r in unscaled)
            + " trained exactly as above but on the raw pixel values in [0, 255] instead of [-1, 1]. Each is "
            "judged on what the change did: a run that stops training on [0, 255] while its [-1, 1] twin trains "
            "is the finding, tested like any difference."
        ),
        scaling_table(results, unscaled),
        *[Paragraph(c.sentence()) for c in claims],
    ]
    return blocks, claims


def build(settings: Settings, out: Path) -> StudySection:
    """The S2 section (the registry's entry): the depth answer from every run, then the scaling ablation."""
    study: ActivationsSettings = settings.studies[STUDY]
    results = load_results(study)
    shape = tuple(results[0].record.run["image_shape"]) if results else (1, 28, 28)
    depth = {a: weight_layers(a, shape) for a in study.archs}
    blocks = _main_blocks(study, results, depth, out)
    depth_part, ratios, depth_finding = _depth_blocks(study, results, depth, out)
    blocks += depth_part
    findings = [f for f in (depth_finding, training_finding(results)) if f is not None]
    seconds = {f"activations ({r.arch}-{r.act})": r.record.wall_seconds for r in results}
    values = metrics(ratios, study)
    unscaled = load_results(study, unscaled=True) if study.unscaled_variants else []
    claims: list = []
    if unscaled:
        scaling, claims = _scaling_blocks(results, unscaled)
        blocks += scaling
        findings += [Finding(SCALING_QUESTION, c, c.key) for c in claims]
        seconds |= {f"activations (unscaled {r.arch}-{r.act})": r.record.wall_seconds for r in unscaled}
    blocks += questions_block(questions(results, unscaled, ratios, depth_finding and depth_finding.claim, claims))
    return StudySection(STUDY, blocks, values, seconds, [study.dataset], findings, [settings_table(study)])

"""S2's numbers turned into statements with a status: the depth answer, the scaling ablation, the questions.

Why apart from the section's layout: these functions decide what the run supports, and the tables and
figures only show the numbers they rest on. Two rules of studies.md decide what counts as evidence:

- the depth answer reads the first-layer gradient of the first steps of **every** run: a run that
  never left the uniform guess is no evidence about accuracy, but its gradient at the start is
  evidence about vanishing (often the very reason it did not train);
- the input-scaling ablation is judged on what the manipulation did: a [0, 255] run that did not
  train where its [-1, 1] twin did is the finding ("scaling stops it from training"), not a
  run to discard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from annstudy.report.claims import Claim, Status
from annstudy.report.comparisons import Contrast, holm_family
from annstudy.report.questions import MEASURED
from annstudy.report.section import Finding
from annstudy.report.stats import holm, welch_p
from annstudy.report.units import percent, plural, points, points_interval, welch_interval
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.results import EARLY_STEPS, VariantResult

ALPHA = 0.05
DEPTH_QUESTION = "From which depth do sigmoid gradients vanish?"
SCALING_QUESTION = "What happens without input scaling?"
TRAINING_QUESTION = "Which runs did not train?"


def weakest(statuses: list[Status]) -> Status:
    """A conclusion resting on several tests is only as strong as the weakest: any undecided one leaves it open."""
    return Status.SUPPORTED if all(s is Status.SUPPORTED for s in statuses) else Status.INCONCLUSIVE


@dataclass(frozen=True)
class DepthRatio:
    """One architecture: sigmoid's early first-layer gradient as a share of ReLU's, with its 95 % interval.

    The ratio is that of geometric means (the test runs on per-seed log10 RMS, where gradients that
    span orders of magnitude are roughly normal); ``p`` tests the ratio against the vanish threshold.
    """

    arch: str
    depth: int
    ratio: float
    low: float
    high: float
    p: float
    n: int
    untrained: tuple[str, ...]  # "cnn_4 sigmoid" for each of the pair's runs that did not train

    def below(self, threshold: float) -> bool:
        return self.ratio < threshold

    def decided(self) -> bool:
        return self.n >= 2 and self.p < ALPHA

    def fmt(self) -> str:
        interval = f" [{self.low:.2g}, {self.high:.2g}]" if math.isfinite(self.low) else ""
        return f"{self.ratio:.2g}×{interval}"


def depth_ratios(results: list[VariantResult], depth: dict[str, int], study: ActivationsSettings) -> list[DepthRatio]:
    """Per architecture with both activations, shallowest first: the early gradient ratio and its test."""
    by = {(r.arch, r.act): r for r in results}
    archs = sorted({r.arch for r in results}, key=lambda a: (depth[a], study.archs.index(a)))
    shift = float(np.log10(study.vanish_ratio))
    out: list[DepthRatio] = []
    for a in archs:
        sig, relu = by.get((a, "sigmoid")), by.get((a, "relu"))
        if sig is None or relu is None:
            continue
        log_sig = [float(np.log10(g)) for g in sig.early_rms_per_seed() if g > 0]
        log_relu = [float(np.log10(g)) for g in relu.early_rms_per_seed() if g > 0]
        if not (log_sig and log_relu):
            continue
        diff, low, high = welch_interval(log_sig, log_relu)
        p = welch_p(log_sig, [v + shift for v in log_relu])
        untrained = tuple(f"{r.arch} {r.act}" for r in (relu, sig) if not r.trained)
        n = min(len(log_sig), len(log_relu))
        out.append(DepthRatio(a, depth[a], 10**diff, 10**low, 10**high, p, n, untrained))
    adjusted = holm([r.p for r in out])  # one family: the architectures answering the depth question
    return [replace(r, p=q) for r, q in zip(out, adjusted)]


def depth_claim(ratios: list[DepthRatio], study: ActivationsSettings) -> Claim | None:
    """The depth at which sigmoid/ReLU first falls below ``vanish_ratio``, or "none", as one claim.

    Supported when every architecture up to that depth (every one, for "none") lies significantly on
    the side the answer says (Holm-adjusted over the architectures); otherwise *inconclusive*. Runs that did
    not train count: the gradient of their first steps is the evidence.
    """
    if not ratios:
        return None
    t = study.vanish_ratio
    first = next((r for r in ratios if r.below(t)), None)
    used = ratios[: ratios.index(first) + 1] if first else ratios
    status = weakest([Status.SUPPORTED if r.decided() else Status.INCONCLUSIVE for r in used])
    window = f"first {plural(EARLY_STEPS, 'step')}"
    if first is None:
        statement = (
            f"Sigmoid's first-layer gradient stays above {t:g} × ReLU's at every depth measured "
            f"({ratios[0].depth} to {ratios[-1].depth} weight layers): it does not vanish here"
        )
        key_ratio = min(ratios, key=lambda r: r.ratio)
    else:
        before = f", against {used[-2].fmt()} at {used[-2].depth} ({used[-2].arch})" if len(used) > 1 else ""
        statement = (
            f"Sigmoid's first-layer gradient vanishes from {first.depth} weight layers ({first.arch}): "
            f"{first.fmt()} ReLU's over the {window}, below the {t:g} × that counts as vanished{before}"
        )
        key_ratio = first
    open_parts = [f"{r.arch} (p = {r.p:.2g})" for r in used if not r.decided()]
    reason = "not significant against the threshold: " + ", ".join(open_parts) if open_parts else ""
    untrained = ", ".join(u for r in used for u in r.untrained)
    if untrained:
        counted = f"counts {untrained}, which did not train: the gradient of their first steps is evidence all the same"
        reason = f"{reason}; {counted}" if reason else counted
    return Claim(
        statement,
        f"{key_ratio.arch}: sigmoid / ReLU = {key_ratio.fmt()} (RMS per weight, {window})",
        f"Welch t-test on per-seed log10 RMS against log10 {t:g}, Holm-adjusted over {len(ratios)} architectures; "
        + ", ".join(f"{r.arch} p = {r.p:.2g}" for r in used),
        min(r.n for r in used),
        (window,),
        status,
        reason,
        key=f"{key_ratio.fmt()} vs {t:g}× ({key_ratio.arch})",
        p=max(r.p for r in used),
    )


def metrics(ratios: list[DepthRatio], study: ActivationsSettings) -> dict:
    """metrics.json's S2 headline: the depth answer and, per architecture, sigmoid's early first-layer
    gradient as a share of ReLU's (4 significant digits).

    ``vanishes_from_depth``: the weight layers of the shallowest architecture whose ratio is below
    ``vanish_ratio`` (null: it vanishes at no depth measured). Per-variant losses, gradients and accuracies
    stay in the stage records (data/activations/*/live) and the DVC plots.
    """
    first = next((r for r in ratios if r.below(study.vanish_ratio)), None)
    return {
        "vanishes_from_depth": first.depth if first else None,
        **{r.arch: {"grad_ratio": float(f"{r.ratio:.4g}")} for r in ratios},
    }


def ratio_sentence(r: DepthRatio, t: float) -> str:
    """One architecture's line of the section: the ratio, its side of the threshold and whether the test decides it."""
    side = "below" if r.below(t) else "above"
    verdict = "significant" if r.decided() else "not significant"
    runs = f"; counted though {' and '.join(r.untrained)} did not train" if r.untrained else ""
    return (
        f"{r.arch} ({r.depth} weight layers): sigmoid's first-layer gradient is {r.fmt()} ReLU's over the first "
        f"{plural(EARLY_STEPS, 'step')}, {side} the {t:g}× line (Holm-adjusted p = {r.p:.2g}, {verdict}, "
        f"n = {r.n}){runs}."
    )


def training_finding(results: list[VariantResult]) -> Finding | None:
    """One row for every run that did not train: no accuracy evidence, named so no accuracy is read into it."""
    untrained = [r for r in results if not r.trained]
    if not untrained:
        return None
    names = ", ".join(f"{r.arch} {r.act}" for r in untrained)
    losses = ", ".join(f"{r.final_loss.mean:.3f}" for r in untrained)
    classes = untrained[0].classes
    budget = untrained[0].budget
    claim = Claim(
        f"{len(untrained)} of {len(results)} runs never left the uniform guess in {budget}: {names}",
        f"final loss {losses} vs ln {classes} = {math.log(classes):.3f}",
        "final loss vs ln C, accuracy vs chance (report/claims.py)",
        min(len(r.record.run["seeds"]) for r in untrained),
        (budget,),
        Status.DID_NOT_TRAIN,
        "no evidence about accuracy; their early gradients still count for the depth answer",
    )
    return Finding(TRAINING_QUESTION, claim, f"{len(untrained)} of {len(results)} runs")


# ------------------------------------------------------------------ the input-scaling ablation


def _all_diverged(u: VariantResult) -> Claim:
    """Every unscaled seed diverged: nothing to compare, and that is the answer."""
    return Claim(
        f"On [0, 255] inputs {u.arch} {u.act} diverges in every seed (loss NaN/inf)",
        "no finite test accuracy",
        "divergence check at every log step",
        len(u.record.run["seeds"]),
        (u.budget,),
        Status.SUPPORTED,
        "; ".join(f"seed {seed} at step {step}" for seed, step in u.record.diverged),
    )


def _scaling_statement(u: VariantResult, s: VariantResult, accs: str, diff: float) -> str:
    """What the change to [0, 255] did, worded from which arms trained and the sign of the difference."""
    name = f"{u.arch} {u.act}"
    if not (u.trained or s.trained):
        return f"{name} trains on neither [0, 255] nor [-1, 1] inputs in {u.budget}: scaling cannot be judged"
    if s.trained and not u.trained:
        return f"Scaling inputs to [0, 255] stops {name} from training ({accs} on test)"
    if u.trained and not s.trained:
        return f"Leaving inputs in [0, 255] lets {name} train, where [-1, 1] did not ({accs} on test)"
    if abs(diff) < 0.0005:
        return f"{name} on [0, 255] ends level with its [-1, 1] run on test ({accs})"
    word = "above" if diff > 0 else "below"
    return f"{name} on [0, 255] ends {abs(diff) * 100:.1f} points {word} its [-1, 1] run on test ({accs})"


def scaling_claims(scaled: list[VariantResult], unscaled: list[VariantResult]) -> list[Claim]:
    """[0, 255] against [-1, 1] for every ablated variant with a twin, judged on the manipulation's effect.

    One family (the ablation's question), Holm-adjusted. A run that did not train is no accuracy evidence on
    its own, but one arm training and the other not is exactly what the manipulation did (``manipulation``
    in the rule set); neither arm training says nothing about scaling.
    """
    by = {r.name: r for r in scaled}
    pairs = [(u, by[u.name]) for u in unscaled if u.name in by]
    diverged = {u.name: _all_diverged(u) for u, _ in pairs if not u.record.test_accs}
    contrasts, keys = [], []
    for u, s in pairs:
        if u.name in diverged:
            continue
        raw = replace(u.arm(tuple(u.record.test_accs)), label=f"{u.arch} {u.act} on [0, 255]")
        ref = replace(s.arm(tuple(s.record.test_accs)), label=f"{s.arch} {s.act} on [-1, 1]")
        diff, low, high = welch_interval(raw.values, ref.values)
        accs = f"{percent(float(np.mean(raw.values)))} vs {percent(float(np.mean(ref.values)))}"
        contrasts.append(Contrast(_scaling_statement(u, s, accs, diff), raw, ref, manipulation=True))
        keys.append(f"{points(diff)} {points_interval(low, high)}")
    judged = iter(replace(c, key=k) for c, k in zip(holm_family(contrasts, "input scaling"), keys))
    return [diverged[u.name] if u.name in diverged else next(judged) for u, _ in pairs]


def ratio_text(a: float, b: float) -> str:
    """``a / b`` as "1.5×", or a dash where either is not finite or ``b`` is not positive."""
    return f"{a / b:.3g}×" if np.isfinite(a) and np.isfinite(b) and b > 0 else "—"


WHY_VANISH = (
    "The sigmoid's derivative is at most 0.25 (and near 0 where a unit saturates); backpropagation multiplies "
    "one such factor per sigmoid layer between the loss and the first layer, so the first layer's gradient "
    "shrinks roughly geometrically with depth. ReLU's derivative is 1 wherever a unit is active, so depth alone "
    "does not shrink it."
)


def _depth_answer(ratios: list[DepthRatio], claim: Claim | None, results: list[VariantResult]) -> str:
    """The sigmoid/ReLU ratio by depth, ReLU's own early gradient from shallowest to deepest, and the answer."""
    parts = [f"{r.arch} ({r.depth} layers) {r.ratio:.2g}×" for r in ratios]
    text = (
        f"Sigmoid's first-layer gradient as a share of ReLU's (RMS per weight, first {plural(EARLY_STEPS, 'step')}): "
        + ", ".join(parts or ["—"])
    )
    relu = [(r.arch, r.early_rms.mean) for r in results if r.act == "relu" and r.early_rms.n]
    if len(relu) >= 2:
        text += f". ReLU's own goes from {relu[0][1]:.3g} ({relu[0][0]}) to {relu[-1][1]:.3g} ({relu[-1][0]})"
    return text + (f". {claim.statement}." if claim else ".")


def _scaling_part(u: VariantResult, s: VariantResult) -> str:
    """One ablated variant, scaled → unscaled: final loss, early gradient ratio, test accuracy, divergence."""
    loss_s = f"{s.final_loss.mean:.3f}" if s.final_loss.n else "—"
    loss_u = f"{u.final_loss.mean:.3f}" if u.final_loss.n else "—"
    acc_u = percent(u.test.mean) if u.test.n else "— (diverged)"
    acc_s = percent(s.test.mean) if s.test.n else "—"
    div = f", {len(u.record.diverged)} of {len(u.record.run['seeds'])} seeds diverged" if u.record.diverged else ""
    grad = ratio_text(u.early_rms.mean, s.early_rms.mean)
    return f"{u.arch} {u.act}: final loss {loss_s} → {loss_u}, first-layer gradient {grad}, test {acc_s} → {acc_u}{div}"


def _scaling_answer(unscaled: list[VariantResult], scaled: list[VariantResult]) -> str:
    by = {r.name: r for r in scaled}
    parts = [_scaling_part(u, by[u.name]) for u in unscaled if u.name in by]
    return "On inputs in [0, 255] instead of [-1, 1] (scaled → unscaled): " + "; ".join(parts) + "."


def questions(
    results: list[VariantResult],
    unscaled: list[VariantResult],
    ratios: list[DepthRatio],
    depth: Claim | None,
    scaling: list[Claim],
) -> list[tuple]:
    """The exercise's S2 questions, answered from this run's numbers with the status of the claim each rests on."""
    items = [
        (
            "How does gradient behaviour differ between the architectures, and what happens as depth grows?",
            _depth_answer(ratios, depth, results),
            depth or MEASURED,
        ),
        ("Why?", WHY_VANISH, None),
    ]
    if unscaled:
        decided = [c for c in scaling if c.status is not Status.DID_NOT_TRAIN]
        status = weakest([c.status for c in decided]) if decided else MEASURED
        items.append((SCALING_QUESTION, _scaling_answer(unscaled, results), status))
    return items

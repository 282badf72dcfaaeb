"""S2's numbers turned into statements with a status: the depth claims, the scaling ablation's, the questions.

Why apart from the section's layout: these functions decide what the run supports (a run that did not
train is no evidence), and the tables and figures only show the numbers they rest on.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from annstudy.report.claims import Claim, Status, compare, did_not_train, training
from annstudy.report.questions import MEASURED
from annstudy.report.section import Finding
from annstudy.report.stats import pct, summarize
from annstudy.studies.activations.config import ActivationsSettings
from annstudy.studies.activations.results import VariantResult

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


def _all_diverged(u: VariantResult) -> Claim:
    """The ablation's claim when every unscaled seed diverged: nothing to compare, and that is the answer."""
    return Claim(
        f"{u.arch} {u.act} on [0, 255] diverged in every seed (loss NaN/inf)",
        "no finite test accuracy",
        "divergence check at every log step",
        len(u.record.run["seeds"]),
        (u.budget,),
        Status.DID_NOT_TRAIN,
        "; ".join(f"seed {seed} at step {step}" for seed, step in u.record.diverged),
    )


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
        if not raw.values:
            out.append(_all_diverged(u))
            continue
        ref = replace(s.arm(tuple(s.record.test_accs)), label=f"{s.arch} {s.act} on [-1, 1]")
        word = "below" if summarize(raw.values).mean < summarize(ref.values).mean else "not below"
        out.append(compare(f"Without input scaling {u.arch} {u.act} ends {word} its scaled run on test", raw, ref))
    return out


def weakest_scaling_finding(claims: list[Claim]) -> Finding | None:
    """The ablation's row of the findings table: its weakest claim, since the answer is no stronger than that."""
    if not claims:
        return None
    worst = min(claims, key=lambda c: STRENGTH.index(c.status))
    return Finding("What happens without input scaling?", worst, worst.statistic)


def ratio_text(a: float, b: float) -> str:
    """``a / b`` as "1.5×", or a dash where either is not finite or ``b`` is not positive."""
    return f"{a / b:.3g}×" if np.isfinite(a) and np.isfinite(b) and b > 0 else "—"


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


def _scaling_part(u: VariantResult, s: VariantResult) -> str:
    """One ablated variant, scaled → unscaled: final loss, gradient ratio, test accuracy, divergence."""
    loss_s = f"{s.final_loss.mean:.3f}" if s.final_loss.n else "—"
    loss_u = f"{u.final_loss.mean:.3f}" if u.final_loss.n else "—"
    acc_u = pct(u.test.mean) if u.test.n else "— (diverged)"
    acc_s = pct(s.test.mean) if s.test.n else "—"
    div = f", {len(u.record.diverged)} of {len(u.record.run['seeds'])} seeds diverged" if u.record.diverged else ""
    div += " (did not train: loss at ln C or accuracy at chance)" if did_not_train(u.arm(())) else ""
    grad = ratio_text(u.grad_rms.mean, s.grad_rms.mean)
    loss = f"final loss {loss_s} → {loss_u}"
    return f"{u.arch} {u.act}: {loss}, first-layer gradient {grad}, test {acc_s} → {acc_u}{div}"


def _scaling_answer(unscaled: list[VariantResult], scaled: list[VariantResult]) -> str:
    """The ablation's answer: every ablated variant that has a scaled counterpart, scaled → unscaled."""
    by = {r.name: r for r in scaled}
    parts = [_scaling_part(u, by[u.name]) for u in unscaled if by.get(u.name) is not None]
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

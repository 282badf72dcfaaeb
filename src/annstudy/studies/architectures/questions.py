"""The exercise's S1 questions (studies.md), each answered from this run with the status of its claim."""

from __future__ import annotations

import torch

from annstudy.data.prepared import PreparedDataset
from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.report.claims import Arm, Claim, Family, weakest
from annstudy.report.comparisons import accuracy_bar, compare
from annstudy.report.questions import MEASURED
from annstudy.report.section import Finding
from annstudy.report.stats import Comparison, pct
from annstudy.studies.architectures.claims import CNN_VS_MLP, PICK, matrix_compare
from annstudy.studies.architectures.config import ArchitecturesSettings
from annstudy.studies.architectures.references import BARS, KIN, PUBLISHED_DATASET
from annstudy.studies.architectures.results import ArchResult, is_cnn, trained_model, verdict


def weight_layers(model) -> int:
    """Depth as the number of weighted (Linear/Conv) layers."""
    return sum(1 for m in model.modules() if getattr(m, "weight", None) is not None and m.weight.dim() > 1)


def _gaps(r: ArchResult) -> tuple[float, ...]:
    """Per healthy seed: final train − val accuracy (eval mode)."""
    h = r.healthy
    return tuple(float(t - v) for t, v in zip(h["train_acc"], h["val_acc"]))


def _cap(text: str) -> str:
    """Sentence case, leaving a leading identifier (``mlp_1``) as written."""
    first = text.split(" ", 1)[0]
    return text if "_" in first or any(ch.isdigit() for ch in first) else text[:1].upper() + text[1:]


def template_match(weight: torch.Tensor, class_means: torch.Tensor) -> tuple[float, int]:
    """For first-layer units that see the whole image (an MLP): per unit the largest |cosine| between its
    weights and a class-mean image (centred on the mean image); the median over units, and how many classes
    are some unit's best match. High values and many classes = units that look like class templates."""
    w = weight.detach().float().reshape(weight.shape[0], -1)
    m = class_means.reshape(class_means.shape[0], -1)
    m = m - m.mean(0, keepdim=True)
    cos = torch.nn.functional.normalize(w, dim=1) @ torch.nn.functional.normalize(m, dim=1).T  # [units, classes]
    best, which = cos.abs().max(dim=1)
    return float(best.median()), int(which.unique().numel())


def _weights_answer(matches: dict[str, tuple[float, int]], archs: list[str]) -> str:
    mlp = [f"{a}: median {m:.2f}, best match of {k} classes" for a, (m, k) in matches.items()]
    cnn = [a for a in archs if a not in matches]
    text = (
        "MLP units see the whole image, so their weights (the weight figures) can be compared with the classes: "
        "largest |cosine| of a unit's weights with a centred class-mean image — " + "; ".join(mlp) + ". "
        if mlp
        else ""
    )
    if cnn:
        text += (
            f"The CNNs' first-layer filters ({', '.join(cnn)}) are a few pixels wide: local edge and contrast "
            "detectors shared by every class, not class templates; the MLP weights are the more interpretable."
        )
    return text


def _generalization(trained: list[ArchResult], gaps: dict, study: ArchitecturesSettings, classes: int) -> tuple:
    """Which architecture generalizes worse: the largest train − val gap against the smallest."""
    ranked = sorted(trained, key=lambda r: sum(gaps[r.arch]) / max(len(gaps[r.arch]), 1))
    low, high = ranked[0], ranked[-1]
    claim = compare(
        f"{high.arch} has a larger train − val gap than {low.arch}",
        Arm(high.arch, gaps[high.arch], high.budget, None, high.test.mean, classes),
        Arm(low.arch, gaps[low.arch], low.budget, None, low.test.mean, classes),
    )
    verdicts = ", ".join(f"{r.arch} {verdict(*r.final_accuracies, study)}" for r in trained)
    return (
        "How do the architectures compare in generalization?",
        f"{_cap(claim.statement)} ({claim.statistic}). Verdicts at their budgets: {verdicts}.",
        claim,
    )


def _size(trained: list[ArchResult], gaps: dict, data: PreparedDataset, comparisons: list[Comparison]) -> tuple:
    """The largest network against the smallest, with every network's parameters and depth."""
    classes = len(data.classes)
    depth = {r.arch: weight_layers(build_model(r.arch, data.image_shape, classes)) for r in trained}
    order = sorted(trained, key=lambda r: r.params)
    small, big = order[0], order[-1]
    size = matrix_compare(
        f"the largest network, {big.arch} ({big.params:,} parameters), "
        f"{'beats' if big.test.mean >= small.test.mean else 'trails'} the smallest, {small.arch} "
        f"({small.params:,}), on test",
        big,
        small,
        comparisons,
        classes,
    )
    listing = "; ".join(
        f"{r.arch}: {r.params:,} parameters, {depth[r.arch]} weight layers, test {pct(r.test.mean)}, "
        f"gap {sum(gaps[r.arch]) / len(gaps[r.arch]) * 100:+.1f}"
        for r in order
    )
    return (
        "How do parameter count and depth affect accuracy and generalization?",
        f"{listing}. {_cap(size.statement)} ({size.statistic}). Here parameters and depth do not rank the "
        "networks alike: the convolutions' weight sharing gives the CNNs more layers with fewer parameters.",
        size,
    )


def _interpretable(trained: list[ArchResult], data: PreparedDataset) -> tuple:
    """How much the MLPs' first-layer units look like class templates (the CNNs' filters cannot)."""
    classes = len(data.classes)
    matches = {}
    for r in trained:
        if is_cnn(r.arch):
            continue
        model = trained_model(r, data.image_shape, classes)
        means = torch.stack([data.train.x[data.train.y == k].mean(0) for k in range(classes)])
        matches[r.arch] = template_match(first_layer_weight(model), means)
    return (
        "Are the first-layer weights interpretable, do units specialise to classes, and whose are most interpretable?",
        _weights_answer(matches, [r.arch for r in trained]),
        MEASURED if matches else None,
    )


def _akin(trained: list[ArchResult], comparisons: list[Comparison], classes: int) -> tuple | None:
    """Neighbours within each structurally akin group (references.KIN), with the matrix's adjusted p."""
    by = {r.arch: r for r in trained}
    kin_claims, kin_text = [], []
    for group, what in KIN:
        present = [a for a in group if a in by]
        if len(present) < 2:
            continue
        parts = []
        for a, b in zip(present, present[1:]):
            c = matrix_compare(f"{a} vs {b}", by[a], by[b], comparisons, classes)
            kin_claims.append(c)
            parts.append(f"{c.statistic} ({c.status.value})")
        kin_text.append(f"{', '.join(present)} ({what}): " + "; ".join(parts))
    if not kin_claims:
        return None
    return (
        "Which architectures are structurally akin, and how do their results compare?",
        ". ".join(kin_text) + ".",
        weakest(kin_claims),
    )


def _bars_item(trained: list[ArchResult], study: ArchitecturesSettings, classes: int, n_test: int) -> tuple:
    """Each network against the exercise's bar (Fashion-MNIST: ≥ 0.80 plain ANN, ≥ 0.85 CNN), with its curves."""
    question = "Does each network meet the exercise's bar (≥ 0.80 plain ANN, ≥ 0.85 CNN), and how are its curves?"
    if study.dataset != PUBLISHED_DATASET or not trained:
        return (question, f"The bars are the Fashion-MNIST exercise's; this run uses `{study.dataset}`.", None)
    bars, parts = [], []
    family = Family(len(trained), "every network against its bar")
    for r in trained:
        kind = "cnn" if is_cnn(r.arch) else "mlp"
        bar, what = BARS[kind], f"the {kind.upper()} bar"
        claim = accuracy_bar(r.arch, r.accuracy(n_test), bar, r.budget, classes, what, family=family)
        bars.append(claim)
        judged = verdict(*r.final_accuracies, study)
        parts.append(f"{claim.statement}: {pct(r.test.mean)} ({claim.status.value}; curves: {judged})")
    return (question, "; ".join(parts) + ".", weakest(bars))


def questions(
    results: list[ArchResult],
    findings: list[Finding],
    comparisons: list[Comparison],
    study: ArchitecturesSettings,
    data: PreparedDataset,
    n_test: int,
) -> list[tuple]:
    """The exercise's S1 questions (studies.md), each answered from this run with the status of its claim."""
    classes = len(data.classes)
    trained = [r for r in results if r.test.n > 0]
    claims: dict[str, Claim] = {f.question: f.claim for f in findings}
    gaps = {r.arch: _gaps(r) for r in trained}
    spread = ", ".join(f"{a} {sum(g) / len(g) * 100:+.1f}" for a, g in gaps.items() if g)
    items: list[tuple] = [
        (
            "What is generalization performance, and which plots show it?",
            "How well a network does on images it was not trained on (validation, test). The comparison panel "
            "shows it: eval-mode train (solid) against validation (dashed) accuracy along training, validation "
            "against train accuracy, and test against final train accuracy; the gap train − val (points, here "
            f"{spread or '—'}) measures it.",
            None,
        )
    ]
    if len(trained) >= 2:
        items += [_generalization(trained, gaps, study, classes), _size(trained, gaps, data, comparisons)]
    items.append(_interpretable(trained, data))
    akin = _akin(trained, comparisons, classes)
    if akin is not None:
        items.append(akin)
    pick = claims.get(PICK)
    if pick is not None:
        items.append(
            (
                "Which one would you pick, and why?",
                f"The one with the highest mean validation accuracy (the only fair basis): {pick.statement} "
                f"({pick.statistic}).",
                pick,
            )
        )
    cnn_mlp = [f.claim for f in findings if f.question == CNN_VS_MLP]
    if cnn_mlp:
        items.append(
            (
                CNN_VS_MLP,
                " ".join(f"{_cap(c.statement)} ({c.statistic}, {c.status.value})." for c in cnn_mlp),
                weakest(cnn_mlp),
            )
        )
    items.append(_bars_item(trained, study, classes, n_test))
    return items

"""S2 activations: per-seed first-layer gradient norms, the trainer hook, the stage and its report section."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
import torch

from annstudy.engine.evaluation import per_seed_cross_entropy
from annstudy.engine.loop import TrainHooks
from annstudy.engine.seeds import train_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.models.stacked import build_stacked
from annstudy.models.zoo import build_model
from annstudy.params.settings import settings_from_raw, validate
from annstudy.report.claims import Status
from annstudy.report.document import Chart
from annstudy.store.records import read_record
from annstudy.studies.activations import report
from annstudy.studies.activations.claims import depth_claim, depth_ratios, scaling_claims
from annstudy.studies.activations.results import VariantResult, load_results
from annstudy.studies.activations.run import STEPS, first_layer_grad_norm, variant_dir
from annstudy.studies.variants import Variant
from conftest import blobs_dataset, write_prepared_blobs
from helpers.training import small_train_settings

RTOL = 1e-5


def cfg(**kw) -> TrainSettings:
    """The shared small settings (helpers/training.py) with this module's differences."""
    return small_train_settings(**{**dict(optimizer="sgd", lr=0.05, vectorize=True), **kw})


def close(a: list[float], b: list[float], rtol: float = RTOL) -> bool:
    a_, b_ = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return torch.linalg.vector_norm(a_ - b_).item() <= rtol * torch.linalg.vector_norm(b_).item()


@pytest.mark.parametrize("arch", ["mlp_1", "mlp_2", "cnn_3", "cnn_4", "cnn_5"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_per_seed_slices_of_the_stacked_gradient_are_each_seeds_own(arch, activation):
    """In float64 (no rounding to hide behind): stacked per-seed norms == each seed's model alone."""
    seeds, shape = (0, 1, 2), (1, 24, 24)
    stacked = build_stacked(arch, shape, 3, seeds, activation).double()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(len(seeds), 10, *shape, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (len(seeds), 10), generator=g)
    per_seed_cross_entropy(stacked(x), y).mean(1).sum().backward()
    got = first_layer_grad_norm(stacked)["grad_norm"]
    for s, seed in enumerate(seeds):
        torch.manual_seed(seed)
        model = build_model(arch, shape, 3, activation).double()
        torch.nn.functional.cross_entropy(model(x[s]), y[s]).backward()
        expected = first_layer_grad_norm(model)["grad_norm"]
        assert got[s].item() == pytest.approx(expected.item(), rel=1e-10), (arch, activation, seed)


# cnn_5 with sigmoid is left out here: its first-layer gradient (~4e-6) is a sum with heavy cancellation,
# so float32 rounding differences of the grouped convolution already move it by ~1 % (exact in float64 above).
@pytest.mark.parametrize("arch, size", [("mlp_2", 8), ("cnn_3", 24)])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_stacked_per_seed_grad_norms_equal_one_seed_at_a_time(arch, size, activation, channels_last):
    """Step 1 (identical weights): equal to 1e-5; later steps drift apart by float rounding only (1e-3)."""
    data = blobs_dataset(size=size)
    c = cfg(channels_last=channels_last, log_every=1, epochs=1)
    hooks = TrainHooks(step_metrics=first_layer_grad_norm)
    stacked = train_seeds(arch, data, c, activation=activation, hooks=hooks, bar=False)
    one_by_one = train_seeds(arch, data, replace(c, vectorize=False), activation=activation, hooks=hooks, bar=False)
    for run, alone in zip(stacked, one_by_one, strict=True):
        assert [r["step"] for r in run.curve] == [r["step"] for r in alone.curve] == list(range(1, 9))
        stacked_norms, alone_norms = [r["grad_norm"] for r in run.curve], [r["grad_norm"] for r in alone.curve]
        assert all(n > 0 for n in alone_norms)
        assert close(stacked_norms[:1], alone_norms[:1]), (arch, activation, run.seed, stacked_norms, alone_norms)
        assert close(stacked_norms, alone_norms, 1e-3), (arch, activation, run.seed, stacked_norms, alone_norms)
        if arch == "mlp_2":  # batched matrix products: each member exactly as alone
            assert stacked_norms == alone_norms


def test_grad_norm_is_the_first_layer_gradient_norm():
    """One step by hand: the hook returns ||dL/dW1|| of the first Linear/Conv layer."""
    torch.manual_seed(0)
    model = build_model("cnn_4", (1, 24, 24), 3, "sigmoid")
    x, y = torch.randn(8, 1, 24, 24), torch.randint(0, 3, (8,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    expected = model[0].weight.grad.norm()
    assert first_layer_grad_norm(model)["grad_norm"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_hooks_leave_training_unchanged():
    """S1 runs without hooks: adding the metric hook must not change a single logged number."""
    data = blobs_dataset(size=8)
    plain = train_seeds("mlp_1", data, cfg(), bar=False)
    hooked = train_seeds("mlp_1", data, cfg(), hooks=TrainHooks(step_metrics=first_layer_grad_norm), bar=False)
    for a, b in zip(plain, hooked):
        assert [{k: v for k, v in r.items() if k != "grad_norm"} for r in b.curve] == a.curve
        assert "grad_norm" not in a.curve[0]


def test_sigmoid_cnn_has_smaller_first_layer_gradients_than_relu():
    data = blobs_dataset(size=24)
    hooks = TrainHooks(step_metrics=first_layer_grad_norm)
    relu = train_seeds("cnn_5", data, cfg(epochs=1), hooks=hooks, bar=False)
    sig = train_seeds("cnn_5", data, cfg(epochs=1), activation="sigmoid", hooks=hooks, bar=False)
    mean = lambda runs: sum(r["grad_norm"] for run in runs for r in run.curve) / sum(len(x.curve) for x in runs)  # noqa: E731
    assert mean(sig) < 0.1 * mean(relu)  # five sigmoids between loss and first layer


def test_variant_names_are_checked(params):
    settings = settings_from_raw(params).studies["activations"]
    assert settings.split_variant("cnn_4_sigmoid") == ("cnn_4", "sigmoid")
    with pytest.raises(ValueError, match="lenet5_relu"):
        settings.split_variant("lenet5_relu")
    params["studies"]["activations"]["activations"] = ["relu", "tanh"]
    assert validate(params) == [
        "studies.activations.activations: item 1: unknown activation 'tanh'; choose from relu, sigmoid"
    ]


def test_smoke_stage_and_report_section(params, tmp_path, monkeypatch):
    """Train two architectures x two activations end to end (smoke profile) and build the S2 section."""
    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist")
    params["profile"] = "smoke"
    params["studies"]["activations"]["archs"] = ["mlp_1", "cnn_3"]
    params["studies"]["activations"]["unscaled_archs"] = ["mlp_1"]
    settings = settings_from_raw(params)
    for variant in settings.studies["activations"].variants:
        assert STEPS["train"](settings, variant) == variant_dir(variant)
    for variant in ("mlp_1_relu", "mlp_1_sigmoid"):
        assert STEPS["unscaled"](settings, variant) == variant_dir(variant, unscaled=True)
    assert read_record(variant_dir("mlp_1_relu", unscaled=True)).summary["inputs"] == "[0, 255]"
    run = read_record(variant_dir("cnn_3_sigmoid")).summary
    assert run["activation"] == "sigmoid" and [s["seed"] for s in run["seeds"]] == [0, 1]
    assert all(0 <= s["test_acc"] <= 1 for s in run["seeds"])
    section = report.build(settings, tmp_path / "reports")
    # headline only: the depth answer and, per architecture, sigmoid's early gradient as a share of ReLU's
    m = section.metrics
    assert set(m) == {"vanishes_from_depth", "mlp_1", "cnn_3"} and set(m["mlp_1"]) == {"grad_ratio"}
    assert all(0 < m[a]["grad_ratio"] for a in ("mlp_1", "cnn_3"))
    study = settings.studies["activations"]
    below = [depth for a, depth in (("mlp_1", 2), ("cnn_3", 4)) if m[a]["grad_ratio"] < study.vanish_ratio]
    assert m["vanishes_from_depth"] == (below[0] if below else None)  # the shallowest below the threshold
    # inputs 127.5x larger: the first-layer gradient (∝ input) of the same first steps is far larger
    sigmoid = {u: next(r for r in load_results(study, unscaled=u) if r.name == "mlp_1_sigmoid") for u in (False, True)}
    assert sigmoid[True].grad_mean.mean > 10 * sigmoid[False].grad_mean.mean
    assert all(r.final_loss.mean > 0 and not r.record.diverged for r in load_results(study))
    assert (tmp_path / "reports/figures/activations_loss_grad.png").stat().st_size > 20_000
    assert (tmp_path / "reports/figures/activations_depth.png").stat().st_size > 20_000
    charts = [b for b in section.blocks if isinstance(b, Chart)]
    assert {c.spec["title"] for c in charts} == {"S2 training loss", "S2 first-layer gradient, RMS per weight"}
    assert all(len(c.spec["data"]["values"]) > 0 for c in charts)
    text = " ".join(getattr(b, "text", "") for b in section.blocks)
    assert "mlp_1 (2 weight layers): sigmoid's first-layer gradient is" in text and "cnn_3 (4 weight layers)" in text
    # 16 smoke steps leave every variant at ln 10, yet the depth answer stands on their early gradients; the
    # ablation's pairs trained on neither scaling, so they say nothing about it
    questions = [f.question for f in section.findings]
    assert questions == [
        "From which depth do sigmoid gradients vanish?",
        "Which runs did not train?",
        "What happens without input scaling?",
        "What happens without input scaling?",
    ]
    assert section.findings[0].claim.status is not Status.DID_NOT_TRAIN
    assert section.findings[0].key.endswith("×") or "× [" in section.findings[0].key
    assert [f.claim.status for f in section.findings[1:]] == [Status.DID_NOT_TRAIN] * 3
    assert section.findings[1].claim.statement.startswith("4 of 4 runs never left the uniform guess in 1 epoch")
    assert "Without input scaling" in text and "scaling cannot be judged" in text
    answers = [b.text for b in section.blocks if getattr(b, "text", "").startswith("**")][-3:]
    assert answers[0].startswith("**How does gradient behaviour differ") and "mlp_1 (2 layers)" in answers[0]
    assert answers[1].startswith("**Why?**") and answers[1].endswith("*conceptual*")
    assert answers[2].startswith("**What happens without input scaling?**") and "mlp_1 relu: final loss" in answers[2]
    assert answers[2].endswith("*measured*")  # no pair trained on either scaling: nothing to judge
    assert set(section.stage_seconds) == {
        f"activations ({a}-{s})" for a in ("mlp_1", "cnn_3") for s in ("relu", "sigmoid")
    } | {"activations (unscaled mlp_1-relu)", "activations (unscaled mlp_1-sigmoid)"}
    with pytest.raises(ValueError, match="unscaled_archs x activations"):
        STEPS["unscaled"](settings, "cnn_3_relu")
    with pytest.raises(ValueError, match="not in studies.activations"):
        STEPS["train"](settings, "cnn_4_relu")


# ------------------------------------------------------------------ S2's answers on synthetic records


class _Record:
    """A stage record held in memory: what :class:`Variant` reads (its summary and its curves table)."""

    def __init__(self, summary: dict, curves: pd.DataFrame):
        self.summary, self._curves, self.wall_seconds = summary, curves, 1.0

    def table(self, name: str) -> pd.DataFrame:
        return self._curves


def variant(arch: str, act: str, early: list[float], loss: float, acc: list[float], weights: int = 100):
    """Three seeds logged every 50 steps for 200 steps: ``early[s]`` is seed s's first-layer RMS per weight at
    step 50 (the first log), later rows 10x larger (so only the first 50 steps may enter the depth answer)."""
    rows = [
        {"seed": s, "step": step, "train_loss": loss, "grad_norm": g * math.sqrt(weights) * (1 if step == 50 else 10)}
        for s, g in enumerate(early)
        for step in (50, 100, 150, 200)
    ]
    seeds = [{"seed": s, "test_acc": a, "diverged": False, "diverged_step": None} for s, a in enumerate(acc)]
    summary = {"train": {"epochs": 1}, "seeds": seeds, "image_shape": [1, 28, 28]}
    return VariantResult(arch, act, Variant(f"{arch}_{act}", _Record(summary, pd.DataFrame(rows))), weights)


LN10 = math.log(10)
TRAINED = dict(loss=0.6, acc=[0.80, 0.81, 0.79])
AT_CHANCE = dict(loss=LN10, acc=[0.10, 0.10, 0.10])


def test_depth_answer_counts_the_early_gradient_of_runs_that_did_not_train(params):
    """cnn_4 sigmoid sits at ln 10 and at chance, with a vanishing first-step gradient: it answers the question."""
    study = settings_from_raw(params).studies["activations"]
    results = [
        variant("mlp_1", "relu", [1e-2, 1.1e-2, 0.9e-2], **TRAINED),
        variant("mlp_1", "sigmoid", [3e-3, 3.2e-3, 2.9e-3], **TRAINED),
        variant("cnn_3", "relu", [2e-2, 2.2e-2, 1.9e-2], **TRAINED),
        variant("cnn_3", "sigmoid", [8e-3, 8.5e-3, 7.7e-3], **TRAINED),
        variant("cnn_4", "relu", [2e-2, 2.1e-2, 1.8e-2], **TRAINED),
        variant("cnn_4", "sigmoid", [2e-5, 1.5e-5, 2.5e-5], **AT_CHANCE),
    ]
    assert not results[-1].trained and results[-1].early_rms_per_seed() == pytest.approx((2e-5, 1.5e-5, 2.5e-5))
    depth = {"mlp_1": 2, "mlp_2": 3, "cnn_3": 4, "cnn_4": 5, "cnn_5": 7}
    ratios = depth_ratios(results, depth, study)
    assert [(r.arch, r.depth, r.below(0.1), r.untrained) for r in ratios] == [
        ("mlp_1", 2, False, ()),
        ("cnn_3", 4, False, ()),
        ("cnn_4", 5, True, ("cnn_4 sigmoid",)),
    ]
    geometric = lambda xs: math.prod(xs) ** (1 / 3)  # noqa: E731
    assert ratios[2].ratio == pytest.approx(geometric([2e-5, 1.5e-5, 2.5e-5]) / geometric([2e-2, 2.1e-2, 1.8e-2]))
    assert ratios[2].low < ratios[2].ratio < ratios[2].high < 0.1
    claim = depth_claim(ratios, study)
    assert claim.status is Status.SUPPORTED and all(r.decided() for r in ratios)
    assert claim.statement.startswith("Sigmoid's first-layer gradient vanishes from 5 weight layers (cnn_4): 0.00")
    assert claim.key.endswith("vs 0.1× (cnn_4)") and "cnn_4 sigmoid, which did not train" in claim.reason
    # without the vanishing architecture the answer is "none", and it says so (not "no vanishing shown")
    none = depth_claim(ratios[:2], study)
    assert none.statement.startswith("Sigmoid's first-layer gradient stays above 0.1 × ReLU's at every depth")
    assert none.status is Status.SUPPORTED  # both ratios are significantly above the line: a directional claim
    # one seed each: no test decides anything
    thin = [variant(r.arch, r.act, r.early_rms_per_seed()[:1], 0.6, [0.8]) for r in results]
    assert depth_claim(depth_ratios(thin, depth, study), study).status is Status.INCONCLUSIVE


def test_scaling_ablation_judges_what_the_manipulation_did(params):
    """[0, 255] stops mlp_1 relu from training (the finding, not a discarded run); cnn_4 relu ends above."""
    scaled = [
        variant("mlp_1", "relu", [1e-2] * 3, loss=0.58, acc=[0.79, 0.795, 0.788]),
        variant("cnn_4", "relu", [2e-2] * 3, loss=0.66, acc=[0.75, 0.78, 0.73]),
        variant("cnn_4", "sigmoid", [2e-5] * 3, **AT_CHANCE),
    ]
    unscaled = [
        variant("mlp_1", "relu", [1e-1] * 3, **AT_CHANCE),
        variant("cnn_4", "relu", [6e-2] * 3, loss=0.48, acc=[0.84, 0.85, 0.83]),
        variant("cnn_4", "sigmoid", [2e-4] * 3, **AT_CHANCE),
    ]
    stops, above, neither = scaling_claims(scaled, unscaled)
    assert stops.statement == "Scaling inputs to [0, 255] stops mlp_1 relu from training (10.0 % vs 79.1 % on test)"
    assert stops.status is Status.SUPPORTED and stops.key.startswith("-69.1 points [")
    assert above.statement.startswith(
        "cnn_4 relu on [0, 255] ends 8.7 points above its [-1, 1] run on test (84.0 % vs 75.3 %)"
    )
    assert above.status is Status.SUPPORTED and above.key == "+8.7 points [+3.3, +14.1]"
    assert "Holm" in above.test  # one family: the ablation's question
    assert neither.status is Status.DID_NOT_TRAIN and "scaling cannot be judged" in neither.statement

"""S3 learning_rates: the plateau rule, the passes of the schedule, divergence as a result, stage and report."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from annstudy.engine.loop import LoopSettings, StackData, TrainHooks, train_stack
from annstudy.engine.schedules import plateau_epoch, stepped_run
from annstudy.engine.seeds import train_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.models.stacked import stack_seeds
from annstudy.models.zoo import build_model
from annstudy.params.settings import settings_from_raw, validate
from annstudy.report.claims import Status
from annstudy.report.document import Chart
from annstudy.store.records import read_record
from annstudy.studies.learning_rates import report
from annstudy.studies.learning_rates.run import STEPS, variant_dir
from conftest import blobs_dataset, write_prepared_blobs
from helpers.training import small_train_settings

STATUSES = {s.value for s in Status} | {"measured"}


def cfg(**kw) -> TrainSettings:
    """The shared small settings (helpers/training.py) with this module's differences."""
    return small_train_settings(
        **{**dict(optimizer="sgd", lr=0.1, seeds=(0, 1), epochs=4, log_every=4, vectorize=True), **kw}
    )


def test_plateau_rule_finds_the_planted_plateau_epochs():
    """Synthetic pass curves with plateaus planted at epoch 4 (pass 1) and 9 (pass 2), noise below min_delta."""
    accs = [0.50, 0.60, 0.65, 0.70, 0.705, 0.69, 0.702, 0.70]  # pass 1: flat from epoch 4 on
    assert plateau_epoch(accs, 0, patience=2, min_delta=0.01, last=11) == 4
    assert plateau_epoch(accs, 0, patience=1, min_delta=0.0, last=11) == 5  # 0.69 < 0.705: a stricter rule
    second = [*accs[:4], 0.78, 0.80, 0.83, 0.84, 0.85, 0.851, 0.849, 0.85]  # pass 2: dropped after epoch 4
    assert plateau_epoch(second, 4, patience=2, min_delta=0.01, last=11) == 9  # the next one, after the drop
    assert plateau_epoch(second, 0, patience=2, min_delta=0.01, last=11) == 9  # epoch 4 is no plateau here
    # only the epochs after the last drop count: the best of epochs 1-4 (0.70) does not hide epoch 5's
    assert plateau_epoch([0.9, 0.5, 0.6, 0.61], 1, patience=1, min_delta=0.05, last=3) == 3
    assert plateau_epoch(accs, 0, patience=2, min_delta=0.01, last=3) is None  # the drop must leave epochs
    assert plateau_epoch([0.1, 0.2, 0.3, 0.4], 0, patience=1, min_delta=0.0, last=3) is None  # still rising
    assert plateau_epoch([0.5, 0.5], 0, patience=2, min_delta=0.0, last=1) is None  # not confirmed yet


def noise(x: torch.Tensor) -> torch.Tensor:
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(1))


class FixedDrops:
    """A schedule with given drops ({epoch: rate}): the full retrain the passes must equal."""

    def __init__(self, drops: dict[int, float]):
        self.drops = drops

    def after_epoch(self, epoch: int, val_acc: float) -> float | None:
        return self.drops.get(epoch)


def test_passes_drop_at_the_plateaus_found_and_equal_a_full_retrain():
    """The final pass trains with the rate of the plateau epochs found on the earlier passes, epoch by epoch,
    and continuing from a pass's state equals retraining from the same initialisation with those drops."""
    data = blobs_dataset(size=8)
    data = replace(data, val=replace(data.val, x=data.val.x + 1.5 * noise(data.val.x)))  # a noisy val curve
    c = cfg(epochs=7, log_every=5, seeds=(0,))  # 8 steps per epoch: log intervals span epoch ends
    make = lambda: build_model("mlp_1", (1, 8, 8), 3)  # noqa: E731
    lrs = (0.1, 0.01, 0.001)
    run, passes = stepped_run(make, data, c, 0, lrs, patience=1, min_delta=0.0)
    d1, d2 = passes[0].plateau, passes[1].plateau
    assert (d1, d2) == (5, 6) and passes[2].plateau is None and len(passes) == 3
    assert plateau_epoch(passes[0].val_acc, 0, 1, 0.0, 6) == d1 and len(passes[0].val_acc) == d1 + 1  # stopped there
    assert plateau_epoch(passes[1].val_acc, d1, 1, 0.0, 6) == d2 and passes[1].val_acc[:d1] == passes[0].val_acc[:d1]
    used = [row["lr"] for row in run.epochs]  # the rate each epoch trained with
    assert used == [0.1] * d1 + [0.01] * (d2 - d1) + [0.001] * (7 - d2)
    assert [(x["epoch"], x["lr"]) for x in run.lr_changes] == [(d1, 0.01), (d2, 0.001)]
    schedule = TrainHooks(schedule=lambda: FixedDrops({d1: 0.01, d2: 0.001}))
    (full,) = train_seeds("mlp_1", data, c, hooks=schedule, bar=False)
    assert full.epochs == run.epochs and full.curve == run.curve and full.steps == run.steps == 56
    assert full.lr_changes == run.lr_changes and full.group == run.group == (0,)
    assert all(torch.equal(full.state_dict[k], run.state_dict[k]) for k in full.state_dict)


class DropAfterFirstEpoch:
    def after_epoch(self, epoch: int, val_acc: float) -> float | None:
        return 0.0 if epoch == 1 else None


def test_schedule_hook_sets_the_rate_and_records_it():
    """Rate 0 after epoch 1: the weights must stop changing, and the change is recorded with its step."""
    data = blobs_dataset(size=8)
    c = cfg(epochs=3)
    hooks = TrainHooks(schedule=DropAfterFirstEpoch)
    (run,) = train_seeds("mlp_1", data, replace(c, seeds=(0,)), hooks=hooks, bar=False)
    assert run.lr_changes == [{"epoch": 1, "step": 8, "lr": 0.0}]
    assert [e["lr"] for e in run.epochs] == [0.1, 0.0, 0.0]  # the rate each epoch trained with
    frozen = [(e["val_acc"], e["val_loss"]) for e in run.epochs[1:]]
    assert frozen[0] == frozen[1]
    pair = stack_seeds(lambda: build_model("mlp_1", (1, 8, 8), 3), [0, 1])
    loop = LoopSettings("sgd", 0.1, 0.0, epochs=3, batch_size=16)
    with pytest.raises(ValueError, match="one seed at a time"):  # one optimizer has one rate
        train_stack(pair, StackData(data.train.x, data.train.y, shared=True), loop, [0, 1], hooks=hooks)
    runs = train_seeds("mlp_1", data, c, hooks=hooks, bar=False)  # vectorize, yet a stack of one per seed
    assert [r.lr_changes[0]["epoch"] for r in runs] == [1, 1] and [r.group for r in runs] == [(0,), (1,)]


def test_huge_rate_diverges_with_its_step_and_others_go_on():
    data = blobs_dataset(size=8)
    runs = train_seeds("mlp_1", data, cfg(lr=1e30, epochs=2), bar=False)
    assert all(r.diverged and 1 <= r.diverged_step <= 16 for r in runs)
    assert all(all(row["step"] < r.diverged_step for row in r.curve) for r in runs)  # drawn up to that point
    fine = train_seeds("mlp_1", data, cfg(lr=0.1, epochs=2), bar=False)
    assert not any(r.diverged for r in fine)


def test_rates_are_validated_and_name_the_variants(params):
    params["studies"]["learning_rates"]["rates"] = [0.1, "fast", 0.1]
    assert validate(params) == ["studies.learning_rates.rates: item 1: must be > 0, got 'fast'"]
    params["studies"]["learning_rates"]["rates"] = [0.1, 0.1]
    assert validate(params) == ["studies.learning_rates.rates: must not repeat values, got [0.1, 0.1]"]
    params["studies"]["learning_rates"]["rates"] = [0.1, 0.0001, 1]
    study = settings_from_raw(params).studies["learning_rates"]
    # the names DVC gives the stages' outs (lr_${item}): Python's str of the YAML number
    assert study.variants == ("lr_0.1", "lr_0.0001", "lr_1", "scheduled", "adam")
    assert [report.stage_name(v) for v in study.variants] == [
        "learning_rates_sgd@0.1",
        "learning_rates_sgd@0.0001",
        "learning_rates_sgd@1",
        "learning_rates_scheduled",
        "learning_rates_adam",
    ]
    assert study.train_for("lr_1").lr == 1.0 and study.train_for("adam").lr == 0.001
    with pytest.raises(ValueError, match="'lr_0.5' is not one of lr_0.1, lr_0.0001, lr_1, scheduled, adam"):
        study.train_for("lr_0.5")
    assert (study.train_for("lr_0.1").optimizer, study.train_for("lr_0.1").lr) == ("sgd", 0.1)
    assert study.train_for("adam").optimizer == "adam" and study.train_for("adam").lr == 0.001
    assert study.train_for("scheduled").epochs == study.schedule_epochs
    with pytest.raises(ValueError, match="lr_0.5"):
        study.train_for("lr_0.5")


def test_smoke_stage_and_report_section(params, tmp_path, monkeypatch):
    """Every kind of variant end to end (smoke profile), one that diverges, then the S3 section."""
    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist", size=28)
    params["profile"] = "smoke"
    params["studies"]["learning_rates"].update(arch="mlp_1", rates=[0.1, 1e30])
    settings = settings_from_raw(params)
    for variant in settings.studies["learning_rates"].variants:
        assert STEPS["train"](settings, variant) == variant_dir(variant)
    diverged = read_record(variant_dir("lr_1e+30")).summary
    assert all(s["diverged"] and s["diverged_step"] >= 1 and s["test_acc"] is None for s in diverged["seeds"])
    section = report.build(settings, tmp_path / "reports")
    m = section.metrics
    assert set(m) == {"n_test", "lr_0.1", "lr_1e+30", "scheduled", "adam"}
    assert set(section.stage_seconds) == {
        "learning_rates_sgd@0.1",
        "learning_rates_sgd@1e+30",
        "learning_rates_scheduled",
        "learning_rates_adam",
    }
    assert m["lr_1e+30"] == {"test_acc_mean": None, "test_acc_std": None}  # both seeds diverged
    assert m["adam"]["test_acc_mean"] > 0.5 and m["lr_0.1"]["test_acc_mean"] > 0.3  # 10 classes: chance 0.1
    assert (tmp_path / "reports/figures/learning_rates_constant.png").is_file()
    assert (tmp_path / "reports/figures/learning_rates_schedule_adam.png").is_file()
    assert (tmp_path / "reports/figures/learning_rates_passes.png").is_file()
    passes = read_record(variant_dir("scheduled")).summary["passes"]
    assert set(passes) == {"0", "1"} and all(p[0]["lr"] == 0.1 for p in passes.values())
    # the drops recorded are the plateaus the passes found
    seeds = read_record(variant_dir("scheduled")).summary["seeds"]
    drops = [[c["epoch"] for c in seed["lr_changes"]] for seed in seeds]
    assert drops == [[p["plateau"] for p in passes[s] if p["plateau"]] for s in ("0", "1")]
    charts = [b for b in section.blocks if isinstance(b, Chart)]
    assert {c.spec["title"] for c in charts} == {
        "S3 validation accuracy",
        "S3 training loss",
    }
    assert all(len(c.spec["data"]["values"]) > 0 for c in charts)
    text = " ".join(getattr(b, "text", "") for b in section.blocks)
    assert "**Schedule**" in text and "Detected drop epochs per seed" in text and "SGD lr 1e+30 diverged" in text
    asked = [b.text for b in section.blocks if getattr(b, "text", "").startswith("**How does the learning rate")]
    assert len(asked) == 1 and "SGD lr 0.1: val" in asked[0] and "SGD lr 1e+30 diverged in every seed" in asked[0]
    for question in ("Does the schedule work, and in what sense?", "Schedule vs Adam in accuracy and convergence?"):
        answer = next(b.text for b in section.blocks if getattr(b, "text", "").startswith(f"**{question}"))
        assert answer.endswith("*confounded*") or answer.rsplit("— *", 1)[1].rstrip("*") in STATUSES
    # the schedule's findings answer their question (a direction), with the difference as the key number
    schedule = [
        f for f in section.findings if f.question in ("Does the schedule work?", "Schedule vs Adam in accuracy?")
    ]
    assert len(schedule) == 4 and all(f.claim.test.startswith("Welch t-test, Holm-adjusted p = ") for f in schedule)
    assert all(any(f" {w} " in f.claim.statement for w in ("ahead of", "behind", "level with")) for f in schedule)
    assert all(re.fullmatch(r"[+-]\d+\.\d points \((val|test)\)", f.key) for f in schedule)

"""Profiles: `profiles.<p>.<study>` fills the study keys left at null; mistakes name their key."""

from __future__ import annotations

from annstudy.models.zoo import ARCHITECTURES
from annstudy.params.schema import profile_keys
from annstudy.params.settings import STUDIES, resolve_study, settings_from_raw, validate
from annstudy.report.section import settings_table


def test_every_profile_supplies_every_null_study_key(params):
    for name in params["profiles"]:
        params["profile"] = name
        assert validate(params) == []
        for study in STUDIES:
            resolved = resolve_study(params, study)
            keys = profile_keys(STUDIES[study])
            missing = [k for k, nullable in keys.items() if not nullable and resolved[k] is None]
            assert missing == [], (name, study, missing)


def test_shared_seeds_and_study_override(params):
    params["profiles"]["quick"]["seeds"] = [4, 5]
    assert settings_from_raw(params).studies["architectures"].train.seeds == (4, 5)
    params["profiles"]["quick"]["architectures"]["seeds"] = [7]
    assert settings_from_raw(params).studies["architectures"].train.seeds == (7,)
    params["studies"]["architectures"]["seeds"] = [1, 2, 3]  # an explicit study value wins
    assert settings_from_raw(params).studies["architectures"].train.seeds == (1, 2, 3)


def test_profile_mistakes_are_one_line_each(params):
    params["profiles"]["quick"]["architectures"]["epoch"] = 3
    params["profiles"]["full"]["architectures"].pop("log_every")
    params["profiles"]["smoke"]["architecturez"] = {}
    problems = validate(params)
    assert len(problems) == 3, problems
    assert problems[0].startswith("profiles.quick.architectures.epoch: unknown key (did you mean 'epochs'?)")
    assert problems[1].startswith("profiles.full.architectures.log_every: missing (studies.architectures.log_every")
    assert problems[2].startswith("profiles.smoke.architecturez: unknown key (did you mean 'architectures'?)")


def test_explicit_study_value_makes_the_profile_value_optional(params):
    params["profiles"]["full"]["architectures"].pop("log_every")
    params["studies"]["architectures"]["log_every"] = 25
    assert validate(params) == []
    params["profile"] = "full"
    assert settings_from_raw(params).studies["architectures"].train.log_every == 25


def test_every_profile_is_validated_not_only_the_active_one(params):
    params["profiles"]["full"]["spiral"]["max_epochs"] = 0
    params["profiles"]["smoke"]["architectures"]["epochs_by_arch"] = {"lenet": 2}
    assert validate(params) == [
        "profiles.full.spiral.max_epochs: must be a positive integer, got 0",
        "profiles.smoke.architectures.epochs_by_arch: unknown architecture 'lenet' (did you mean 'lenet5'?); "
        f"choose from {', '.join(ARCHITECTURES)}",
    ]


def test_settings_table_shows_the_effective_settings(params):
    rows = settings_table(settings_from_raw(params).studies["architectures"]).rows
    assert [r[0] for r in rows][:4] == ["dataset", "archs", "train.optimizer", "train.lr"] and len(rows) == 21
    assert dict(map(tuple, rows))["train.seeds"] == "0, 1, 2"
    assert dict(map(tuple, rows))["epochs_by_arch"] == "—"  # quick: one budget for all architectures
    params["profiles"]["quick"]["architectures"]["epochs_by_arch"] = {"mlp_1": 2, "lenet5": 2}
    rows = settings_table(settings_from_raw(params).studies["architectures"]).rows
    assert dict(map(tuple, rows))["epochs_by_arch"] == "mlp_1 2, lenet5 2"
    params["studies"]["architectures"]["epochs"] = 3  # an explicit value: the per-architecture epochs go
    rows = settings_table(settings_from_raw(params).studies["architectures"]).rows
    assert dict(map(tuple, rows))["epochs_by_arch"] == "—" and dict(map(tuple, rows))["train.epochs"] == "3"

"""params.yaml validation: every mistake is one line naming its key path."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from annstudy.cli import main
from annstudy.params import root
from annstudy.params.settings import STUDIES, ParamsError, load_settings, settings_from_raw, validate


def test_default_params_are_valid(default_params):
    assert validate(default_params) == []
    s = settings_from_raw(default_params)
    assert s.profile == "quick"
    assert s.studies["architectures"].archs == ("mlp_1", "mlp_2", "cnn_3", "cnn_4", "cnn_5", "lenet5", "cnn_bn4")
    assert s.studies["architectures"].train.seeds == (0, 1, 2)


def test_full_profile_is_faithful(params):
    params["profile"] = "full"
    s = settings_from_raw(params)
    t = s.studies["architectures"].train
    assert (t.seeds, t.epochs, t.batch_size, t.lr, t.optimizer, t.log_every) == (
        tuple(range(10)),
        15,
        50,
        0.001,
        "adam",
        10,
    )
    assert {s.studies["architectures"].train_for(a).epochs for a in s.studies["architectures"].archs} == {15}
    assert t.val_subset == 0 and t.train_eval_subset == 0 and t.train_limit == 0


def test_quick_profile_matched_budgets_epochs_by_arch_and_explicit_override(params):
    s = settings_from_raw(params)
    archs = s.studies["architectures"].archs
    assert {s.studies["architectures"].train_for(a).epochs for a in archs} == {2}  # matched budgets
    params["profiles"]["quick"]["architectures"]["epochs_by_arch"] = {"lenet5": 4}
    s = settings_from_raw(params)
    assert s.studies["architectures"].train_for("lenet5").epochs == 4
    assert s.studies["architectures"].train_for("cnn_bn4").epochs == 2
    params["studies"]["architectures"]["epochs"] = 3  # explicit value wins everywhere
    s = settings_from_raw(params)
    assert {s.studies["architectures"].train_for(a).epochs for a in s.studies["architectures"].archs} == {3}


def study(key, value):
    """An edit setting studies.architectures.<key> = value."""
    return lambda p: p["studies"]["architectures"].__setitem__(key, value)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (study("lr", 0), "studies.architectures.lr: must be > 0"),
        (study("lr", -1e-3), "studies.architectures.lr: must be > 0"),
        (study("batch_size", 0), "studies.architectures.batch_size:"),
        (study("epochs", -2), "studies.architectures.epochs:"),
        (
            study("archs", ["mlp_1", "lenet"]),
            "studies.architectures.archs: item 1: unknown architecture 'lenet' (did you mean 'lenet5'?)",
        ),
        (study("archs", []), "studies.architectures.archs: must not be empty"),
        (study("dataset", "mnist"), "studies.architectures.dataset: unknown dataset"),
        (study("optimizer", "adamm"), "(did you mean 'adam'?)"),
        (study("seeds", []), "studies.architectures.seeds: must not be empty"),
        (study("seeds", [0, 1.5]), "studies.architectures.seeds: item 1"),
        (study("seeds", ["a"]), "seeds must be integers"),
        (lambda p: p["profiles"]["quick"].__setitem__("seeds", []), "profiles.quick.seeds: must not be empty"),
        (study("lrr", 0.1), "studies.architectures.lrr: unknown key (did you mean 'lr'?)"),
        (lambda p: p.__setitem__("profile", "quik"), "profile: unknown profile 'quik' (did you mean 'quick'?)"),
        (lambda p: p.__setitem__("device", "gpu"), "device: unknown device 'gpu'"),
        (lambda p: p["data"].__setitem__("val_fraction", 1.5), "data.val_fraction: must be a number in (0, 1)"),
        (
            lambda p: p["profiles"]["quick"]["architectures"].__setitem__("epochs_by_arch", {"lenet5": 0}),
            "profiles.quick.architectures.epochs_by_arch: lenet5: must be a positive integer",
        ),
        (
            lambda p: p["data"]["image_csv"].__setitem__("image_size", [32]),
            "data.image_csv.image_size: must be a list of 2 items",
        ),
        (
            lambda p: p["data"]["image_csv"].__setitem__("color", "rbg"),
            "data.image_csv.color: unknown color 'rbg' (did you mean 'rgb'?)",
        ),
        (
            lambda p: p["data"]["image_csv"].__setitem__("label_colum", "species"),
            "data.image_csv.label_colum: unknown key (did you mean 'label_column'?)",
        ),
        (study("dataset", "image_csv"), "studies.architectures.dataset: image_csv needs data.image_csv.csv"),
        (study("lr", True), "studies.architectures.lr: must be > 0"),
        (lambda p: p["studies"].pop("architectures"), "studies.architectures: missing"),
        (
            lambda p: p["studies"]["signals"].__setitem__("val_fraction", 0.3),
            "studies.signals: train_fraction + val_fraction must be < 1 (the rest is the test set)",
        ),
        (
            lambda p: p["studies"]["architectures"].__setitem__("lr", float("inf")),
            "lr: must be a finite number > 0, got inf",
        ),
        (
            lambda p: p["studies"]["architectures"].__setitem__("lr", float("nan")),
            "lr: must be a finite number > 0, got nan",
        ),
        (lambda p: p["data"].__setitem__("split_seed", 1.0), "data.split_seed: must be an integer >= 0"),
        (lambda p: p["profiles"]["smoke"]["spiral"].__setitem__("max_epochs", None), "must be set, got null"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(params, edit, expected):
    edit(params)
    problems = validate(params)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_several_mistakes_are_all_reported(params):
    params["studies"]["architectures"]["lr"] = -1
    params["studies"]["architectures"]["batch_size"] = "fifty"
    params["device"] = "tpu"
    problems = validate(params)
    assert len(problems) == 3
    assert {p.split(":")[0] for p in problems} == {
        "studies.architectures.lr",
        "studies.architectures.batch_size",
        "device",
    }


def test_a_stage_validates_the_run_keys_and_its_studies_sections_only(params):
    """A study's stage (pipeline/stage.py) checks the run's keys and the sections of the studies whose config
    it runs; a mistake elsewhere is the whole-file validation's (annstudy validate, inputs@, prepare@)."""
    s2 = {name: STUDIES[name] for name in ("architectures", "activations")}
    params["studies"]["spiral"]["max_epochs"] = 0
    params["profiles"]["full"]["signals"]["epochs"] = -1
    assert root.validate(params, s2) == []
    assert len(validate(params)) == 2
    params["studies"]["architectures"]["dataset"] = "mnist"  # S2 trains on S1's dataset: checked
    params["studies"]["activation"] = {}  # no study has that name: still unknown
    params["device"] = "tpu"
    assert [line.split(":")[0] for line in root.validate(params, s2)] == [
        "device",
        "studies.architectures.dataset",
        "studies.activation",
    ]
    assert "unknown key (did you mean 'activations'?)" in root.validate(params, s2)[2]


def test_a_stage_gets_the_same_settings_of_its_studies(params):
    """Same params, same numbers: a stage's settings of its studies equal the whole file's."""
    whole = settings_from_raw(params)
    for study in ("architectures", "learning_rates", "spiral"):
        stage = root.settings_from_raw(params, {name: STUDIES[name] for name in ("architectures", study)})
        assert stage.studies[study].model_dump() == whole.studies[study].model_dump()
        assert (stage.data, stage.profile_seeds, stage.device) == (whole.data, whole.profile_seeds, whole.device)
        assert not hasattr(stage.studies, "signals")  # a study the stage does not run is not there
    assert stage.studies["architectures"].train_for("cnn_4") == whole.studies["architectures"].train_for("cnn_4")
    s3 = root.settings_from_raw(params, {name: STUDIES[name] for name in ("architectures", "learning_rates")})
    assert s3.studies["learning_rates"].dataset == "fashion_mnist"  # S1's, which S3's stages validate too


def test_cli_validate_exit_code_and_lines(tmp_path, params, capsys):
    params["studies"]["architectures"]["lr"] = 0
    params["studies"]["architectures"]["archs"] = ["mlp_9"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all(line.startswith(f"error: {path}: studies.architectures.") for line in err)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: [quick\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_settings(bad)


def test_module_entry_point_runs_validate():
    out = subprocess.run(
        [sys.executable, "-m", "annstudy", "validate"],
        capture_output=True,
        text=True,
        cwd=str(__import__("conftest").ROOT),
    )
    assert out.returncode == 0, out.stderr
    assert "ok (profile quick, 7 architectures)" in out.stdout

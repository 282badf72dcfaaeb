"""params.yaml is YAML 1.2, as DVC writes it: ``dvc exp run -S ...lr=0.00001`` must validate."""

from __future__ import annotations

import shutil

import pytest
from dvc.utils.hydra import apply_overrides

from annstudy.cli import main
from annstudy.params.settings import ParamsError, load_settings, load_yaml, read_params
from conftest import ROOT
from helpers.dvc_repo import dvc, make_repo, sh


@pytest.mark.parametrize("text", ["lr: 1e-05", "lr: 1E-5", "lr: 0.00001", "lr: 1.0e-5"])
def test_exponents_without_a_dot_are_floats(text):
    assert load_yaml(text) == {"lr": 1e-05}
    assert type(load_yaml(text)["lr"]) is float


def test_yaml_1_1_only_forms_are_plain_values():
    """yes/no are strings and 010 is ten in YAML 1.2 (booleans and octal in 1.1)."""
    assert load_yaml("a: yes\nb: off\nc: 010\nd: true\n") == {"a": "yes", "b": "off", "c": 10, "d": True}


def test_duplicate_key_names_the_key_and_its_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("profile: quick\ndevice: cpu\nprofile: full\n")
    with pytest.raises(ParamsError) as err:
        read_params(path)
    assert len(err.value.problems) == 1
    problem = err.value.problems[0]
    assert problem.startswith('line 3: not valid YAML (found duplicate key "profile"')
    assert str(err.value).startswith(f"{path}: line 3: ")


def test_not_utf8_names_the_file_and_line(tmp_path, capsys):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"profile: quick\ndevice: cpu\ndata: caf\xe9\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: line 3: not UTF-8 text")


def test_not_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("profile: quick\ndevice: [cpu\n")
    with pytest.raises(ParamsError) as err:
        read_params(path)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith("line 3: not valid YAML")


def test_file_written_by_dvc_set_param_validates(tmp_path, capsys):
    """The function ``dvc exp run -S`` applies the overrides with (dvc/utils/hydra.py), on a copy
    of params.yaml: DVC writes ``lr: 1e-05``, which must validate and load as the float 1e-05."""
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    apply_overrides(path, ["studies.hyperparameters.lr=0.00001"])
    assert "    lr: 1e-05\n" in path.read_text()  # the YAML 1.2 form that a YAML 1.1 loader reads as text
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    settings = load_settings(path)
    assert settings.studies["hyperparameters"].lr == 1e-05
    assert settings.studies["hyperparameters"].train.lr == 1e-05
    assert settings.studies["hyperparameters"].sweeps[0] == ("lr", (0.1, 0.01, 0.001, 0.0001, 0.00001))


@pytest.mark.slow
def test_dvc_exp_queue_set_param_writes_a_valid_file(tmp_path):
    """``dvc exp run --queue -S studies.hyperparameters.lr=0.00001`` in a temporary repository:
    the params.yaml of the queued experiment validates, with lr == 1e-05."""
    repo = make_repo(tmp_path / "repo")
    dvc(repo, "exp", "run", "--queue", "-S", "studies.hyperparameters.lr=0.00001")
    queued = sh(repo, "git", "show", "refs/exps/celery/stash:params.yaml")
    (tmp_path / "queued.yaml").write_text(queued)
    assert "    lr: 1e-05\n" in queued
    assert load_settings(tmp_path / "queued.yaml").studies["hyperparameters"].lr == 1e-05

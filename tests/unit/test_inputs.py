"""The fingerprints of the user's files (annstudy/data/inputs.py): they change exactly when an input does."""

from __future__ import annotations

import dataclasses

import pytest

from annstudy.data import inputs
from annstudy.data.image_csv import ImageCsvError
from conftest import FASHION_MIRROR
from helpers.image_folders import data_settings, rewrite, write_insects


def test_an_image_csv_fingerprint_moves_with_a_label_or_an_image_and_only_then(tmp_path):
    labels = write_insects(tmp_path / "insects")
    settings = data_settings(labels)
    first = inputs.fingerprint("image_csv", settings)
    assert sorted(first) == ["csv", "csv_sha256", "image_dir", "images"] and len(first["images"]) == 30
    assert first == inputs.fingerprint("image_csv", settings)
    (tmp_path / "insects/unrelated.txt").write_text("not in the CSV")
    assert inputs.fingerprint("image_csv", settings) == first
    rewrite(labels, lambda ls: [ls[0], ls[1].replace(",bee,", ",ant,"), *ls[2:]])
    relabeled = inputs.fingerprint("image_csv", settings)
    assert relabeled["csv_sha256"] != first["csv_sha256"] and relabeled["images"] == first["images"]
    (tmp_path / "insects/ant_3.png").write_bytes((tmp_path / "insects/ant_5.png").read_bytes())
    repainted = inputs.fingerprint("image_csv", settings)
    assert [k for k in first["images"] if repainted["images"][k] != relabeled["images"][k]] == ["ant_3.png"]


def test_unset_inputs_have_a_fixed_fingerprint():
    settings = data_settings(None)
    assert inputs.fingerprint("image_csv", settings) == {"csv": None}
    assert inputs.fingerprint("regression", settings) == {"csv": None}
    assert inputs.fingerprint("fashion_mnist", dataclasses.replace(settings, mirror=None)) == {
        "mirror": None,
        "files": {},
    }


def test_a_regression_csv_fingerprint_is_its_sha256(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n0,1\n1,2\n")
    settings = dataclasses.replace(data_settings(None), regression_csv=str(path))
    assert inputs.fingerprint("regression", settings) == {
        "csv": str(path),
        "sha256": "7621c4fa19d6d59767cd12a562ec03eb84505a8fd761266abd1cf549ba846453",
    }


def test_a_missing_regression_csv_and_a_bad_image_csv_stop_the_stage(tmp_path):
    settings = dataclasses.replace(data_settings(None), regression_csv=str(tmp_path / "none.csv"))
    with pytest.raises(FileNotFoundError, match="data.regression_csv: file not found"):
        inputs.fingerprint("regression", settings)
    labels = write_insects(tmp_path / "insects")
    rewrite(labels, lambda ls: [ls[0], "../../etc/passwd,ant,x", *ls[2:]])
    with pytest.raises(ImageCsvError, match="row 2: image path '../../etc/passwd' leaves the image folder"):
        inputs.fingerprint("image_csv", data_settings(labels))


@pytest.mark.skipif(not FASHION_MIRROR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_auto_mirror_resolves_to_debians_files():
    found = inputs.fingerprint("fashion_mnist", data_settings(None))
    assert found["mirror"] == str(FASHION_MIRROR) and len(found["files"]) >= 4


def test_every_dataset_registers_its_prepare_and_its_inputs_in_one_record():
    from annstudy.data.registry import DATASETS, INPUTS

    assert list(DATASETS) == ["fashion_mnist", "cifar10_gray", "image_csv"]
    assert all(name == d.name and callable(d.prepare) and callable(d.inputs) for name, d in DATASETS.items())
    assert list(INPUTS) == [*DATASETS, "regression"]  # S5's CSV: fingerprinted, prepared by its study's stage
    with pytest.raises(ValueError, match=r"no inputs known for 'mnist'; choose from fashion_mnist, .*, regression"):
        inputs.fingerprint("mnist", data_settings(None))

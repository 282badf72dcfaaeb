"""Bring-your-own images (dataset image_csv): prepare, train on it, and every bad input."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annstudy.cli import main
from annstudy.data import image_csv
from annstudy.data.image_csv import ImageCsvError
from annstudy.data.prepared import load_prepared
from annstudy.store.records import read_record
from conftest import ROOT
from helpers.image_folders import data_settings, rewrite, write_insects


def test_prepare_maps_labels_in_sorted_order_and_splits_per_class(tmp_path):
    tensors, meta = image_csv.prepare(data_settings(write_insects(tmp_path / "insects")))
    assert meta["classes"] == ["ant", "bee", "wasp"]
    assert meta["class_counts"] == {"ant": 10, "bee": 10, "wasp": 10}
    # test: floor(0.2 * 30 / 3) = 2 per class; val: floor(0.25 * 24 / 3) = 2 per class
    assert meta["sizes"] == {"train": 18, "val": 6, "test": 6}
    assert torch.bincount(tensors["y_test"]).tolist() == [2, 2, 2]
    assert torch.bincount(tensors["y_val"]).tolist() == [2, 2, 2]
    assert tensors["x_train"].dtype == torch.uint8 and tensors["x_train"].shape == (18, 3, 8, 8)
    assert meta["image_shape"] == [3, 8, 8]
    # the colour survives decoding: the red channel dominates every ant image
    ants = tensors["x_train"][tensors["y_train"] == 0].float().mean((0, 2, 3))
    assert ants[0] > 150 and ants[1] < 100 and ants[2] < 100
    json.dumps(meta, allow_nan=False)
    again, _ = image_csv.prepare(data_settings(write_insects(tmp_path / "insects")))
    assert all(torch.equal(tensors[k], again[k]) for k in tensors)  # deterministic


def test_gray_and_image_dir(tmp_path):
    csv_path = write_insects(tmp_path / "insects")
    moved = tmp_path / "labels_elsewhere.csv"
    csv_path.rename(moved)
    tensors, meta = image_csv.prepare(
        data_settings(moved, image_dir=str(tmp_path / "insects"), color="gray", image_size=(6, 10))
    )
    assert tensors["x_test"].shape == (6, 1, 6, 10) and meta["image_shape"] == [1, 6, 10]


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda p: (p.parent / "ant_3.png").unlink(), r"row 12: image file .*ant_3.png not found"),
        (
            lambda p: (p.parent / "bee_2.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg"),
            r"row 8: .*bee_2.jpg is not a readable image",
        ),
        (
            lambda p: (p.parent / "wasp_1.png").write_bytes((p.parent / "wasp_1.png").read_bytes()[:60]),
            r"row 7: .*wasp_1.png is not a readable image",
        ),
        (lambda p: rewrite(p, lambda ls: [ls[0], *ls[1:4], "ant_0.jpg,,x", *ls[4:]]), r"row 5: empty 'species' cell"),
        (
            lambda p: rewrite(p, lambda ls: [*ls[:3], "ant_0.jpg,ant", *ls[3:]]),
            r"row 4: expected 3 cells like the header, found 2",
        ),
        (
            lambda p: rewrite(p, lambda ls: [ls[0], *(line for line in ls[1:] if "wasp" not in line or "_0." in line)]),
            r"class 'wasp' has only 1 image\(s\) \(rows \[4\]\)",
        ),
        (
            lambda p: rewrite(p, lambda ls: [ls[0], *(line for line in ls[1:] if "bee" in line)]),
            r"label column 'species' has a single class 'bee'",
        ),
        (lambda p: rewrite(p, lambda ls: ls[:1]), r"no image rows"),
        (lambda p: p.write_text(""), r"row 1: empty; expected a header"),
    ],
)
def test_bad_input_names_the_row_and_the_problem(tmp_path, damage, expected):
    csv_path = write_insects(tmp_path / "insects")
    damage(csv_path)
    with pytest.raises(ImageCsvError, match=expected):
        image_csv.prepare(data_settings(csv_path))


@pytest.mark.parametrize("column", ["filename_column", "label_column"])
def test_unknown_column(tmp_path, column):
    csv_path = write_insects(tmp_path / "insects")
    with pytest.raises(ImageCsvError, match=rf"row 1: unknown column 'Species' \(data.image_csv.{column}\)"):
        image_csv.prepare(data_settings(csv_path, **{column: "Species"}))


def test_missing_settings_csv_and_folder(tmp_path):
    with pytest.raises(ImageCsvError, match="data.image_csv.csv: must be set"):
        image_csv.prepare(data_settings(None))
    with pytest.raises(ImageCsvError, match="CSV file not found"):
        image_csv.prepare(data_settings(tmp_path / "nope.csv"))
    with pytest.raises(ImageCsvError, match="data.image_csv.image_dir: directory .* does not exist"):
        image_csv.prepare(data_settings(tmp_path / "nope.csv", image_dir=str(tmp_path / "nowhere")))


def test_fractions_too_small_name_their_setting(tmp_path):
    csv_path = write_insects(tmp_path / "insects", per_class=4)
    with pytest.raises(ValueError, match="change data.image_csv.test_fraction"):
        image_csv.prepare(data_settings(csv_path, test_fraction=0.1))


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(cell, min_size=0, max_size=4), max_size=6),
    raw=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
)
def test_fuzz_malformed_rows_give_a_clear_error_naming_the_row(rows, raw):
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "labels.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as f:
            f.write("file,species,notes\n")
            csv.writer(f).writerows(rows)
            f.write(raw)
        try:
            image_csv.prepare(data_settings(csv_path))
        except ImageCsvError as err:
            message = str(err)
            assert message.startswith(str(csv_path)) and "\n" not in message, message
        else:
            pytest.fail("random rows without image files cannot prepare")


def test_smoke_prepare_train_evaluate_report_on_rgb_images(tmp_path, monkeypatch, params, capsys):
    """The whole S1 path on a bring-your-own RGB dataset, driven through the CLI like the stages."""
    from annstudy.params.settings import load_settings
    from annstudy.studies.architectures import report

    write_insects(tmp_path / "insects", per_class=12)
    monkeypatch.chdir(tmp_path)
    params["profile"] = "smoke"
    params["data"]["val_fraction"] = 0.25
    params["data"]["image_csv"].update(
        csv="insects/labels.csv", filename_column="file", label_column="species", image_size=[12, 12], color="rgb"
    )
    params["studies"]["architectures"].update(
        dataset="image_csv", archs=["mlp_1", "lenet5"], epochs=15, batch_size=8, lr=0.01
    )
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    assert main(["prepare", "image_csv"]) == 0
    meta = json.loads(Path("data/prepared/image_csv/meta.json").read_text())
    assert meta["classes"] == ["ant", "bee", "wasp"] and meta["sizes"]["test"] == 6
    for arch in ("mlp_1", "lenet5"):
        assert main(["stage", "architectures", "train", arch]) == 0
        assert main(["stage", "architectures", "evaluate", arch]) == 0
    run = read_record("data/architectures/train/mlp_1").summary
    assert run["params"] == 3 * 12 * 12 * 32 + 32 + 32 * 3 + 3  # RGB input, 3 classes
    assert run["seed_groups"] == [[0, 1]]
    evaluation = read_record("data/architectures/eval/mlp_1").summary
    assert len(evaluation["confusion"]) == 3
    assert min(s["test_acc"] for s in evaluation["per_seed"]) > 0.5  # chance is 1/3

    section = report.build(load_settings(), tmp_path / "reports")
    assert section.metrics["mlp_1"]["test_acc_mean"] > 0.5 and section.metrics["chosen"]["arch"] in ("mlp_1", "lenet5")
    assert (tmp_path / "reports/figures/weights_lenet5.png").stat().st_size > 1000
    data = load_prepared("data/prepared/image_csv")
    assert data.image_shape == (3, 12, 12) and data.classes == ["ant", "bee", "wasp"]
    # `annstudy models` takes the shape from params and the classes from the prepared meta
    params["data"]["image_csv"]["image_size"] = [32, 32]
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    capsys.readouterr()
    assert main(["models", "--dataset", "image_csv", "--format", "json"]) == 0
    summaries = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert summaries["mlp_1"]["input_shape"] == [3, 32, 32]
    assert summaries["mlp_1"]["params"] == 3 * 32 * 32 * 32 + 32 + 32 * 3 + 3
    assert summaries["cnn_bn4"]["layers"][-1]["output_shape"] == [3]


def test_too_small_images_for_an_architecture_is_a_clear_error():
    from annstudy.models.zoo import build_model

    with pytest.raises(ValueError, match=r"'cnn_3' cannot take 3x8x8 inputs .*\(data.image_csv.image_size\)"):
        build_model("cnn_3", (3, 8, 8), 5)


def test_default_params_have_an_unconfigured_image_csv_section(default_params):
    section = default_params["data"]["image_csv"]
    assert section["csv"] is None and section["color"] in ("gray", "rgb")
    assert (ROOT / "docs/image_csv.md").is_file()


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["gray28", "rgb32"])
@pytest.mark.parametrize("arch", ["mlp_1", "mlp_2", "cnn_3", "cnn_4", "cnn_5", "lenet5", "cnn_bn4"])
def test_every_architecture_builds_for_gray_and_rgb(arch, shape):
    from annstudy.models.stacked import build_stacked
    from annstudy.models.zoo import build_model

    model = build_model(arch, shape, 5)
    assert model(torch.zeros(2, *shape)).shape == (2, 5)
    assert build_stacked(arch, shape, 5, [0, 1])(torch.zeros(2, 4, *shape)).shape == (2, 4, 5)


def test_rgb_figures(tmp_path):
    from annstudy.report import figures

    rgb = torch.rand(4, 3, 8, 8) * 2 - 1
    figures.weight_grid(torch.randn(6, 3 * 8 * 8), (3, 8, 8), tmp_path / "mlp.png", "mlp")
    figures.weight_grid(torch.randn(6, 3, 5, 5), (3, 8, 8), tmp_path / "conv.png", "conv")
    figures.misclassified_grid(rgb, [0, 1, 2, 0], [1, 2, 0, 2], ["ant", "bee", "wasp"], tmp_path / "w.png", "x")
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("mlp.png", "conv.png", "w.png"))


def test_weight_pair_grid_and_the_rebuilt_initialisation(tmp_path):
    """Init beside trained (gray and RGB); the rebuilt init is the seed's own: it is what manual_seed + build gives,
    and leaves the caller's random state alone."""
    from annstudy.models.zoo import build_model, first_layer_weight
    from annstudy.report import figures
    from annstudy.studies.architectures.figures import initial_first_layer, weights_caption

    torch.manual_seed(0)
    expected = first_layer_weight(build_model("lenet5", (1, 28, 28), 10))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    init = initial_first_layer("lenet5", (1, 28, 28), 10, 0)
    assert torch.equal(init, expected) and torch.equal(torch.get_rng_state(), state)
    trained = init + 0.5 * init  # moved by half its norm
    assert figures.weight_change(init, trained) == pytest.approx(0.5)
    assert "the first 6 of 6 first-layer units" in weights_caption("lenet5", 0, init, trained)
    assert "= 50 %" in weights_caption("lenet5", 0, init, trained)
    gray = figures.weight_pair_grid(init, trained, (1, 28, 28), tmp_path / "gray.png", "lenet5")
    rgb = figures.weight_pair_grid(
        torch.randn(40, 3 * 8 * 8), torch.randn(40, 3 * 8 * 8), (3, 8, 8), tmp_path / "r.png", "x"
    )
    assert gray.stat().st_size > 1000 and rgb.stat().st_size > 1000

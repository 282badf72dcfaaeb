"""Every dataset a stage reads is made by a stage (issue 18, probe 1).

S7 reads data/prepared/${studies.from_scratch.dataset}; before, only prepare@${studies.architectures.dataset}
existed, so switching S1-S3 to another dataset left S7 without its Fashion-MNIST folder.
"""

from __future__ import annotations

import json

import pytest

from conftest import needs_fashion
from helpers.dvc_repo import dvc, make_repo, ran_stages
from helpers.image_folders import write_insects

pytestmark = [pytest.mark.slow, needs_fashion]


def test_switching_s1_to_image_csv_keeps_from_scratch_on_fashion_mnist(tmp_path):
    labels = write_insects(tmp_path / "insects", per_class=60)

    def use_insects(params: dict) -> None:
        params["data"]["image_csv"].update(csv=str(labels), filename_column="file", label_column="species")

    repo = make_repo(tmp_path / "repo", edit=use_insects, archs=["mlp_1"], dataset="image_csv")
    stages = dvc(repo, "stage", "list", "--name-only").split()
    assert [s for s in stages if s.startswith("prepare@")] == ["prepare@image_csv", "prepare@fashion_mnist"]
    out = dvc(repo, "repro", "architectures@mlp_1", "from_scratch")
    assert ran_stages(out) == {
        *("inputs@image_csv", "inputs@fashion_mnist"),
        *("prepare@image_csv", "prepare@fashion_mnist", "architectures@mlp_1", "from_scratch"),
    }
    assert (repo / "data/architectures/train/mlp_1/weights.pt").is_file()
    assert (repo / "data/from_scratch/mlp/live/metrics.json").is_file()


def test_editing_one_label_reruns_prepare_and_downstream(tmp_path):
    """The user's CSV is a dependency (through inputs@image_csv's fingerprint): before, DVC said
    'up to date' after a label changed (issue 18, probe 2)."""
    labels = write_insects(tmp_path / "insects", per_class=60)

    def use_insects(params: dict) -> None:
        params["data"]["image_csv"].update(csv=str(labels), filename_column="file", label_column="species")

    repo = make_repo(tmp_path / "repo", edit=use_insects, archs=["mlp_1"], dataset="image_csv")
    first = dvc(repo, "repro", "architectures@mlp_1")
    assert ran_stages(first) == {"inputs@image_csv", "prepare@image_csv", "architectures@mlp_1"}
    # same fingerprint: nothing else
    assert ran_stages(dvc(repo, "repro", "architectures@mlp_1")) == {"inputs@image_csv"}
    lines = labels.read_text().splitlines()
    assert lines[1].endswith(",bee,field photo")
    labels.write_text("\n".join([lines[0], lines[1].replace(",bee,", ",ant,"), *lines[2:]]) + "\n")
    again = dvc(repo, "repro", "architectures@mlp_1")
    assert ran_stages(again) == {"inputs@image_csv", "prepare@image_csv", "architectures@mlp_1"}
    counts = json.loads((repo / "data/prepared/image_csv/meta.json").read_text())["class_counts"]
    assert counts == {"ant": 61, "bee": 59, "wasp": 60}


def test_cifar10_gray_for_s1_gives_two_prepare_stages(tmp_path):
    """The README's `dataset=cifar10_gray` line: S7 keeps its own prepare@fashion_mnist (the stage graph only;
    preparing CIFAR-10 needs its archive, tests/unit/test_cifar10.py)."""
    repo = make_repo(tmp_path / "repo", archs=["mlp_1"], dataset="cifar10_gray")
    stages = dvc(repo, "stage", "list", "--name-only").split()
    assert [s for s in stages if s.split("@")[0] in ("inputs", "prepare")] == [
        *("inputs@cifar10_gray", "inputs@fashion_mnist", "inputs@regression"),
        *("prepare@cifar10_gray", "prepare@fashion_mnist"),
    ]
    dag = dvc(repo, "dag", "--md", "from_scratch")
    assert "prepare@fashion_mnist" in dag and "cifar10_gray" not in dag

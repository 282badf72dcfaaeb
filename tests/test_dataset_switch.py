"""Every dataset a stage reads is made by a stage (issue 18, probe 1).

S7 reads data/prepared/${studies.from_scratch.dataset}; before, only prepare@${studies.architectures.dataset}
existed, so switching S1-S3 to another dataset left S7 without its Fashion-MNIST folder.
"""

from __future__ import annotations

import pytest

from conftest import needs_fashion
from dvc_repo import dvc, make_repo, ran_stages
from test_image_csv import write_insects

pytestmark = [pytest.mark.slow, needs_fashion]


def test_switching_s1_to_image_csv_keeps_from_scratch_on_fashion_mnist(tmp_path):
    labels = write_insects(tmp_path / "insects", per_class=60)

    def use_insects(params: dict) -> None:
        params["data"]["image_csv"].update(csv=str(labels), filename_column="file", label_column="species")

    repo = make_repo(tmp_path / "repo", edit=use_insects, archs=["mlp_1"], dataset="image_csv")
    stages = dvc(repo, "stage", "list", "--name-only").split()
    assert [s for s in stages if s.startswith("prepare@")] == ["prepare@image_csv", "prepare@fashion_mnist"]
    out = dvc(repo, "repro", "train@mlp_1", "from_scratch_mlp")
    assert ran_stages(out) == {"prepare@image_csv", "prepare@fashion_mnist", "train@mlp_1", "from_scratch_mlp"}
    assert (repo / "data/architectures/train/mlp_1/weights.pt").is_file()
    assert (repo / "data/from_scratch/mlp/live/metrics.json").is_file()

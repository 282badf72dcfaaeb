"""The two recipes of docs/architecture.md ("Adding things") are true: a toy dataset and a toy study,
added in a copy of the project by touching only the files the table lists, run through their stages.

The copy holds src/, stages/, dvc.yaml, params.yaml and the docs; every command runs there with
PYTHONPATH pointing at the copy's src, so the installed annstudy never sees the toy files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from annstudy.params.settings import load_settings, load_yaml
from annstudy.pipeline.codedeps import listed_deps
from annstudy.pipeline.plots import plot_definitions
from annstudy.studies import STUDIES
from conftest import ROOT

pytestmark = pytest.mark.slow  # six Python processes that import torch: about 35 s on 2 shared cores

COPIED = ["src", "stages", "docs", "dvc.yaml", "params.yaml", "pyproject.toml", ".dvcignore"]
DATASET, STUDY = "toy_blobs", "toy"

TOY_DATASET = '''"""Three Gaussian blobs in 2D, generated: a dataset with no user files."""

import torch

NAME = "toy_blobs"
PER_CLASS = {"train": 40, "val": 10, "test": 10}
CENTRES = torch.tensor([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])


def inputs(settings) -> dict:
    return {"source": "generated: no user files"}


def prepare(settings):
    g = torch.Generator().manual_seed(settings.split_seed)
    tensors = {}
    for split, n in PER_CLASS.items():
        y = torch.arange(len(CENTRES)).repeat_interleave(n)
        tensors[f"x_{split}"] = (CENTRES[y] + 0.3 * torch.randn(len(y), 2, generator=g)).reshape(-1, 1, 1, 2)
        tensors[f"y_{split}"] = y
    sizes = {s: len(tensors[f"y_{s}"]) for s in PER_CLASS}
    meta = {"name": NAME, "source": "generated", "classes": ["a", "b", "c"], "image_shape": [1, 1, 2], "sizes": sizes}
    return tensors, {**meta, "scaling": {"scale": 1.0, "offset": 0.0}}
'''

TOY_STUDY = {
    "src/annstudy/studies/toy/__init__.py": '"""Study toy: logistic regression."""\n\nREPORT_ORDER = 80\n',
    "src/annstudy/studies/toy/config.py": """from pydantic import Field

from annstudy.data.registry import DATASETS
from annstudy.params.schema import OneOf, PositiveInt, PositiveNumber, StudyConfig


class ToySettings(StudyConfig):
    dataset: OneOf(lambda: sorted(DATASETS), "dataset") = Field(description="a registered dataset")
    lr: PositiveNumber = Field(description="learning rate")
    steps: PositiveInt = Field(description="full-batch gradient steps")


CONFIG = ToySettings
""",
    "src/annstudy/studies/toy/run.py": """from pathlib import Path

import torch

from annstudy.data.prepared import load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.store.artifacts import write_json

STUDY = "toy"


def train(settings, item) -> Path:
    study = settings.studies[STUDY]
    data = load_prepared(prepared_dir(study.dataset))
    torch.manual_seed(0)
    model = torch.nn.Linear(data.train.x[0].numel(), len(data.classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=study.lr)
    for _ in range(study.steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(data.train.x.flatten(1)), data.train.y)
        loss.backward()
        optimizer.step()
    correct = (model(data.test.x.flatten(1)).argmax(1) == data.test.y).sum().item()
    out = Path("data", STUDY, "train")
    write_json(out / "metrics.json", {"test_correct": correct, "n_test": len(data.test)})
    return out


STEPS = {"train": train}
""",
    "src/annstudy/studies/toy/report.py": """from annstudy.report.document import Heading, Paragraph
from annstudy.report.section import StudySection
from annstudy.store.artifacts import read_json


def build(settings, out) -> StudySection:
    metrics = read_json("data/toy/train/metrics.json")
    text = f"{metrics['test_correct']} of {metrics['n_test']} test points right"
    return StudySection("toy", [Heading("S8 Toy"), Paragraph(text)], metrics)
""",
    "src/annstudy/studies/toy/plots.py": """def definitions(settings) -> list:
    return []  # no DVC plots
""",
    "stages/toy.py": """import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.toy import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
""",
}

TOY_STAGE = """stages:
  toy_train:
    cmd: python stages/toy.py train
    deps:
      - data/prepared/${studies.toy.dataset}
    params:
      - studies.toy
    outs:
      - data/toy/train
"""

# The report's view of the toy study, printed as JSON by a process run in the copy.
REPORT_PROBE = """
import json, annstudy
from pathlib import Path
from annstudy.params.settings import load_settings
from annstudy.pipeline.plots import plot_definitions
from annstudy.studies import STUDIES, study_part
settings = load_settings()
section = study_part("toy", "report").build(settings, Path("reports"))
plots = len(plot_definitions(settings))
print(json.dumps({"file": annstudy.__file__, "studies": STUDIES, "metrics": section.metrics, "plots": plots}))
"""


def recipe(row: str, name: str) -> list[str]:
    """The paths docs/architecture.md's "Adding things" row ``row`` names, ``<name>`` filled in
    (a path ending in / stands for everything under it)."""
    table = (ROOT / "docs/architecture.md").read_text().split("## Adding things", 1)[1]
    line = next(line for line in table.splitlines() if line.startswith(f"| {row} |"))
    found = re.findall(r"`([^`]+)`", line)
    return [p.replace("<name>", name) for p in found if "/" in p and "$" not in p or p.endswith(".yaml")]


def add_dataset(repo: Path) -> None:
    (repo / f"src/annstudy/data/{DATASET}.py").write_text(TOY_DATASET)
    registry = repo / "src/annstudy/data/registry.py"
    text = registry.read_text()
    last = [m for m in re.finditer(r"^ +Dataset\(.*\),\n", text, re.M)][-1]
    line = f"        Dataset({DATASET}.NAME, {DATASET}.prepare, {DATASET}.inputs),\n"
    text = text[: last.end()] + line + text[last.end() :]
    registry.write_text(text.replace("\nfrom annstudy.data import ", f"\nfrom annstudy.data import {DATASET}, ", 1))


def add_study(repo: Path) -> None:
    for path, text in TOY_STUDY.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    dvc_yaml = repo / "dvc.yaml"
    text = dvc_yaml.read_text()
    own = "      - ${studies.from_scratch.dataset}\n"  # the inputs@ and prepare@ foreach lists
    assert text.count(own) == 2
    text = text.replace(own, own + "      - ${studies.toy.dataset}\n").replace("stages:\n", TOY_STAGE, 1)
    dvc_yaml.write_text(text)
    params = load_yaml((repo / "params.yaml").read_text())
    params["studies"][STUDY] = {"dataset": DATASET, "lr": 0.5, "steps": 50}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*") if p.is_file()}


def run(repo: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "ANNSTUDY_PROGRESS_DIR": ""}
    done = subprocess.run([sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_toy_dataset_and_a_toy_study_by_the_documented_recipes(tmp_path):
    repo = tmp_path / "project"
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, repo / name)
    before = snapshot(repo)
    add_dataset(repo)
    add_study(repo)
    assert "dvc.yaml: code deps rewritten" in run(repo, "-m", "annstudy", "deps", "--write", "--repo", ".")
    assert run(repo, "-m", "annstudy", "deps", "--check", "--repo", ".").startswith("dvc.yaml: every stage lists")

    # the recipes touched only what the docs list, and everything the docs say a recipe needs
    after = snapshot(repo)
    touched = {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())
    allowed = recipe("a dataset", DATASET) + recipe("a study", STUDY)
    assert len(allowed) >= 6, allowed
    assert all(any(p == a or (a.endswith("/") and p.startswith(a)) for a in allowed) for p in touched), touched
    assert touched == {
        f"src/annstudy/data/{DATASET}.py",
        "src/annstudy/data/registry.py",
        *TOY_STUDY,
        "dvc.yaml",
        "params.yaml",
    }

    # the toy dataset's stages: its fingerprint, then its tensors
    assert run(repo, "stages/inputs.py", DATASET).strip() == f"wrote data/inputs/{DATASET}.json"
    assert json.loads((repo / f"data/inputs/{DATASET}.json").read_text()) == {
        "dataset": DATASET,
        "source": "generated: no user files",
    }
    run(repo, "stages/prepare.py", DATASET)
    tensors = torch.load(repo / f"data/prepared/{DATASET}/tensors.pt")
    assert {k: tuple(v.shape) for k, v in tensors.items()} == {
        **{f"x_{s}": (n, 1, 1, 2) for s, n in (("train", 120), ("val", 30), ("test", 30))},
        **{f"y_{s}": (n,) for s, n in (("train", 120), ("val", 30), ("test", 30))},
    }
    assert torch.bincount(tensors["y_train"]).tolist() == [40, 40, 40]

    # the toy study's stage, then its report section, found by the registry after every other study
    assert run(repo, "stages/toy.py", "train").strip() == "wrote data/toy/train"
    metrics = json.loads((repo / "data/toy/train/metrics.json").read_text())
    assert metrics == {"test_correct": 30, "n_test": 30}  # blobs 4.2 apart, noise 0.3: every point right
    probe = json.loads(run(repo, "-c", REPORT_PROBE))
    assert Path(probe["file"]).resolve() == (repo / "src/annstudy/__init__.py").resolve()
    assert probe["studies"] == [*STUDIES, STUDY] and probe["metrics"] == metrics
    assert probe["plots"] == len(plot_definitions(load_settings(ROOT / "params.yaml")))  # the toy declares none

    # its code deps: its own run module, never its report; every other stage validates its config
    deps = listed_deps(repo)
    assert deps["toy_train"][0] == "stages/toy.py" and "src/annstudy/studies/toy/run.py" in deps["toy_train"]
    assert not [d for d in deps["toy_train"] if "report" in d]
    assert "src/annstudy/studies/toy/config.py" in deps["prepare"]
    toy_in_report = [d for d in deps["report"] if d.startswith("src/annstudy/studies/toy")]
    assert toy_in_report == [f"src/annstudy/studies/toy/{m}.py" for m in ("__init__", "config", "plots", "report")]

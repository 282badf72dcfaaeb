"""Temporary git + DVC repositories of the project, for the tests that drive `dvc` itself.

`dvc exp` needs a commit and a git identity, and queued experiments see only tracked
files: :func:`make_repo` copies the tracked project files into a fresh repository,
sets the identity locally and commits, with the smoke profile active.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import yaml

from annstudy.params.settings import load_yaml
from annstudy.pipeline.plots import main as write_plots
from conftest import ROOT

TRACKED = ["dvc.yaml", "params.yaml", "pyproject.toml", ".dvcignore", "stages", "src", "docs/results"]


def sh(repo: Path, *cmd: str, timeout: float = 900) -> str:
    """Run a command in ``repo`` with this interpreter's bin first on PATH; fail the test on error.

    The timeout turns a command that hangs (a lock, a queue worker) into a failure naming it."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        out = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(cmd)} ran past {timeout:.0f} s:\n{e.stdout}\n{e.stderr}") from None
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def dvc(repo: Path, *args: str) -> str:
    return sh(repo, sys.executable, "-m", "dvc", *args)


ALWAYS_CHANGED = ["always changed"]  # DVC's status of the inputs@<dataset> stages, which run on every repro


def out_of_date(repo: Path, *targets: str) -> dict:
    """`dvc status --json` without the inputs@ fingerprint stages: DVC lists them on every status
    (always_changed: they look at the user's files each time); any other entry is out of date."""
    status = json.loads(dvc(repo, "status", "--json", *targets))
    inputs = ("inputs@", "inputs_")  # a test's dvc.yaml may write one item out as a plain stage
    # inputs@ always runs; besides "always changed" it may list its own code deps (a code edit that
    # also reruns every stage below it, which are listed in their own right).
    assert all(ALWAYS_CHANGED[0] in v for k, v in status.items() if k.startswith(inputs)), status
    return {k: v for k, v in status.items() if not k.startswith(inputs)}


def ran_stages(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def edit_params(repo: Path, edit: Callable[[dict], None] | None = None, **architectures) -> None:
    """Smoke profile, then ``edit(params)`` and/or ``studies.architectures`` overrides.

    S2 and S3 shrink to mlp_1 (one constant S3 rate): the pipeline keeps its shape, in seconds.
    """
    path = repo / "params.yaml"
    params = load_yaml(path.read_text())
    params["profile"] = "smoke"
    params["studies"]["activations"]["archs"] = ["mlp_1"]
    params["studies"]["learning_rates"].update(arch="mlp_1", rates=[0.1])
    params["studies"]["architectures"].update(architectures)
    if edit is not None:
        edit(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    write_plots(["--write", "--dvc-yaml", str(repo / "dvc.yaml"), "--params", str(path)])  # plots follow params


def make_repo(
    path: Path, edit: Callable[[dict], None] | None = None, ignore: str = "/data/\n", **architectures
) -> Path:
    """A committed git + DVC repository of the project at ``path`` (smoke profile)."""
    path.mkdir(parents=True, exist_ok=True)
    for name in TRACKED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.is_file():
            shutil.copy(src, path / name)
    (path / ".gitignore").write_text(ignore)
    edit_params(path, edit, **architectures)
    sh(path, "git", "init", "-q")
    sh(path, "git", "config", "user.name", "annstudy tests")
    sh(path, "git", "config", "user.email", "tests@annstudy.invalid")
    dvc(path, "init", "-q")
    sh(path, "git", "add", "-A")
    sh(path, "git", "commit", "-qm", "smoke")
    return path


def copy_repo(repo: Path, dest: Path) -> Path:
    """``cp -a`` of a repository at ``dest``: workspace, git history and DVC cache, timestamps kept.

    Seconds, where reproducing the workspace's results takes minutes; DVC rehashes the copy's
    files (its state is per path) and finds every stage as it was."""
    sh(dest.parent, "cp", "-a", str(repo), str(dest))
    return dest


def linear_neuron_stage(stages: dict) -> dict:
    """The smallest stage that trains something, for tests that need one on a slice of the pipeline:
    the `regression` stage (S5) cut to preparing its data and training the linear neuron."""
    stage = dict(stages["regression"])
    stage["cmd"] = "python stages/regression.py prepare train:linear"
    stage["outs"] = ["data/regression/prepared", "data/regression/prepared.live", "data/regression/train/linear"]
    return stage

"""Sharing results: `dvc push` to a remote, then `dvc pull` in a fresh clone restores them.

The smallest slice of the pipeline that trains something (S5: the regression stage cut to its data and the
linear neuron, smoke profile, generated data, seconds) is run once; each remote gets its own
push and its own fresh `git clone`. A colleague's clone must get every output bit for bit
and a clean `dvc status`, without retraining anything.

Two remotes: the project's committed default (a directory beside the repository, nothing
to install) and a real network remote, SSH (`dvc-ssh`) against a throw-away OpenSSH server
on 127.0.0.1 (skipped with the reason when `sshd` or dvc-ssh is not installed). And an
experiment: queued, run, `dvc exp push` to a bare git remote, then `dvc exp pull` + `dvc exp
apply` + `dvc pull` in another clone give the very outputs it trained.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from helpers import sshd
from helpers.dvc_repo import dvc, linear_neuron_stage, make_repo, out_of_date, sh

pytestmark = pytest.mark.slow

SLICE = "regression"  # cut to prepare + the linear neuron (helpers/dvc_repo.py)
OUTPUTS = ["data/regression/prepared", "data/regression/prepared.live", "data/regression/train/linear"]


def digests(repo: Path) -> dict[str, str]:
    """SHA-256 of every file of the slice's outputs DVC tracks, by path relative to the repository
    (not a record's clock, ``live/timing.json``: .dvcignore keeps it out of hashes and remotes)."""
    files = [f for out in OUTPUTS for f in sorted((repo / out).rglob("*")) if f.is_file() and f.name != "timing.json"]
    return {str(f.relative_to(repo)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def keep_only_the_slice(path: Path) -> None:
    """dvc.yaml with the slice's stages alone (`dvc exp apply` checks out every stage's outputs):
    S5's inputs stage (the foreach item `regression`, written out as a plain stage), prepare, train."""
    pipeline = yaml.safe_load(path.read_text())
    stages = pipeline["stages"]
    inputs = yaml.safe_load(yaml.safe_dump(stages["inputs"]["do"]).replace("${item}", "regression"))
    pipeline["stages"] = {"inputs_regression": inputs, SLICE: linear_neuron_stage(stages)}
    del pipeline["plots"]
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The slice reproduced and committed (dvc.lock) with the project's own `.dvc/config`."""
    root = tmp_path_factory.mktemp("share")
    repo = make_repo(root / "project")
    shutil.copy(ROOT / ".dvc" / "config", repo / ".dvc" / "config")
    keep_only_the_slice(repo / "dvc.yaml")
    dvc(repo, "repro", SLICE)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "trained slice")
    return repo


def objects(store: Path) -> set[str]:
    """The content-addressed objects in a DVC cache or remote (``files/md5/ab/cdef…``)."""
    return {f"{f.parent.name}{f.name}" for f in (store / "files" / "md5").rglob("*") if f.is_file()}


def fresh_clone(project: Path, name: str) -> Path:
    clone = project.parent / name
    sh(project.parent, "git", "clone", "-q", str(project), name)
    assert not (clone / OUTPUTS[-1]).exists()  # git carries dvc.lock, not the weights
    return clone


def assert_pull_restores(project: Path, clone: Path, expected: dict[str, str]) -> None:
    pulled = dvc(clone, "pull", SLICE, "--with-deps")
    assert digests(clone) == expected, pulled
    assert out_of_date(clone, SLICE, "--with-deps") == {}  # but the always-changed inputs stage


def test_tracked_config_names_a_default_remote_beside_the_repository():
    config = (ROOT / ".dvc" / "config").read_text()
    assert "remote = local" in config
    assert "url = ../../annstudy-dvc-store" in config  # relative to .dvc/: a sibling of the checkout


def test_push_to_the_default_local_remote_then_pull_in_a_fresh_clone(project):
    expected = digests(project)
    assert len(expected) >= 6, expected
    dvc(project, "push", SLICE, "--with-deps")
    assert objects(project.parent / "annstudy-dvc-store") == objects(project / ".dvc" / "cache")
    clone = fresh_clone(project, "clone_local")
    assert_pull_restores(project, clone, expected)


ssh_missing = sshd.missing_reason() or (
    None if importlib.util.find_spec("dvc_ssh") else "dvc-ssh not installed (pip install 'annstudy[ssh]')"
)


@pytest.mark.skipif(ssh_missing is not None, reason=ssh_missing or "")
def test_push_to_an_ssh_remote_then_pull_in_a_fresh_clone(project, tmp_path):
    server = sshd.start(tmp_path / "sshd")
    try:
        url = f"ssh://{server.user}@127.0.0.1:{server.port}{tmp_path / 'lab-store'}"
        # The URL is shared (committed); the key is personal (config.local, never committed).
        dvc(project, "remote", "add", "--force", "-d", "lab", url)
        dvc(project, "remote", "modify", "--local", "lab", "keyfile", str(server.keyfile))
        sh(project, "git", "commit", "-qam", "lab remote")
        expected = digests(project)
        dvc(project, "push", SLICE, "--with-deps")
        assert objects(tmp_path / "lab-store") == objects(project / ".dvc" / "cache")
        clone = fresh_clone(project, "clone_ssh")
        dvc(clone, "remote", "modify", "--local", "lab", "keyfile", str(server.keyfile))
        assert_pull_restores(project, clone, expected)
    finally:
        sshd.stop(server)


def test_exp_push_then_exp_pull_and_apply_in_another_clone(project):
    """A queued experiment travels: its commit to a bare git remote, its outputs to the DVC remote."""
    root = project.parent
    sh(root, "git", "init", "-q", "--bare", "origin.git")
    sh(project, "git", "remote", "add", "origin", str(root / "origin.git"))
    sh(project, "git", "push", "-q", "origin", "HEAD")
    dvc(project, "exp", "run", "--queue", "-n", "s5-lr", SLICE, "-S", "studies.regression.linear_lr=0.05")
    dvc(project, "exp", "run", "--run-all", "-j", "1")
    dvc(project, "exp", "push", "-r", "local", "origin", "s5-lr")

    clone = root / "clone_exp"
    sh(root, "git", "clone", "-q", str(root / "origin.git"), clone.name)
    dvc(clone, "exp", "pull", "-r", "local", "origin", "s5-lr")
    dvc(clone, "exp", "apply", "s5-lr")
    dvc(clone, "pull", "-r", "local", SLICE, "--with-deps")
    assert out_of_date(clone, SLICE, "--with-deps") == {}
    assert "linear_lr: 0.05" in (clone / "params.yaml").read_text()

    baseline = digests(project)
    dvc(project, "exp", "apply", "s5-lr")  # the experiment's outputs where it ran, from the cache
    assert digests(clone) == digests(project) != baseline  # bit for bit, and another lr trained other weights

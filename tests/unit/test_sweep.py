"""`annstudy sweep` without a cluster: the grid is DVC's, names are stable, Ray stays unimported.

Fast: no experiment runs here (tests/e2e/test_cluster.py runs them, serially and on Ray).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annstudy.scale.cluster import command_name, git_url, require_pushed
from annstudy.scale.sweep import (
    Progress,
    error_summary,
    expand_grid,
    experiment_name,
    names_in_refs,
    plan,
    require_committed,
)


def test_the_grid_is_dvc_s_cartesian_product_in_dvc_s_order():
    grid = expand_grid(["a.b=1,2", "c=x,y", "other.yaml:d=3"])
    assert grid == [
        ("a.b=1", "c=x", "other.yaml:d=3"),
        ("a.b=1", "c=y", "other.yaml:d=3"),
        ("a.b=2", "c=x", "other.yaml:d=3"),
        ("a.b=2", "c=y", "other.yaml:d=3"),
    ]
    assert expand_grid(["archs=[mlp_1,cnn_4],[lenet5]"]) == [("archs=[mlp_1,cnn_4]",), ("archs=[lenet5]",)]
    assert expand_grid([]) == [()]  # no -S: the commit's params, one experiment


def test_names_are_stable_order_free_and_valid_git_refs(tmp_path):
    name = experiment_name(["a=1", "b=[x,y]"])
    assert name == experiment_name(["b=[x,y]", "a=1"]) != experiment_name(["a=1", "b=[x]"])
    assert name.startswith("sweep-") and len(name) == 16
    subprocess.run(["git", "check-ref-format", f"refs/exps/ab/cdef/{name}"], check=True)
    assert [e.overrides for e in plan(["a=1,1,2"])] == [("a=1",), ("a=2",)]  # duplicates collapse


def test_existing_experiments_are_read_from_refs_of_this_baseline_only():
    sha = "d05f429619e585c090169e2a4bcac69fb5cbc271"
    refs = "\n".join(
        [
            f"4963873269428411a165099aa36b9cd997032a69\trefs/exps/d0/{sha[2:]}/sweep-c0147a5444",
            f"refs/exps/d0/{sha[2:]}/sweep-e06d6e137a",  # for-each-ref prints the name alone
            "17f16529907e94e3bddb6dc3c5da6c1c5a71717f\trefs/exps/aa/bbbbbbbb/sweep-other",
            "",
        ]
    )
    assert names_in_refs(refs, sha) == {"sweep-c0147a5444", "sweep-e06d6e137a"}


def test_a_failure_is_summarised_by_its_error_lines():
    stdout = "Running stage 'x':\n> python stages/x.py\nerror: params.yaml: studies.a.lr: must be > 0\n"
    stderr = "ERROR: failed to reproduce 'x': exited with 2\nERROR: failed to reproduce 'x': exited with 2\n"
    assert error_summary(stdout, stderr, 2) == (
        "error: params.yaml: studies.a.lr: must be > 0 | ERROR: failed to reproduce 'x': exited with 2"
    )
    assert error_summary("a\nb\nc\nd\n", "", 1) == "b | c | d"  # no error line: the last ones
    assert error_summary("", "", 137) == "exit code 137"
    assert command_name(["/venv/bin/python3", "-m", "dvc", "exp", "run", "-n", "x"]) == "dvc exp run"
    assert command_name(["git", "clone", "-q", "url"]) == "git clone"


def test_progress_prints_one_line_per_state_change():
    experiments = plan(["lr=0.1,0.01"])
    out = io.StringIO()
    progress = Progress(experiments, stream=out)
    first, second = (e.name for e in experiments)
    progress(first, "running", "on node-a")
    progress(first, "done", "on node-a, 3.0s")
    progress(second, "failed", "dvc exp run: error: boom")
    lines = out.getvalue().splitlines()
    assert [line.split()[2:4] for line in lines] == [[first, "running"], [first, "done"], [second, "failed"]]
    assert lines[1].startswith("[1/2") and lines[2].startswith("[2/2") and "lr=0.01" in lines[2]
    assert progress.failed() == [second] and progress.summary() == "1 done, 0 skipped, 1 failed of 2 experiments"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_uncommitted_or_unpushed_work_is_refused_before_any_task(tmp_path):
    repo, origin = tmp_path / "repo", tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "init", "-q", str(repo))
    for key, value in (("user.name", "t"), ("user.email", "t@invalid")):
        git(repo, "config", key, value)
    (repo / "params.yaml").write_text("a: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    git(repo, "remote", "add", "origin", "../origin.git")
    assert git_url(repo, "origin") == str(origin.resolve())  # relative URLs resolved: nodes clone from it
    assert git_url(repo, "ssh://host/x.git") == "ssh://host/x.git"
    sha = require_committed(repo)
    with pytest.raises(RuntimeError, match="is not on git remote 'origin': git push origin first"):
        require_pushed(repo, "origin", sha)
    git(repo, "push", "-q", "origin", "HEAD")
    require_pushed(repo, "origin", sha)
    (repo / "params.yaml").write_text("a: 2\n")
    with pytest.raises(RuntimeError, match=r"uncommitted changes \(params.yaml\): commit them first"):
        require_committed(repo)


def test_without_an_address_ray_is_not_imported():
    code = (
        "import sys; import annstudy.cli, annstudy.scale.sweep, annstudy.scale.cluster, annstudy.scale.fanout; "
        "from annstudy.studies.hyperparameters import run; "
        "assert annstudy.scale.fanout.fan_out(lambda x, k: x * k, [1, 2], 3) == [3, 6]; "
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    env_clean = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "ANNSTUDY_RAY_ADDRESS")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env_clean)

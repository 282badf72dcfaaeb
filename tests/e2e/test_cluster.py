"""`annstudy sweep` on a real Ray cluster: a head and one worker on 127.0.0.1, one CPU each.

The smallest slice that trains (S5's linear neuron, smoke profile, generated data) plus a
test-only stage that lifts its per-seed fit into scalar metrics (`dvc exp show` drops lists).
A 2 x 2 grid runs as four Ray tasks against a bare git remote and the project's own default
DVC remote (a directory beside the checkout); the home repository pulls them, and `dvc exp
show` must list all four with the metrics that the same grid gives when run serially in a
fresh clone. A rerun skips what the git remote has and reports failures without stopping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from helpers.dvc_repo import dvc, linear_neuron_stage, make_repo, sh

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ray_missing = shutil.which("ray", path=str(Path(sys.executable).parent)) is None
GRID = ["-S", "studies.regression.linear_lr=0.02,0.005", "-S", "studies.regression.linear_batch_size=10,25"]
SUMMARY = (
    "import json; m = json.load(open('data/regression/train/linear/live/metrics.json')); "
    "json.dump({'seed_' + str(r['seed']): {k: r[k] for k in ('w', 'b', 'train_mse')} for r in m['per_seed']}, "
    "open('summary.json', 'w'))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_node(log: Path, *args: str) -> subprocess.Popen:
    """``ray start --block`` in its own session: the test stops exactly these processes, by group."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = ["ray", "start", "--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1", *args]
    cmd += ["--object-store-memory", str(100 * 2**20)]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to ``ray start --block`` (it stops its raylet and friends), then SIGKILL to what is left of its group."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is empty: everything stopped
    process.wait(timeout=10)


def wait_for_cpus(address: str, cpus: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run([Path(sys.executable).parent / "ray", "status", "--address", address], capture_output=True)
        if f"/{cpus}.0 CPU" in out.stdout.decode():
            return
        time.sleep(2)
    raise AssertionError(f"the Ray cluster at {address} did not reach {cpus} CPUs")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray head and one worker node on 127.0.0.1 (1 CPU each, 100 MiB object store each)."""
    logs = tmp_path_factory.mktemp("ray")
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = ray_node(logs / "head.log", "--head", "--port", str(port), "--include-dashboard=false")
    nodes = [head]
    try:
        time.sleep(5)
        nodes.append(ray_node(logs / "worker.log", "--address", address))
        wait_for_cpus(address, 2)
        yield address
    finally:
        for node in reversed(nodes):
            stop(node)


def slice_pipeline(path: Path) -> None:
    """dvc.yaml: the inputs fingerprint, S5 prepare and linear neuron, and a scalar summary (the metrics)."""
    pipeline = yaml.safe_load(path.read_text())
    stages = pipeline["stages"]
    stages["inputs"]["foreach"] = ["regression"]
    kept = {"inputs": stages["inputs"], "regression": linear_neuron_stage(stages)}
    summary = {"cmd": f'python -c "{SUMMARY}"', "deps": ["data/regression/train/linear"]}
    pipeline["stages"] = {**kept, "summary": {**summary, "metrics": ["summary.json"]}}
    del pipeline["plots"]
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))


def project_repo(root: Path) -> Path:
    """The slice committed with the project's `.dvc/config` (relative default remote), pushed to a bare origin."""
    repo = make_repo(root / "project")
    shutil.copy(ROOT / ".dvc" / "config", repo / ".dvc" / "config")
    slice_pipeline(repo / "dvc.yaml")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "slice")
    sh(root, "git", "init", "-q", "--bare", "origin.git")
    sh(repo, "git", "remote", "add", "origin", str(root / "origin.git"))
    sh(repo, "git", "push", "-q", "origin", "HEAD")
    return repo


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return project_repo(tmp_path_factory.mktemp("sweep"))


def annstudy_sweep(repo: Path, *args: str, grid: list[str] = GRID) -> subprocess.CompletedProcess:
    """`annstudy sweep <grid> <args> summary` (the slice's last stage as the target), without RAY_ADDRESS."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    cmd = [sys.executable, "-m", "annstudy", "sweep", *grid, *args, "summary"]
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)


def shown_metrics(repo: Path) -> dict[str, dict]:
    """``dvc exp show --json``: each experiment's name -> its summary metrics (None where missing)."""
    rows = json.loads(dvc(repo, "exp", "show", "--json"))
    revs = [rev for row in rows for exp in row.get("experiments") or [] for rev in exp["revs"]]
    return {r["name"]: (r["data"].get("metrics") or {}).get("summary.json", {}).get("data") for r in revs}


def states(output: str) -> dict[str, str]:
    """The last progress state of each experiment in `annstudy sweep`'s output."""
    found = {}
    for line in output.splitlines():
        words = line.split()
        if line.startswith("[") and len(words) > 3 and words[2].startswith("sweep-"):
            found[words[2]] = words[3]
    return found


@pytest.mark.skipif(ray_missing, reason="Ray is not installed (pip install 'annstudy[ray]')")
def test_a_sweep_on_two_ray_nodes_comes_home_with_the_serial_metrics(cluster, project):
    start = time.monotonic()
    out = annstudy_sweep(project, "--ray", cluster)
    cluster_seconds = time.monotonic() - start
    assert out.returncode == 0, out.stdout + out.stderr
    assert set(states(out.stdout).values()) == {"done"} and len(states(out.stdout)) == 4, out.stdout
    nodes = {line.split(" on ")[1].split(",")[0] for line in out.stdout.splitlines() if " done " in line}
    assert len(nodes) == 2, out.stdout  # one CPU per node, four one-CPU tasks: both nodes worked
    remote = project.parent / "origin.git"
    assert len(sh(remote, "git", "for-each-ref", "refs/exps").splitlines()) == 4  # dvc exp push from the nodes
    store = project.parent / "annstudy-dvc-store"  # the project's default remote, beside the checkout
    assert len(list((store / "runs").rglob("*"))) > 4  # run cache pushed (dvc exp push --run-cache)
    assert not (project / ".dvc" / "config.local").exists()  # the pull's temporary remote URL is gone again
    home = shown_metrics(project)
    assert sorted(home) == sorted(states(out.stdout)), home
    assert all(m and m["seed_0"]["train_mse"] > 0 for m in home.values()), home  # outputs pulled: metrics readable
    assert len({m["seed_0"]["w"] for m in home.values()}) == 4  # four different fits

    serial = project.parent / "serial"
    sh(project.parent, "git", "clone", "-q", str(remote), serial.name)
    sh(serial, "git", "config", "user.name", "annstudy tests")
    sh(serial, "git", "config", "user.email", "tests@annstudy.invalid")
    start = time.monotonic()
    local = annstudy_sweep(serial)
    serial_seconds = time.monotonic() - start
    assert local.returncode == 0 and "here, serially" in local.stdout, local.stdout + local.stderr
    assert shown_metrics(serial) == home  # same names (from the params), same numbers, bit for bit
    print(f"4 experiments: Ray 2 nodes {cluster_seconds:.1f} s, serially {serial_seconds:.1f} s")

    # Rerun with one more lr (negative: params.yaml validation rejects it): the four pushed ones are
    # skipped, the two new ones fail with their error, the sweep goes on and exits 1.
    grid = ["-S", "studies.regression.linear_lr=0.02,0.005,-1", *GRID[2:]]
    rerun = annstudy_sweep(project, "--ray", cluster, grid=grid)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert sorted(states(rerun.stdout).values()) == ["failed"] * 2 + ["skipped"] * 4, rerun.stdout
    assert "linear_lr" in "".join(line for line in rerun.stdout.splitlines() if " failed " in line)
    assert "2 failed" in rerun.stdout


def s4_lr_axis(settings, workdir: Path, monkeypatch) -> tuple[dict, pd.DataFrame]:
    """S4's lr axis trained in ``workdir``: its summary (without wall times and where it ran) and epochs table."""
    from annstudy.store.records import read_record
    from annstudy.studies.hyperparameters import run as s4

    workdir.mkdir()
    monkeypatch.chdir(workdir)
    s4.prepare(settings)
    record = read_record(s4.train_axis("lr", settings))
    summary = {k: v for k, v in record.summary.items() if k != "wall_seconds"}
    wall = ("seconds", "ran_on")
    summary["variants"] = [{k: v for k, v in var.items() if k not in wall} for var in summary["variants"]]
    ran_on = [var["ran_on"] for var in record.summary["variants"]]
    return {**summary, "ran_on": ran_on}, record.table("epochs")


@pytest.mark.skipif(ray_missing, reason="Ray is not installed (pip install 'annstudy[ray]')")
def test_s4_variants_as_ray_tasks_give_the_in_process_records(cluster, params, tmp_path, monkeypatch):
    """ANNSTUDY_RAY_ADDRESS set: each lr value of S4 is a Ray task; the records equal the in-process ones."""
    import ray

    from annstudy.params.settings import settings_from_raw
    from annstudy.scale.fanout import ADDRESS_ENV

    params["profile"] = "smoke"
    params["studies"]["hyperparameters"]["sweeps"]["lr"] = [0.01, 0.003, 0.001]
    settings = settings_from_raw(params)
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    here, here_epochs = s4_lr_axis(settings, tmp_path / "here", monkeypatch)
    monkeypatch.setenv(ADDRESS_ENV, cluster)
    try:
        on_ray, ray_epochs = s4_lr_axis(settings, tmp_path / "ray", monkeypatch)
        assert ray.is_initialized()  # the tasks did go through the cluster
    finally:
        ray.shutdown()
    assert [r["device"] for r in here.pop("ran_on")] == [r["device"] for r in on_ray.pop("ran_on")]
    assert len(here["variants"]) == 3 and here["variants"][0]["per_seed"][0]["test_acc"] > 0.1
    assert on_ray == here  # every per-seed number, bit for bit
    pd.testing.assert_frame_equal(ray_epochs, here_epochs)

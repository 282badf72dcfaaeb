"""Wall time of an `annstudy sweep` serially vs on a local Ray cluster (docs/benchmarks.md, docs/cluster.md).

The test slice of tests/test_cluster.py (S5's linear neuron, smoke profile, plus a scalar summary
stage) in a temporary git + DVC repository with a bare origin and the project's default DVC
remote. The grid runs twice from scratch: serially in a fresh clone (`dvc exp run --temp` one
after another), and as Ray tasks on a head and N-1 workers on 127.0.0.1 (one CPU each, started
here, stopped at the end). Prints both wall times, their ratio, the mean time per experiment and
the per-task overhead (clone, DVC config, pull, push).

    python benchmarks/sweep_bench.py --lr 0.02,0.01,0.005,0.002 --batch 10,25 --nodes 2
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

from dvc_repo import sh  # noqa: E402
from test_cluster import annstudy_sweep, free_port, project_repo, ray_node, stop, wait_for_cpus  # noqa: E402


def task_seconds(output: str) -> list[float]:
    """The seconds each Ray task took, from the sweep's ``done ... on <node>, 12.3s`` lines."""
    return [float(m) for m in re.findall(r" done .* on \S+, ([0-9.]+)s", output)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", default="0.02,0.01,0.005,0.002")
    parser.add_argument("--batch", default="10,25")
    parser.add_argument("--nodes", type=int, default=2, help="Ray nodes (a head and nodes-1 workers), 1 CPU each")
    args = parser.parse_args()
    grid = ["-S", f"studies.regression.linear_lr={args.lr}", "-S", f"studies.regression.linear_batch_size={args.batch}"]
    n = len(args.lr.split(",")) * len(args.batch.split(","))
    root = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    project = project_repo(root)
    serial = root / "serial"
    sh(root, "git", "clone", "-q", str(root / "origin.git"), serial.name)
    sh(serial, "git", "config", "user.name", "bench")
    sh(serial, "git", "config", "user.email", "bench@annstudy.invalid")

    start = time.monotonic()
    out = annstudy_sweep(serial, grid=grid)
    serial_s = time.monotonic() - start
    assert out.returncode == 0, out.stdout + out.stderr

    port = free_port()
    address = f"127.0.0.1:{port}"
    start = time.monotonic()
    nodes = [ray_node(root / "head.log", "--head", "--port", str(port), "--include-dashboard=false")]
    try:
        time.sleep(5)
        nodes += [ray_node(root / f"worker{i}.log", "--address", address) for i in range(1, args.nodes)]
        wait_for_cpus(address, args.nodes)
        startup_s = time.monotonic() - start
        start = time.monotonic()
        out = annstudy_sweep(project, "--ray", address, grid=grid)
        cluster_s = time.monotonic() - start
    finally:
        for node in reversed(nodes):
            stop(node)
    assert out.returncode == 0, out.stdout + out.stderr
    tasks = task_seconds(out.stdout)
    per_serial = serial_s / n
    per_task = sum(tasks) / len(tasks)
    print(f"{n} experiments, {args.nodes} Ray nodes x 1 CPU")
    print(f"serial:  {serial_s:.1f} s ({per_serial:.1f} s per experiment)")
    print(f"ray:     {cluster_s:.1f} s (cluster start {startup_s:.1f} s not included); mean task {per_task:.1f} s")
    print(f"ratio serial/ray: {serial_s / cluster_s:.2f}; per-task overhead vs a serial experiment: ", end="")
    print(f"{per_task - per_serial:+.1f} s")


if __name__ == "__main__":
    main()

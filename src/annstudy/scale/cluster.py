"""The Ray side of `annstudy sweep --ray ADDRESS`: each experiment a Ray task, results home via git + DVC.

No scheduler of our own: Ray places each task on a node with the declared resources (CPUs, a
GPU fraction). A task clones the project from its git remote at the sweep's commit, runs
``dvc exp run --pull`` with the experiment's overrides (``--pull``: unchanged stages come from
the DVC remote and its run cache instead of being recomputed), then ``dvc exp push --run-cache``
sends the experiment's commit to the git remote and its outputs and run history to the DVC
remote. Back home, ``dvc exp pull`` brings each finished experiment into ``dvc exp show``.

The code a task runs (:func:`run_experiment` and its helpers) uses only the standard library and
is shipped by value, so a node needs Python with Ray, DVC and the project's dependencies, not
this package; the stages import the clone's own ``src/`` (PYTHONPATH), i.e. the swept commit's
code. Ray is imported only here, and only when a sweep has an address.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from annstudy.scale import sweep
from annstudy.scale.sweep import Experiment, Progress, error_summary, git, remote_experiments, require_committed, run


@dataclass(frozen=True)
class Job:
    """What every task of one sweep shares: where the project and its data live, what to run."""

    git_url: str
    commit: str
    dvc_remote: str
    dvc_url: str
    targets: tuple[str, ...]
    user_name: str
    user_email: str
    workdir: str = ""  # scratch clones and the node's shared DVC cache; "": <the node's temp dir>/annstudy-ray


class StepFailed(Exception):
    """A command of a task failed; its message names the command and ends with its output."""


def command_name(cmd: Sequence[str]) -> str:
    """``dvc exp run`` / ``git clone``: enough of a command to say which step failed."""
    words = list(cmd[cmd.index("dvc") :] if "dvc" in cmd else cmd)
    return " ".join(words[:3] if words[0] == "dvc" else words[:2])


def step(cwd: Path, env: dict[str, str], *cmd: str) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise StepFailed(f"{command_name(cmd)}: {error_summary(out.stdout, out.stderr, out.returncode)}")
    return out.stdout


def task_env(clone: Path) -> dict[str, str]:
    """This node's Python first on PATH; the clone's src first on PYTHONPATH (the swept commit's code)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    pythonpath = os.pathsep.join(p for p in (str(clone / "src"), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PATH": path, "PYTHONPATH": pythonpath}


def prepare_clone(job: dict, clone: Path, env: dict[str, str]) -> None:
    """The project at the sweep's commit, with the shared DVC remote and the node's shared cache."""
    step(clone.parent, env, "git", "clone", "-q", "--no-checkout", job["git_url"], clone.name)
    step(clone, env, "git", "checkout", "-q", job["commit"])
    step(clone, env, "git", "config", "user.name", job["user_name"])
    step(clone, env, "git", "config", "user.email", job["user_email"])
    dvc = (sys.executable, "-m", "dvc")
    step(clone, env, *dvc, "cache", "dir", "--local", str(Path(job["workdir"]) / "dvc-cache"))
    step(clone, env, *dvc, "remote", "modify", "--local", job["dvc_remote"], "url", job["dvc_url"])


def run_experiment(job: dict, name: str, set_args: list[str], tracker=None) -> dict:
    """A Ray task: clone, ``dvc exp run``, push; a failure is returned with its message, never raised."""
    import ray

    started = time.monotonic()
    node = f"{os.uname().nodename}/{ray.get_runtime_context().get_node_id()[:8]}"
    if tracker is not None:
        tracker.started.remote(name, node)
    job = {**job, "workdir": job["workdir"] or str(Path(tempfile.gettempdir()) / "annstudy-ray")}
    Path(job["workdir"]).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=job["workdir"]))
    clone = scratch / "project"
    env = task_env(clone)
    dvc = (sys.executable, "-m", "dvc")
    try:
        prepare_clone(job, clone, env)
        step(clone, env, *dvc, "exp", "run", "--pull", "-n", name, *set_args, *job["targets"])
        step(clone, env, *dvc, "exp", "push", "-r", job["dvc_remote"], "--run-cache", "origin", name)
        return {"name": name, "ok": True, "node": node, "seconds": time.monotonic() - started}
    except StepFailed as err:
        return {"name": name, "ok": False, "node": node, "error": str(err), "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class StartLog:
    """A Ray actor (no CPU of its own) the tasks tell when they start: 'running' on which node."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def started(self, name: str, node: str) -> None:
        self.events.append((name, node))

    def since(self, index: int) -> list[tuple[str, str]]:
        return self.events[index:]


def git_url(repo: Path, git_remote: str) -> str:
    """A remote's URL (a name is resolved; a relative path made absolute: nodes clone from it)."""
    names = git(repo, "remote").split()
    url = git(repo, "remote", "get-url", git_remote) if git_remote in names else git_remote
    local = Path(url) if "://" not in url and ":" not in url.split("/")[0] else None
    return str((repo / local).resolve()) if local is not None else url


def require_pushed(repo: Path, git_remote: str, commit: str) -> None:
    """The tasks clone the commit from the git remote: it must be there (a named remote is fetched)."""
    if git_remote not in git(repo, "remote").split():
        return  # a URL: the task's checkout fails with git's message if the commit is not there
    git(repo, "fetch", "-q", git_remote)
    if not git(repo, "for-each-ref", "--contains", commit, f"refs/remotes/{git_remote}"):
        raise RuntimeError(f"commit {commit[:7]} is not on git remote '{git_remote}': git push {git_remote} first")


def dvc_remote_url(repo: Path, name: str | None) -> tuple[str, str]:
    """(name, URL) of the DVC remote the tasks push to; a relative local path resolved (DVC's config does)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        config = dvc_repo.config
        name = name or config["core"].get("remote")
        if not name or name not in config["remote"]:
            raise RuntimeError(f"no DVC remote {name or '(default)'}: `dvc remote add -d <name> <url>` first")
        return name, config["remote"][name]["url"]


def make_job(repo: Path, targets: Sequence[str], git_remote: str, dvc_remote: str | None, workdir: str = "") -> Job:
    """What the tasks need, checked here first: a committed, pushed HEAD and a DVC remote."""
    commit = require_committed(repo)
    require_pushed(repo, git_remote, commit)
    name, url = dvc_remote_url(repo, dvc_remote)
    user = [run(repo, "git", "config", key).stdout.strip() for key in ("user.name", "user.email")]
    url_for_nodes = git_url(repo, git_remote)
    return Job(url_for_nodes, commit, name, url, tuple(targets), user[0] or "annstudy", user[1] or "-", workdir)


@contextmanager
def absolute_remote_url(repo: Path, name: str, url: str):
    """The DVC remote's resolved URL in ``.dvc/config.local`` for a while, then the file as it was.

    DVC 3.67 resolves a committed *relative* local remote (the project's ``../../annstudy-dvc-store``)
    against the git tree's root when it reads another revision, so ``dvc exp pull`` looks for
    ``/annstudy-dvc-store`` and fetches nothing; config.local is honoured at every revision.
    """
    local = repo / ".dvc" / "config.local"
    before = local.read_text() if local.is_file() else None
    if "://" not in url:
        run(repo, sys.executable, "-m", "dvc", "remote", "modify", "--local", name, "url", url)
    try:
        yield
    finally:
        if before is None:
            local.unlink(missing_ok=True)
        else:
            local.write_text(before)


def pull_home(repo: Path, job: Job, git_remote: str, name: str) -> str:
    """``dvc exp pull``: the experiment's commit and outputs here; '' or the error."""
    with absolute_remote_url(repo, job.dvc_remote, job.dvc_url):
        out = run(repo, sys.executable, "-m", "dvc", "exp", "pull", "-r", job.dvc_remote, git_remote, name)
    return "" if out.returncode == 0 else f"dvc exp pull: {error_summary(out.stdout, out.stderr, out.returncode)}"


def submit(experiments: Sequence[Experiment], job: Job, cpus: float, gpus: float, tracker) -> dict:
    """One Ray task per experiment with its declared resources; no retries (a failure is a result)."""
    import ray

    task = ray.remote(run_experiment).options(num_cpus=cpus, num_gpus=gpus, max_retries=0)
    return {task.remote(asdict(job), e.name, e.set_args(), tracker): e for e in experiments}


def outcome(ref, exp: Experiment) -> dict:
    """A task's result; a crash of the task itself (lost node, import error) becomes a failure too."""
    import ray

    try:
        return ray.get(ref)
    except Exception as err:  # noqa: BLE001 - any Ray error is this experiment's failure, not the sweep's
        return {"name": exp.name, "ok": False, "node": "?", "error": f"{type(err).__name__}: {err}".splitlines()[0]}


def follow(pending: dict, tracker, repo: Path, job: Job, git_remote: str, progress: Progress) -> None:
    """Report starts as they happen and results as they come; pull each finished experiment home."""
    import ray

    seen = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        started = ray.get(tracker.since.remote(seen))
        seen += len(started)
        for name, node in started:
            progress(name, "running", f"on {node}")
        for ref in ready:
            exp = pending.pop(ref)
            result = outcome(ref, exp)
            error = result.get("error") or pull_home(repo, job, git_remote, exp.name)
            detail = f"on {result['node']}, {result.get('seconds', 0):.1f}s"
            progress(exp.name, "failed" if error else "done", f"{detail}: {error}" if error else detail)


def run_cluster(
    repo: Path,
    experiments: Sequence[Experiment],
    targets: Sequence[str],
    address: str,
    progress: Progress,
    cpus: float = 1,
    gpus: float = 0,
    git_remote: str = "origin",
    dvc_remote_name: str | None = None,
    workdir: str | None = None,
) -> None:
    """The sweep on the Ray cluster at ``address``; experiments already on the git remote are pulled, not rerun."""
    job = make_job(repo, targets, git_remote, dvc_remote_name, workdir or "")
    pushed = remote_experiments(repo, job.git_url, job.commit)
    todo = []
    for exp in experiments:
        if exp.name in pushed:
            error = pull_home(repo, job, git_remote, exp.name)
            progress(exp.name, "failed" if error else "skipped", error or "already on the git remote, pulled")
        else:
            todo.append(exp)
    if not todo:
        return
    import ray
    from ray import cloudpickle

    for module in (sys.modules[__name__], sweep):  # the tasks' code travels: nodes need Ray and DVC, not annstudy
        cloudpickle.register_pickle_by_value(module)
    ray.init(address=address, log_to_driver=False)
    try:
        tracker = ray.remote(num_cpus=0)(StartLog).remote()
        pending = submit(todo, job, cpus, gpus, tracker)
        for exp in todo:
            progress(exp.name, "queued", f"{cpus:g} CPU{f', {gpus:g} GPU' if gpus else ''}")
        follow(pending, tracker, repo, job, git_remote, progress)
    finally:
        ray.shutdown()


def cluster_runner(address: str, **options) -> Callable:
    """A runner for :func:`annstudy.scale.sweep.sweep`: the grid on the Ray cluster at ``address``."""

    def runner(repo: Path, experiments: Sequence[Experiment], targets: Sequence[str], progress: Progress) -> None:
        run_cluster(repo, experiments, targets, address, progress, **options)

    runner.where = f"on Ray at {address}"
    return runner

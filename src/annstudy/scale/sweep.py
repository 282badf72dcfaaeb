"""`annstudy sweep`: a grid of DVC experiments, here one after another or on a Ray cluster.

The grid is DVC's own: the ``-S`` arguments go through the very functions ``dvc exp run --queue
-S`` uses (comma lists become a cartesian product, hydra syntax), so a sweep here and a DVC
queue agree on what the experiments are. Each experiment gets a name derived from its
overrides: the same params at the same commit are the same experiment, which is how a
rerun skips what already exists (``refs/exps/<commit>/<name>`` locally, or on the git remote for
a cluster sweep). Without a Ray address nothing here imports Ray: annstudy/scale/cluster.py runs the grid there (the CLI
picks the runner), and this module does not know it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class Experiment:
    """One point of the grid: its DVC experiment name and its ``-S`` overrides."""

    name: str
    overrides: tuple[str, ...]

    def set_args(self) -> list[str]:
        return [arg for override in self.overrides for arg in ("-S", override)]


def expand_grid(sets: Sequence[str]) -> list[tuple[str, ...]]:
    """The experiments ``dvc exp run --queue -S ...`` would queue, as ``-S`` values each.

    DVC's own parser (``to_path_overrides`` + ``get_hydra_sweeps``), so ``a=1,2 -S b=x,y`` gives
    the same four experiments, in the same order, as the DVC queue; no sets: one experiment.
    """
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps

    if not sets:
        return [()]
    grid = []
    for sweep in get_hydra_sweeps(to_path_overrides(sets)):
        grid.append(tuple(o if path == PARAMS_FILE else f"{path}:{o}" for path, ovs in sweep.items() for o in ovs))
    return grid


def experiment_name(overrides: Sequence[str], prefix: str = "sweep") -> str:
    """A stable name from the overrides (order-free): same params, same name, so reruns recognise it.

    A hash, not the values: values such as ``[mlp_1,cnn_4]`` are not valid in a git ref name.
    """
    digest = hashlib.sha256("\n".join(sorted(overrides)).encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


def plan(sets: Sequence[str], prefix: str = "sweep") -> list[Experiment]:
    """The grid as named experiments; duplicates (``a=1,1``) collapse to one."""
    named = {experiment_name(o, prefix): o for o in expand_grid(sets)}
    return [Experiment(name, overrides) for name, overrides in named.items()]


def env_with_bin() -> dict[str, str]:
    """This interpreter's bin first on PATH, so `dvc` and the stages' `python` are this environment's."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(repo: Path, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=repo, env=env_with_bin(), capture_output=True, text=True)


def git(repo: Path, *args: str) -> str:
    """Output of a git command that must succeed (a failure is a RuntimeError naming it)."""
    out = run(repo, "git", *args)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout.strip()


def dvc(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return run(repo, sys.executable, "-m", "dvc", *args)


def error_summary(stdout: str, stderr: str, returncode: int) -> str:
    """The lines of a failed command's output that say why: its ``error:``/``ERROR:`` lines, else its last ones."""
    lines = [line.strip() for line in (stdout + "\n" + stderr).splitlines() if line.strip()]
    errors = list(dict.fromkeys(line for line in lines if line.lower().startswith("error")))
    return " | ".join(errors[-3:] or lines[-3:]) or f"exit code {returncode}"


def names_in_refs(refs: str, baseline: str) -> set[str]:
    """Experiment names among ``git for-each-ref``/``ls-remote`` lines whose baseline is ``baseline``.

    DVC keeps an experiment at ``refs/exps/<sha[:2]>/<sha[2:]>/<name>``.
    """
    prefix = f"refs/exps/{baseline[:2]}/{baseline[2:]}/"
    names = set()
    for line in refs.splitlines():
        ref = line.split()[-1] if line.strip() else ""
        if ref.startswith(prefix):
            names.add(ref[len(prefix) :])
    return names


def local_experiments(repo: Path, baseline: str) -> set[str]:
    return names_in_refs(git(repo, "for-each-ref", "--format=%(refname)", "refs/exps"), baseline)


def remote_experiments(repo: Path, git_remote: str, baseline: str) -> set[str]:
    return names_in_refs(git(repo, "ls-remote", git_remote, "refs/exps/*"), baseline)


def require_committed(repo: Path) -> str:
    """HEAD's sha; experiments see only committed files, so modified tracked files are an error."""
    changed = git(repo, "status", "--porcelain", "--untracked-files=no")
    if changed:
        files = ", ".join(line.split(None, 1)[-1] for line in changed.splitlines()[:5])
        raise RuntimeError(f"uncommitted changes ({files}): commit them first, experiments run the commit")
    return git(repo, "rev-parse", "HEAD")


class Progress:
    """One terminal line per state change: ``[k/n] <name> <state> <detail>``."""

    def __init__(self, experiments: Sequence[Experiment], stream=sys.stdout):
        self.total = len(experiments)
        self.overrides = {e.name: " ".join(e.overrides) or "(no overrides)" for e in experiments}
        self.states: dict[str, str] = {}
        self.stream = stream
        self.start = time.monotonic()

    def __call__(self, name: str, state: str, detail: str = "") -> None:
        self.states[name] = state
        finished = sum(s in ("done", "failed", "skipped") for s in self.states.values())
        elapsed = time.monotonic() - self.start
        text = f"[{finished}/{self.total} {elapsed:6.1f}s] {name} {state:<8} {self.overrides[name]}"
        print(f"{text}  {detail}".rstrip(), file=self.stream, flush=True)

    def failed(self) -> list[str]:
        return [name for name, state in self.states.items() if state == "failed"]

    def summary(self) -> str:
        counts = {s: sum(v == s for v in self.states.values()) for s in ("done", "skipped", "failed")}
        return ", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {self.total} experiments"


def run_local(repo: Path, experiments: Sequence[Experiment], targets: Sequence[str], progress: Progress) -> None:
    """One experiment after another, each ``dvc exp run --temp`` (a scratch copy, the workspace untouched).

    An experiment that already exists at this commit is skipped; a failure is reported and the
    next experiment runs.
    """
    baseline = require_committed(repo)
    existing = local_experiments(repo, baseline)
    for exp in experiments:
        if exp.name in existing:
            progress(exp.name, "skipped", "already an experiment of this commit")
            continue
        progress(exp.name, "running", "here")
        out = dvc(repo, "exp", "run", "--temp", "-n", exp.name, *exp.set_args(), *targets)
        if out.returncode == 0:
            progress(exp.name, "done")
        else:
            progress(exp.name, "failed", error_summary(out.stdout, out.stderr, out.returncode))


def ray_address(given: str | None) -> str | None:
    """``--ray`` or else ``RAY_ADDRESS``; never a param (it must not change any stage's hash)."""
    return given or os.environ.get("RAY_ADDRESS") or None


Runner = Callable[[Path, Sequence[Experiment], Sequence[str], Progress], None]


def sweep(
    repo: Path, sets: Sequence[str], targets: Sequence[str] = (), runner: Runner = run_local, prefix: str = "sweep"
) -> Progress:
    """Plan the grid and run it with ``runner`` (:func:`run_local`, or scale/cluster.py's, bound to an address)."""
    experiments = plan(sets, prefix)
    progress = Progress(experiments)
    where = getattr(runner, "where", "here, serially")
    print(f"sweep: {len(experiments)} experiments {where}", flush=True)
    runner(repo, experiments, targets, progress)
    print(f"sweep: {progress.summary()}")
    return progress  # its states: the CLI exits 1 if any failed

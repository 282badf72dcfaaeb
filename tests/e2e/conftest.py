"""The end-to-end tests' shared work: one smoke `dvc repro` of the whole project per session.

A smoke `dvc repro` of the pipeline takes minutes on a 2-core machine, and several end-to-end
tests need its results, not a run of their own. It runs once, in a temporary git + DVC
repository of the project (:func:`helpers.dvc_repo.make_repo`, S1 on mlp_1 and lenet5), and
in the background: it starts with the first end-to-end test, and the tests that need it
(fixture :func:`smoke_run`) run last, so the others run meanwhile (most of a stage is one
process on one core). A test only reads the finished workspace; a test that changes one (runs
dvc, edits params) takes :func:`smoke_copy`, a ``cp -a`` of it, DVC cache and git history
included: seconds.

(tests/e2e is a package, ``e2e``, so that this file does not shadow tests/conftest.py, which the
test modules import as ``conftest``.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from conftest import FASHION_MIRROR
from helpers.dvc_repo import copy_repo, make_repo

SMOKE_ARCHS = ["mlp_1", "lenet5"]
SMOKE_SECONDS = 1800  # the repro's own limit (about 9 minutes alone on a 2-core VM)


@dataclass(frozen=True)
class SmokeRun:
    """The finished smoke workspace (read it, never change it) and what its `dvc repro` printed."""

    repo: Path
    output: str


@dataclass(frozen=True)
class Background:
    """The smoke `dvc repro` while it runs: its repository, process and log."""

    repo: Path
    process: subprocess.Popen
    log: Path


def needs_smoke(item: pytest.Item) -> bool:
    return "smoke_run" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that need the smoke workspace run last, in their order (a stable sort)."""
    items.sort(key=needs_smoke)


def start_repro(repo: Path, log: Path) -> subprocess.Popen:
    """`dvc repro` in ``repo``, in a session of its own (stopped as a group), output to ``log``."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dvc", "repro"],
            cwd=repo,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture(scope="session", autouse=True)
def smoke_repro(request, tmp_path_factory) -> Iterator[Background | None]:
    """Starts the smoke `dvc repro` with the first end-to-end test when a selected test needs it
    (and Fashion-MNIST is there; without it those tests skip); stops it if the session ends first."""
    if not FASHION_MIRROR.is_dir() or not any(needs_smoke(item) for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("smoke")
    repo = make_repo(root / "repo", archs=SMOKE_ARCHS)
    background = Background(repo, start_repro(repo, root / "repro.log"), root / "repro.log")
    yield background
    if background.process.poll() is None:
        os.killpg(background.process.pid, signal.SIGKILL)
        background.process.wait()


@pytest.fixture(scope="session")
def smoke_run(smoke_repro: Background | None) -> SmokeRun:
    """The smoke `dvc repro`, finished: every stage of the pipeline, S1 on mlp_1 and lenet5."""
    assert smoke_repro is not None, "the smoke repro was not started (Fashion-MNIST missing?)"
    try:
        smoke_repro.process.wait(timeout=SMOKE_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"dvc repro ran past {SMOKE_SECONDS} s:\n{smoke_repro.log.read_text()}") from None
    output = smoke_repro.log.read_text()
    assert smoke_repro.process.returncode == 0, f"dvc repro failed:\n{output}"
    return SmokeRun(smoke_repro.repo, output)


@pytest.fixture
def smoke_copy(smoke_run: SmokeRun, tmp_path: Path) -> Path:
    """A copy of the finished smoke workspace that the test may change."""
    return copy_repo(smoke_run.repo, tmp_path / "smoke")

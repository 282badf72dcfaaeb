"""A stage's hold on its work: one process per stage at a time, none outliving its ``dvc``.

Killing ``dvc repro`` alone used to leave its stage running, orphaned; the next ``dvc repro``
started a second process on the same stage, and the two wrote the same outputs (each then
failed reading the other's half-written JSON). Two guards close that:

- :func:`die_with_parent`: on Linux the kernel sends the stage SIGTERM when the process that
  started it exits (``prctl(PR_SET_PDEATHSIG)``), so a killed ``dvc`` takes its stage along;
- :func:`exclusive`: an advisory lock (``flock``) per stage and working directory, held for the
  stage's life and released by the kernel when the process ends, however it ends; a second
  process on the same stage stops at once with one line naming the holder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Iterator

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when our parent exits (Linux; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request: nobody waits for us
        raise RuntimeError("the process that started this stage has exited; not starting it")


def lock_path(key: str, root: Path) -> Path:
    """The lock file of ``key`` (a stage's command line) in ``root``: DVC's own tmp folder when
    there is one, so a fresh clone starts with no locks, else the system's temporary folder."""
    folder = root / ".dvc" / "tmp" / "stage-locks" if (root / ".dvc").is_dir() else Path(tempfile.gettempdir())
    digest = hashlib.sha256(f"{root.resolve()}\0{key}".encode()).hexdigest()[:16]
    return folder / f"annstudy-stage-{digest}.lock"


@contextlib.contextmanager
def exclusive(key: str, root: Path = Path(".")) -> Iterator[None]:
    """Hold the lock of ``key`` while the block runs; ValueError naming the holder if taken."""
    path = lock_path(key, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ValueError(f"{key}: already running ({holder}); wait for it to end or stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield

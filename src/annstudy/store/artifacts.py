"""Atomic writing of stage outputs.

A stage killed half-way must never leave a file that looks complete: everything is
written to a temporary sibling first and renamed into place only when whole
(rename is atomic on POSIX file systems). A writer killed by SIGKILL cannot clean up,
so its ``.<name>.<random>.tmp`` sibling stays behind: no reader ever opens such names,
.dvcignore hides them from DVC's hashes, and the next writer of ``<name>`` removes them
(a stage is the only writer of its outputs).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import torch


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary siblings of ``path`` (``.<name>.<8 random chars>.tmp``) left by a killed writer."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")
    return sorted(p for p in path.parent.iterdir() if pattern.fullmatch(p.name))


def _remove_stale(path: Path) -> None:
    for stale in stale_temporaries(path):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces ``path`` as a whole on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


class DamagedJSON(ValueError):
    """A JSON file that does not parse (two writers, a truncated copy): ``reason`` says how,
    the message also names the file and the fix."""

    def __init__(self, path: str | Path, err: json.JSONDecodeError):
        self.reason = f"not valid JSON ({err.msg}, line {err.lineno})"
        super().__init__(f"{path}: {self.reason}; delete it and rerun the stage that writes it")


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``; a damaged file is a :class:`DamagedJSON` naming it."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise DamagedJSON(path, err) from None


def write_tsv(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def torch_bytes(obj: Any) -> bytes:
    """``obj`` serialized by ``torch.save`` into memory.

    ``torch.save`` to a file names the zip archive's records after that file: saving to the
    random temporary sibling would store its name (``.weights.pt.x1y2z3ab.tmp/data.pkl``) in
    the bytes, and two runs with identical tensors would differ. In memory the archive is
    always ``archive/``: same tensors, same bytes.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def save_torch(path: str | Path, obj: Any) -> None:
    """Write ``obj`` atomically; byte-identical for identical tensors (see :func:`torch_bytes`)."""
    data = torch_bytes(obj)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_torch(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    return torch.load(path, map_location=map_location, weights_only=True)

"""A fake Fashion-MNIST mirror: tiny IDX files whose checksums are patched in as the known ones."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from annstudy.data import fashion_mnist as fm


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` as an IDX file of unsigned bytes (the format of the MNIST family)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_mirror(directory: Path, monkeypatch, compress: bool = True) -> tuple[Path, dict[str, np.ndarray]]:
    """A mirror of tiny IDX files whose checksums are patched in as the known ones."""
    directory.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (200, 28, 28)),
        "train-labels-idx1-ubyte": np.repeat(np.arange(10), 20),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (50, 28, 28)),
        "t10k-labels-idx1-ubyte": np.repeat(np.arange(10), 5),
    }
    sums = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        sums[name] = hashlib.sha256(raw).hexdigest()
        if compress:
            (directory / f"{name}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (directory / name).write_bytes(raw)
    monkeypatch.setattr(fm, "SHA256", sums)
    return directory, arrays

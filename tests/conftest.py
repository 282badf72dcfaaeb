"""Shared fixtures: the repository root, a parsed copy of params.yaml, tiny datasets."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from annstudy.data.prepared import PreparedDataset, Split
from annstudy.params.settings import load_yaml

ROOT = Path(__file__).resolve().parents[1]
FASHION_MIRROR = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not FASHION_MIRROR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)


@pytest.fixture(scope="session")
def default_params() -> dict:
    return load_yaml((ROOT / "params.yaml").read_text())


@pytest.fixture
def params(default_params) -> dict:
    return copy.deepcopy(default_params)


def blobs_dataset(n_per_class: int = 40, classes: int = 3, seed: int = 0, size: int = 8) -> PreparedDataset:
    """A separable toy image dataset: class c lights up its own horizontal band."""
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> Split:
        y = torch.arange(classes).repeat_interleave(n)
        x = 0.3 * torch.randn(len(y), 1, size, size, generator=g)
        band = size // classes
        for c in range(classes):
            x[y == c, :, c * band : (c + 1) * band, :] += 1.0
        return Split(x=x, y=y)

    meta = {"name": "blobs", "classes": [f"c{i}" for i in range(classes)], "image_shape": [1, size, size]}
    return PreparedDataset("blobs", split(n_per_class), split(n_per_class // 2), split(n_per_class // 2), meta)


def write_prepared_blobs(root: Path, name: str, size: int = 28, n_per_class: int = 40, classes: int = 10) -> None:
    """A blobs dataset saved as ``root/data/prepared/<name>`` (stage functions read it like a real one)."""
    from annstudy.data.prepared import save_prepared

    data = blobs_dataset(n_per_class=n_per_class, classes=classes, size=size)
    tensors = {f"{k}_{s}": getattr(getattr(data, s), k) for s in ("train", "val", "test") for k in ("x", "y")}
    meta = {
        **data.meta,
        "name": name,
        "source": "blobs (tests)",
        "scaling": {"scale": 1.0, "offset": 0.0},
        "sizes": {s: len(getattr(data, s)) for s in ("train", "val", "test")},
    }
    save_prepared(root / "data" / "prepared" / name, tensors, meta)

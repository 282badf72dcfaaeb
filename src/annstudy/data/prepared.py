"""The on-disk form every dataset is prepared into, and loading it onto a device.

Images are stored compactly (uint8 where the raw data is 8-bit) together with the
affine map that scales them (e.g. [0, 255] -> [-1, 1]); :func:`load_prepared` applies it
once, on the device, so training never touches per-sample Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from annstudy.artifacts import atomic_dir, load_torch, read_json, write_json

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    x: torch.Tensor  # [N, C, H, W] float32, scaled
    y: torch.Tensor  # [N] int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class PreparedDataset:
    name: str
    train: Split
    val: Split
    test: Split
    meta: dict[str, Any]

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["image_shape"])  # type: ignore[return-value]


def save_prepared(
    out_dir: str | Path,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> None:
    """Write ``tensors.pt`` (x_/y_ per split) and ``meta.json`` atomically as one directory."""
    for split in SPLITS:
        assert f"x_{split}" in tensors and f"y_{split}" in tensors, split
    with atomic_dir(out_dir) as tmp:
        torch.save({k: v.contiguous() for k, v in tensors.items()}, tmp / "tensors.pt")
        write_json(tmp / "meta.json", meta)


def load_meta(data_dir: str | Path) -> dict[str, Any]:
    return read_json(Path(data_dir) / "meta.json")


def load_prepared(data_dir: str | Path, device: str | torch.device = "cpu") -> PreparedDataset:
    """Load a prepared dataset as float tensors on ``device`` (scaling applied)."""
    data_dir = Path(data_dir)
    if not (data_dir / "meta.json").is_file() or not (data_dir / "tensors.pt").is_file():
        raise FileNotFoundError(f"{data_dir}: no prepared dataset here (run the prepare stage first)")
    meta = load_meta(data_dir)
    raw = load_torch(data_dir / "tensors.pt")
    scale, offset = meta["scaling"]["scale"], meta["scaling"]["offset"]

    def split(name: str) -> Split:
        x = raw[f"x_{name}"].to(device)
        x = x.float() * scale + offset if x.dtype == torch.uint8 else x.float()
        return Split(x=x, y=raw[f"y_{name}"].to(device).long())

    return PreparedDataset(meta["name"], split("train"), split("val"), split("test"), meta)

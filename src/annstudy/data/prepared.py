"""The on-disk form every dataset is prepared into, and loading it onto a device.

Images are stored compactly (uint8 where the raw data is 8-bit) together with the
affine map that scales them (e.g. [0, 255] -> [-1, 1]); :func:`load_prepared` applies it
once, on the device, so training never touches per-sample Python.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from annstudy.store.artifacts import DamagedJSON, atomic_dir, load_torch, read_json, write_json

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


class PreparedDataError(ValueError):
    """A prepared file is damaged (truncated, emptied, edited): the message names it and the fix."""


def _damaged(path: Path, err: BaseException) -> PreparedDataError:
    detail = str(err).splitlines()[0] if str(err) else type(err).__name__
    detail = err.reason if isinstance(err, DamagedJSON) else detail
    name = path.parent.name
    return PreparedDataError(f"{path}: damaged ({detail}); rebuild it with `dvc repro -f prepare@{name}`")


def load_meta(data_dir: str | Path) -> dict[str, Any]:
    path = Path(data_dir) / "meta.json"
    try:
        meta = read_json(path)
    except ValueError as err:  # not JSON, not UTF-8
        raise _damaged(path, err) from None
    if not isinstance(meta, dict) or not {"name", "scaling"} <= set(meta):
        raise _damaged(path, ValueError("not the meta.json of a prepared dataset"))
    return meta


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        raw = load_torch(path)
    except (EOFError, RuntimeError, OSError, ValueError, pickle.UnpicklingError) as err:  # empty, truncated, other
        raise _damaged(path, err) from None
    if not isinstance(raw, dict):
        raise _damaged(path, ValueError("not a dict of tensors"))
    return raw


def load_prepared(data_dir: str | Path, device: str | torch.device = "cpu") -> PreparedDataset:
    """Load a prepared dataset as float tensors on ``device`` (scaling applied)."""
    data_dir = Path(data_dir)
    if not (data_dir / "meta.json").is_file() or not (data_dir / "tensors.pt").is_file():
        raise FileNotFoundError(f"{data_dir}: no prepared dataset here (run the prepare stage first)")
    meta = load_meta(data_dir)
    raw = _load_tensors(data_dir / "tensors.pt")
    missing = [f"{k}_{s}" for s in ("train", "val", "test") for k in ("x", "y") if f"{k}_{s}" not in raw]
    if missing:
        raise _damaged(data_dir / "tensors.pt", ValueError(f"no tensors {', '.join(missing)}"))
    scale, offset = meta["scaling"]["scale"], meta["scaling"]["offset"]

    def split(name: str) -> Split:
        x = raw[f"x_{name}"].to(device)
        x = x.float() * scale + offset if x.dtype == torch.uint8 else x.float()
        return Split(x=x, y=raw[f"y_{name}"].to(device).long())

    return PreparedDataset(meta["name"], split("train"), split("val"), split("test"), meta)


def pixel_range(data: PreparedDataset) -> PreparedDataset:
    """The same images with inputs back in [0, 255] (from the [-1, 1] every image dataset is prepared in).

    Why: S2's input-scaling ablation asks what training does without the scaling; ``(x + 1) · 127.5``
    undoes it for every image dataset (uint8 ones and cifar10_gray's gray conversion alike).
    """

    def back(split: Split) -> Split:
        return Split(x=(split.x + 1.0) * 127.5, y=split.y)

    meta = {**data.meta, "inputs": "[0, 255] (pixel_range)"}
    return PreparedDataset(data.name, back(data.train), back(data.val), back(data.test), meta)

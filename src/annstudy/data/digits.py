"""scikit-learn's digits (8x8 gray images of 0-9, 1,797 in all): S4's offline dataset.

The data ships inside scikit-learn, so preparing needs no network. There is no official
test set: both the test and the validation split are drawn stratified (equal count per
class) with a fixed seed, test first, so changing ``val_fraction`` never changes the test set.
Pixels are integers 0..16, stored as uint8 and standardised on load with one mean and
standard deviation over all training pixels ((x - mean) / std): the base MLP learns faster
than with x / 16 in [0, 1] (docs/hyperparameters.md: 0.945 vs 0.930 after 20 epochs).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from sklearn.datasets import load_digits

from annstudy.data.splits import stratified_split

NAME = "digits"
CLASSES = [str(d) for d in range(10)]
IMAGE_SHAPE = (1, 8, 8)


def split_indices(
    labels: np.ndarray, split_seed: int, val_fraction: float, test_fraction: float
) -> dict[str, np.ndarray]:
    """Disjoint sorted index arrays train/val/test; val and test are fractions of *all* images."""
    n = len(labels)
    rest, test = stratified_split(labels, test_fraction, split_seed)
    # val_fraction of all images, drawn from what the test split left
    train_in_rest, val_in_rest = stratified_split(labels[rest], val_fraction * n / len(rest), split_seed + 1)
    return {"train": rest[train_in_rest], "val": rest[val_in_rest], "test": test}


def prepare(split_seed: int, val_fraction: float, test_fraction: float) -> tuple[dict[str, torch.Tensor], dict]:
    """sklearn digits -> (tensors, meta) in the :mod:`annstudy.data.prepared` layout."""
    if val_fraction + test_fraction >= 0.9:
        raise ValueError(
            f"digits: val_fraction + test_fraction must leave training images, got {val_fraction} + {test_fraction}"
        )
    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # integers 0..16
    labels = bunch.target.astype(np.int64)
    parts = split_indices(labels, split_seed, val_fraction, test_fraction)
    tensors = {}
    for split, idx in parts.items():
        tensors[f"x_{split}"] = torch.from_numpy(images[idx]).unsqueeze(1)
        tensors[f"y_{split}"] = torch.from_numpy(labels[idx])
    train_pixels = images[parts["train"]].astype(np.float64)
    mean, std = float(train_pixels.mean()), float(train_pixels.std())
    meta = {
        "name": NAME,
        "source": "sklearn.datasets.load_digits (UCI optical digits, 8x8, ships with scikit-learn)",
        "classes": CLASSES,
        "image_shape": list(IMAGE_SHAPE),
        "sizes": {s: int(len(idx)) for s, idx in parts.items()},
        "split": {
            "seed": split_seed,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "val_per_class": len(parts["val"]) // 10,
            "test_per_class": len(parts["test"]) // 10,
        },
        "sha256": {
            "images (uint8)": hashlib.sha256(images.tobytes()).hexdigest(),
            "labels (int64)": hashlib.sha256(labels.tobytes()).hexdigest(),
        },
        "scaling": {
            "scale": 1.0 / std,
            "offset": -mean / std,
            "description": f"integer pixel x in 0..16 -> (x - {mean:.4f}) / {std:.4f} (mean and std of "
            "all training pixels)",
        },
    }
    return tensors, meta

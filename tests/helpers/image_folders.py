"""A tiny bring-your-own image folder (dataset image_csv): coloured insects and their labels.csv.

Used by the image_csv tests, the hostile-input tests and the end-to-end tests that switch S1 to
the user's images.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from annstudy.data.settings import DataSettings, ImageCsvSettings

SPECIES = ("bee", "ant", "wasp")  # sorted: ant, bee, wasp
COLORS = {"ant": (220, 40, 40), "bee": (40, 200, 40), "wasp": (40, 40, 220)}


def write_insects(folder: Path, per_class: int = 10, species=SPECIES) -> Path:
    """A tiny insects folder: one colour per species, PNG and JPEG of varying sizes, plus labels.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(per_class):
        for name in species:
            size = (10 + i % 3, 12)  # resized to data.image_csv.image_size in prepare
            noise = rng.integers(-30, 30, (*size[::-1], 3))
            pixels = np.clip(np.array(COLORS.get(name, (128, 128, 128))) + noise, 0, 255).astype(np.uint8)
            filename = f"{name}_{i}.{'png' if i % 2 else 'jpg'}"
            Image.fromarray(pixels).save(folder / filename)
            rows.append({"file": filename, "species": name, "notes": "field photo"})
    path = folder / "labels.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["file", "species", "notes"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def data_settings(csv_path: Path | None, **kw) -> DataSettings:
    """Data settings that read ``csv_path`` as the image_csv dataset (8 x 8 RGB); ``kw`` overrides."""
    cfg = dict(
        csv=str(csv_path) if csv_path else None,
        image_dir=None,
        filename_column="file",
        label_column="species",
        image_size=(8, 8),
        color="rgb",
        test_fraction=0.2,
    )
    cfg.update(kw)
    return DataSettings("auto", "data/raw", split_seed=0, val_fraction=0.25, image_csv=ImageCsvSettings(**cfg))


def rewrite(csv_path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Replace the CSV's lines by ``edit(lines)`` (the header is line 0)."""
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join(edit(lines)) + "\n")

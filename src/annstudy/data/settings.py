"""``data`` in params.yaml as the data layer sees it: what every dataset's prepare receives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageCsvSettings:
    """``data.image_csv``: a CSV (file name, label) plus a folder of images."""

    csv: str | None
    image_dir: str | None
    filename_column: str = "filename"
    label_column: str = "label"
    image_size: tuple[int, int] = (32, 32)  # (H, W) every image is resized to
    color: str = "gray"  # gray | rgb
    test_fraction: float = 0.2

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1 if self.color == "gray" else 3, *self.image_size)


@dataclass(frozen=True)
class DataSettings:
    """``data``: what every dataset's prepare function receives (data/registry.py)."""

    mirror: str | None
    download_root: str
    split_seed: int
    val_fraction: float
    cifar10_mirror: str | None = "auto"
    image_csv: ImageCsvSettings = ImageCsvSettings(csv=None, image_dir=None)
    regression_csv: str | None = None  # S5 non-linear fit on a user's x,y CSV (null = synthetic)

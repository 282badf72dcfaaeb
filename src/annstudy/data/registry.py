"""Dataset names usable in params.yaml -> their prepare functions (add one here)."""

from __future__ import annotations

from typing import Callable

from annstudy.data import cifar10, fashion_mnist, image_csv

# name -> prepare(settings.data: params.DataSettings) -> (tensors, meta)
DATASETS: dict[str, Callable] = {
    fashion_mnist.NAME: fashion_mnist.prepare,
    cifar10.NAME: cifar10.prepare,
    image_csv.NAME: image_csv.prepare,
}


def prepared_dir(name: str, root: str = "data/prepared") -> str:
    return f"{root}/{name}"

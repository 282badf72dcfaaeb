"""Every dataset params.yaml can name, one line each: adding a dataset is its module in data/ and one line here.

A dataset module defines ``NAME``, ``prepare(settings) -> (tensors, meta)``, the work of the stage
``prepare@<name>``, and ``inputs(settings) -> dict``, the work of ``inputs@<name>``: the user's files
prepare reads and their SHA-256s (data/inputs.py). One :class:`Dataset` holds all three, so the two
stages always know the same datasets. ``settings`` is ``data`` of params.yaml (data/settings.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from annstudy.data import cifar10, fashion_mnist, image_csv, synthetic
from annstudy.data.settings import DataSettings


@dataclass(frozen=True)
class Dataset:
    name: str  # in params.yaml (studies.<study>.dataset) and in the stage names prepare@<name>, inputs@<name>
    prepare: Callable[[DataSettings], tuple[dict[str, Any], dict]]  # -> (tensors, meta), data/prepared.py
    inputs: Callable[[DataSettings], dict]  # -> the fingerprint of its user files (JSON-ready)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(fashion_mnist.NAME, fashion_mnist.prepare, fashion_mnist.inputs),
        Dataset(cifar10.NAME, cifar10.prepare, cifar10.inputs),
        Dataset(image_csv.NAME, image_csv.prepare, image_csv.inputs),
    )
}

# What inputs@<name> can fingerprint: every dataset, and S5's x,y CSV (data.regression_csv), which is
# no dataset here: the regression study's own stage prepares it.
INPUTS: dict[str, Callable[[DataSettings], dict]] = {
    **{name: dataset.inputs for name, dataset in DATASETS.items()},
    synthetic.REGRESSION_CSV: synthetic.regression_csv_inputs,
}


def prepared_dir(name: str, root: str = "data/prepared") -> str:
    return f"{root}/{name}"

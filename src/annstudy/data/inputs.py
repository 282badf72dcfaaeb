"""The user's files behind each dataset, fingerprinted: what makes DVC rerun a prepare stage when they change.

A prepare stage reads files named by params (``data.mirror``, ``data.cifar10_mirror``,
``data.image_csv``, ``data.regression_csv``), each of which may be ``auto`` or null. DVC can
only depend on paths that exist, so the always-changed stage ``inputs@<dataset>`` writes
``data/inputs/<dataset>.json``: the resolved source and the SHA-256 of every file prepare
reads. The file's bytes change exactly when an input does, and ``prepare@<dataset>``
depends on it: editing one label of labels.csv reruns prepare and everything downstream,
while an untouched input leaves the fingerprint, and so the pipeline, as it was.

Each dataset says what its inputs are (its ``inputs`` function, registered beside its ``prepare``
in data/registry.py), so this stage knows every dataset the prepare stage knows.
"""

from __future__ import annotations

from pathlib import Path

from annstudy.data.registry import INPUTS
from annstudy.data.settings import DataSettings


def inputs_path(name: str, root: str = "data/inputs") -> Path:
    return Path(root) / f"{name}.json"


def fingerprint(name: str, settings: DataSettings) -> dict:
    """The resolved inputs of dataset ``name`` (or of S5's regression CSV) and their SHA-256s."""
    if name not in INPUTS:
        raise ValueError(f"no inputs known for {name!r}; choose from {', '.join(INPUTS)} (data/registry.py)")
    return INPUTS[name](settings)

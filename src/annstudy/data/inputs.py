"""The user's files behind each dataset, fingerprinted: what makes DVC rerun a prepare stage when they change.

A prepare stage reads files named by params (``data.mirror``, ``data.cifar10_mirror``,
``data.image_csv``, ``data.regression_csv``), each of which may be ``auto`` or null. DVC can
only depend on paths that exist, so the always-changed stage ``inputs@<dataset>`` writes
``data/inputs/<dataset>.json``: the resolved source and the SHA-256 of every file prepare
reads. The file's bytes change exactly when an input does, and ``prepare@<dataset>``
depends on it: editing one label of labels.csv reruns prepare and everything downstream,
while an untouched input leaves the fingerprint, and so the pipeline, as it was.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from annstudy.data import cifar10, fashion_mnist, image_csv
from annstudy.data.settings import DataSettings

REGRESSION = "regression"  # the fingerprint of data.regression_csv (S5), beside the datasets'


def inputs_path(name: str, root: str = "data/inputs") -> Path:
    return Path(root) / f"{name}.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every regular file under ``folder`` (sorted, symlinks followed)."""
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _image_csv(settings: DataSettings) -> dict:
    cfg = settings.image_csv
    if cfg.csv is None:
        return {"csv": None}
    csv_path = Path(cfg.csv)
    image_dir = Path(cfg.image_dir) if cfg.image_dir is not None else csv_path.parent
    rows = image_csv.read_rows(csv_path, image_dir, cfg.filename_column, cfg.label_column)
    images = {}
    for row in rows:
        data = image_csv.read_image_file(row.path, f"{csv_path}: row {row.number}")
        images[str(row.path.relative_to(image_dir.resolve()))] = hashlib.sha256(data).hexdigest()
    return {"csv": str(csv_path), "csv_sha256": file_sha256(csv_path), "image_dir": str(image_dir), "images": images}


def fingerprint(name: str, settings: DataSettings) -> dict:
    """The resolved inputs of dataset ``name`` (or of S5's regression CSV) and their SHA-256s."""
    if name == fashion_mnist.NAME:
        mirror = fashion_mnist.resolve_mirror(settings.mirror)
        return {"mirror": str(mirror) if mirror else None, "files": folder_sha256(mirror) if mirror else {}}
    if name == cifar10.NAME:
        mirror = cifar10.locate(settings.cifar10_mirror, settings.download_root)
        return {"mirror": str(mirror) if mirror else None, "files": folder_sha256(mirror) if mirror else {}}
    if name == image_csv.NAME:
        return _image_csv(settings)
    if name == REGRESSION:
        path = settings.regression_csv
        if not path:
            return {"csv": None}
        if not Path(path).is_file():
            raise FileNotFoundError(f"data.regression_csv: file not found: {path}")
        return {"csv": path, "sha256": file_sha256(Path(path))}
    raise ValueError(f"no inputs known for {name!r}")

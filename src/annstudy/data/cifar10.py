"""CIFAR-10 as 32x32 gray images (``cifar10_gray``), from the official python archive.

Sources, in order: ``data.cifar10_mirror`` when it is a directory (holding
``cifar-10-python.tar.gz`` or the extracted ``cifar-10-batches-py/``); with ``auto``, the
same files already under ``data.download_root``, else torchvision's download there;
with ``null``, the download. The archive is checked by its MD5 (the one torchvision and
the CIFAR page publish), an extracted directory file by file.

The transform is ``ToTensor -> Grayscale -> scale to [-1, 1]`` (studies.md: every dataset in
[-1, 1], cifar10_gray after its gray conversion), vectorised over the whole split:
0.2989 R + 0.587 G + 0.114 B (torchvision's weights) of the [0, 1] image, then 2 g - 1, which
is torchvision's ``Normalize(0.5, 0.5)``. Graying a mean/std-normalised RGB tensor instead (an
earlier version) gave inputs of about ±2. Images are stored as float32.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from annstudy.data.fashion_mnist import DataIntegrityError
from annstudy.data.fingerprints import mirror_fingerprint
from annstudy.data.splits import stratified_split

if TYPE_CHECKING:
    from annstudy.data.settings import DataSettings

NAME = "cifar10_gray"
ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
IMAGE_SHAPE = (1, 32, 32)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision.transforms.functional.rgb_to_grayscale
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"

# MD5 of the archive and of its files (torchvision.datasets.CIFAR10 and the CIFAR-10 page).
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FILE_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

HOW_TO_PROVIDE = (
    f"download https://www.cs.toronto.edu/~kriz/{ARCHIVE} on a machine with network access and set "
    "data.cifar10_mirror to the directory holding it (or the extracted cifar-10-batches-py), "
    "e.g. `dvc exp run -S data.cifar10_mirror=/path/to/dir`"
)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def check_md5(source: Path | str, data: bytes, expected: str) -> None:
    found = md5(data)
    if found != expected:
        raise DataIntegrityError(
            f"{source}: MD5 is {found}, expected {expected} (corrupt or different file; delete it to re-fetch)"
        )


def _has_data(directory: Path) -> bool:
    return (directory / ARCHIVE).is_file() or (directory / FOLDER).is_dir() or directory.name == FOLDER


def locate(mirror: str | None, download_root: str | Path) -> Path | None:
    """The directory to read, or None when it has to be downloaded into ``download_root``."""
    if mirror not in (None, "", "auto"):
        path = Path(mirror)
        if not path.is_dir() or not _has_data(path):
            raise DataIntegrityError(
                f"data.cifar10_mirror: {path} holds neither {ARCHIVE} nor {FOLDER}/; " + HOW_TO_PROVIDE
            )
        return path
    root = Path(download_root)
    return root if mirror == "auto" and root.is_dir() and _has_data(root) else None


def download(root: Path) -> Path:
    """torchvision's download (it checks the archive's MD5 too) -> the directory holding the archive."""
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(root=str(root), train=True, download=True)
    except Exception as err:  # network errors come in many types
        raise DataIntegrityError(f"could not download CIFAR-10 into {root} ({err}); {HOW_TO_PROVIDE}") from None
    return root


def reader(directory: Path) -> Callable[[str], bytes]:
    """A function returning the verified bytes of one batch file, from the archive or the folder."""
    archive = directory / ARCHIVE
    if archive.is_file():
        blob = archive.read_bytes()
        check_md5(archive, blob, ARCHIVE_MD5)
        try:
            tar = tarfile.open(archive, mode="r:gz")
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DataIntegrityError(f"{archive}: cannot read the archive ({err})") from None

        def from_archive(name: str) -> bytes:
            if name not in members:
                raise DataIntegrityError(f"{archive}: missing {FOLDER}/{name}")
            return tar.extractfile(members[name]).read()

        return from_archive
    folder = directory if directory.name == FOLDER else directory / FOLDER

    def from_folder(name: str) -> bytes:
        path = folder / name
        if not path.is_file():
            raise DataIntegrityError(f"{folder}: missing {name}")
        data = path.read_bytes()
        check_md5(path, data, FILE_MD5[name])
        return data

    return from_folder


def unpickle(data: bytes, name: str) -> dict:
    """One batch of the python version: ``{b"data": uint8 [N, 3072], b"labels": [N], ...}``."""
    try:
        batch = pickle.loads(data, encoding="bytes")  # noqa: S301 (checksummed file)
    except Exception as err:
        raise DataIntegrityError(f"{name}: not a CIFAR-10 pickle batch ({err})") from None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def load_batches(read: Callable[[str], bytes], names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 3, 32, 32] and int64 labels [N] of the named batches, in order."""
    xs, ys = [], []
    for name in names:
        batch = unpickle(read(name), name)
        if "data" not in batch or "labels" not in batch:
            raise DataIntegrityError(f"{name}: missing 'data' or 'labels' in the batch")
        x = np.asarray(batch["data"], dtype=np.uint8)
        if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(batch["labels"]):
            raise DataIntegrityError(f"{name}: expected data [N, 3072] and N labels, got {x.shape}")
        xs.append(x.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def to_gray(images: np.ndarray) -> torch.Tensor:
    """uint8 RGB [N, 3, H, W] -> ToTensor -> Grayscale -> [-1, 1]: float32 [N, 1, H, W]."""
    x = torch.from_numpy(images).float() / 255.0
    weights = torch.tensor(GRAY_WEIGHTS).view(1, 3, 1, 1)
    gray = (x * weights).sum(dim=1, keepdim=True)
    return gray * 2.0 - 1.0


def inputs(settings: DataSettings) -> dict:
    """The folder prepare reads (None: it downloads) and its files' SHA-256s (data/inputs.py)."""
    return mirror_fingerprint(locate(settings.cifar10_mirror, settings.download_root))


def prepare(settings: DataSettings) -> tuple[dict[str, torch.Tensor], dict]:
    """Raw batches -> (tensors, meta) in the :mod:`annstudy.data.prepared` layout."""
    mirror, download_root = settings.cifar10_mirror, settings.download_root
    split_seed, val_fraction = settings.split_seed, settings.val_fraction
    directory = locate(mirror, download_root)
    source = str(directory) if directory is not None else "torchvision download"
    if directory is None:
        directory = download(Path(download_root))
    read = reader(directory)
    classes = [c.decode() if isinstance(c, bytes) else c for c in unpickle(read(META_FILE), META_FILE)["label_names"]]
    x_full, y_full = load_batches(read, TRAIN_BATCHES)
    x_test, y_test = load_batches(read, (TEST_BATCH,))
    train_idx, val_idx = stratified_split(y_full, val_fraction, split_seed)
    gray, gray_test = to_gray(x_full), to_gray(x_test)
    y_full_t = torch.from_numpy(y_full)
    tensors = {
        "x_train": gray[train_idx],
        "y_train": y_full_t[train_idx],
        "x_val": gray[val_idx],
        "y_val": y_full_t[val_idx],
        "x_test": gray_test,
        "y_test": torch.from_numpy(y_test),
    }
    meta = {
        "name": NAME,
        "source": source,
        "classes": classes,
        "image_shape": list(IMAGE_SHAPE),
        "sizes": {s: int(len(tensors[f"y_{s}"])) for s in ("train", "val", "test")},
        "split": {"seed": split_seed, "val_fraction": val_fraction, "val_per_class": len(val_idx) // len(classes)},
        "md5": {ARCHIVE: ARCHIVE_MD5} if (directory / ARCHIVE).is_file() else dict(FILE_MD5),
        "scaling": {
            "scale": 1.0,
            "offset": 0.0,
            "description": "ToTensor → Grayscale → 2·g − 1, in [-1, 1] (stored as float32)",
        },
    }
    return tensors, meta

"""Fashion-MNIST: raw files from a local mirror or torchvision's download, verified
by the SHA-256 of their *decompressed* contents.

Contents rather than archives are checked because mirrors recompress: Debian's
``dataset-fashion-mnist`` ships .gz files that differ byte-wise from upstream's while
the decompressed bytes are identical.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from annstudy.data.fingerprints import mirror_fingerprint
from annstudy.data.idx import parse_idx
from annstudy.data.splits import stratified_split

if TYPE_CHECKING:
    from annstudy.data.settings import DataSettings

NAME = "fashion_mnist"
DEBIAN_MIRROR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
IMAGE_SHAPE = (1, 28, 28)

# SHA-256 of the decompressed IDX files (identical for upstream and Debian's package).
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


class DataIntegrityError(RuntimeError):
    """A raw data file is missing, unreadable or has unexpected contents."""


def resolve_mirror(setting: str | None) -> Path | None:
    """The mirror directory to read, or None to download.

    ``auto`` picks Debian's package directory when it is installed.
    """
    if setting is None or setting == "":
        return None
    if setting == "auto":
        return DEBIAN_MIRROR if DEBIAN_MIRROR.is_dir() else None
    path = Path(setting)
    if not path.is_dir():
        raise DataIntegrityError(f"data.mirror: directory {path} does not exist")
    return path


def read_verified(directory: Path, name: str, expected_sha256: str) -> bytes:
    """Decompressed bytes of ``name`` (``name`` or ``name.gz`` in ``directory``), checked."""
    plain, packed = directory / name, directory / f"{name}.gz"
    if plain.is_file():
        source, data = plain, plain.read_bytes()
    elif packed.is_file():
        source = packed
        try:
            data = gzip.decompress(packed.read_bytes())
        except (OSError, EOFError, zlib.error) as err:
            raise DataIntegrityError(f"{packed}: cannot decompress ({err})") from None
    else:
        raise DataIntegrityError(f"{directory}: missing {name} (or {name}.gz)")
    found = hashlib.sha256(data).hexdigest()
    if found != expected_sha256:
        raise DataIntegrityError(
            f"{source}: SHA-256 of the contents is {found}, expected {expected_sha256} "
            "(corrupt or different file; delete it to re-fetch)"
        )
    return data


def download(root: Path) -> Path:
    """Download with torchvision (its own MD5 checks on the archives) -> raw directory."""
    from torchvision.datasets import FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(root=str(root), train=train, download=True)
    except Exception as err:  # network errors come in many types
        raise DataIntegrityError(
            f"could not download Fashion-MNIST into {root} ({download_cause(err)}); install Debian's "
            "dataset-fashion-mnist or set data.mirror to a directory with the idx files"
        ) from None
    return root / "FashionMNIST" / "raw"


NO_NETWORK = ("urlopen error", "Name or service not known", "Temporary failure in name resolution",
              "Network is unreachable", "Connection refused", "timed out")  # fmt: skip


def download_cause(err: BaseException) -> str:
    """The cause of a failed download in words, on one line: torchvision's message spans several
    lines (which file, each mirror tried, the socket error), and printed as one line it showed
    literal "\\n"s. A failure to reach any server is "no network"; else the message's last line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    socket_error = next((line for line in lines if any(sign in line for sign in NO_NETWORK)), None)
    return f"no network: {socket_error}" if socket_error else lines[-1]


def load_raw(directory: Path) -> dict[str, np.ndarray]:
    """The four verified arrays, keyed by file name."""
    arrays = {}
    for name, digest in SHA256.items():
        arrays[name] = parse_idx(read_verified(directory, name, digest), name)
    return arrays


def inputs(settings: DataSettings) -> dict:
    """The mirror prepare reads (None: it downloads) and its files' SHA-256s (data/inputs.py)."""
    return mirror_fingerprint(resolve_mirror(settings.mirror))


def prepare(settings: DataSettings) -> tuple[dict[str, torch.Tensor], dict]:
    """Raw files -> (tensors, meta) in the :mod:`annstudy.data.prepared` layout."""
    split_seed, val_fraction = settings.split_seed, settings.val_fraction
    directory = resolve_mirror(settings.mirror)
    source = str(directory) if directory is not None else "torchvision download"
    if directory is None:
        directory = download(Path(settings.download_root))
    raw = load_raw(directory)
    x_full = torch.from_numpy(raw["train-images-idx3-ubyte"].copy()).unsqueeze(1)
    y_full = torch.from_numpy(raw["train-labels-idx1-ubyte"].astype(np.int64))
    train_idx, val_idx = stratified_split(y_full.numpy(), val_fraction, split_seed)
    tensors = {
        "x_train": x_full[train_idx],
        "y_train": y_full[train_idx],
        "x_val": x_full[val_idx],
        "y_val": y_full[val_idx],
        "x_test": torch.from_numpy(raw["t10k-images-idx3-ubyte"].copy()).unsqueeze(1),
        "y_test": torch.from_numpy(raw["t10k-labels-idx1-ubyte"].astype(np.int64)),
    }
    meta = {
        "name": NAME,
        "source": source,
        "classes": CLASSES,
        "image_shape": list(IMAGE_SHAPE),
        "sizes": {s: int(len(tensors[f"y_{s}"])) for s in ("train", "val", "test")},
        "split": {"seed": split_seed, "val_fraction": val_fraction, "val_per_class": len(val_idx) // 10},
        "sha256": SHA256,
        "scaling": {"scale": 2.0 / 255.0, "offset": -1.0, "description": "uint8 x -> x/127.5 - 1 in [-1, 1]"},
    }
    return tensors, meta

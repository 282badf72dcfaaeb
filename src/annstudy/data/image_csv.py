"""Bring your own images: a CSV of (file name, label) rows plus a folder of images.

The "insects" exercise in a general form: any labels (species names, ...) become class
indices in sorted order, so the mapping depends only on the CSV and is saved as
``classes`` in ``meta.json``. Every image is decoded once here (Pillow: PNG, JPEG, ...),
converted to gray or RGB and resized to ``data.image_csv.image_size``; training then
reads compact uint8 tensors like any other dataset.

A bad input stops prepare with a :class:`ImageCsvError` naming the CSV row (numbered
as a spreadsheet shows it: the header is row 1) and the problem, before anything is
written, so nothing downstream ever sees a partial dataset.

The CSV is not trusted: every file name is resolved (``..`` and symlinks followed) and must
stay inside the image folder, must be a regular file (a FIFO would block the read forever, a
device never ends) and at most :data:`MAX_IMAGE_BYTES` long, checked before a byte is read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from annstudy.data.fingerprints import file_sha256
from annstudy.data.splits import stratified_split

if TYPE_CHECKING:
    from annstudy.data.settings import DataSettings, ImageCsvSettings

NAME = "image_csv"
MIN_PER_CLASS = 3  # one image each for train, validation and test
MAX_IMAGE_BYTES = 64 * 2**20  # one image file; a 12-megapixel photo is under 10 MiB as JPEG
MAX_IMAGE_PIXELS = 50_000_000  # decoded: 50 megapixels (150 MB as RGB) before it is resized; a file's
# header says its size before any pixel is decoded, so a small file that would decode huge is refused


class ImageCsvError(ValueError):
    """The CSV or one of its images is unusable; the message names the file, row and problem."""


@dataclass(frozen=True)
class Row:
    number: int  # row number in the CSV file (header = 1)
    path: Path
    label: str


def _read_text(csv_path: Path) -> str:
    if not csv_path.is_file():
        raise ImageCsvError(f"{csv_path}: CSV file not found (data.image_csv.csv)")
    try:
        return csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ImageCsvError(f"{csv_path}: cannot read the CSV as UTF-8 text ({err})") from None


def _column(header: list[str], name: str, key: str, csv_path: Path) -> int:
    if name not in header:
        raise ImageCsvError(
            f"{csv_path}: row 1: unknown column {name!r} (data.image_csv.{key}); the header has {header}"
        )
    return header.index(name)


def _unique_header(header: list[str], csv_path: Path) -> None:
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ImageCsvError(f"{csv_path}: row 1: column {repeated[0]!r} appears more than once in the header")


def confined(image_dir: Path, name: str, where: str) -> Path:
    """``image_dir / name`` resolved (``..``, symlinks), refused unless it stays inside ``image_dir``."""
    root = image_dir.resolve()
    try:
        path = (image_dir / name).resolve()
    except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a NUL byte
        raise ImageCsvError(f"{where}: cannot resolve image path {name!r} ({err})") from None
    if not path.is_relative_to(root):
        raise ImageCsvError(f"{where}: image path {name!r} leaves the image folder {image_dir} (it is {path})")
    return path


def read_rows(csv_path: Path, image_dir: Path, filename_column: str, label_column: str) -> list[Row]:
    """The CSV's image rows (blank lines skipped), each with a file name and a non-empty label."""
    reader = csv.reader(io.StringIO(_read_text(csv_path), newline=""))
    rows: list[Row] = []
    try:
        header = [cell.strip() for cell in next(reader, [])]
        if not any(header):
            raise ImageCsvError(f"{csv_path}: row 1: empty; expected a header naming the columns")
        _unique_header(header, csv_path)
        file_col = _column(header, filename_column, "filename_column", csv_path)
        label_col = _column(header, label_column, "label_column", csv_path)
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            where = f"{csv_path}: row {number}"
            if len(cells) != len(header):
                raise ImageCsvError(f"{where}: expected {len(header)} cells like the header, found {len(cells)}")
            name, label = cells[file_col].strip(), cells[label_col].strip()
            if not name:
                raise ImageCsvError(f"{where}: empty {filename_column!r} cell")
            if not label:
                raise ImageCsvError(f"{where}: empty {label_column!r} cell (every image needs a class)")
            rows.append(Row(number, confined(image_dir, name, where), label))
    except csv.Error as err:
        raise ImageCsvError(f"{csv_path}: row {reader.line_num}: malformed CSV ({err})") from None
    if not rows:
        raise ImageCsvError(f"{csv_path}: no image rows below the header")
    return rows


def check_classes(rows: list[Row], csv_path: Path, label_column: str) -> list[str]:
    """Sorted class names; at least two classes and :data:`MIN_PER_CLASS` images in each."""
    labels = [r.label for r in rows]
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ImageCsvError(
            f"{csv_path}: label column {label_column!r} has a single class {classes[0]!r}; "
            "a classifier needs at least two"
        )
    for name in classes:
        members = [r.number for r in rows if r.label == name]
        if len(members) < MIN_PER_CLASS:
            raise ImageCsvError(
                f"{csv_path}: class {name!r} has only {len(members)} image(s) (rows {members}); each class "
                f"needs at least {MIN_PER_CLASS} (train, validation, test): add images or drop its rows"
            )
    return classes


def decode(row: Row, csv_path: Path, size: tuple[int, int], color: str) -> tuple[np.ndarray, bytes]:
    """(image as uint8 [H, W, C], the file's bytes) of one row."""
    where = f"{csv_path}: row {row.number}"
    data = read_image_file(row.path, where)
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 megapixels on opening: our own, lower cap refuses those in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ImageCsvError(
                    f"{where}: {row.path} is {image.width:,} x {image.height:,} pixels; an image may have at "
                    f"most {MAX_IMAGE_PIXELS:,} (resize it first)"
                )
            converted = image.convert("L" if color == "gray" else "RGB")
            resized = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(resized, dtype=np.uint8)
    except ImageCsvError:  # our own refusal above: already one line naming the row
        raise
    except Image.UnidentifiedImageError:
        raise ImageCsvError(f"{where}: {row.path} is not an image Pillow can read (PNG, JPEG, ...)") from None
    except Image.DecompressionBombError:  # over twice Pillow's limit: refused before its size is read back
        raise ImageCsvError(
            f"{where}: {row.path} has more than {MAX_IMAGE_PIXELS:,} pixels (resize it first)"
        ) from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageCsvError(f"{where}: {row.path} is not a readable image ({err})") from None
    return (array[..., None] if array.ndim == 2 else array), data


def read_image_file(path: Path, where: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_IMAGE_BYTES`, both checked before reading.

    Opened without blocking and checked on the open descriptor: a FIFO cannot hang the open,
    and a file swapped after a check cannot slip past it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImageCsvError(f"{where}: image file {path} not found") from None
    except (OSError, ValueError) as err:  # a folder, a name too long or with a NUL byte, ...
        raise ImageCsvError(f"{where}: cannot read image file {path} ({err})") from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file (a folder, FIFO, device or socket)"
    elif info.st_size > MAX_IMAGE_BYTES:
        problem = f"is {info.st_size / 2**20:,.0f} MiB; an image file may be at most {MAX_IMAGE_BYTES // 2**20} MiB"
    if problem is not None:
        os.close(fd)
        raise ImageCsvError(f"{where}: {path} {problem}")
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read(MAX_IMAGE_BYTES)
        except OSError as err:
            raise ImageCsvError(f"{where}: cannot read image file {path} ({err})") from None


def physical_memory() -> int:
    """Bytes of RAM on this machine (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory(n_images: int, shape: tuple[int, int, int], csv_path: Path, available: int | None = None) -> str:
    """The memory ``n_images`` images of ``shape`` need, as one line; an error when it exceeds the RAM.

    Prepare holds them as uint8 (1 byte a value), training as float32 (4 bytes) on top.
    """
    values = n_images * shape[0] * shape[1] * shape[2]
    need = values * 5
    line = (
        f"{csv_path}: {n_images:,} images of {shape[0]}x{shape[1]}x{shape[2]}: {values / 2**20:,.0f} MiB as uint8, "
        f"{values * 4 / 2**20:,.0f} MiB more as float32 in training"
    )
    available = physical_memory() if available is None else available
    if available and need > available:
        raise ImageCsvError(
            f"{line}; this machine has {available / 2**30:,.1f} GiB: lower data.image_csv.image_size or use fewer rows"
        )
    return line


def split_indices(labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int):
    """Stratified (train, val, test) indices: test from everything, then val from the rest."""
    rest, test = stratified_split(labels, test_fraction, seed, "data.image_csv.test_fraction")
    train, val = stratified_split(labels[rest], val_fraction, seed, "data.val_fraction")
    return rest[train], rest[val], test


def inputs(settings: DataSettings) -> dict:
    """The CSV and the SHA-256 of it and of every image it names (data/inputs.py): a changed label or
    image changes the fingerprint, an unrelated file in the folder does not."""
    cfg = settings.image_csv
    if cfg.csv is None:
        return {"csv": None}
    csv_path = Path(cfg.csv)
    image_dir = Path(cfg.image_dir) if cfg.image_dir is not None else csv_path.parent
    images = {}
    for row in read_rows(csv_path, image_dir, cfg.filename_column, cfg.label_column):
        data = read_image_file(row.path, f"{csv_path}: row {row.number}")
        images[str(row.path.relative_to(image_dir.resolve()))] = hashlib.sha256(data).hexdigest()
    return {"csv": str(csv_path), "csv_sha256": file_sha256(csv_path), "image_dir": str(image_dir), "images": images}


def prepare(settings: DataSettings) -> tuple[dict[str, torch.Tensor], dict]:
    """CSV + images -> (tensors, meta) in the :mod:`annstudy.data.prepared` layout."""
    cfg: ImageCsvSettings = settings.image_csv
    if cfg.csv is None:
        raise ImageCsvError("data.image_csv.csv: must be set to use the dataset image_csv")
    csv_path = Path(cfg.csv)
    image_dir = Path(cfg.image_dir) if cfg.image_dir is not None else csv_path.parent
    if not image_dir.is_dir():
        raise ImageCsvError(f"data.image_csv.image_dir: directory {image_dir} does not exist")
    rows = read_rows(csv_path, image_dir, cfg.filename_column, cfg.label_column)
    classes = check_classes(rows, csv_path, cfg.label_column)
    index = {name: i for i, name in enumerate(classes)}
    memory = check_memory(len(rows), cfg.image_shape, csv_path)
    if len(rows) * cfg.image_shape[0] * cfg.image_shape[1] * cfg.image_shape[2] * 5 > 2**30:
        print(memory, flush=True)  # a large input says what it will cost before the long decode

    images, digest = [], hashlib.sha256()
    for row in tqdm(rows, desc="decode images", unit="img", mininterval=2.0, disable=len(rows) < 1000):
        array, data = decode(row, csv_path, cfg.image_size, cfg.color)
        images.append(array)
        digest.update(hashlib.sha256(data).digest())
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # [N, C, H, W] uint8
    y = torch.tensor([index[r.label] for r in rows], dtype=torch.int64)

    train, val, test = split_indices(y.numpy(), cfg.test_fraction, settings.val_fraction, settings.split_seed)
    tensors = {}
    for split, idx in (("train", train), ("val", val), ("test", test)):
        tensors[f"x_{split}"], tensors[f"y_{split}"] = x[idx], y[idx]
    meta = {
        "name": NAME,
        "source": f"{csv_path} (images in {image_dir})",
        "classes": classes,
        "class_counts": {name: int((y == i).sum()) for i, name in enumerate(classes)},
        "image_shape": list(cfg.image_shape),
        "color": cfg.color,
        "columns": {"filename": cfg.filename_column, "label": cfg.label_column},
        "sizes": {s: int(len(tensors[f"y_{s}"])) for s in ("train", "val", "test")},
        "split": {
            "seed": settings.split_seed,
            "val_fraction": settings.val_fraction,
            "test_fraction": cfg.test_fraction,
            "val_per_class": len(val) // len(classes),
            "test_per_class": len(test) // len(classes),
        },
        "sha256": {
            csv_path.name: hashlib.sha256(csv_path.read_bytes()).hexdigest(),
            f"{len(rows)} images (SHA-256 of their SHA-256s in CSV order)": digest.hexdigest(),
        },
        "scaling": {"scale": 2.0 / 255.0, "offset": -1.0, "description": "uint8 x -> x/127.5 - 1 in [-1, 1]"},
    }
    return tensors, meta

"""Hostile inputs (issue 18, probes 3 and 5): every one stops with one line naming the file and row."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from annstudy.data import image_csv
from annstudy.data.image_csv import ImageCsvError, read_image_file
from annstudy.params.settings import validate
from helpers.image_folders import data_settings, rewrite, write_insects


def _row(csv_path: Path, name: str, at: int = 1) -> None:
    """Replace the file name of CSV row ``at + 1`` (row 1 is the header) by ``name``."""

    def edit(lines: list[str]) -> list[str]:
        cells = lines[at].split(",")
        return [*lines[:at], ",".join([name, *cells[1:]]), *lines[at + 1 :]]

    rewrite(csv_path, edit)


def _refused(csv_path: Path, pattern: str, **kw) -> str:
    with pytest.raises(ImageCsvError) as err:
        image_csv.prepare(data_settings(csv_path, **kw))
    message = str(err.value)
    assert "\n" not in message and re.search(pattern, message), message
    return message


@pytest.fixture
def insects(tmp_path) -> Path:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "private.png").write_bytes(b"\x89PNG not an image")
    return write_insects(tmp_path / "insects")


@pytest.mark.parametrize("name", ["../secret/private.png", "sub/../../secret/private.png", "/etc/passwd", "/dev/zero"])
def test_a_path_outside_the_image_folder_is_refused_before_reading(insects, name):
    _row(insects, name)
    _refused(insects, rf"labels.csv: row 2: image path '{re.escape(name)}' leaves the image folder .*insects")


def test_a_symlink_out_of_the_folder_is_refused_one_inside_is_read(insects, tmp_path):
    (insects.parent / "escape.png").symlink_to(tmp_path / "secret/private.png")
    (insects.parent / "alias.jpg").symlink_to(insects.parent / "bee_0.jpg")
    _row(insects, "alias.jpg", at=1)
    tensors, meta = image_csv.prepare(data_settings(insects))
    assert sum(meta["sizes"].values()) == 30
    _row(insects, "escape.png", at=3)
    _refused(insects, r"row 4: image path 'escape.png' leaves the image folder")


def test_a_fifo_is_refused_without_blocking(insects):
    os.mkfifo(insects.parent / "pipe.png")
    _row(insects, "pipe.png", at=2)
    _refused(insects, r"row 3: .*pipe.png is not a regular file")


def test_a_folder_and_a_device_are_not_regular_files(insects):
    (insects.parent / "folder.png").mkdir()
    _row(insects, "folder.png")
    _refused(insects, r"row 2: .*folder.png")
    with pytest.raises(ImageCsvError, match=r"^here: /dev/zero is not a regular file"):
        read_image_file(Path("/dev/zero"), "here")


def test_the_size_cap_is_checked_before_reading(insects, monkeypatch):
    size = (insects.parent / "ant_1.png").stat().st_size
    monkeypatch.setattr(image_csv, "MAX_IMAGE_BYTES", size - 1)
    message = _refused(insects, r"row \d+: .*\.(png|jpg) is 0 MiB; an image file may be at most 0 MiB")
    assert message.startswith(str(insects))
    monkeypatch.setattr(image_csv, "MAX_IMAGE_BYTES", 64 * 2**20)
    assert len(read_image_file(insects.parent / "ant_1.png", "here")) == size


def test_a_repeated_header_column_is_refused(insects):
    rewrite(insects, lambda ls: [ls[0].replace("notes", "species"), *ls[1:]])
    _refused(insects, r"labels.csv: row 1: column 'species' appears more than once in the header")


def test_a_file_that_is_no_image_is_named_without_python_object_reprs(insects):
    (insects.parent / "ant_1.png").write_text("hello, not an image\n")
    message = _refused(insects, r"row \d+: .*ant_1.png is not an image Pillow can read")
    assert "BytesIO" not in message and "<" not in message


def test_an_image_size_beyond_memory_is_refused_at_validation(params):
    params["data"]["image_csv"]["image_size"] = [100000, 100000]
    assert validate(params) == [
        "data.image_csv.image_size: item 0: must be at most 2048 pixels, got 100000 "
        "(one 100000 x 100000 image is 37.3 GiB as float32)"
    ]
    params["data"]["image_csv"]["image_size"] = [2048, 64]
    assert validate(params) == []


def test_the_memory_of_a_large_input_is_stated_and_checked(tmp_path):
    line = image_csv.check_memory(60_000, (1, 28, 28), tmp_path / "labels.csv", available=2**33)
    assert line.endswith("labels.csv: 60,000 images of 1x28x28: 45 MiB as uint8, 179 MiB more as float32 in training")
    with pytest.raises(ImageCsvError, match=r"1,000,000 images of 3x512x512: .*this machine has 8.0 GiB"):
        image_csv.check_memory(1_000_000, (3, 512, 512), tmp_path / "labels.csv", available=2**33)


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda d: (d / "tensors.pt").write_bytes(b""), r"tensors.pt: damaged \(.*\); rebuild it with `dvc repro -f"),
        (
            lambda d: (d / "tensors.pt").write_bytes((d / "tensors.pt").read_bytes()[:500]),
            r"tensors.pt: damaged \(.*\); rebuild it with `dvc repro -f prepare@fashion_mnist`",
        ),
        (
            lambda d: (d / "meta.json").write_text("{not json"),
            r"meta.json: damaged \(not valid JSON \(Expecting property name",
        ),
        (lambda d: (d / "meta.json").write_bytes(b"\xff\xfe"), r"meta.json: damaged \(.*utf-8"),
        (lambda d: (d / "meta.json").write_text("[]"), r"meta.json: damaged \(not the meta.json of a prepared"),
    ],
)
def test_a_damaged_prepared_dataset_is_named_with_its_fix(tmp_path, damage, expected):
    from annstudy.data.prepared import PreparedDataError, load_prepared
    from conftest import write_prepared_blobs

    write_prepared_blobs(tmp_path, "fashion_mnist", size=8, n_per_class=4)
    folder = tmp_path / "data/prepared/fashion_mnist"
    damage(folder)
    with pytest.raises(PreparedDataError, match=expected) as err:
        load_prepared(folder)
    assert str(err.value).startswith(str(folder)) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x,y\n0,1\n1,1e39\n", r"xy.csv: row 3: y=1e39 overflows float32, the training precision"),
        ("x,y\n-4e38,1\n1,2\n", r"xy.csv: row 2: x=-4e38 overflows float32"),
        ("x,x,y\n0,0,1\n1,1,2\n", r"xy.csv: row 1: column x appears more than once"),
        ("x,y\n0,1\n1\n", r"xy.csv: row 3: x and y must be numbers, got \['1'\]"),
    ],
)
def test_regression_csv_problems_name_the_row(tmp_path, text, expected):
    from annstudy.data.synthetic import read_xy_csv

    path = tmp_path / "xy.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_xy_csv(path)


def test_a_regression_csv_that_is_not_utf8_is_named(tmp_path):
    from annstudy.data.synthetic import read_xy_csv

    path = tmp_path / "xy.csv"
    path.write_bytes(b"x,y\n0,\xe91\n1,2\n")
    with pytest.raises(ValueError, match=r"xy.csv: not UTF-8 text \(byte 6: invalid continuation byte\)"):
        read_xy_csv(path)


def test_a_memory_error_is_one_line(capsys):
    from annstudy.pipeline.errors import guarded

    def work() -> int:
        raise MemoryError

    assert guarded(work) == 2
    assert capsys.readouterr().err == (
        "error: out of memory; lower the sizes in params.yaml (data, batch sizes) or use a larger machine\n"
    )


def test_an_image_csv_that_is_not_utf8_is_named(insects):
    insects.write_bytes(insects.read_bytes().replace(b"field photo", b"f\xe9ld photo"))
    _refused(insects, r"labels.csv: cannot read the CSV as UTF-8 text")


def test_an_image_of_too_many_pixels_is_one_line_before_decoding(insects, monkeypatch):
    import warnings

    from PIL import Image

    big = insects.parent / "ant_1.png"
    Image.new("L", (12_000, 12_000)).save(big)  # 144 megapixels, a small PNG: Pillow warns of a bomb
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw DecompressionBombWarning reaches the user
        message = _refused(insects, r"row \d+: .*ant_1.png is 12,000 x 12,000 pixels; an image may have at most")
    assert message.endswith("50,000,000 (resize it first)")


def test_a_failed_download_says_no_network_on_one_line():
    from annstudy.data.fashion_mnist import download_cause

    torchvision = RuntimeError(
        "Error downloading train-images-idx3-ubyte.gz:\nTried https://ossci-datasets.s3.amazonaws.com/, got:\n"
        "<urlopen error [Errno -3] Temporary failure in name resolution>\n"
    )
    assert download_cause(torchvision) == "no network: <urlopen error [Errno -3] Temporary failure in name resolution>"
    assert download_cause(RuntimeError("File not found or corrupted.")) == "File not found or corrupted."

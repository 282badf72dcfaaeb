"""Hostile inputs (issue 18, probes 3 and 5): every one stops with one line naming the file and row."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from annstudy.data import image_csv
from annstudy.data.image_csv import ImageCsvError, read_image_file
from test_image_csv import data_settings, rewrite, write_insects


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

"""Raw data integrity, the IDX reader, the stratified split and the prepared format."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from annstudy.data import fashion_mnist as fm
from annstudy.data.idx import IdxError, parse_idx
from annstudy.data.prepared import load_prepared, save_prepared
from annstudy.data.settings import DataSettings
from annstudy.data.splits import stratified_split
from conftest import FASHION_MIRROR, needs_fashion
from helpers.mirrors import fake_mirror, idx_bytes


def test_idx_round_trip_and_errors():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(images)
    assert np.array_equal(parse_idx(data), images)
    with pytest.raises(IdxError, match="expected 40 bytes .* found 39"):
        parse_idx(data[:-1], "x")
    with pytest.raises(IdxError, match="bad magic"):
        parse_idx(b"\x01" + data[1:], "x")


def test_stratified_split_equal_per_class_disjoint_and_seeded():
    labels = np.repeat(np.arange(10), 100)[np.random.default_rng(1).permutation(1000)]
    train, val = stratified_split(labels, 0.1, seed=0)
    assert len(val) == 100 and len(train) == 900
    assert np.bincount(labels[val]).tolist() == [10] * 10
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(1000))
    again, _ = stratified_split(labels, 0.1, seed=0)
    assert np.array_equal(train, again)
    other_train, other_val = stratified_split(labels, 0.1, seed=1)
    assert not np.array_equal(val, other_val)


def test_split_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match="data.val_fraction"):
        stratified_split(np.array([0, 0, 1, 1]), 0.1, seed=0)


def data_settings(mirror, tmp_path) -> DataSettings:
    return DataSettings(str(mirror), str(tmp_path / "dl"), split_seed=0, val_fraction=0.1)


@pytest.mark.parametrize("compress", [True, False])
def test_prepare_from_mirror(tmp_path, monkeypatch, compress):
    mirror, arrays = fake_mirror(tmp_path / "m", monkeypatch, compress)
    tensors, meta = fm.prepare(data_settings(mirror, tmp_path))
    assert meta["sizes"] == {"train": 180, "val": 20, "test": 50}
    assert torch.bincount(tensors["y_val"]).tolist() == [2] * 10
    assert tensors["x_train"].dtype == torch.uint8 and tensors["x_train"].shape == (180, 1, 28, 28)
    save_prepared(tmp_path / "out", tensors, meta)
    data = load_prepared(tmp_path / "out")
    assert data.train.x.min() >= -1 and data.train.x.max() <= 1
    assert data.train.x.dtype == torch.float32 and len(data.test) == 50
    # scaling is exactly x/127.5 - 1 on the stored bytes
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float() / 127.5 - 1
    assert (data.test.x[:, 0] - expected).abs().max() < 1e-6, (data.test.x[:, 0] - expected).abs().max()


def test_flipped_byte_names_file_and_both_checksums(tmp_path, monkeypatch):
    mirror, _ = fake_mirror(tmp_path / "m", monkeypatch, compress=False)
    target = mirror / "train-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[20] ^= 0xFF
    target.write_bytes(bytes(data))
    found = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(fm.DataIntegrityError) as err:
        fm.prepare(data_settings(mirror, tmp_path))
    message = str(err.value)
    assert str(target) in message and found in message and fm.SHA256["train-labels-idx1-ubyte"] in message


def test_truncated_gzip_and_missing_file(tmp_path, monkeypatch):
    mirror, _ = fake_mirror(tmp_path / "m", monkeypatch)
    gz = mirror / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:100])
    with pytest.raises(fm.DataIntegrityError, match="t10k-images-idx3-ubyte.gz: cannot decompress"):
        fm.prepare(data_settings(mirror, tmp_path))
    gz.unlink()
    with pytest.raises(fm.DataIntegrityError, match="missing t10k-images-idx3-ubyte"):
        fm.prepare(data_settings(mirror, tmp_path))
    with pytest.raises(fm.DataIntegrityError, match="does not exist"):
        fm.prepare(data_settings(tmp_path / "nowhere", tmp_path))


def test_load_prepared_missing_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the prepare stage"):
        load_prepared(tmp_path)


@needs_fashion
def test_real_fashion_mnist_contents():
    tensors, meta = fm.prepare(DataSettings("auto", "unused", split_seed=0, val_fraction=0.1))
    assert meta["source"] == str(FASHION_MIRROR)
    assert meta["sizes"] == {"train": 54_000, "val": 6_000, "test": 10_000}
    assert torch.bincount(tensors["y_val"]).tolist() == [600] * 10
    assert torch.bincount(tensors["y_test"]).tolist() == [1000] * 10


def test_stratified_head_takes_the_first_of_every_class_equally():
    from annstudy.data.splits import stratified_head

    labels = np.array([0, 0, 0, 1, 2, 2, 1, 0, 1, 2, 2, 1])
    head = stratified_head(labels, 7)  # 7 = 3 classes x 2 + 1 extra for class 0
    assert head.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert np.bincount(labels[head]).tolist() == [3, 2, 2]
    assert stratified_head(labels, 6).tolist() == [0, 1, 3, 4, 5, 6]
    assert stratified_head(labels, 0).tolist() == list(range(12))
    assert stratified_head(labels, 50).tolist() == list(range(12))

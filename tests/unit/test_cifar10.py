"""cifar10_gray: a tiny archive in the real CIFAR-10 python layout, prepared and trained on.

The archive holds 4 images per class in each of the 5 training batches and the test batch
(pickled dicts with ``data`` uint8 [N, 3072], ``labels``, as the real one); the module's
MD5 constants are pointed at it, since the real checksums belong to the real files.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from annstudy.cli import main
from annstudy.data import cifar10
from annstudy.data.fashion_mnist import DataIntegrityError
from annstudy.data.prepared import load_prepared
from annstudy.data.settings import DataSettings
from annstudy.engine.seeds import train_seeds
from annstudy.engine.settings import TrainSettings

CLASSES = [f"class{i}" for i in range(10)]
PER_CLASS = 4  # per batch


def _batch(seed: int) -> dict:
    """PER_CLASS images per class; class c is bright in its own band of rows (learnable), noise elsewhere."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), PER_CLASS)
    images = rng.integers(0, 80, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, :, 3 * c : 3 * c + 3, :] = 230
    return {
        b"batch_label": b"tiny",
        b"labels": labels.tolist(),
        b"data": images.reshape(len(labels), -1),
        b"filenames": [f"img{i}.png".encode() for i in range(len(labels))],
    }


def _files() -> dict[str, bytes]:
    files = {name: pickle.dumps(_batch(i)) for i, name in enumerate([*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH])}
    files[cifar10.META_FILE] = pickle.dumps({b"label_names": [c.encode() for c in CLASSES], b"num_vis": 3072})
    return files


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> dict[str, Path]:
    """``archive``: a directory with cifar-10-python.tar.gz; ``folder``: one with cifar-10-batches-py/."""
    files = _files()
    archive_dir, folder_dir = tmp_path / "archive", tmp_path / "folder"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / cifar10.ARCHIVE, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    (folder_dir / cifar10.FOLDER).mkdir(parents=True)
    for name, blob in files.items():
        (folder_dir / cifar10.FOLDER / name).write_bytes(blob)
    archive_md5 = hashlib.md5((archive_dir / cifar10.ARCHIVE).read_bytes()).hexdigest()
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", archive_md5)
    monkeypatch.setattr(cifar10, "FILE_MD5", {n: hashlib.md5(b).hexdigest() for n, b in files.items()})
    return {"archive": archive_dir, "folder": folder_dir}


def cifar_settings(mirror, download_root) -> DataSettings:
    return DataSettings(
        mirror=None, download_root=str(download_root), split_seed=0, val_fraction=0.1, cifar10_mirror=str(mirror)
    )


@pytest.mark.parametrize("source", ["archive", "folder"])
def test_prepare_splits_and_shapes(tiny, tmp_path, source):
    tensors, meta = cifar10.prepare(cifar_settings(tiny[source], tmp_path / "raw"))
    n_train = 5 * 10 * PER_CLASS
    assert meta["sizes"] == {"train": n_train - 20, "val": 20, "test": 10 * PER_CLASS}
    assert meta["split"]["val_per_class"] == 2 and meta["classes"] == CLASSES
    assert torch.bincount(tensors["y_val"]).tolist() == [2] * 10  # stratified, equal per class
    assert tensors["x_train"].shape == (n_train - 20, 1, 32, 32) and tensors["x_train"].dtype == torch.float32
    assert meta["image_shape"] == [1, 32, 32]


def test_transform_matches_torchvision():
    from PIL import Image
    from torchvision import transforms

    images = _batch(0)[b"data"].reshape(-1, 3, 32, 32)[:5]
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Grayscale(), transforms.Normalize(0.5, 0.5)])
    expected = torch.stack([pipeline(Image.fromarray(img.transpose(1, 2, 0))) for img in images])
    assert torch.allclose(cifar10.to_gray(images), expected, atol=1e-5)


def test_gray_values_span_minus_one_to_one():
    """studies.md: inputs in [-1, 1], cifar10_gray after its gray conversion (black -1, white ~1)."""
    black_white = np.stack([np.zeros((3, 32, 32), np.uint8), np.full((3, 32, 32), 255, np.uint8)])
    gray = cifar10.to_gray(black_white)
    assert gray[0].eq(-1).all() and gray[1].sub(0.9998).abs().max() < 1e-4  # weights sum to 0.9999
    gray = cifar10.to_gray(_batch(0)[b"data"].reshape(-1, 3, 32, 32))
    assert gray.min() >= -1 and gray.max() <= 1 and gray.min() < -0.5 and gray.max() > 0.5


def test_wrong_md5_names_file_expected_and_found(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", "0" * 32)
    with pytest.raises(DataIntegrityError, match=r"cifar-10-python\.tar\.gz: MD5 is [0-9a-f]{32}, expected 0{32}"):
        cifar10.prepare(cifar_settings(str(tiny["archive"]), tmp_path))
    monkeypatch.setattr(cifar10, "FILE_MD5", {**cifar10.FILE_MD5, "data_batch_3": "f" * 32})
    with pytest.raises(DataIntegrityError, match=r"data_batch_3: MD5 is .*, expected f{32}"):
        cifar10.prepare(cifar_settings(str(tiny["folder"]), tmp_path))


def test_offline_without_mirror_says_how_to_provide_the_data(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("Could not resolve host: www.cs.toronto.edu")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataIntegrityError, match="could not download CIFAR-10.*set data.cifar10_mirror"):
        cifar10.prepare(cifar_settings("auto", tmp_path / "raw"))
    with pytest.raises(DataIntegrityError, match="holds neither cifar-10-python.tar.gz nor cifar-10-batches-py"):
        cifar10.prepare(cifar_settings(str(tmp_path), tmp_path / "raw"))


def test_cli_prepare_and_a_short_training(tiny, params, tmp_path, monkeypatch, capsys):
    """`annstudy prepare cifar10_gray` from the mirror, then S1-style training learns above chance."""
    monkeypatch.chdir(tmp_path)
    params["data"]["cifar10_mirror"] = str(tiny["archive"])
    params["studies"]["architectures"]["dataset"] = "cifar10_gray"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert main(["prepare", "cifar10_gray"]) == 0
    assert "prepared cifar10_gray from" in capsys.readouterr().out
    data = load_prepared("data/prepared/cifar10_gray")
    assert data.image_shape == (1, 32, 32) and len(data.test) == 40
    cfg = TrainSettings(
        optimizer="adam",
        lr=3e-3,
        momentum=0.0,
        batch_size=20,
        eval_batch_size=100,
        seeds=(0, 1),
        epochs=8,
        log_every=9,
        val_subset=0,
        train_limit=0,
        train_eval_subset=0,
        vectorize=True,
    )
    for arch in ("mlp_1", "cnn_4"):
        runs = train_seeds(arch, data, cfg)
        assert all(r.epochs[-1]["val_acc"] > 0.3 for r in runs), (arch, [r.epochs[-1] for r in runs])  # chance 0.1


def test_cli_prepare_offline_is_one_clear_error(params, tmp_path, monkeypatch, capsys):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert main(["prepare", "cifar10_gray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: could not download CIFAR-10") and "cifar10_mirror" in err[0]

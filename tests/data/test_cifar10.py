"""CIFAR-10 on small python-format batches written here."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.data import CIFAR10DataModule
from ganlab.data import cifar10 as cifar_module
from ganlab.errors import DataError


def write_batch(path: Path, data: np.ndarray, labels: list[int]) -> None:
    with path.open("wb") as handle:
        pickle.dump({b"batch_label": b"x", b"data": data, b"labels": labels}, handle)


def write_cifar(folder: Path, per_batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Five train batches and a test batch; returns the train images and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for i in range(1, 6):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, per_batch)]
        write_batch(folder / f"data_batch_{i}", data, y)
        images.append(data)
        labels += y
    write_batch(folder / "test_batch", np.full((3, 3072), 7, np.uint8), [1, 2, 3])
    return np.concatenate(images).reshape(-1, 3, 32, 32), np.array(labels)


@pytest.fixture
def offline(monkeypatch):
    def fail(root):
        raise OSError("no network in tests")

    monkeypatch.setattr(cifar_module, "torchvision_download", fail)


def test_reads_official_layout(tmp_path, offline):
    images, labels = write_cifar(tmp_path / "cifar-10-batches-py")
    dm = CIFAR10DataModule(root=str(tmp_path), batch_size=5)
    assert (dm.name, dm.shape, dm.num_classes) == ("cifar10", (3, 32, 32), 10)
    dm.setup()
    assert dm.images.dtype == torch.uint8 and dm.images.shape == (20, 3, 32, 32)
    assert torch.equal(dm.images, torch.from_numpy(images))
    assert dm.labels.tolist() == labels.tolist()
    x, y = dm.real_images("test")
    assert x.shape == (3, 3, 32, 32) and (x == 7).all() and y.tolist() == [1, 2, 3]
    xb, _ = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert xb.shape == (5, 3, 32, 32) and xb.dtype == torch.float32
    assert xb.min() >= -1 and xb.max() <= 1


def test_root_may_be_the_batches_folder_and_grey_conversion(tmp_path, offline):
    write_cifar(tmp_path)
    dm = CIFAR10DataModule(root=str(tmp_path), channels=1, resolution=16, limit=6, batch_size=2)
    dm.setup()
    assert dm.shape == (1, 16, 16) and dm.images.shape == (6, 1, 16, 16)


def test_missing_reports_paths_and_download_reason(tmp_path, offline):
    with pytest.raises(DataError) as info:
        CIFAR10DataModule(root=str(tmp_path)).setup()
    message = str(info.value)
    assert f"{tmp_path}/cifar-10-batches-py" in message and "data_batch_1" in message
    assert "no network in tests" in message


def test_damaged_batch_names_the_file(tmp_path, offline):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(
        DataError, match=rf"{re.escape(str(folder / 'data_batch_3'))} is not readable"
    ):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    write_batch(folder / "data_batch_3", np.zeros((4, 100), np.uint8), [0] * 4)
    with pytest.raises(DataError, match=r"data_batch_3 has no uint8 \[N, 3072\]"):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    write_batch(folder / "data_batch_3", np.zeros((4, 3072), np.uint8), [0] * 3)
    with pytest.raises(DataError, match="4 images but 3 labels"):
        CIFAR10DataModule(root=str(tmp_path)).setup()

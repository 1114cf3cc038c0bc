"""Fashion-MNIST from the Debian package's files, and the lookup order when files are missing."""

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from ganlab.data import FashionMNISTDataModule
from ganlab.data import mnist as mnist_module
from ganlab.data.mnist import FASHION_MNIST_SYSTEM_ROOT
from ganlab.errors import DataError

SYSTEM = Path(FASHION_MNIST_SYSTEM_ROOT)
needs_system_files = pytest.mark.skipif(
    not (SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed",
)


@pytest.fixture(scope="module")
def fashion() -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(root=None)
    dm.setup()
    return dm


def test_constructor_is_cheap_and_knows_shape(tmp_path):
    dm = FashionMNISTDataModule(root=str(tmp_path / "nowhere"), resolution=32, resize="pad")
    assert dm.shape == (1, 32, 32)
    assert dm.num_classes == 10
    assert dm.name == "fashion_mnist"
    assert dm.images is None


@needs_system_files
def test_train_split_from_system_files(fashion):
    assert fashion.images.shape == (60000, 1, 28, 28)
    assert fashion.images.dtype == torch.uint8 and fashion.images.is_contiguous()
    assert fashion.labels.dtype == torch.int64
    assert torch.bincount(fashion.labels).tolist() == [6000] * 10
    assert fashion.images.max() == 255 and fashion.images.min() == 0


@needs_system_files
def test_test_split_from_system_files(fashion):
    x, y = fashion.real_images("test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [1000] * 10
    x5, y5 = fashion.real_images("test", n=5)
    assert torch.equal(x5, x[:5]) and torch.equal(y5, y[:5])


@needs_system_files
def test_batch_after_transfer_is_unit_range(fashion):
    x, y = next(iter(fashion.train_dataloader()))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.uint8
    xf, yf = fashion.on_after_batch_transfer((x, y), 0)
    assert xf.dtype == torch.float32 and xf.shape == (64, 1, 28, 28)
    assert xf.min() >= -1.0 and xf.max() <= 1.0
    assert ((yf >= 0) & (yf <= 9)).all()


@needs_system_files
def test_limit_pad_and_bilinear(fashion):
    padded = FashionMNISTDataModule(resolution=32, resize="pad", limit=100)
    padded.setup()
    assert padded.images.shape == (100, 1, 32, 32) and padded.images.dtype == torch.uint8
    assert torch.equal(padded.images[:, :, 2:30, 2:30], fashion.images[:100])
    assert padded.images[:, :, :2].sum() == 0 and padded.images[:, :, :, 30:].sum() == 0
    assert torch.equal(padded.labels, fashion.labels[:100])

    big = FashionMNISTDataModule(resolution=64, limit=100)
    big.setup()
    assert big.shape == (1, 64, 64)
    assert big.images.shape == (100, 1, 64, 64) and big.images.dtype == torch.uint8
    assert abs(big.images.float().mean() - fashion.images[:100].float().mean()) < 2.0
    assert big.real_images("test", n=3)[0].shape == (3, 1, 64, 64)


@needs_system_files
def test_root_in_torchvision_layout_wins_over_system(tmp_path, fashion):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        with gzip.open(SYSTEM / f"{stem}.gz") as src, (raw / stem).open("wb") as dst:
            shutil.copyfileobj(src, dst)  # plain (decompressed) copies
    dm = FashionMNISTDataModule(root=str(tmp_path), system_root=str(tmp_path / "empty"), limit=8)
    dm.setup()
    assert torch.equal(dm.images, fashion.images[:8])


def test_missing_everywhere_names_all_three_ways(tmp_path, monkeypatch):
    def offline(dataset, root):
        raise OSError("network is unreachable")

    monkeypatch.setattr(mnist_module, "torchvision_download", offline)
    root, system = tmp_path / "root", tmp_path / "system"
    root.mkdir()
    system.mkdir()
    dm = FashionMNISTDataModule(root=str(root), system_root=str(system))
    with pytest.raises(DataError) as info:
        dm.setup()
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert f"{root}/FashionMNIST/raw" in message
    assert str(system) in message
    assert "sudo apt-get install dataset-fashion-mnist" in message and "make data" in message
    assert "network is unreachable" in message


def test_download_is_the_last_resort(tmp_path, monkeypatch):
    """When root and system folder lack the files, the download fills root's raw/ folder."""
    calls = []

    def fake_download(dataset, root):
        calls.append((dataset, root))
        raw = root / dataset / "raw"
        raw.mkdir(parents=True)
        _write_tiny_set(raw)

    monkeypatch.setattr(mnist_module, "torchvision_download", fake_download)
    dm = FashionMNISTDataModule(root=str(tmp_path), system_root=None, batch_size=2)
    dm.setup()
    assert calls == [("FashionMNIST", tmp_path)]
    assert dm.images.shape == (4, 1, 28, 28)
    assert dm.labels.tolist() == [0, 1, 2, 3]


def _write_tiny_set(folder: Path) -> None:
    images = bytes(range(4)) * (28 * 28)
    header = (0x803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (4, 28, 28))
    (folder / "train-images-idx3-ubyte").write_bytes(header + images)
    labels = (0x801).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes([0, 1, 2, 3])
    (folder / "train-labels-idx1-ubyte").write_bytes(labels)

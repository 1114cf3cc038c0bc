"""StackedMNIST: three independently drawn digits as the R, G and B channels, 1,000 classes.

The mode-coverage benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):
a sample's class is 100 r + 10 g + b of its channels' digits, so a generator that covers the
data has 1,000 modes to find. The stacks are drawn once from a generator seeded with ``seed``
(the training set; the test set with ``seed + 1`` from the source's held-out digits), so every
run, rank and resume sees the same data. The digits come from ``mnist_5k`` (offline, 5,000
real digits) or the full ``mnist`` IDX files.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from ganlab.data.memory import InMemoryImageDataModule, check_split
from ganlab.data.mnist import MNISTDataModule
from ganlab.data.mnist_5k import MNIST5kDataModule
from ganlab.errors import DataError

SOURCES = ("mnist_5k", "mnist")


def stack_digits(images: Tensor, labels: Tensor, count: int, seed: int) -> tuple[Tensor, Tensor]:
    """``count`` stacks of three digits drawn uniformly with replacement: uint8 ``[count, 3,
    H, W]`` images and their classes ``100 r + 10 g + b``."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(images), (count, 3), generator=generator)
    stacked = images[picks, 0]  # [count, 3, H, W]: channel j is digit picks[:, j]
    digits = labels[picks]
    return stacked.contiguous(), digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


class StackedMNISTDataModule(InMemoryImageDataModule):
    """StackedMNIST from ``source`` digits: ``num_samples`` training and ``test_samples``
    held-out stacks, 3 channels, 1,000 classes."""

    name: ClassVar[str] = "stacked_mnist"
    native_resolution: ClassVar[int] = 28
    native_channels: ClassVar[int] = 3
    native_num_classes: ClassVar[int] = 1000

    def __init__(
        self,
        source: str = "mnist_5k",
        root: str | None = None,
        file: str | None = None,
        num_samples: int = 128000,
        test_samples: int = 26000,
        seed: int = 0,
        batch_size: int = 64,
        resolution: int = 28,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(root, batch_size, resolution, resize, limit, num_workers, None)
        if source not in SOURCES:
            raise DataError(f"data.source: {source!r} is not one of {', '.join(SOURCES)}")
        for field, value in (("num_samples", num_samples), ("test_samples", test_samples)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise DataError(f"data.{field}: expected an integer >= 1, got {value!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise DataError(f"data.seed: expected an integer, got {seed!r}")
        self.source = source
        self.file = file
        self.num_samples = num_samples
        self.test_samples = test_samples
        self.seed = seed

    def digits(self) -> InMemoryImageDataModule:
        """The source digits at this resolution: the data the modes' classifier is trained on."""
        if self.source == "mnist":
            return MNISTDataModule(root=self.root, resolution=self.resolution, resize=self.resize)
        return MNIST5kDataModule(file=self.file, resolution=self.resolution, resize=self.resize)

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Stack the source's digits of ``split``: the same stacks for the same seed."""
        check_split(split, type(self).__name__)
        images, labels = self.digits().load_split(split)
        count = self.num_samples if split == "train" else self.test_samples
        return stack_digits(images, labels, count, self.seed + (split != "train"))

"""scikit-learn's bundled 8x8 digits: a real labelled image set that needs no download.

Useful for smoke tests and CPU-only experiments; images are upsampled to `resolution` once.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from ganlab.data.memory import InMemoryImageDataModule, check_split

# The last 297 of the 1797 images are the test split: fixed, so every run sees the same one.
TEST_SIZE = 297


class DigitsDataModule(InMemoryImageDataModule):
    """UCI optical digits (1797 8x8 grey images, 10 classes) from `sklearn.datasets`."""

    name: ClassVar[str] = "digits"
    native_resolution: ClassVar[int] = 8
    native_channels: ClassVar[int] = 1
    native_num_classes: ClassVar[int] = 10

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        resolution: int = 32,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
        channels: int | None = None,
    ) -> None:
        super().__init__(root, batch_size, resolution, resize, limit, num_workers, channels)

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Scale 0..16 pixel values to 0..255 uint8; `root` is unused (sklearn ships the data)."""
        from sklearn.datasets import load_digits

        check_split(split, type(self).__name__)
        digits = load_digits()
        images = torch.from_numpy(digits.images).mul(255.0 / 16.0).round().to(torch.uint8)
        labels = torch.from_numpy(digits.target).to(torch.int64)
        keep = slice(None, -TEST_SIZE) if split == "train" else slice(-TEST_SIZE, None)
        return images[keep].unsqueeze(1).contiguous(), labels[keep].contiguous()

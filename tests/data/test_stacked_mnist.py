"""StackedMNIST: channels are independent digits, labels are 100 r + 10 g + b, fixed draws."""

from __future__ import annotations

import pytest
import torch

from ganlab.data import StackedMNISTDataModule
from ganlab.data.mnist_5k import load_mnist_5k
from ganlab.errors import DataError


def test_labels_are_the_channels_digits_and_the_draw_is_fixed() -> None:
    dm = StackedMNISTDataModule(num_samples=3000, test_samples=500, seed=3)
    dm.setup()
    assert dm.images.shape == (3000, 3, 28, 28) and dm.images.dtype == torch.uint8
    assert dm.num_classes == 1000 and dm.shape == (3, 28, 28)
    digits, digit_labels = load_mnist_5k()
    pairs = zip(digits, digit_labels, strict=True)
    lookup = {bytes(x.flatten().tolist()): int(y) for x, y in pairs}
    for image, label in zip(dm.images[:300], dm.labels[:300], strict=True):
        r, g, b = (lookup[bytes(image[c].flatten().tolist())] for c in range(3))
        assert int(label) == 100 * r + 10 * g + b
    same = StackedMNISTDataModule(num_samples=3000, test_samples=500, seed=3)
    same.setup()
    assert torch.equal(same.images, dm.images) and torch.equal(same.labels, dm.labels)
    other = StackedMNISTDataModule(num_samples=3000, seed=4)
    other.setup()
    assert not torch.equal(other.labels, dm.labels)
    test, test_labels = dm.real_images("test")
    assert test.shape == (500, 3, 28, 28) and len(set(test_labels.tolist())) > 300


def test_32px_pads_and_bad_settings_are_named() -> None:
    dm = StackedMNISTDataModule(num_samples=10, resolution=32, resize="pad")
    dm.setup()
    assert dm.images.shape == (10, 3, 32, 32) and dm.images[:, :, :2].max() == 0
    with pytest.raises(DataError, match=r"data\.source: 'emnist' is not one of mnist_5k, mnist"):
        StackedMNISTDataModule(source="emnist")
    with pytest.raises(DataError, match=r"data\.num_samples: expected an integer >= 1, got 0"):
        StackedMNISTDataModule(num_samples=0)

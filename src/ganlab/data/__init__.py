"""LightningDataModules: in-memory image sets, image folders and 2D Gaussian mixtures.

All yield `(x, y)` batches with `x` in [-1, 1] on the device and `y` long labels (-1 when
unlabelled), and expose `shape`, `num_classes`, `name` and `real_images` for metrics.
"""

from ganlab.data.cifar10 import CIFAR10DataModule
from ganlab.data.digits import DigitsDataModule
from ganlab.data.idx import read_idx
from ganlab.data.image_files import (
    ImageHeader,
    image_header,
    read_image,
    read_npz_array,
    read_npz_header,
)
from ganlab.data.image_folder import ImageFolderDataModule
from ganlab.data.memory import InMemoryImageDataModule, to_unit_range
from ganlab.data.mixtures import GridDataModule, MixtureDataModule, RingDataModule
from ganlab.data.mnist import FashionMNISTDataModule, MNISTDataModule
from ganlab.data.mnist_5k import MNIST5kDataModule
from ganlab.data.stacked_mnist import StackedMNISTDataModule

__all__ = [
    "CIFAR10DataModule",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "GridDataModule",
    "ImageFolderDataModule",
    "ImageHeader",
    "InMemoryImageDataModule",
    "MNIST5kDataModule",
    "MNISTDataModule",
    "MixtureDataModule",
    "RingDataModule",
    "StackedMNISTDataModule",
    "image_header",
    "read_idx",
    "read_image",
    "read_npz_array",
    "read_npz_header",
    "to_unit_range",
]

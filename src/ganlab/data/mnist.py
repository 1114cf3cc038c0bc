"""MNIST and Fashion-MNIST from their original IDX files.

Files are looked up in `root` (flat, or torchvision's `<root>/<Folder>/raw/` layout), then in a
system folder (Debian's `dataset-fashion-mnist` package), and only then downloaded with
torchvision, so offline machines and clusters without internet work from local copies.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from ganlab.data.idx import read_idx
from ganlab.data.memory import InMemoryImageDataModule, check_split
from ganlab.errors import DataError

# Where Debian's `dataset-fashion-mnist` package installs the four .gz files.
FASHION_MNIST_SYSTEM_ROOT = "/usr/share/datasets/fashion-mnist"

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def torchvision_download(dataset: str, root: Path) -> None:
    """Download `torchvision.datasets.<dataset>` into `root` (it writes `<root>/<dataset>/raw/`)."""
    import torchvision.datasets

    getattr(torchvision.datasets, dataset)(str(root), train=True, download=True)


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _find_pair(folders: list[Path], split: str) -> tuple[Path, Path] | None:
    """The first folder holding both the image and the label file of `split`."""
    for folder in folders:
        images, labels = (_find_file(folder, stem) for stem in _FILES[split])
        if images is not None and labels is not None:
            return images, labels
    return None


class _IdxDataModule(InMemoryImageDataModule):
    """Shared lookup and decoding for the two IDX-format sets."""

    native_resolution: ClassVar[int] = 28
    native_channels: ClassVar[int] = 1
    native_num_classes: ClassVar[int] = 10
    title: ClassVar[str]
    torchvision_name: ClassVar[str]
    install_hint: ClassVar[str] = ""

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        resolution: int = 28,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
        channels: int | None = None,
        system_root: str | None = None,
    ) -> None:
        super().__init__(root, batch_size, resolution, resize, limit, num_workers, channels)
        self.system_root = system_root

    def _root_folders(self) -> list[Path]:
        if self.root is None:
            return []
        root = Path(self.root).expanduser()
        return [root, root / self.torchvision_name / "raw"]

    def _locate(self, split: str) -> tuple[Path, Path]:
        """Paths of the split's image and label files, trying root, system folder, download."""
        tried = []
        if self.root is None:
            tried.append("root: not set (data.root=null)")
        else:
            found = _find_pair(self._root_folders(), split)
            if found:
                return found
            tried.append(f"root: not in {self.root} nor {self.root}/{self.torchvision_name}/raw")
        if self.system_root is not None:
            found = _find_pair([Path(self.system_root)], split)
            if found:
                return found
            tried.append(f"system folder: not in {self.system_root}{self.install_hint}")
        if self.root is None:
            tried.append("torchvision download: skipped, it needs data.root to save into")
        else:
            try:
                torchvision_download(self.torchvision_name, Path(self.root).expanduser())
            except Exception as exc:  # whatever went wrong is reported with its reason below
                reason = f"{type(exc).__name__}: {exc}"
            else:
                found = _find_pair(self._root_folders(), split)
                if found:
                    return found
                reason = "it finished but the files are not there"
            tried.append(f"torchvision download into {self.root} failed ({reason})")
        names = " and ".join(f"{stem}[.gz]" for stem in _FILES[split])
        steps = "; ".join(f"({i}) {text}" for i, text in enumerate(tried, start=1))
        raise DataError(
            f"{self.title} {split} files ({names}) not found. Tried {steps}. "
            "Make any one of these ways work."
        )

    def prepare_data(self) -> None:
        """Find (or download) the training files once per node, before every rank's `setup`."""
        self._locate("train")

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Read the IDX pair of `split` and check that images and labels agree."""
        check_split(split, type(self).__name__)
        images_path, labels_path = self._locate(split)
        images = read_idx(images_path, ndim=3)
        labels = read_idx(labels_path, ndim=1)
        if len(images) != len(labels):
            raise DataError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels; the two files come from different sets or downloads"
            )
        native = (self.native_resolution, self.native_resolution)
        if images.shape[1:] != native:
            raise DataError(
                f"{images_path} holds {images.shape[1]}x{images.shape[2]} images, expected "
                f"28x28 {self.title} images; check the file"
            )
        if len(labels) and int(labels.max()) >= self.native_num_classes:
            raise DataError(
                f"{labels_path} has label {int(labels.max())}, outside 0..9; check the file"
            )
        return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels).to(torch.int64)


class FashionMNISTDataModule(_IdxDataModule):
    """Fashion-MNIST (Zalando): 60k/10k 28x28 grey clothing images in 10 classes."""

    name: ClassVar[str] = "fashion_mnist"
    title: ClassVar[str] = "Fashion-MNIST"
    torchvision_name: ClassVar[str] = "FashionMNIST"
    install_hint: ClassVar[str] = (
        " (install it with `sudo apt-get install dataset-fashion-mnist` or `make data`)"
    )

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        resolution: int = 28,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
        channels: int | None = None,
        system_root: str | None = FASHION_MNIST_SYSTEM_ROOT,
    ) -> None:
        super().__init__(
            root, batch_size, resolution, resize, limit, num_workers, channels, system_root
        )


class MNISTDataModule(_IdxDataModule):
    """MNIST: 60k/10k 28x28 grey handwritten digits in 10 classes."""

    name: ClassVar[str] = "mnist"
    title: ClassVar[str] = "MNIST"
    torchvision_name: ClassVar[str] = "MNIST"

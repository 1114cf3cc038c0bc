"""CIFAR-10 from the official python-format batches (`cifar-10-batches-py/`).

Read with a small reader of our own rather than torchvision's class, which md5-checks every file
on each construction; torchvision is only used to download when the files are absent.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ganlab.data.memory import InMemoryImageDataModule, check_split
from ganlab.data.safe_pickle import ArrayUnpickler, RefusedGlobal
from ganlab.errors import DataError

FOLDER = "cifar-10-batches-py"
_BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_PIXELS = 3 * 32 * 32


def torchvision_download(root: Path) -> None:
    """Download and extract CIFAR-10 into `root/cifar-10-batches-py/` with torchvision."""
    import torchvision.datasets

    torchvision.datasets.CIFAR10(str(root), train=True, download=True)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickled batch into uint8 `[N, 3, 32, 32]` images and int64 `[N]` labels.

    The format is a pickle, which can run code, so it is read with `ArrayUnpickler`: a file
    that asks for anything but plain data and numpy arrays is refused before any of it runs.
    """
    try:
        with path.open("rb") as handle:
            batch = ArrayUnpickler(handle, encoding="bytes").load()
    except RefusedGlobal as exc:
        raise DataError(
            f"CIFAR-10 batch {path} asks to load {exc.name}, which a data batch never holds; "
            f"the file is not a genuine CIFAR-10 batch: delete {path.parent} and fetch the "
            "official batches again"
        ) from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DataError(
            f"CIFAR-10 batch {path} is not readable ({exc}); delete {path.parent} and "
            "fetch it again"
        ) from exc
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not (
        isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == (_PIXELS,)
    ):
        raise DataError(
            f"CIFAR-10 batch {path} has no uint8 [N, {_PIXELS}] array under b'data'; "
            "it is not a python-format CIFAR-10 batch"
        )
    if labels is None or len(labels) != len(data):
        count = "none" if labels is None else len(labels)
        raise DataError(
            f"CIFAR-10 batch {path} holds {len(data)} images but {count} labels under "
            "b'labels'; the file is damaged"
        )
    label_array = np.asarray(labels, dtype=np.int64)
    if len(label_array) and (label_array.min() < 0 or label_array.max() > 9):
        raise DataError(f"CIFAR-10 batch {path} has labels outside 0..9; the file is damaged")
    return data.reshape(-1, 3, 32, 32), label_array


class CIFAR10DataModule(InMemoryImageDataModule):
    """CIFAR-10: 50k/10k 32x32 RGB images in 10 classes."""

    name: ClassVar[str] = "cifar10"
    native_resolution: ClassVar[int] = 32
    native_channels: ClassVar[int] = 3
    native_num_classes: ClassVar[int] = 10

    def _find_folder(self, split: str) -> Path | None:
        """`root/cifar-10-batches-py`, or `root` itself when it is that folder."""
        root = Path(self.root).expanduser()
        for folder in (root / FOLDER, root):
            if all((folder / name).is_file() for name in _BATCHES[split]):
                return folder
        return None

    def _locate(self, split: str) -> Path:
        names = ", ".join(_BATCHES[split])
        if self.root is None:
            raise DataError(
                f"CIFAR-10 {split} batches ({names}) not found: data.root is null; set it to a "
                f"folder holding {FOLDER}/ (or to one it can be downloaded into)"
            )
        folder = self._find_folder(split)
        if folder is not None:
            return folder
        try:
            torchvision_download(Path(self.root).expanduser())
        except Exception as exc:  # whatever went wrong is reported with its reason below
            reason = f"{type(exc).__name__}: {exc}"
        else:
            folder = self._find_folder(split)
            if folder is not None:
                return folder
            reason = "it finished but the files are not there"
        raise DataError(
            f"CIFAR-10 {split} batches ({names}) not found in {self.root}/{FOLDER} nor "
            f"{self.root}, and the torchvision download into {self.root} failed ({reason}). "
            f"Put the python-format batches in {self.root}/{FOLDER} or allow the download."
        )

    def prepare_data(self) -> None:
        """Find (or download) the training batches once per node, before every rank's `setup`."""
        self._locate("train")

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Concatenate the split's batches (five for "train", one for "test")."""
        check_split(split, type(self).__name__)
        folder = self._locate(split)
        parts = [read_cifar_batch(folder / name) for name in _BATCHES[split]]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        return torch.from_numpy(images), torch.from_numpy(labels)

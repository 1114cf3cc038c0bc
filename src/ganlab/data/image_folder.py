"""Any folder of images (e.g. CelebA, LSUN exports, your own photos), decoded once into memory.

Each file is decoded a single time at setup (by `ganlab.data.image_files.read_image`, which
refuses damaged files naming them) and resized to the target size, so training itself indexes
one uint8 tensor like the built-in sets do.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganlab.data.image_files import read_image
from ganlab.data.memory import InMemoryImageDataModule, check_split
from ganlab.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
# PIL releases the GIL while decoding and resizing, so a few threads speed up setup.
_DECODE_THREADS = min(8, os.cpu_count() or 1)


def list_images(root: Path) -> list[Path]:
    """All image files under `root`, recursively, in a stable sorted order (hidden ones skipped)."""
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        files.extend(
            Path(folder) / name
            for name in sorted(names)
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
        )
    return files


def decode_image(path: Path, channels: int, resolution: int, center_crop: bool) -> np.ndarray:
    """Decode one file to a uint8 `[C, resolution, resolution]` array.

    `read_image` does the checks and conversions (16-bit, alpha on white, palettes). With
    `center_crop` the largest centred square is resized (the same as scaling the shorter side
    to `resolution` and cropping the middle, without a second resampling); otherwise the whole
    image is squeezed to a square.
    """
    pixels = read_image(path, channels)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    width, height = image.size
    box = None
    if center_crop:
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        box = (left, top, left + side, top + side)
    image = image.resize((resolution, resolution), resample=Image.Resampling.BILINEAR, box=box)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


class ImageFolderDataModule(InMemoryImageDataModule):
    """Images under `root` (png, jpg, jpeg, bmp, webp; searched recursively).

    If every image sits inside a first-level subfolder, each such folder is a class (sorted by
    name) and its images carry that label; otherwise the set is unlabelled (labels -1).
    """

    name: ClassVar[str] = "image_folder"
    content_from_root: ClassVar[bool] = True

    def __init__(
        self,
        root: str,
        resolution: int = 64,
        channels: int = 3,
        center_crop: bool = True,
        batch_size: int = 64,
        limit: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(
            root,
            batch_size=batch_size,
            resolution=resolution,
            limit=limit,
            num_workers=num_workers,
            channels=channels,
        )
        self.center_crop = center_crop
        self._files: list[Path] | None = None
        self._classes: list[str] | None = None
        self._decoded: tuple[Tensor, Tensor] | None = None

    def _index(self) -> list[Path]:
        """List (not decode) the files once; classes come from first-level folder names."""
        if self._files is not None:
            return self._files
        root = Path(self.root).expanduser() if self.root is not None else None
        if root is None or not root.is_dir():
            raise DataError(
                f"image folder data.root={self.root!r} is not an existing directory; "
                "point data.root at a folder of images"
            )
        files = list_images(root)
        if not files:
            raise DataError(
                f"image folder {root} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "point data.root at a folder that does"
            )
        top_levels = [path.relative_to(root).parts for path in files]
        if all(len(parts) > 1 for parts in top_levels):
            self._classes = sorted({parts[0] for parts in top_levels})
        else:
            self._classes = []
        self._files = files
        return files

    @property
    def classes(self) -> list[str]:
        """Class names (first-level folder names) in label order; empty when unlabelled."""
        self._index()
        return list(self._classes)

    @property
    def num_classes(self) -> int:
        """Number of class subfolders, or 0 when some images sit directly in `root`."""
        return len(self.classes)

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Decode the first `limit` (or all) files once.

        A folder has no held-out part, so "test" returns the training images: metrics then
        compare against the data the model was fit to, the usual practice for such sets.
        """
        check_split(split, type(self).__name__)
        if self._decoded is not None:
            return self._decoded
        files = self._index()[: self.limit]
        root = Path(self.root).expanduser()
        index = {name: i for i, name in enumerate(self._classes)}
        if index:
            labels = [index[path.relative_to(root).parts[0]] for path in files]
        else:
            labels = [-1] * len(files)
        images = torch.empty((len(files), *self.shape), dtype=torch.uint8)
        target = images.numpy()  # a writable view: decoded arrays are copied straight in
        with ThreadPoolExecutor(_DECODE_THREADS) as pool:
            decoded = pool.map(
                lambda path: decode_image(path, self.channels, self.resolution, self.center_crop),
                files,
            )
            try:
                for i, array in enumerate(decoded):
                    target[i] = array
            except DataError:
                pool.shutdown(cancel_futures=True)  # report the bad file without decoding the rest
                raise
        self._decoded = (images, torch.tensor(labels, dtype=torch.int64))
        return self._decoded

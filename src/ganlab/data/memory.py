"""In-memory image DataModule base: one uint8 tensor per split, converted to floats on the device.

Small image sets fit in memory many times over, so decoding them once and indexing a whole
batch with one tensor op beats per-item transforms by orders of magnitude, and shipping uint8
to the device moves a quarter of the bytes that float32 would.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from ganlab.errors import DataError

SPLITS = ("train", "test")
RESIZE_MODES = ("bilinear", "pad")

# Float elements per resize chunk (~128 MiB as float32): bounds peak memory for large sets.
_CHUNK_ELEMENTS = 2**25

# ITU-R BT.601 luma weights, the ones PIL uses for RGB -> "L".
_LUMA = (0.299, 0.587, 0.114)


def to_unit_range(x: Tensor) -> Tensor:
    """Map uint8 images in [0, 255] to float32 in [-1, 1], the range generators produce."""
    return x.to(torch.float32) / 127.5 - 1.0


class TensorPairDataset(Dataset):
    """Two aligned tensors whose batches are gathered with one index op each.

    `__getitems__` lets the DataLoader fetch a whole batch at once instead of stacking
    per-item tensors; `collate_batched` then passes that batch through unchanged.
    """

    def __init__(self, x: Tensor, y: Tensor) -> None:
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        self.x = x
        self.y = y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.x[index], self.y[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.x[idx], self.y[idx]


def collate_batched(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Pass through the batch `__getitems__` built (module-level, so workers can pickle it)."""
    return batch


class StepSampler(Sampler[list[int]]):
    """Endless batches of indices, each a pure function of the global step.

    Global step ``i`` takes the ``i mod L``-th slice of ``N * B`` indices from epoch
    ``i div L``'s permutation (seeded with ``seed + epoch``, L slices per epoch), and rank
    r keeps the r-th B of that slice, as it keeps the r-th B of the global batch's latents
    and per-sample noise (``ganlab.noise``). So N ranks with batch B see, step by step, the
    same global batches, paired with the same latents and draws, as one process with batch
    N * B, and a resumed run continues the exact order by starting at the step it stopped at.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
        start: int = 0,
    ) -> None:
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.start = start
        self.steps_per_epoch = num_samples // (batch_size * num_replicas)

    def __iter__(self) -> Iterator[list[int]]:
        width = self.batch_size * self.num_replicas
        step, epoch_of_perm, perm = self.start, -1, torch.empty(0, dtype=torch.long)
        while True:
            epoch, position = divmod(step, self.steps_per_epoch)
            if epoch != epoch_of_perm:
                rng = torch.Generator().manual_seed(self.seed + epoch)
                perm, epoch_of_perm = torch.randperm(self.num_samples, generator=rng), epoch
            chunk = perm[position * width : (position + 1) * width]
            yield chunk[self.rank * self.batch_size : (self.rank + 1) * self.batch_size].tolist()
            step += 1


class StepDataModule(pl.LightningDataModule):
    """Base of the in-memory sets: endless, step-indexed batches that resume exactly.

    It counts the batches the training step consumed (in ``on_after_batch_transfer``,
    which runs per consumed batch, unlike the loader, which Lightning reads one ahead) and
    saves that count in checkpoints; a resumed run's loader starts at that step. Batches
    never end, so a run's length is set by ``gan.max_g_steps`` / ``gan.max_kimg`` alone.
    """

    batch_size: int
    num_workers: int

    def __init__(self) -> None:
        super().__init__()
        self.batches_consumed = 0

    def batched_loader(self, x: Tensor, y: Tensor) -> DataLoader:
        """The training DataLoader over aligned tensors, sharded over the trainer's ranks."""
        trainer = self.trainer
        num_replicas, rank = (
            (1, 0) if trainer is None else (trainer.world_size, trainer.global_rank)
        )
        what = type(self).__name__
        if len(x) < self.batch_size * num_replicas:
            raise DataError(
                f"{what} has {len(x)} training samples, fewer than batch_size={self.batch_size} "
                f"x {num_replicas} process(es): lower data.batch_size or raise data.limit"
            )
        sampler = StepSampler(
            len(x),
            self.batch_size,
            num_replicas,
            rank,
            seed=int(os.environ.get("PL_GLOBAL_SEED", 0)),
            start=self.batches_consumed,
        )
        return DataLoader(
            TensorPairDataset(x, y),
            batch_sampler=sampler,
            # its own RNG: creating the iterator then draws nothing from the global stream,
            # which a resumed run restores exactly
            generator=torch.Generator(),
            num_workers=self.num_workers,
            collate_fn=collate_batched,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
        )

    def transform_batch(self, x: Tensor) -> Tensor:
        """Turn a transferred batch into model inputs (identity here)."""
        return x

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> tuple[Tensor, Tensor]:
        x, y = batch
        if self.trainer is not None and self.trainer.training:
            self.batches_consumed += 1
        return self.transform_batch(x), y

    def state_dict(self) -> dict[str, Any]:
        return {"batches_consumed": self.batches_consumed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.batches_consumed = int(state_dict["batches_consumed"])


def check_split(split: str, what: str) -> None:
    """Reject split names other than "train" / "test" with a message naming the set."""
    if split not in SPLITS:
        raise DataError(f"{what}: unknown split {split!r}; use one of {', '.join(SPLITS)}")


def take_first(x: Tensor, y: Tensor, n: int | None, split: str, what: str) -> tuple[Tensor, Tensor]:
    """First `n` samples; asking for more than exist is an error, since silently using fewer
    real samples would change what a metric measures."""
    if n is None:
        return x, y
    if n < 1 or n > len(x):
        raise DataError(
            f"{what}: asked for n={n} real samples from split {split!r}, which has {len(x)}; "
            f"use 1 <= n <= {len(x)} or another split"
        )
    return x[:n], y[:n]


def convert_channels(x: Tensor, channels: int) -> Tensor:
    """Convert uint8 `[N, C, H, W]` between 1 and 3 channels (replicate grey, or luma of RGB)."""
    have = x.shape[1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        weights = torch.tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)
        out = torch.empty((x.shape[0], 1, *x.shape[2:]), dtype=torch.uint8)
        step = max(1, _CHUNK_ELEMENTS // max(1, math.prod(x.shape[1:])))
        for start in range(0, len(x), step):
            chunk = x[start : start + step].to(torch.float32)
            out[start : start + step] = (
                (chunk * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
            )
        return out
    raise ValueError(f"cannot convert {have} channels to {channels}")


def resize_images(x: Tensor, resolution: int, mode: str) -> Tensor:
    """Resize or pad uint8 `[N, C, H, W]` to a square `resolution`, in chunks, once per set."""
    if x.shape[-2:] == (resolution, resolution):
        return x.contiguous()
    if mode == "pad":
        height, width = x.shape[-2:]
        dh, dw = resolution - height, resolution - width
        if dh < 0 or dw < 0:
            raise ValueError(f"cannot pad {height}x{width} images down to {resolution}")
        return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2), value=0).contiguous()
    out = torch.empty((x.shape[0], x.shape[1], resolution, resolution), dtype=torch.uint8)
    pixels = max(resolution**2, x.shape[-2] * x.shape[-1], 1)
    step = max(1, _CHUNK_ELEMENTS // (x.shape[1] * pixels))
    with torch.no_grad():
        for start in range(0, len(x), step):
            chunk = x[start : start + step].to(torch.float32)
            chunk = F.interpolate(
                chunk,
                size=(resolution, resolution),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
            out[start : start + step] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


class InMemoryImageDataModule(StepDataModule):
    """Base for image sets held as one uint8 tensor; subclasses only implement `load_split`.

    The constructor reads no files, so configs instantiate instantly and `shape` /
    `num_classes` are known before any data is touched (models are built from them).
    """

    name: ClassVar[str] = "images"
    # True where the images are whatever folder `root` names, not one fixed dataset.
    content_from_root: ClassVar[bool] = False
    native_resolution: ClassVar[int] = 32
    native_channels: ClassVar[int] = 3
    native_num_classes: ClassVar[int] = 0

    to_unit_range = staticmethod(to_unit_range)

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        resolution: int | None = None,
        resize: str = "bilinear",
        limit: int | None = None,
        num_workers: int = 0,
        channels: int | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        self.batch_size = batch_size
        self.resolution = self.native_resolution if resolution is None else resolution
        self.resize = resize
        self.limit = limit
        self.num_workers = num_workers
        self.channels = self.native_channels if channels is None else channels
        self._validate()
        self.images: Tensor | None = None
        self.labels: Tensor | None = None
        self._real: dict[str, tuple[Tensor, Tensor]] = {}

    def _validate(self) -> None:
        what = type(self).__name__
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise DataError(f"{what}: batch_size={self.batch_size!r} must be an integer >= 1")
        if not isinstance(self.resolution, int) or self.resolution < 1:
            raise DataError(f"{what}: resolution={self.resolution!r} must be an integer >= 1")
        if self.resize not in RESIZE_MODES:
            raise DataError(
                f"{what}: resize={self.resize!r} is unknown; use one of {', '.join(RESIZE_MODES)}"
            )
        if self.resize == "pad" and self.resolution < self.native_resolution:
            raise DataError(
                f"{what}: resize='pad' cannot shrink {self.native_resolution}px images to "
                f"resolution={self.resolution}; use resolution >= {self.native_resolution} "
                "or resize='bilinear'"
            )
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise DataError(f"{what}: limit={self.limit!r} must be null or an integer >= 1")
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise DataError(f"{what}: num_workers={self.num_workers!r} must be an integer >= 0")
        if self.channels not in (1, 3):
            raise DataError(f"{what}: channels={self.channels!r} must be 1 (grey) or 3 (RGB)")

    @property
    def shape(self) -> tuple[int, ...]:
        """`(C, H, W)` of the images the model sees."""
        return (self.channels, self.resolution, self.resolution)

    @property
    def num_classes(self) -> int:
        """Number of label classes (0 when the set is unlabelled)."""
        return self.native_num_classes

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Return uint8 `[N, C, H, W]` images at native size and int64 `[N]` labels (-1 if none)."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_split")

    def _prepare(self, split: str, limit: int | None) -> tuple[Tensor, Tensor]:
        images, labels = self.load_split(split)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        images = convert_channels(images, self.channels)
        images = resize_images(images, self.resolution, self.resize)
        return images, labels.to(torch.int64).contiguous()

    def setup(self, stage: str | None = None) -> None:
        """Load, limit, convert and resize the training set once; later calls do nothing."""
        if self.images is not None:
            return
        self.images, self.labels = self._prepare("train", self.limit)

    def real_images(self, split: str = "test", n: int | None = None) -> tuple[Tensor, Tensor]:
        """uint8 images at the configured resolution and their labels, for metrics.

        "train" is exactly what the model trains on (after `limit`); "test" is the whole
        held-out split, prepared once and cached.
        """
        check_split(split, type(self).__name__)
        if split == "train":
            self.setup()
            images, labels = self.images, self.labels
        else:
            if split not in self._real:
                self._real[split] = self._prepare(split, None)
            images, labels = self._real[split]
        return take_first(images, labels, n, split, type(self).__name__)

    def train_dataloader(self) -> DataLoader:
        """Batches of `(x_uint8 [B, C, H, W], y_int64 [B])`; floats are made on the device."""
        self.setup()
        return self.batched_loader(self.images, self.labels)

    def transform_batch(self, x: Tensor) -> Tensor:
        """Convert the uint8 batch to float32 in [-1, 1] after it reached the device."""
        return to_unit_range(x)

"""2D Gaussian mixtures (ring and grid), the standard toy sets for measuring mode collapse.

Points are drawn once from a seeded generator, so a run's data is reproducible; `centers` and
`std` are exposed so mode metrics can count covered modes and high-quality samples.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from ganlab.data.memory import StepDataModule, check_split, take_first
from ganlab.errors import DataError

# The "test" split is drawn with seed + this offset: fresh points, still reproducible.
TEST_SEED_OFFSET = 1_000_003


def _check_positive(owner: str, name: str, value: Any, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "an integer >= 1" if integer else "a number > 0"
        raise DataError(f"{owner}: {name}={value!r} must be {kind}")


class MixtureDataModule(StepDataModule):
    """Equal-weight isotropic Gaussians at `centers` with standard deviation `std`."""

    def __init__(
        self,
        centers: Tensor,
        std: float,
        num_samples: int = 100_000,
        batch_size: int = 100,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        _check_positive(owner, "std", std)
        _check_positive(owner, "num_samples", num_samples, integer=True)
        _check_positive(owner, "batch_size", batch_size, integer=True)
        if not isinstance(num_workers, int) or num_workers < 0:
            raise DataError(f"{owner}: num_workers={num_workers!r} must be an integer >= 0")
        self.centers = centers.to(torch.float32)
        self.std = float(std)
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.name = f"{type(self).__name__.removesuffix('DataModule').lower()}{len(centers)}"
        self.points: Tensor | None = None
        self.labels: Tensor | None = None
        self._test: tuple[Tensor, Tensor] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Samples are 2D points."""
        return (2,)

    @property
    def num_classes(self) -> int:
        """Unlabelled: generators for mixtures are unconditional."""
        return 0

    def sample(self, n: int, seed: int) -> Tensor:
        """Draw `n` float32 points `[n, 2]`: a uniform mode per point plus Gaussian noise."""
        generator = torch.Generator().manual_seed(seed)
        modes = torch.randint(len(self.centers), (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.centers[modes] + self.std * noise

    def setup(self, stage: str | None = None) -> None:
        """Draw the training points once; later calls do nothing."""
        if self.points is not None:
            return
        self.points = self.sample(self.num_samples, self.seed)
        self.labels = torch.full((self.num_samples,), -1, dtype=torch.int64)

    def real_images(self, split: str = "test", n: int | None = None) -> tuple[Tensor, Tensor]:
        """Real points and labels (-1): the training draw, or a fresh cached one for "test"."""
        check_split(split, type(self).__name__)
        if split == "train":
            self.setup()
            points, labels = self.points, self.labels
        else:
            if self._test is None:
                self._test = (
                    self.sample(self.num_samples, self.seed + TEST_SEED_OFFSET),
                    torch.full((self.num_samples,), -1, dtype=torch.int64),
                )
            points, labels = self._test
        return take_first(points, labels, n, split, type(self).__name__)

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches of `(points [B, 2], labels [B])`; points need no conversion."""
        self.setup()
        return self.batched_loader(self.points, self.labels)


class RingDataModule(MixtureDataModule):
    """`num_modes` Gaussians evenly spaced on a circle of `radius` (8 modes in PacGAN/VEEGAN)."""

    def __init__(
        self,
        num_modes: int = 8,
        radius: float = 1.0,
        std: float = 0.01,
        num_samples: int = 100_000,
        batch_size: int = 100,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        _check_positive(type(self).__name__, "num_modes", num_modes, integer=True)
        _check_positive(type(self).__name__, "radius", radius)
        # 2*pi*k/K for k < K: linspace(0, 2*pi, K) would put the last mode on top of the first.
        angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
        centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
        super().__init__(centers, std, num_samples, batch_size, seed, num_workers)
        self.radius = float(radius)


class GridDataModule(MixtureDataModule):
    """`num_modes` = m*m Gaussians on an m x m grid centred at 0 (25 modes in PacGAN/VEEGAN)."""

    def __init__(
        self,
        num_modes: int = 25,
        spacing: float = 2.0,
        std: float = 0.05,
        num_samples: int = 100_000,
        batch_size: int = 100,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        owner = type(self).__name__
        _check_positive(owner, "num_modes", num_modes, integer=True)
        _check_positive(owner, "spacing", spacing)
        side = math.isqrt(num_modes)
        if side * side != num_modes:
            raise DataError(
                f"{owner}: num_modes={num_modes} is not a perfect square; use m*m modes "
                f"such as {side * side} or {(side + 1) ** 2}"
            )
        coords = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
        centers = torch.cartesian_prod(coords, coords).reshape(num_modes, 2)
        super().__init__(centers, std, num_samples, batch_size, seed, num_workers)
        self.spacing = float(spacing)

"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic kernel.

Unlike FID it has an unbiased estimator, so values from different sample counts can be
compared; averaging over random subsets gives a mean and a spread.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.errors import MetricsError
from ganlab.metrics.features import ArrayLike, as_float64


def polynomial_kernel(x: Tensor, y: Tensor) -> Tensor:
    """k(x, y) = (x·y / d + 1)^3, the kernel of the KID paper and every reference code."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD² between equal-size samples: the diagonals of K_xx and K_yy are left out."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (
        m * (m - 1)
    )
    return float(within - 2 * k_xy.sum() / (m * m))


def kid_from_features(
    a: ArrayLike,
    b: ArrayLike,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of MMD² over `num_subsets` random subset pairs.

    Each subset is drawn without replacement from a generator seeded with `seed`, so a
    value is reproducible; `subset_size` is clipped to the smaller set.
    """
    a = torch.from_numpy(as_float64(a, "kid_from_features(a)", 2))
    b = torch.from_numpy(as_float64(b, "kid_from_features(b)", 2))
    if a.shape[1] != b.shape[1]:
        raise MetricsError(
            f"kid_from_features: a has {a.shape[1]} features per sample but b has "
            f"{b.shape[1]}; extract both with the same feature extractor"
        )
    if not isinstance(num_subsets, int) or num_subsets < 1:
        raise MetricsError(f"kid_from_features(num_subsets={num_subsets!r}): use an integer >= 1")
    if not isinstance(subset_size, int) or subset_size < 2:
        raise MetricsError(f"kid_from_features(subset_size={subset_size!r}): use an integer >= 2")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise MetricsError(
            f"kid_from_features: the sets have {len(a)} and {len(b)} samples; "
            "the unbiased estimate needs at least 2 in each"
        )
    generator = torch.Generator().manual_seed(seed)
    values = torch.tensor(
        [
            mmd2_unbiased(
                a[torch.randperm(len(a), generator=generator)[:m]],
                b[torch.randperm(len(b), generator=generator)[:m]],
            )
            for _ in range(num_subsets)
        ],
        dtype=torch.float64,
    )
    return float(values.mean()), float(values.std(correction=0))

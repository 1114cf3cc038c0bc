"""Improved precision and recall (Kynkäänniemi et al. 2019) on feature vectors.

Each set's manifold is the union of balls around its samples, each ball reaching the
sample's k-th nearest neighbour in the same set. Precision is the share of generated
samples inside the real manifold (quality); recall the share of real samples inside the
generated manifold (coverage). Distances come in row blocks, so 10k x 10k needs only
`batch_size` x N floats at a time.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.errors import MetricsError
from ganlab.metrics.features import ArrayLike, as_float64


def _squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Pairwise squared Euclidean distances `[len(x), len(y)]` via one matrix product."""
    return (x.square().sum(1, keepdim=True) + y.square().sum(1) - 2 * x @ y.T).clamp_(min=0)


def _kth_radii(x: Tensor, k: int, batch_size: int) -> Tensor:
    """Squared distance from each sample to its k-th nearest neighbour (itself excluded)."""
    return torch.cat(
        [
            _squared_distances(rows, x).topk(k + 1, dim=1, largest=False).values[:, k]
            for rows in x.split(batch_size)
        ]
    )


def _share_inside(queries: Tensor, reference: Tensor, radii: Tensor, batch_size: int) -> float:
    """Share of `queries` within at least one reference sample's radius."""
    inside = torch.cat(
        [
            (_squared_distances(rows, reference) <= radii).any(dim=1)
            for rows in queries.split(batch_size)
        ]
    )
    return float(inside.double().mean())


def precision_recall(
    real: ArrayLike, fake: ArrayLike, k: int = 3, batch_size: int = 1024
) -> tuple[float, float]:
    """(precision, recall) of `fake [M, F]` against `real [N, F]` with k-NN radii."""
    real = torch.from_numpy(as_float64(real, "precision_recall(real)", 2))
    fake = torch.from_numpy(as_float64(fake, "precision_recall(fake)", 2))
    if real.shape[1] != fake.shape[1]:
        raise MetricsError(
            f"precision_recall: real has {real.shape[1]} features per sample but fake has "
            f"{fake.shape[1]}; extract both with the same feature extractor"
        )
    if not isinstance(k, int) or not 1 <= k < min(len(real), len(fake)):
        raise MetricsError(
            f"precision_recall(k={k!r}): use an integer >= 1 and below both set sizes "
            f"({len(real)} real, {len(fake)} fake)"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise MetricsError(f"precision_recall(batch_size={batch_size!r}): use an integer >= 1")
    real_radii = _kth_radii(real, k, batch_size)
    fake_radii = _kth_radii(fake, k, batch_size)
    precision = _share_inside(fake, real, real_radii, batch_size)
    recall = _share_inside(real, fake, fake_radii, batch_size)
    return precision, recall

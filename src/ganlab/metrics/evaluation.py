"""Seeded sampling for evaluation, shared by the metrics callback and the CLI tools.

Samples are drawn in fixed chunks, each from its own seeded RNG, so the set of images is
the same whether one process draws every chunk or N ranks draw every N-th chunk: the
metrics of a DDP run equal those of one process. Plain PyTorch: no Lightning, no Hydra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ganlab.metrics.features import FeatureExtractor, quantize_images

SampleFn = Callable[[Tensor, Tensor | None], Tensor]


@dataclass(frozen=True)
class EvalSettings:
    """How many samples, in which chunks, and the knobs of each metric (defaults as the papers)."""

    num_samples: int = 10_000
    chunk_size: int = 250
    seed: int = 2024
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    pr_k: int = 3
    is_splits: int = 10

    @property
    def num_chunks(self) -> int:
        return -(-self.num_samples // self.chunk_size)

    def chunk_length(self, chunk: int) -> int:
        return min(self.chunk_size, self.num_samples - chunk * self.chunk_size)


def chunk_inputs(
    chunk: int, settings: EvalSettings, z_dim: int, latent: str, num_classes: int
) -> tuple[Tensor, Tensor | None]:
    """Latents (and uniformly drawn labels) of one chunk, from an RNG of its own."""
    rng = torch.Generator().manual_seed(settings.seed * 1_000_003 + chunk)
    n = settings.chunk_length(chunk)
    if latent == "uniform":
        z = torch.rand(n, z_dim, generator=rng) * 2 - 1
    else:
        z = torch.randn(n, z_dim, generator=rng)
    y = torch.randint(num_classes, (n,), generator=rng) if num_classes > 0 else None
    return z, y


@torch.no_grad()
def generate_chunks(
    sample: SampleFn,
    chunks: Sequence[int],
    settings: EvalSettings,
    z_dim: int,
    latent: str,
    num_classes: int,
    extractor: FeatureExtractor | None = None,
    keep_images: bool = False,
) -> dict[int, tuple[Tensor, ...]]:
    """For each chunk: ``(features, logits)`` through ``extractor``, then with
    ``keep_images`` the samples as uint8 (as saved, for metrics of the pixels); or the
    samples themselves if there is no extractor."""
    out = {}
    for chunk in chunks:
        z, y = chunk_inputs(chunk, settings, z_dim, latent, num_classes)
        x = sample(z, y)
        if extractor is None:
            out[chunk] = (x.float().cpu(),)
        else:
            features, logits = extractor.features_and_logits(x)
            out[chunk] = (features.float().cpu(), logits.float().cpu())
            if keep_images:
                out[chunk] += (quantize_images(x).cpu(),)
    return out

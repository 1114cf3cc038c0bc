"""PSNR, SSIM and FID of restored images against their clean originals.

Plain PyTorch (torchmetrics' functional metrics), no Lightning. Every image is first
quantised to the 256 levels a saved PNG holds, restorations and baselines alike, so a
score never rewards detail below one grey level. PSNR is averaged over images (each
image's own MSE), SSIM uses the standard 11x11 Gaussian window (sigma 1.5), both on the
[0, 1] intensity scale.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ganlab.errors import MetricsError
from ganlab.metrics.features import FeatureExtractor, extract, quantize_images
from ganlab.metrics.fid import fid_from_features


def to_unit_interval(images: Tensor) -> Tensor:
    """Float images in [-1, 1] (or uint8) -> quantised floats in [0, 1]."""
    if images.dtype == torch.uint8:
        return images.float() / 255
    return quantize_images(images.clamp(-1, 1)).float() / 255


def _check_pair(restored: Tensor, clean: Tensor) -> None:
    if restored.shape != clean.shape or restored.dim() != 4:
        raise MetricsError(
            f"restoration metrics: restored {list(restored.shape)} and clean "
            f"{list(clean.shape)} must be batches [N, C, H, W] of the same shape"
        )


def psnr(restored: Tensor, clean: Tensor) -> float:
    """Mean over images of PSNR in dB (peak 1 on the [0, 1] scale)."""
    _check_pair(restored, clean)
    value = peak_signal_noise_ratio(
        to_unit_interval(restored),
        to_unit_interval(clean),
        data_range=1.0,
        dim=(1, 2, 3),
        reduction="elementwise_mean",
    )
    return float(value)


def ssim(restored: Tensor, clean: Tensor, batch_size: int = 500) -> float:
    """Mean SSIM over images (Wang et al. 2004 constants, Gaussian 11x11 window)."""
    _check_pair(restored, clean)
    total = 0.0
    for a, b in zip(restored.split(batch_size), clean.split(batch_size), strict=True):
        value = structural_similarity_index_measure(
            to_unit_interval(a), to_unit_interval(b), data_range=1.0, reduction="sum"
        )
        total += float(value)
    return total / len(restored)


def restoration_scores(
    restored: Tensor,
    clean: Tensor,
    extractor: FeatureExtractor | None = None,
    clean_features: Tensor | None = None,
    batch_size: int = 250,
) -> dict[str, float]:
    """``psnr``, ``ssim`` and, with an extractor, ``fid`` of restored vs clean features.

    ``clean_features`` may be given to reuse features of the clean set across calls.
    """
    scores = {"psnr": psnr(restored, clean), "ssim": ssim(restored, clean)}
    if extractor is not None:
        if clean_features is None:
            clean_features = extract(extractor, clean, batch_size=batch_size)[0]
        restored_features = extract(extractor, restored.clamp(-1, 1), batch_size=batch_size)[0]
        scores["fid"] = fid_from_features(clean_features, restored_features)
    return scores

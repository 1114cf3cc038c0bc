"""PSNR / SSIM / FID helpers for restoration, on images with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganlab.errors import MetricsError
from ganlab.metrics import DomainFeatures
from ganlab.metrics.features import extract
from ganlab.metrics.restoration import psnr, restoration_scores, ssim

from ..tolerances import EPS32, self_fid_bound


def test_psnr_of_a_known_error() -> None:
    clean = torch.full((4, 1, 28, 28), -1.0)  # black
    restored = torch.full_like(clean, -1 + 2 * 51 / 255)  # 51 grey levels brighter: 0.2
    # float32 images: the mean squared error is exact to a few eps, the dB value likewise.
    assert psnr(restored, clean) == pytest.approx(-20 * math.log10(0.2), rel=1e-6)


def test_psnr_averages_per_image_values() -> None:
    clean = torch.full((2, 1, 8, 8), -1.0)
    restored = clean.clone()
    restored[0] += 2 * 51 / 255  # error 0.2 -> 13.98 dB
    restored[1] += 2 * 102 / 255  # error 0.4 -> 7.96 dB
    expected = (-20 * math.log10(0.2) - 20 * math.log10(0.4)) / 2
    assert psnr(restored, clean) == pytest.approx(expected, rel=1e-6)


def test_ssim_is_one_for_identical_images_and_drops_with_noise() -> None:
    clean = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    # SSIM is a ratio of equal terms here, 1 to a few float32 rounding steps.
    assert ssim(clean, clean) == pytest.approx(1.0, rel=8 * EPS32)
    noisy = clean + 0.5 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    assert ssim(noisy.clamp(-1, 1), clean) < 0.9
    # the batch split does not change the mean
    assert ssim(noisy.clamp(-1, 1), clean, batch_size=4) == pytest.approx(
        ssim(noisy.clamp(-1, 1), clean), rel=8 * EPS32
    )


def test_mismatched_sets_are_refused() -> None:
    with pytest.raises(MetricsError, match="same shape"):
        psnr(torch.zeros(2, 1, 8, 8), torch.zeros(3, 1, 8, 8))


def test_fid_is_near_zero_for_the_clean_set_and_grows_with_damage(digits_evaluator: Path) -> None:
    from ganlab.data import DigitsDataModule
    from ganlab.data.memory import to_unit_range

    images, _ = DigitsDataModule(resolution=32).real_images("test", 200)
    clean = to_unit_range(images)
    extractor = DomainFeatures(digits_evaluator)
    same = restoration_scores(clean, clean, extractor)
    assert 0.0 <= same["fid"] <= self_fid_bound(extract(extractor, clean)[0].numpy())
    assert same["ssim"] == pytest.approx(1.0, rel=8 * EPS32)
    blurred = torch.nn.functional.avg_pool2d(clean, 4)
    blurred = torch.nn.functional.interpolate(blurred, scale_factor=4, mode="nearest")
    damaged = restoration_scores(blurred, clean, extractor)
    assert damaged["fid"] > 1.0 and damaged["psnr"] < 30 and damaged["ssim"] < 0.95

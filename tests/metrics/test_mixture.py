"""Mode metrics on hand-placed points and on the ring datamodule's own samples."""

from __future__ import annotations

import math

import pytest
import torch

from ganlab.data import RingDataModule
from ganlab.errors import MetricsError
from ganlab.metrics import mixture_metrics

# Four modes at (1, 0), (0, 1), (-1, 0), (0, -1); std 0.1, so HQ means distance < 0.3.
CENTERS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])


def test_hand_counted_modes_hq_and_kl() -> None:
    points = torch.tensor(
        [
            [1.0, 0.0],  # mode 0, HQ
            [1.1, 0.0],  # mode 0, HQ
            [0.9, 0.05],  # mode 0, HQ
            [0.0, 1.05],  # mode 1, HQ
            [0.0, -1.29],  # mode 3, HQ (0.29 < 0.3)
            [0.5, 0.5],  # nearest mode 0 or 1 at 0.71: not HQ
            [-1.31, 0.0],  # mode 2 at 0.31: not HQ, so mode 2 is missed
        ]
    )
    result = mixture_metrics(points, CENTERS, std=0.1)
    assert result["modes"] == 3
    assert result["hq_fraction"] == pytest.approx(5 / 7)
    assert result["hq_percent"] == pytest.approx(500 / 7)
    # HQ histogram (3, 1, 0, 1) / 5 against 1/4 each; the empty mode adds 0.
    expected = 0.6 * math.log(4 * 0.6) + 2 * 0.2 * math.log(4 * 0.2)
    assert result["kl_uniform"] == pytest.approx(expected, rel=1e-12)


def test_balanced_and_collapsed_extremes() -> None:
    balanced = mixture_metrics(CENTERS.repeat(5, 1), CENTERS, std=0.1)
    assert balanced == {"modes": 4, "hq_fraction": 1.0, "hq_percent": 100.0, "kl_uniform": 0.0}
    collapsed = mixture_metrics(CENTERS[:1].repeat(10, 1), CENTERS, std=0.1)
    assert collapsed["modes"] == 1
    assert collapsed["kl_uniform"] == pytest.approx(math.log(4))


def test_no_high_quality_sample_gives_nan_kl() -> None:
    result = mixture_metrics(torch.zeros(10, 2), CENTERS, std=0.1)
    assert result["modes"] == 0 and result["hq_fraction"] == 0.0
    assert math.isnan(result["kl_uniform"])


def test_real_ring_samples_cover_every_mode() -> None:
    ring = RingDataModule(num_samples=20_000)
    points, _ = ring.real_images("test")
    result = mixture_metrics(points, ring.centers, ring.std)
    assert result["modes"] == 8
    # For a 2D Gaussian P(r < 3 sigma) = 1 - exp(-4.5) = 98.89 %.
    assert result["hq_percent"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.3)
    assert result["kl_uniform"] < 1e-3


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(MetricsError, match="std"):
        mixture_metrics(torch.zeros(3, 2), CENTERS, std=0)
    with pytest.raises(MetricsError, match="same D"):
        mixture_metrics(torch.zeros(3, 3), CENTERS, std=0.1)

"""KID against an independent numpy computation and torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.image.kid import KernelInceptionDistance

from ganlab.errors import MetricsError
from ganlab.metrics import kid_from_features
from tests.metrics.test_fid import GivenFeatures, correlated


def numpy_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with k(x, y) = (x.y / d + 1)^3, written out with explicit off-diagonals."""
    m, d = x.shape
    k_xx, k_yy, k_xy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
    off = ~np.eye(m, dtype=bool)
    return k_xx[off].mean() + k_yy[off].mean() - 2 * k_xy.mean()


def test_kid_with_whole_sets_equals_the_numpy_mmd() -> None:
    a, b = correlated(150, 16, 0, 0.0), correlated(150, 16, 1, 0.2)
    # subset_size is clipped to 150, so every subset is a whole set in another order.
    mean, std = kid_from_features(a, b, num_subsets=3, subset_size=1000)
    expected = numpy_mmd2(a, b)
    assert expected > 1e-3
    assert mean == pytest.approx(expected, rel=1e-9)
    assert std < 1e-9 * expected


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_agrees_with_torchmetrics() -> None:
    a, b = correlated(120, 32, 2, 0.0), correlated(120, 32, 3, 0.2)
    metric = KernelInceptionDistance(feature=GivenFeatures(32), subsets=1, subset_size=120)
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    theirs = float(metric.compute()[0])
    assert kid_from_features(a, b, num_subsets=1, subset_size=120)[0] == pytest.approx(
        theirs, rel=1e-9
    )


def test_subsets_are_seeded() -> None:
    a, b = correlated(300, 8, 4, 0.0), correlated(300, 8, 5, 0.5)
    first = kid_from_features(a, b, num_subsets=20, subset_size=50, seed=1)
    assert kid_from_features(a, b, num_subsets=20, subset_size=50, seed=1) == first
    assert kid_from_features(a, b, num_subsets=20, subset_size=50, seed=2) != first
    assert first[1] > 0  # different subsets really differ


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(6)
    a, b, shifted = rng.normal(size=(600, 8)), rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same_mean, same_std = kid_from_features(a, b, num_subsets=50, subset_size=200)
    shifted_mean, shifted_std = kid_from_features(a, shifted + 1.0, num_subsets=50, subset_size=200)
    assert abs(same_mean) < 2 * same_std
    assert shifted_mean > 10 * shifted_std > 0


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(MetricsError, match="num_subsets"):
        kid_from_features(np.zeros((5, 2)), np.zeros((5, 2)), num_subsets=0)
    with pytest.raises(MetricsError, match="at least 2"):
        kid_from_features(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(MetricsError, match="same feature extractor"):
        kid_from_features(np.zeros((5, 2)), np.zeros((5, 3)))

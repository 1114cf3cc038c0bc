"""FID against closed forms, an independent scipy computation and torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance

from ganlab.errors import MetricsError
from ganlab.metrics import feature_statistics, fid_from_features, frechet_distance
from ganlab.metrics.fid import _distance

from ..tolerances import self_fid_bound


class GivenFeatures(nn.Module):
    """torchmetrics' `feature=` module that returns its input: features go in as "images"."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The TTUR / pytorch-fid formula written out independently."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def eigvals_fid(a: np.ndarray, b: np.ndarray) -> float:
    """torch-fidelity's formula: the trace term from the eigenvalues of S1 S2 (any rank)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    tr_covmean = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def torchmetrics_fid(a: np.ndarray, b: np.ndarray) -> float:
    metric = FrechetInceptionDistance(feature=GivenFeatures(a.shape[1]))
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    return float(metric.compute())


def correlated(n: int, dim: int, seed: int, shift: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return rng.normal(size=(n, dim)) @ mixing + shift


@pytest.mark.parametrize(
    ("n", "dim"),
    [(400, 16), (1000, 128), (200, 64), (30, 30), (12, 40), (50, 200)],
    ids=["sqrtm", "sqrtm_wide", "sqrtm_64", "square", "low_rank", "low_rank_wide"],
)
def test_fid_of_a_set_with_itself_is_zero_to_rounding(n: int, dim: int) -> None:
    for seed in range(3):
        features = correlated(n, dim, seed, 0.0)
        value = fid_from_features(features, features)
        assert 0.0 <= value <= self_fid_bound(features), (seed, value)


def test_a_distance_rounded_below_zero_is_reported_as_zero() -> None:
    sigma = np.eye(3)
    # tr(sqrtm) one ulp above the traces it is subtracted from: the raw formula gives -9e-16.
    assert _distance(np.zeros(3), sigma, sigma, np.nextafter(3.0, 4.0)) == 0.0
    assert _distance(np.ones(3), sigma, sigma, 3.0) == 3.0


def test_fid_matches_the_closed_form_for_gaussians() -> None:
    # N(0, I) vs N(m, diag(s^2)): FID = d m^2 + sum (1 - s)^2 exactly.
    dim, m = 8, 0.5
    s = np.linspace(0.5, 2.0, dim)
    exact = dim * m**2 + ((1 - s) ** 2).sum()
    assert frechet_distance(np.zeros(dim), np.eye(dim), np.full(dim, m), np.diag(s**2)) == (
        pytest.approx(exact, rel=1e-10)
    )
    # From 40k samples per set the estimate is within 2% (sampling error ~0.5% here).
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40_000, dim))
    b = m + s * rng.normal(size=(40_000, dim))
    assert fid_from_features(a, b) == pytest.approx(exact, rel=0.02)


@pytest.mark.parametrize(("n_a", "n_b", "dim"), [(300, 200, 24), (20, 30, 64), (64, 70, 64)])
def test_fid_agrees_with_scipy_and_torchmetrics(n_a: int, n_b: int, dim: int) -> None:
    a, b = correlated(n_a, dim, 2, 0.0), correlated(n_b, dim, 3, 0.3)
    ours = fid_from_features(torch.from_numpy(a).float().double(), b)
    assert ours > 1.0  # a real distance, not rounding noise
    assert ours == pytest.approx(eigvals_fid(a, b), rel=1e-6)
    assert ours == pytest.approx(torchmetrics_fid(a, b), rel=1e-6)
    if min(n_a, n_b) > dim:  # sqrtm is only trustworthy for full-rank covariances
        assert ours == pytest.approx(scipy_fid(a, b), rel=1e-6)


def test_frechet_distance_from_statistics_equals_fid_from_features() -> None:
    a, b = correlated(500, 32, 4, 0.0), correlated(600, 32, 5, 1.0)
    assert frechet_distance(*feature_statistics(a), *feature_statistics(b)) == pytest.approx(
        fid_from_features(a, b), rel=1e-9
    )


def test_singular_covariances_get_the_epsilon_fix() -> None:
    # Rank-1 covariances: the product is singular; the result must be finite and correct.
    # Where sqrtm is not finite, the offset adds eps I to both covariances: tr(sqrtm) gains
    # 4 eps and the FID loses 8 eps = 8e-6, 2e-6 of the value; without it the value is exact.
    sigma = np.zeros((4, 4))
    sigma[0, 0] = 1.0
    value = frechet_distance(np.zeros(4), sigma, np.ones(4), sigma)
    assert value == pytest.approx(4.0, rel=5e-6)


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(MetricsError, match=r"fid_from_features\(b\)"):
        fid_from_features(np.zeros((10, 4)), np.zeros(10))
    with pytest.raises(MetricsError, match="same feature extractor"):
        fid_from_features(np.zeros((10, 4)), np.zeros((10, 5)))
    with pytest.raises(MetricsError, match="at least 2 samples"):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(MetricsError, match="NaN"):
        fid_from_features(np.full((10, 4), np.nan), np.zeros((10, 4)))
    with pytest.raises(MetricsError, match="not valid"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), -np.eye(2))

"""Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017).

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), in float64 throughout: the
last term is a difference of large traces, and float32 loses the digits FIDs are read to.
The distance is never negative; where rounding takes the difference of traces below zero
(two equal sets, whose true FID is 0), 0 is reported.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ganlab.errors import MetricsError
from ganlab.metrics.features import ArrayLike, as_float64

# Offset added to both covariances when the square root of their product is not finite
# (the usual fix for a singular product, as in the TTUR / pytorch-fid reference code).
SQRTM_EPS = 1e-6
# Largest imaginary part on the diagonal of the square root that is still rounding noise.
MAX_IMAG = 1e-3


def _features(x: ArrayLike, what: str) -> np.ndarray:
    array = as_float64(x, what, ndim=2)
    if len(array) < 2:
        raise MetricsError(f"{what}: a covariance needs at least 2 samples, got {len(array)}")
    return array


def feature_statistics(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[F]` and unbiased covariance `[F, F]` of features `[N, F]`, in float64."""
    array = _features(features, "feature_statistics(features)")
    return array.mean(axis=0), np.cov(array, rowvar=False)


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) via `scipy.linalg.sqrtm`, >= 0."""
    mu1, mu2 = as_float64(mu1, "mu1", 1), as_float64(mu2, "mu2", 1)
    sigma1, sigma2 = as_float64(sigma1, "sigma1", 2), as_float64(sigma2, "sigma2", 2)
    dim = len(mu1)
    if mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise MetricsError(
            f"frechet_distance: shapes do not match (mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
            f"mu2 {mu2.shape}, sigma2 {sigma2.shape}); both sets need the same feature size"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a singular product is handled just below
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = SQRTM_EPS * np.eye(dim)
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = float(np.abs(np.diagonal(covmean).imag).max())
        if imag > MAX_IMAG:
            raise MetricsError(
                f"frechet_distance: sqrtm(sigma1 @ sigma2) has an imaginary part of {imag:.3g} "
                "on its diagonal, so the covariances are not valid (symmetric, positive "
                "semi-definite); compute them with feature_statistics from finite features"
            )
        covmean = covmean.real
    return _distance(mu1 - mu2, sigma1, sigma2, float(np.trace(covmean)))


def _distance(diff: np.ndarray, sigma1: np.ndarray, sigma2: np.ndarray, tr_covmean: float) -> float:
    """The FID formula, with a value that rounding pushed below zero reported as 0.

    For positive semi-definite covariances the true value is >= 0; a negative one is the
    rounding of two equal (or nearly equal) sets, of order sqrt(eps) times the traces.
    """
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)
    return max(value, 0.0)


def fid_from_features(a: ArrayLike, b: ArrayLike) -> float:
    """FID between feature sets `a [Na, F]` and `b [Nb, F]`, never negative (see `_distance`).

    With fewer samples than features in either set (a few hundred images on Inception's
    2048 features) the covariance product is singular: `sqrtm` then needs the epsilon fix,
    which biases the result by about F * eps, and costs the same O(F^3) as ever (82 s at
    F = 2048 on a 2-core CPU). Writing S_a = A^T A with A the centred, scaled
    features, tr((S_a S_b)^(1/2)) is exactly the sum of square roots of the eigenvalues of
    the small symmetric matrix A S_b A^T, which this computes instead.
    """
    a, b = _features(a, "fid_from_features(a)"), _features(b, "fid_from_features(b)")
    if a.shape[1] != b.shape[1]:
        raise MetricsError(
            f"fid_from_features: a has {a.shape[1]} features per sample but b has "
            f"{b.shape[1]}; extract both with the same feature extractor"
        )
    mu_a, sigma_a = a.mean(axis=0), np.cov(a, rowvar=False)
    mu_b, sigma_b = b.mean(axis=0), np.cov(b, rowvar=False)
    if min(len(a), len(b)) > a.shape[1]:
        return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    # Factor the smaller set: S_small = A^T A with A = centred features / sqrt(n - 1).
    small, mu_small, sigma_other = (a, mu_a, sigma_b) if len(a) <= len(b) else (b, mu_b, sigma_a)
    factor = (small - mu_small) / np.sqrt(len(small) - 1)
    eigenvalues = np.linalg.eigvalsh(factor @ sigma_other @ factor.T)
    tr_covmean = float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())
    return _distance(mu_a - mu_b, sigma_a, sigma_b, tr_covmean)

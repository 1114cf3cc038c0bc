"""Mode-collapse metrics for 2D Gaussian mixtures (VEEGAN, PacGAN, GDPP protocol).

A sample is high quality (HQ) when it lies within 3 standard deviations of its nearest
centre; a mode is covered when at least one HQ sample is closest to it.
"""

from __future__ import annotations

import math

import torch

from ganlab.errors import MetricsError
from ganlab.metrics.features import ArrayLike, as_float64

# HQ radius in standard deviations, as in VEEGAN and PacGAN.
HQ_STDS = 3.0


def mixture_metrics(points: ArrayLike, centers: ArrayLike, std: float) -> dict[str, float]:
    """Covered modes, HQ share and KL to uniform of generated `points [N, 2]`.

    Returns `modes` (components with at least one HQ sample), `hq_fraction` and
    `hq_percent` (HQ samples / all samples; "HQ" is distance < 3 * std to the nearest
    centre), and `kl_uniform`.

    `kl_uniform` = KL(p || u) = sum_k p_k log(K p_k), natural log, where p is the histogram
    of the HQ samples over the K nearest centres (normalised over HQ samples only) and u is
    uniform over all K modes: the "reverse" KL of PacGAN's tables, the direction their
    Stacked-MNIST code computes. Empty modes contribute 0 log 0 = 0, so no epsilon is
    added anywhere and the value is exact: 0 for perfect balance, log K when every HQ
    sample sits in one mode. (The other direction, KL(u || p), is infinite as soon as one
    mode is missed; codes that use it add an epsilon to p, which makes the value depend on
    that epsilon.) With no HQ sample at all p is undefined and `kl_uniform` is NaN; `modes`
    and `hq_fraction` are then 0 and say what happened.
    """
    points = torch.from_numpy(as_float64(points, "mixture_metrics(points)", 2))
    centers = torch.from_numpy(as_float64(centers, "mixture_metrics(centers)", 2))
    if points.shape[1] != centers.shape[1] or len(points) == 0 or len(centers) == 0:
        raise MetricsError(
            f"mixture_metrics: points {tuple(points.shape)} and centers "
            f"{tuple(centers.shape)} must be non-empty [N, D] and [K, D] with the same D; "
            "pass generated points and the datamodule's `centers`"
        )
    if isinstance(std, bool) or not isinstance(std, int | float) or not std > 0:
        raise MetricsError(f"mixture_metrics(std={std!r}): use the datamodule's std, a number > 0")
    distances = torch.cdist(points, centers)
    nearest_distance, nearest = distances.min(dim=1)
    hq = nearest_distance < HQ_STDS * std
    counts = torch.bincount(nearest[hq], minlength=len(centers)).double()
    hq_count = int(hq.sum())
    if hq_count:
        p = counts / hq_count
        kl = float(torch.special.xlogy(p, p * len(centers)).sum())
    else:
        kl = math.nan
    hq_fraction = hq_count / len(points)
    return {
        "modes": int((counts > 0).sum()),
        "hq_fraction": hq_fraction,
        "hq_percent": 100.0 * hq_fraction,
        "kl_uniform": kl,
    }

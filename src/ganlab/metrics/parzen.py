"""Gaussian Parzen-window log-likelihood: the metric of the early MNIST GAN papers.

Goodfellow et al. 2014 (Table 1: GAN 225 +- 2 on MNIST) and Mirza & Osindero 2014 (CGAN
132 +- 1.8) fit a Gaussian kernel density estimate to generated samples and report the mean
log-likelihood of held-out digits under it, with its standard error, the kernel width chosen
by cross-validation on other held-out digits; pixels in [0, 1]. The authors' script
(goodfeli/adversarial, ``parzen_ll.py``) searches 10 widths from 0.1 to 1 on a log scale.
Known to be a poor measure of sample quality in high dimensions (Theis et al. 2016): it is
reported next to FID to compare with those tables, not to rank models.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganlab.errors import MetricsError

SIGMAS = tuple(float(s) for s in torch.logspace(-1, 0, 10, dtype=torch.float64))


def parzen_log_likelihood(
    samples: Tensor, data: Tensor, sigma: float, chunk_size: int = 256
) -> Tensor:
    """log p(x) of each row of ``data`` under an isotropic Gaussian KDE of ``samples``.

    p(x) = 1/N sum_i N(x; s_i, sigma^2 I), computed as a log-sum-exp in float64; both are
    flattened to vectors.
    """
    if sigma <= 0:
        raise MetricsError(f"Parzen window width must be positive, got {sigma}")
    s, x = samples.flatten(1).double(), data.flatten(1).double()
    if s.shape[1] != x.shape[1] or len(s) == 0 or len(x) == 0:
        raise MetricsError(
            f"Parzen window: samples {tuple(samples.shape)} and data {tuple(data.shape)} must "
            "be non-empty and of the same size"
        )
    dim = s.shape[1]
    norm = math.log(len(s)) + 0.5 * dim * math.log(2 * math.pi * sigma**2)
    s_sq = s.square().sum(dim=1)
    out = []
    for part in x.split(chunk_size):
        sq = (part.square().sum(dim=1, keepdim=True) + s_sq - 2 * part @ s.T).clamp_min(0)
        out.append(torch.logsumexp(-sq / (2 * sigma**2), dim=1) - norm)
    return torch.cat(out)


def parzen_window(
    samples: Tensor, held_out: Tensor, sigmas: tuple[float, ...] = SIGMAS
) -> dict[str, float]:
    """The width that maximises the mean log-likelihood of the even rows of ``held_out``,
    and the mean and standard error of the odd rows' log-likelihood at that width (rows
    alternate, so a held-out set sorted by class splits evenly)."""
    if len(held_out) < 4:
        raise MetricsError(f"Parzen window needs at least 4 held-out images, got {len(held_out)}")
    validation, test = held_out[0::2], held_out[1::2]
    sigma = max(sigmas, key=lambda w: float(parzen_log_likelihood(samples, validation, w).mean()))
    ll = parzen_log_likelihood(samples, test, sigma)
    sem = float(ll.std() / math.sqrt(len(ll)))
    return {"ll": float(ll.mean()), "sem": sem, "sigma": sigma}

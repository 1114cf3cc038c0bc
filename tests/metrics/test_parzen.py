"""Parzen-window log-likelihood (Goodfellow et al. 2014's MNIST measure) against numpy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from ganlab.errors import MetricsError
from ganlab.metrics.parzen import SIGMAS, parzen_log_likelihood, parzen_window
from ganlab.train import train

from ..conftest import TINY, ComposeFn, install_evaluator


def direct(samples: np.ndarray, data: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/N sum_i N(x; s_i, sigma^2 I)), one data point at a time."""
    dim = samples.shape[1]
    out = []
    for x in data:
        sq = ((samples - x) ** 2).sum(axis=1)
        log_kernel = -sq / (2 * sigma**2) - 0.5 * dim * np.log(2 * np.pi * sigma**2)
        out.append(logsumexp(log_kernel) - np.log(len(samples)))
    return np.array(out)


def test_log_likelihood_matches_a_direct_numpy_computation() -> None:
    rng = np.random.default_rng(0)
    samples, data = rng.random((20, 5)), rng.random((7, 5))
    for sigma in (0.05, 0.3, 1.0):
        ours = parzen_log_likelihood(torch.from_numpy(samples), torch.from_numpy(data), sigma)
        np.testing.assert_allclose(ours.numpy(), direct(samples, data, sigma), rtol=1e-10)
    images = torch.from_numpy(rng.random((6, 1, 2, 2)))
    chunked = parzen_log_likelihood(images, images, 0.2, chunk_size=2)
    flat = images.flatten(1).numpy()
    np.testing.assert_allclose(chunked.numpy(), direct(flat, flat, 0.2), rtol=1e-10)


def test_the_window_is_chosen_on_one_half_and_measured_on_the_other() -> None:
    rng = np.random.default_rng(1)
    samples = torch.from_numpy(rng.normal(0.5, 0.3, (400, 3)))
    held_out = torch.from_numpy(rng.normal(0.5, 0.3, (101, 3)))
    found = parzen_window(samples, held_out)
    assert found["sigma"] in SIGMAS
    validation = [float(parzen_log_likelihood(samples, held_out[0::2], s).mean()) for s in SIGMAS]
    assert found["sigma"] == SIGMAS[int(np.argmax(validation))]
    test = direct(samples.numpy(), held_out[1::2].numpy(), found["sigma"])
    assert found["ll"] == pytest.approx(test.mean(), rel=1e-10)
    assert found["sem"] == pytest.approx(test.std(ddof=1) / math.sqrt(len(test)), rel=1e-8)
    with pytest.raises(MetricsError, match="at least 4 held-out images"):
        parzen_window(samples, held_out[:3])


def test_a_run_reports_parzen_next_to_fid(
    compose_cfg: ComposeFn, tmp_path: Path, digits_evaluator: Path
) -> None:
    install_evaluator(digits_evaluator, tmp_path)
    cfg = compose_cfg(
        *TINY,
        "model=mlp",
        "metrics=domain",
        "metrics.compute=[fid,parzen]",
        "metrics.num_samples=200",
        "metrics.chunk_size=100",
        "metrics.every_g_steps=2",
    )
    final = train(cfg)["metrics"]["final"]
    assert math.isfinite(final["metrics/fid"]) and math.isfinite(final["metrics/parzen_ll"])
    assert final["metrics/parzen_sigma"] in SIGMAS and final["metrics/parzen_sem"] > 0

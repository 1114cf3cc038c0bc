"""Tolerances for one quantity computed two ways, stated relative to the scale compared.

Two computations of the same numbers (another batch size, another summation order, another
CPU's BLAS or vector kernels) agree to some units of rounding of the largest value involved,
not of each element: an element near zero inherits the absolute error of its neighbours'
sums. So comparisons take an absolute tolerance proportional to the scale of what they
compare, never a fixed one that happens to hold for one kernel's rounding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

EPS32 = float(torch.finfo(torch.float32).eps)  # 1.2e-7
EPS64 = float(np.finfo(np.float64).eps)  # 2.2e-16

# float32 sums of K terms taken in another order differ by up to about K * eps of the largest
# term (sqrt(K) * eps typically); 1e-5 (84 eps) covers the convolutions and dense layers of
# the test nets (K up to a few thousand) with room, and is far below any real difference.
FLOAT32_REL = 1e-5


def scale_of(expected: torch.Tensor) -> float:
    """The largest magnitude in `expected`, the scale its rounding errors are relative to."""
    return float(expected.detach().abs().max()) if expected.numel() else 0.0


def assert_close_to_scale(
    actual: torch.Tensor, expected: torch.Tensor, rel: float = FLOAT32_REL, msg: str | None = None
) -> None:
    """`actual` equals `expected` to `rel` times the largest magnitude in `expected`."""
    atol = rel * scale_of(expected)
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=atol, msg=msg)


def self_fid_bound(features: np.ndarray) -> float:
    """How far from 0 rounding alone can take the FID of a feature set with itself.

    FID's trace term takes square roots of the eigenvalues of an m x m product
    (m = min(N, F)) whose largest eigenvalue is at most tr(S)^2. A backward-stable
    eigensolver gets each eigenvalue to about m * eps * tr(S)^2, so one that is truly 0
    (N samples span N - 1 directions) can come out that large, and its square root as
    sqrt(m * eps) * tr(S). The trace term counts m of them, twice. Kernels differ inside this
    bound (measured on OpenBLAS's SkylakeX, Haswell and Prescott kernels: at most 0.3 % of
    it); a wrong formula misses it by orders of magnitude.
    """
    features = np.asarray(features, dtype=np.float64)
    m = min(features.shape)
    trace = float(np.trace(np.cov(features, rowvar=False)))
    return 2 * m * np.sqrt(m * EPS64) * trace


def adam_reach(run: Path) -> float:
    """How far Adam can move one weight in a finished run: the larger lr, once per D step."""
    cfg = OmegaConf.load(run / "config.yaml")
    steps = json.loads((run / "summary.json").read_text())["d_steps"]
    return max(cfg.optim.generator.lr, cfg.optim.discriminator.lr) * steps


def assert_same_training(
    actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], reach: float
) -> None:
    """Two runs' weights are one training, to rounding.

    Adam divides each gradient element by its own running magnitude, so an element whose
    gradient is rounding noise still moves, by up to lr per step: a weight's rounding error
    is relative to how far Adam can move it (`reach`, lr x steps), not to the weights' scale.
    1 % of that reach is far below what a wrong gradient (a missing all-reduce, another
    batch) moves every weight by.
    """
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        atol = 1e-2 * reach
        torch.testing.assert_close(actual[key], value, rtol=FLOAT32_REL, atol=atol, msg=key)

"""Improved precision/recall: a hand-checked case, batching and torch-fidelity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_prc import calculate_precision_recall_full

from ganlab.errors import MetricsError
from ganlab.metrics import precision_recall


def test_hand_placed_points() -> None:
    # Real points 0, 1, 2, 3 (k = 1: every radius is 1). Fake 0.5 is inside the real
    # manifold, fake 10 is not: precision 1/2. The fake radii are both 9.5, so the ball
    # around 0.5 covers every real point: recall 1.
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0]])
    assert precision_recall(real, fake, k=1) == (0.5, 1.0)
    # Swapping the roles: real {0.5, 10} has radii 9.5, covering 0..3 -> precision 1;
    # the fake radii are 1, and 10 lies outside them -> recall 1/2.
    assert precision_recall(fake, real, k=1) == (1.0, 0.5)


def test_a_set_against_itself_is_perfect() -> None:
    x = np.random.default_rng(0).normal(size=(200, 8))
    assert precision_recall(x, x) == (1.0, 1.0)


def test_batch_size_does_not_change_the_result() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(300, 8)), rng.normal(loc=0.5, size=(250, 8))
    whole = precision_recall(real, fake, batch_size=10_000)
    assert 0.0 < whole[0] < 1.0 and 0.0 < whole[1] < 1.0
    assert precision_recall(real, fake, batch_size=7) == whole


def test_matches_torch_fidelity() -> None:
    rng = np.random.default_rng(2)
    real = torch.from_numpy(rng.normal(size=(400, 16)))
    fake = torch.from_numpy(rng.normal(loc=0.3, scale=0.8, size=(300, 16)))
    # torch-fidelity's convention: features_1 is generated, features_2 is real. It averages
    # in float32, hence the tolerance.
    theirs = calculate_precision_recall_full(fake, real, neighborhood=3)
    ours = precision_recall(real, fake, k=3)
    assert 0.0 < ours[0] < 1.0 and 0.0 < ours[1] < 1.0
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_bad_k_names_the_argument() -> None:
    with pytest.raises(MetricsError, match=r"k=5"):
        precision_recall(np.zeros((5, 2)), np.zeros((5, 2)), k=5)

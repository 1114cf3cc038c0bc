"""Inception Score: its two limits and torch-fidelity's implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from ganlab.errors import MetricsError
from ganlab.metrics import inception_score


def test_uniform_predictions_score_one() -> None:
    # float64 at the score's scale, 1: exact to well under 1e-12 (4,500 eps)
    assert inception_score(torch.zeros(100, 10)) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_confident_balanced_predictions_score_the_class_count() -> None:
    # Each split of 10 holds one sample of each class, each predicted with certainty;
    # logits of 1000 saturate the softmax to exact zeros, which must not give NaN.
    for scale in (50.0, 1000.0):
        logits = scale * torch.nn.functional.one_hot(torch.arange(100) % 10, 10).double()
        mean, std = inception_score(logits, splits=10)
        assert mean == pytest.approx(10.0, rel=1e-9)
        assert std == pytest.approx(0.0, abs=1e-10 * mean)  # rounding of the score's scale


def test_confident_but_collapsed_predictions_score_one() -> None:
    logits = 50.0 * torch.nn.functional.one_hot(torch.zeros(100, dtype=torch.long), 10).double()
    assert inception_score(logits)[0] == pytest.approx(1.0, abs=1e-9)


def test_matches_torch_fidelity() -> None:
    logits = torch.from_numpy(np.random.default_rng(0).normal(scale=3.0, size=(500, 20)))
    theirs = isc_features_to_metric(logits, splits=5, shuffle=False)
    mean, std = inception_score(logits, splits=5)
    assert mean > 2.0
    assert mean == pytest.approx(theirs["inception_score_mean"], rel=1e-9)
    assert std == pytest.approx(theirs["inception_score_std"], rel=1e-6)


def test_bad_splits_name_the_argument() -> None:
    with pytest.raises(MetricsError, match="splits"):
        inception_score(torch.zeros(5, 10), splits=6)

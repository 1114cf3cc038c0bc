"""StackedMNIST's mode metrics: modes covered of 1,000 and KL(mode histogram || uniform).

The definition is that of the PacGAN authors' code for the VEEGAN protocol
(github.com/fjxmlzn/PacGAN, ``stacked_MNIST_experiments/*/model.py``, ``log_metrics``): each
of 26,000 generated samples is split into its three channels, each channel is classified by
an MNIST classifier (its most likely digit), and the triple of digits is the sample's mode.
"Modes" counts the distinct triples; the KL divergence, in nats, is that of the modes'
empirical distribution p from the uniform distribution over all 1,000:
KL = sum over seen modes of p log(p / 0.001).

``StackedDigitsFeatures`` is the ``stacked_mnist`` feature extractor: the digits' own domain
classifier applied to each channel. Its features are the three channels' features side by
side (for FID / KID of stacked samples) and its logits score all 1,000 triples as the sum of
the channels' log-probabilities, so their argmax is exactly the triple of per-channel argmaxes
and their softmax is the product of the channels' (an Inception Score over the 1,000 modes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganlab.errors import ConfigError, MetricsError
from ganlab.metrics.domain import DomainFeatures

NUM_MODES = 1000


def mode_coverage(digits: Tensor) -> dict[str, float]:
    """``modes`` (distinct digit triples) and ``kl`` (to uniform over 1,000) of ``[N, 3]``."""
    if digits.dim() != 2 or digits.shape[1] != 3 or len(digits) == 0:
        raise MetricsError(f"expected digit triples [N, 3], got {tuple(digits.shape)}")
    if digits.min() < 0 or digits.max() > 9:
        raise MetricsError("digit triples must hold digits 0-9")
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    p = torch.bincount(modes, minlength=NUM_MODES).double() / len(modes)
    seen = p[p > 0]
    kl = float((seen * (seen * NUM_MODES).log()).sum())
    return {"modes": float(len(seen)), "kl": max(kl, 0.0)}  # >= 0 but for rounding


def triples_of(logits: Tensor) -> Tensor:
    """The digit triples ``[N, 3]`` that 1,000-way triple scores ``[N, 1000]`` pick."""
    if logits.dim() != 2 or logits.shape[1] != NUM_MODES:
        raise MetricsError(
            f"stacked_modes needs 1,000 triple scores per sample (metrics.features="
            f"stacked_mnist), got logits of shape {tuple(logits.shape)}"
        )
    modes = logits.argmax(dim=1)
    return torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=1)


def digits_of(datamodule: Any) -> Any:
    """The single digits whose classifier measures stacked samples (``data=stacked_mnist``)."""
    if not callable(getattr(datamodule, "digits", None)):
        raise ConfigError(
            f"metrics.features=stacked_mnist measures StackedMNIST samples, but the data is "
            f"{getattr(datamodule, 'name', datamodule)!r}: use data=stacked_mnist, or "
            "metrics.features=domain"
        )
    return datamodule.digits()


class StackedDigitsFeatures(DomainFeatures):
    """A digit classifier (``ganlab-train-evaluator data=mnist_5k``) applied per channel."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        if self.num_classes != 10 or self.channels != 1:
            raise MetricsError(
                f"evaluator {path} classifies {self.num_classes} classes of {self.channels}-"
                "channel images; stacked_mnist needs a digit classifier (10 classes, grey)"
            )
        self.name = f"stacked-{self.name}"
        self.num_features = 3 * self.num_features

    @torch.no_grad()
    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Features ``[B, 3F]`` and triple scores ``[B, 1000]`` of ``[B, 3, H, W]`` images."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise MetricsError(f"stacked MNIST samples must be [B, 3, H, W], got {tuple(x.shape)}")
        parts = [
            super(StackedDigitsFeatures, self).features_and_logits(x[:, c : c + 1])
            for c in range(3)
        ]
        features = torch.cat([f for f, _ in parts], dim=1)
        r, g, b = (torch.log_softmax(logits, dim=1) for _, logits in parts)
        scores = r[:, :, None, None] + g[:, None, :, None] + b[:, None, None, :]
        return features, scores.reshape(len(x), NUM_MODES)

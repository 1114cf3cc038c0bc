"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) per split.

High when each sample is confidently one class and the classes are balanced; it ranges
from 1 (every prediction the same, or uniform) to the number of classes.
"""

from __future__ import annotations

import torch

from ganlab.errors import MetricsError
from ganlab.metrics.features import ArrayLike, as_float64


def inception_score(logits: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation over `splits` consecutive chunks of `logits [N, K]`.

    As in the original code the chunks are taken in order (generated samples come in
    random order already); p(y) is each chunk's mean prediction. Zero probabilities
    contribute 0 log 0 = 0, so saturated softmaxes cannot produce NaN.
    """
    logits = torch.from_numpy(as_float64(logits, "inception_score(logits)", 2))
    if not isinstance(splits, int) or not 1 <= splits <= len(logits):
        raise MetricsError(
            f"inception_score(splits={splits!r}): use an integer between 1 and the number "
            f"of samples ({len(logits)})"
        )
    probs = logits.softmax(dim=1)
    n = len(probs)
    scores = []
    for i in range(splits):
        chunk = probs[i * n // splits : (i + 1) * n // splits]
        marginal = chunk.mean(dim=0, keepdim=True)
        kl = (torch.special.xlogy(chunk, chunk) - torch.special.xlogy(chunk, marginal)).sum(1)
        scores.append(kl.mean().exp())
    values = torch.stack(scores)
    return float(values.mean()), float(values.std(correction=0))

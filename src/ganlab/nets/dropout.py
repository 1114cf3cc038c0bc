"""Dropout whose masks are drawn for the global batch during a training step (``ganlab.noise``).

The same as ``nn.Dropout`` (zero each element with probability p, scale the rest by
1 / (1 - p), the identity in eval mode), but 1 or N processes, and a resumed run, draw the
same masks for the same samples.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganlab.noise import batch_rand


class BatchDropout(nn.Module):
    """``nn.Dropout(p)`` with masks from ``ganlab.noise.batch_rand``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = batch_rand(tuple(x.shape), x.device, x.dtype) >= self.p
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"

"""Class-conditioning pieces: label embeddings for G and D, and the label check in forward."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CONDITIONING = ("concat", "projection")


def require_labels(net: nn.Module, y: Tensor | None, batch_size: int) -> Tensor | None:
    """Return ``y`` for a conditional net (checked), None for an unconditional one.

    Unconditional nets ignore ``y``: datamodules of unlabelled sets still yield labels (all -1).
    """
    if net.num_classes == 0:
        return None
    name = type(net).__name__
    if y is None:
        raise ValueError(
            f"{name} is class-conditional (num_classes={net.num_classes}) and needs labels y of "
            f"shape [B]; pass y, or build it with num_classes=0"
        )
    if y.shape != (batch_size,) or y.is_floating_point():
        raise ValueError(
            f"{name}: labels y must be integer class indices of shape [{batch_size}], "
            f"got {y.dtype} of shape {list(y.shape)}"
        )
    return y


class ConcatEmbedding(nn.Module):
    """Append a learned class embedding to the input (Mirza & Osindero 2014 feed y with z and x).

    For feature maps ``[B, C, H, W]`` the embedding becomes constant extra channels over H x W.
    Followed by a linear or conv layer, an embedding of ``num_classes`` dimensions can express
    everything a one-hot label can.

    ``onehot=True`` appends the fixed one-hot label instead (``embed_dim`` is then unused).
    Next to 100-d uniform noise (norm about 6), a learned N(0, 1) embedding of the same width
    (norm about 10) outweighs z at the start; Mirza & Osindero's one-hot y (norm 1) does not.
    """

    def __init__(self, num_classes: int, embed_dim: int, onehot: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = None if onehot else nn.Embedding(num_classes, embed_dim)

    def forward(self, h: Tensor, y: Tensor) -> Tensor:
        e = F.one_hot(y, self.num_classes).to(h.dtype) if self.embed is None else self.embed(y)
        spatial = h.shape[2:]
        e = e.view(*e.shape, *(1 for _ in spatial)).expand(-1, -1, *spatial)
        return torch.cat([h, e], dim=1)


class ProjectionHead(nn.Module):
    """The class term <embed(y), h> of the projection discriminator (Miyato & Koyama 2018).

    Added to the unconditional logit ``linear(h)`` on D's penultimate features ``h`` (flattened).
    The embedding starts at N(0, 0.02), the scale of the output layer it is added to, so neither
    term dominates at the start of training.
    """

    def __init__(self, num_classes: int, features: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, h: Tensor, y: Tensor) -> Tensor:
        return (self.embed(y) * h.flatten(1)).sum(dim=1)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up per class (de Vries et al. 2017).

    Normalises with ``BatchNorm2d(affine=False)`` (batch statistics in training, running ones
    in eval), then applies ``gain[y] * x + bias[y]`` per channel, as in the conditional
    generators of Miyato & Koyama 2018 and BigGAN. Gains start at 1 and biases at 0, so every
    class starts from plain batch norm. The normalisation is a child ``BatchNorm2d``, not a
    subclass, so ``SyncBatchNorm.convert_sync_batchnorm`` swaps it without losing the labels.
    """

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        gain = self.gain(y)[:, :, None, None]
        bias = self.bias(y)[:, :, None, None]
        return self.bn(x) * gain + bias

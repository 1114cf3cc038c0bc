"""U-Net generator of pix2pix (Isola et al. 2017) for image-to-image restoration.

An encoder of stride-2 4x4 convolutions (LeakyReLU 0.2, batch norm except at the ends)
halves the resolution ``depth`` times; a mirrored decoder of transposed convolutions
(ReLU, batch norm, dropout in the deepest blocks) doubles it back, each block also reading
the encoder's map of the same size (the skip connections that carry fine detail, which
restoration needs most). Images whose side is not a multiple of ``2**depth`` (28 px) are
padded by edge replication and the output is cropped, so depth and size are independent.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.nets import checks
from ganlab.nets.dropout import BatchDropout
from ganlab.nets.init import normal_init

NORMS = ("batch", "instance", "none")


def norm_layer(norm: str, channels: int) -> list[nn.Module]:
    """The normalisation ``norm`` names, as a list to splice into a block (empty for none)."""
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "instance":
        return [nn.InstanceNorm2d(channels)]
    return []


class UNetGenerator(nn.Module):
    """Corrupted image (plus extra channels such as a mask) -> restored image in [-1, 1].

    ``forward(x) -> image``: ``x`` is ``[B, in_channels, H, W]`` and the output
    ``[B, C, H, W]`` with ``C = shape[0]``. Channels double from ``width`` per level up to
    ``max_width`` (pix2pix: 64 to 512 over 8 levels at 256 px). ``dropout`` acts in the
    ``dropout_layers`` deepest decoder blocks during training only, so restorations are
    deterministic (pix2pix also keeps it at test time as its only source of noise).
    """

    def __init__(
        self,
        shape: Sequence[int],
        in_channels: int | None = None,
        depth: int = 5,
        width: int = 64,
        max_width: int = 512,
        norm: str = "batch",
        dropout: float = 0.5,
        dropout_layers: int = 3,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape = checks.image_shape(owner, shape)
        out_channels = self.shape[0]
        self.in_channels = checks.positive_int(
            owner, "in_channels", out_channels if in_channels is None else in_channels
        )
        self.depth = checks.positive_int(owner, "depth", depth)
        width = checks.positive_int(owner, "width", width)
        max_width = checks.positive_int(owner, "max_width", max_width)
        checks.choice(owner, "norm", norm, NORMS)
        dropout = checks.probability(owner, "dropout", dropout)
        if not isinstance(dropout_layers, int) or dropout_layers < 0:
            raise ValueError(f"{owner}: dropout_layers {dropout_layers!r}; use an integer >= 0")
        if checks.num_classes(owner, num_classes):
            raise ValueError(f"{owner}: restoration is not class-conditional; use num_classes=0")
        self.num_classes = 0
        self.multiple = 2**self.depth

        channels = [min(width * 2**i, max_width) for i in range(self.depth)]
        self.downs = nn.ModuleList()
        for i, c in enumerate(channels):
            inner = 0 < i < self.depth - 1
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            previous = self.in_channels if i == 0 else channels[i - 1]
            layers.append(nn.Conv2d(previous, c, 4, stride=2, padding=1, bias=not inner))
            if inner:
                layers += norm_layer(norm, c)
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        for i, c in enumerate(channels):
            reads = c if i == self.depth - 1 else 2 * c
            if i == 0:
                layers = [nn.ReLU(), nn.ConvTranspose2d(reads, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                out = channels[i - 1]
                layers = [
                    nn.ReLU(),
                    nn.ConvTranspose2d(reads, out, 4, 2, 1, bias=norm == "none"),
                    *norm_layer(norm, out),
                ]
                if dropout > 0 and i >= self.depth - dropout_layers:
                    layers.append(BatchDropout(dropout))
            self.ups.append(nn.Sequential(*layers))
        normal_init(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}: expected input [B, {self.in_channels}, H, W], "
                f"got {list(x.shape)}"
            )
        height, width = x.shape[-2:]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.ups[-1](skips[-1])
        for i in range(self.depth - 2, -1, -1):
            h = self.ups[i](torch.cat([h, skips[i]], dim=1))
        return h[..., :height, :width]

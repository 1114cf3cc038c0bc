"""Conditional PatchGAN discriminator of pix2pix (Isola et al. 2017).

It classifies each overlapping patch of the image as real or restored, given the corrupted
input beside it: ``n_layers`` stride-2 4x4 convolutions, one stride-1 convolution and a
stride-1 convolution to one logit per patch. With ``n_layers=3`` each logit sees 70x70
pixels (the paper's choice at 256 px); 2 gives 34x34 and 1 gives 16x16, which suit small
images. Judging patches rather than the whole image penalises blur at the scale of
texture, while the L1 term of the generator takes care of the low frequencies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganlab.nets import checks
from ganlab.nets.init import normal_init
from ganlab.nets.unet import NORMS, norm_layer


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch one output logit sees."""
    field = 7  # the two stride-1 4x4 convolutions at the end
    for _ in range(n_layers):
        field = (field - 1) * 2 + 4
    return field


def output_size(size: int, n_layers: int) -> int:
    """Side of the logit map for an input of side ``size``."""
    for _ in range(n_layers):
        size //= 2
    return size - 2


class PatchGANDiscriminator(nn.Module):
    """``forward(x, condition) -> logits [B, h, w]``, one per patch, unbounded.

    ``condition`` is what the generator saw (the corrupted image, and the mask for
    inpainting), ``condition_channels`` channels; it is concatenated to ``x``. Every loss
    of ``ganlab.losses`` averages over its logits, so they apply per patch unchanged.
    """

    def __init__(
        self,
        shape: Sequence[int],
        condition_channels: int = 0,
        width: int = 64,
        n_layers: int = 3,
        max_width: int = 512,
        norm: str = "batch",
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape = checks.image_shape(owner, shape)
        if not isinstance(condition_channels, int) or condition_channels < 0:
            raise ValueError(f"{owner}: condition_channels {condition_channels!r}; use >= 0")
        self.condition_channels = condition_channels
        width = checks.positive_int(owner, "width", width)
        self.n_layers = checks.positive_int(owner, "n_layers", n_layers)
        max_width = checks.positive_int(owner, "max_width", max_width)
        checks.choice(owner, "norm", norm, NORMS)
        if checks.num_classes(owner, num_classes):
            raise ValueError(f"{owner}: restoration is not class-conditional; use num_classes=0")
        self.num_classes = 0
        side = min(self.shape[1:])
        if output_size(side, self.n_layers) < 1:
            fits = [n for n in range(1, self.n_layers) if output_size(side, n) >= 1]
            hint = f"use n_layers <= {max(fits)}" if fits else "use larger images"
            raise ValueError(
                f"{owner}: n_layers {self.n_layers} leaves no patch of {side} px images; {hint}"
            )
        self.receptive_field = receptive_field(self.n_layers)

        channels = width
        layers: list[nn.Module] = [
            nn.Conv2d(self.shape[0] + condition_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
        ]
        for i in range(1, self.n_layers + 1):
            out = min(width * 2**i, max_width)
            stride = 2 if i < self.n_layers else 1
            layers += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=norm == "none"),
                *norm_layer(norm, out),
                nn.LeakyReLU(0.2),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        normal_init(self)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        if self.condition_channels:
            if condition is None or condition.shape[1] != self.condition_channels:
                got = None if condition is None else list(condition.shape)
                raise ValueError(
                    f"{type(self).__name__}: needs the generator's input as condition "
                    f"[B, {self.condition_channels}, H, W], got {got}"
                )
            x = torch.cat([x, condition.to(x.dtype)], dim=1)
        return self.net(x).squeeze(1)

"""R3GAN's backbone (Huang et al. 2024, "The GAN is dead; long live the GAN!").

A modernised ResNet for G and D alike: no normalization layers; each stage is a chain of
inverted-bottleneck residual blocks (1x1 conv widening by ``expansion``, a grouped 3x3 conv,
1x1 back), each with biased leaky ReLU(0.2); the last conv of every block starts at zero, so
every block starts as the identity, and the others are scaled by the total number of blocks
L (gain x L^(-1/4), the paper's fix-up initialization). Resolution changes between stages
with the [1, 2, 1] low-pass filter; a change of width is a 1x1 conv. G starts from a learned
base x base basis modulated by a linear map of z (plus a class embedding), and ends with a
1x1 conv to the image (no output nonlinearity, as in R3GAN); D starts with a 1x1 conv from
the image and ends with a depthwise base x base conv and a linear map to one logit, or, for
class-conditional runs, to an embedding projected onto the label's (projection conditioning).

``widths`` gives the channels per stage, one number for all or a list from the lowest
resolution (base x base: base 4 for 32 and 64 px, 7 for 28 px) to the image's, in the same
order for G and D; ``cardinality`` (the groups of the 3x3 conv) and ``blocks`` likewise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.nets import checks
from ganlab.nets.conditional import require_labels

LEAK = 0.2
# The gain that keeps a leaky ReLU's output variance equal to its input's.
GAIN = math.sqrt(2 / (1 + LEAK**2))


def _msr(layer: nn.Conv2d | nn.Linear, gain: float = 1.0) -> nn.Module:
    """He-style init, N(0, gain^2 / fan_in); gain 0 starts the layer at zero."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    return layer


class BiasedLeakyReLU(nn.Module):
    """A per-channel bias, then leaky ReLU(0.2) (R3GAN puts no bias in its convolutions)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), LEAK)


class ResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), the last conv zero at the start."""

    def __init__(self, channels: int, cardinality: int, expansion: int, total_blocks: int) -> None:
        super().__init__()
        wide = channels * expansion
        gain = GAIN * total_blocks ** (-1 / 4)  # 3 linear layers: L^(-1 / (2 * 3 - 2))
        self.widen = _msr(nn.Conv2d(channels, wide, 1, bias=False), gain)
        self.act1 = BiasedLeakyReLU(wide)
        self.mix = _msr(nn.Conv2d(wide, wide, 3, padding=1, groups=cardinality, bias=False), gain)
        self.act2 = BiasedLeakyReLU(wide)
        self.narrow = _msr(nn.Conv2d(wide, channels, 1, bias=False), 0.0)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.narrow(self.act2(self.mix(self.act1(self.widen(x)))))


class Resample(nn.Module):
    """2x up- or downsampling with the [1, 2, 1] low-pass filter, per channel.

    The filter is the outer product of [1, 3, 3, 1] / 8 with itself (the [1, 2, 1] kernel
    convolved with the box of the 2x step), applied by a strided convolution (down) or its
    transpose with gain 4 (up), so a constant image stays the same constant.
    """

    def __init__(self, up: bool) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
        kernel = torch.outer(taps, taps)
        self.register_buffer("kernel", (kernel / kernel.sum())[None, None], persistent=False)
        self.up = up

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        flat = x.reshape(b * c, 1, h, w)
        kernel = self.kernel.to(x.dtype)
        if self.up:
            out = F.conv_transpose2d(flat, 4 * kernel, stride=2, padding=1)
        else:
            out = F.conv2d(flat, kernel, stride=2, padding=1)
        return out.reshape(b, c, *out.shape[2:])


def _per_stage(owner: str, name: str, value: int | Sequence[int], sizes: list[int]) -> list[int]:
    """One positive integer per stage (of ``sizes`` px each), from one number or a list."""
    values = [value] * len(sizes) if isinstance(value, int) else list(value)
    checks.positive_ints(owner, name, values)
    if len(values) != len(sizes):
        listed = ", ".join(map(str, sizes))
        raise ValueError(
            f"{owner}: {name} has {len(values)} entries, but {sizes[-1]} px images need one "
            f"per stage, {len(sizes)} ({listed} px); give {len(sizes)} or one number"
        )
    return values


class _Geometry:
    """Stages, widths, groups and blocks of one R3GAN net for images of ``shape``."""

    def __init__(
        self,
        owner: str,
        shape: Sequence[int],
        widths: int | Sequence[int],
        cardinality: int | Sequence[int],
        blocks: int | Sequence[int],
        expansion: int,
    ) -> None:
        self.shape, self.base, k = checks.square_image_geometry(owner, shape)
        sizes = [self.base * 2**i for i in range(k + 1)]
        self.widths = _per_stage(owner, "widths", widths, sizes)
        self.expansion = checks.positive_int(owner, "expansion", expansion)
        self.cardinality = _per_stage(owner, "cardinality", cardinality, sizes)
        self.blocks = _per_stage(owner, "blocks", blocks, sizes)
        for width, groups in zip(self.widths, self.cardinality, strict=True):
            if (width * self.expansion) % groups:
                raise ValueError(
                    f"{owner}: cardinality {groups} does not divide the {width * self.expansion} "
                    f"channels of a block of width {width} (x expansion {self.expansion})"
                )
        self.total_blocks = sum(self.blocks)

    def stage(self, i: int) -> list[nn.Module]:
        """The residual blocks of stage ``i`` (0: the lowest resolution)."""
        block = (self.widths[i], self.cardinality[i], self.expansion, self.total_blocks)
        return [ResidualBlock(*block) for _ in range(self.blocks[i])]


def _width_change(channels_in: int, channels_out: int) -> list[nn.Module]:
    if channels_in == channels_out:
        return []
    return [_msr(nn.Conv2d(channels_in, channels_out, 1, bias=False))]


class R3GANGenerator(nn.Module):
    """z (+ a class embedding) -> learned basis -> residual stages, upsampling -> 1x1 to image."""

    def __init__(
        self,
        shape: Sequence[int],
        z_dim: int = 64,
        widths: int | Sequence[int] = 256,
        cardinality: int | Sequence[int] = 8,
        blocks: int | Sequence[int] = 2,
        expansion: int = 2,
        num_classes: int = 0,
        embed_dim: int = 64,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        geometry = _Geometry(owner, shape, widths, cardinality, blocks, expansion)
        self.shape = geometry.shape
        self.z_dim = checks.positive_int(owner, "z_dim", z_dim)
        self.num_classes = checks.num_classes(owner, num_classes)
        embed_dim = checks.positive_int(owner, "embed_dim", embed_dim)
        self.embed = None
        if self.num_classes:
            self.embed = nn.Embedding(self.num_classes, embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 1 / math.sqrt(self.num_classes))
        widths, base = geometry.widths, geometry.base
        self.basis = nn.Parameter(torch.randn(widths[0], base, base))
        inputs = self.z_dim + (embed_dim if self.num_classes else 0)
        self.modulation = _msr(nn.Linear(inputs, widths[0], bias=False))
        layers: list[nn.Module] = geometry.stage(0)
        for i in range(1, len(widths)):
            layers += [*_width_change(widths[i - 1], widths[i]), Resample(up=True)]
            layers += geometry.stage(i)
        self.stages = nn.Sequential(*layers)
        self.to_image = _msr(nn.Conv2d(widths[-1], self.shape[0], 1, bias=False))

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, z.shape[0])
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        x = self.basis[None] * self.modulation(z)[:, :, None, None]
        return self.to_image(self.stages(x))


class R3GANDiscriminator(nn.Module):
    """Image -> 1x1 conv -> residual stages, downsampling -> depthwise basis conv -> logit
    (projected onto the label's embedding for class-conditional runs)."""

    def __init__(
        self,
        shape: Sequence[int],
        widths: int | Sequence[int] = 256,
        cardinality: int | Sequence[int] = 8,
        blocks: int | Sequence[int] = 2,
        expansion: int = 2,
        num_classes: int = 0,
        embed_dim: int = 64,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        geometry = _Geometry(owner, shape, widths, cardinality, blocks, expansion)
        self.num_classes = checks.num_classes(owner, num_classes)
        embed_dim = checks.positive_int(owner, "embed_dim", embed_dim)
        widths, base = geometry.widths, geometry.base
        self.from_image = _msr(nn.Conv2d(geometry.shape[0], widths[-1], 1, bias=False))
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1, 0, -1):
            layers += geometry.stage(i)
            layers += [Resample(up=False), *_width_change(widths[i], widths[i - 1])]
        layers += geometry.stage(0)
        self.stages = nn.Sequential(*layers)
        self.basis = _msr(nn.Conv2d(widths[0], widths[0], base, groups=widths[0], bias=False))
        outputs = embed_dim if self.num_classes else 1
        self.head = _msr(nn.Linear(widths[0], outputs, bias=False))
        self.embed = None
        if self.num_classes:
            self.embed = nn.Embedding(self.num_classes, embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 1 / math.sqrt(self.num_classes * embed_dim))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, x.shape[0])
        h = self.head(self.basis(self.stages(self.from_image(x))).flatten(1))
        if self.embed is not None:
            return (h * self.embed(y)).sum(dim=1)
        return h.squeeze(1)

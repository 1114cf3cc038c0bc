"""Residual G and D of SNGAN (Miyato et al. 2018, appendix B) for square images of base * 2^k px.

G: linear z -> width x base x base, k up-blocks (BN -> ReLU -> 2x nearest upsample -> 3x3 conv
-> BN -> ReLU -> 3x3 conv, plus a 1x1 conv on the upsampled input), then BN -> ReLU -> 3x3 conv
-> tanh. D: an "optimized" first block that halves the resolution, down-blocks until the map is
8x8 or smaller, two blocks without downsampling, ReLU, global sum pooling and a linear logit;
no batch norm, spectral norm on every weight. At 32 px these are the CIFAR-10 nets (3 up-blocks;
D: optimized block, 1 down-block, 2 plain blocks). Larger images add blocks at the same width
(SNGAN's STL-10 and ImageNet nets also widen with depth; that is not done here).

Class conditioning (Miyato & Koyama 2018): every batch norm inside G's blocks becomes a
conditional batch norm (per-class gain and bias); D adds the projection <embed(y), h> to its
logit, on the pooled features h.

Initialisation follows the SNGAN code (pfnet-research/sngan_projection), not DCGAN's N(0, 0.02):
xavier_uniform with gain sqrt(2) for the 3x3 convs inside the residual branches (each is followed
by a ReLU), gain 1 for the shortcuts, the linear layers, the projection embedding and G's output
conv; zero biases. A fixed std of 0.02 ignores the fan-in, so how much a layer scales its signal
depends on its width (fan-in x 0.02^2 = 0.9 for a 3x3 conv over 256 channels, 0.004 for D's first
conv on a grey image), and through a dozen residual branches that mismatch compounds. Xavier
scales with fan-in and fan-out (with gain sqrt(2) and equal fans it is He init, which keeps the
variance through a ReLU), so branches and shortcuts start at comparable scales at any width. In D,
spectral norm divides every weight by its top singular value, so there the init only sets the
directions, but the same recipe keeps the reproduction faithful (and D sane with
``spectral_norm=False``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.nets import checks
from ganlab.nets.conditional import ConditionalBatchNorm2d, ProjectionHead, require_labels

RELU_GAIN = math.sqrt(2.0)
D_MAX_FINAL = 8  # D downsamples until its feature map is at most 8 x 8


def _xavier(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """xavier_uniform weights with ``gain``, zero bias, as every layer of the SNGAN code."""
    nn.init.xavier_uniform_(layer.weight, gain)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _conv3x3(in_channels: int, out_channels: int) -> nn.Module:
    return _xavier(nn.Conv2d(in_channels, out_channels, 3, padding=1), RELU_GAIN)


def _conv1x1(in_channels: int, out_channels: int) -> nn.Module:
    return _xavier(nn.Conv2d(in_channels, out_channels, 1))


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class UpBlock(nn.Module):
    """G's residual block: doubles the resolution; batch norms are conditional if num_classes."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int = 0) -> None:
        super().__init__()
        self.conditional = num_classes > 0
        self.norm1 = self._norm(in_channels, num_classes)
        self.conv1 = _conv3x3(in_channels, out_channels)
        self.norm2 = self._norm(out_channels, num_classes)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.shortcut = _conv1x1(in_channels, out_channels)  # learnable: the input is upsampled

    @staticmethod
    def _norm(channels: int, num_classes: int) -> nn.Module:
        if num_classes:
            return ConditionalBatchNorm2d(channels, num_classes)
        return nn.BatchNorm2d(channels)

    def _apply_norm(self, norm: nn.Module, h: Tensor, y: Tensor | None) -> Tensor:
        return norm(h, y) if self.conditional else norm(h)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = F.relu(self._apply_norm(self.norm1, x, y))
        h = self.conv1(_upsample(h))
        h = F.relu(self._apply_norm(self.norm2, h, y))
        return self.conv2(h) + self.shortcut(_upsample(x))


class DownBlock(nn.Module):
    """D's residual block: ReLU -> conv -> ReLU -> conv [-> 2x2 avg pool], no normalisation.

    The shortcut is the identity unless the block pools or changes the width; then it is a
    1x1 conv after the pooling (both are linear, so the order is the SNGAN code's conv-then-pool
    at a quarter of the cost).
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = _conv3x3(in_channels, out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        learnable = downsample or in_channels != out_channels
        self.shortcut = _conv1x1(in_channels, out_channels) if learnable else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
            x = F.avg_pool2d(x, 2)
        return h + self.shortcut(x)


class OptimizedBlock(nn.Module):
    """D's first block: conv -> ReLU -> conv -> avg pool; shortcut avg pool -> 1x1 conv.

    No ReLU before the first conv: the input is the image itself.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.shortcut = _conv1x1(in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class ResNetGenerator(nn.Module):
    """z -> width x base x base -> k up-blocks at constant width -> BN -> ReLU -> conv -> tanh.

    32 px (base 4): 3 up-blocks; 64 px: 4; 128 px: 5; 28 px (base 7): 2. With ``num_classes``
    the batch norms inside the blocks are :class:`ConditionalBatchNorm2d`; the final batch norm
    stays unconditional, as in the SNGAN code.
    """

    def __init__(
        self,
        shape: Sequence[int],
        z_dim: int = 128,
        width: int = 256,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape, self.base, k = checks.square_image_geometry(owner, shape)
        self.z_dim = checks.positive_int(owner, "z_dim", z_dim)
        self.width = checks.positive_int(owner, "width", width)
        self.num_classes = checks.num_classes(owner, num_classes)

        self.linear = _xavier(nn.Linear(self.z_dim, self.width * self.base**2))
        self.blocks = nn.ModuleList(
            UpBlock(self.width, self.width, self.num_classes) for _ in range(k)
        )
        self.out = nn.Sequential(
            nn.BatchNorm2d(self.width),
            nn.ReLU(),
            _xavier(nn.Conv2d(self.width, self.shape[0], 3, padding=1)),
            nn.Tanh(),
        )

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, z.shape[0])
        h = self.linear(z).view(z.shape[0], self.width, self.base, self.base)
        for block in self.blocks:
            h = block(h, y)
        return self.out(h)


class ResNetDiscriminator(nn.Module):
    """Image -> optimized block -> down-blocks to <= 8 x 8 -> 2 plain blocks -> ReLU, sum, logit.

    32 px: the SNGAN CIFAR-10 D (optimized block, 1 down-block, 2 plain blocks, all ``width``
    channels). ``spectral_norm`` wraps every conv, the linear head and the projection embedding
    (one power iteration per training forward, as SNGAN). With ``num_classes`` the projection
    <embed(y), h> on the pooled features is added to the logit (Miyato & Koyama 2018).
    """

    def __init__(
        self,
        shape: Sequence[int],
        width: int = 128,
        num_classes: int = 0,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape, _, _ = checks.square_image_geometry(owner, shape)
        width = checks.positive_int(owner, "width", width)
        self.num_classes = checks.num_classes(owner, num_classes)
        spectral_norm = checks.flag(owner, "spectral_norm", spectral_norm)

        blocks: list[nn.Module] = [OptimizedBlock(self.shape[0], width)]
        size = self.shape[1] // 2
        while size > D_MAX_FINAL:
            blocks.append(DownBlock(width, width, downsample=True))
            size //= 2
        blocks += [DownBlock(width, width, downsample=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = _xavier(nn.Linear(width, 1))
        self.projection: ProjectionHead | None = None
        if self.num_classes:
            self.projection = ProjectionHead(self.num_classes, width)
            _xavier(self.projection.embed)  # the SNGAN code's init, not ProjectionHead's N(0, 0.02)
        if spectral_norm:
            self._apply_spectral_norm()

    def _apply_spectral_norm(self) -> None:
        """Wrap after initialisation, so the power iteration starts from the final weights."""
        for m in list(self.modules()):
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
                _spectral_norm(m)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, x.shape[0])
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        logits = self.linear(h).squeeze(1)
        if self.projection is not None:
            logits = logits + self.projection(h, y)
        return logits

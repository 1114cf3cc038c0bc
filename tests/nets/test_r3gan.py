"""R3GAN's backbone: shapes at 28, 32 and 64 px, blocks that start as the identity, the fix-up
scaling, the [1, 2, 1] resampling, no normalization, projection conditioning, bad sizes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab.nets import R3GANDiscriminator, R3GANGenerator
from ganlab.nets.r3gan import GAIN, Resample, ResidualBlock

SMALL = {"widths": 16, "cardinality": 4, "blocks": 1}


@pytest.mark.parametrize(("resolution", "stages"), [(28, 3), (32, 4), (64, 5)])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_each_resolution(resolution: int, stages: int, channels: int) -> None:
    shape = (channels, resolution, resolution)
    g = R3GANGenerator(shape, z_dim=8, **SMALL)
    d = R3GANDiscriminator(shape, **SMALL)
    x = g(torch.randn(5, 8))
    assert x.shape == (5, *shape) and d(x).shape == (5,)
    assert g.basis.shape == (16, resolution // 2 ** (stages - 1), resolution // 2 ** (stages - 1))
    assert sum(isinstance(m, Resample) for m in g.modules()) == stages - 1


def test_no_normalization_layers() -> None:
    nets = [R3GANGenerator((3, 32, 32), **SMALL), R3GANDiscriminator((3, 32, 32), **SMALL)]
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
    assert not any(isinstance(m, norms) for net in nets for m in net.modules())


def test_every_block_starts_as_the_identity_with_fix_up_scaling() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(channels=64, cardinality=8, expansion=2, total_blocks=16)
    x = torch.randn(2, 64, 8, 8)
    assert torch.equal(block(x), x)  # the last conv is zero
    # The other two: N(0, (gain x L^(-1/4))^2 / fan_in), L = 16 blocks in the net.
    expected = GAIN * 16 ** (-1 / 4) / math.sqrt(64)
    assert block.widen.weight.std().item() == pytest.approx(expected, rel=0.05)
    assert block.mix.weight.std().item() == pytest.approx(expected * math.sqrt(64 / 144), rel=0.05)
    assert block.mix.groups == 8


def test_resampling_keeps_a_constant_and_filters_with_1_3_3_1() -> None:
    constant = torch.full((1, 2, 8, 8), 0.7)
    up, down = Resample(up=True)(constant), Resample(up=False)(constant)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.full((1, 2, 12, 12), 0.7))
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.full((1, 2, 2, 2), 0.7))
    delta = torch.zeros(1, 1, 8, 8)
    delta[..., 4, 4] = 1.0
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    # Downsampling a unit impulse at (4, 4): output (2, 2) reads input rows 3..6 with the taps.
    assert Resample(up=False)(delta)[0, 0, 2, 2].item() == pytest.approx(taps[1].item() ** 2)


def test_projection_conditioning_uses_the_label() -> None:
    torch.manual_seed(0)
    g = R3GANGenerator((1, 28, 28), z_dim=8, num_classes=10, embed_dim=8, **SMALL)
    d = R3GANDiscriminator((1, 28, 28), num_classes=10, embed_dim=16, **SMALL)
    y = torch.tensor([0, 1, 2])
    x = g(torch.randn(3, 8), y)
    assert d.head.out_features == 16
    assert not torch.allclose(d(x, y), d(x, torch.tensor([3, 4, 5])))
    with pytest.raises(ValueError, match="needs labels"):
        d(x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"widths": [16, 16]}, r"widths has 2 entries, but 32 px images need one per stage, 4"),
        ({"widths": 16, "cardinality": 5}, r"cardinality 5 does not divide the 32 channels"),
        ({"widths": 16, "blocks": [1, 1]}, r"blocks has 2 entries"),
        ({"widths": 0}, r"widths"),
    ],
)
def test_sizes_the_backbone_cannot_make_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        R3GANGenerator((1, 32, 32), **kwargs)
    with pytest.raises(ValueError, match="resolution 30 is not supported"):
        R3GANDiscriminator((1, 30, 30), **SMALL)

"""U-Net generator and conditional PatchGAN discriminator: shapes at 28/32/64/128 px."""

from __future__ import annotations

import pytest
import torch

from ganlab.build import build_networks, build_objective
from ganlab.nets import PatchGANDiscriminator, UNetGenerator
from ganlab.nets.dropout import BatchDropout
from ganlab.nets.patchgan import receptive_field

from ..conftest import ComposeFn

SIZES = [28, 32, 64, 128]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("channels", "extra"), [(1, 0), (1, 1), (3, 0)])
def test_unet_maps_the_input_to_an_image_of_the_same_size(
    size: int, channels: int, extra: int
) -> None:
    g = UNetGenerator((channels, size, size), in_channels=channels + extra, depth=4, width=8)
    out = g(torch.randn(2, channels + extra, size, size))
    assert out.shape == (2, channels, size, size)
    assert out.abs().max() <= 1  # tanh


@pytest.mark.parametrize("depth", [1, 3, 5, 7])
def test_unet_depth_is_independent_of_the_size(depth: int) -> None:
    g = UNetGenerator((1, 28, 28), depth=depth, width=4, max_width=16)
    assert len(g.downs) == depth
    assert g(torch.randn(2, 1, 28, 28)).shape == (2, 1, 28, 28)


def test_unet_width_doubles_up_to_max_width() -> None:
    g = UNetGenerator((1, 32, 32), depth=5, width=8, max_width=32)
    convs = [m for m in g.downs.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 32, 32]


def test_unet_skip_connections_carry_the_input() -> None:
    """The outermost skip gives the decoder the input's own map: changing one input pixel
    changes the output at that pixel even with the bottleneck path held fixed."""
    g = UNetGenerator((1, 32, 32), depth=5, width=8).eval()
    x = torch.randn(1, 1, 32, 32)
    y = x.clone()
    y[0, 0, 5, 5] += 1.0
    diff = (g(x) - g(y)).abs()[0, 0]
    assert diff[4:7, 4:7].sum() > diff[20:, 20:].sum()


def test_unet_dropout_only_in_training() -> None:
    g = UNetGenerator((1, 28, 28), depth=3, width=8, dropout=0.5)
    x = torch.randn(2, 1, 28, 28)
    g.eval()
    assert torch.equal(g(x), g(x))
    assert any(isinstance(m, BatchDropout) for m in g.modules())


def test_unet_rejects_a_wrong_input() -> None:
    g = UNetGenerator((1, 28, 28), in_channels=2, depth=2, width=4)
    with pytest.raises(ValueError, match=r"\[B, 2, H, W\]"):
        g(torch.randn(1, 1, 28, 28))
    with pytest.raises(ValueError, match="depth"):
        UNetGenerator((1, 28, 28), depth=0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patchgan_gives_one_logit_per_patch(size: int, n_layers: int) -> None:
    d = PatchGANDiscriminator((1, size, size), condition_channels=2, width=8, n_layers=n_layers)
    logits = d(torch.randn(3, 1, size, size), torch.randn(3, 2, size, size))
    side = size // 2**n_layers - 2
    assert logits.shape == (3, side, side)


def test_patchgan_receptive_fields_match_the_paper() -> None:
    assert [receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]
    assert PatchGANDiscriminator((1, 256, 256), width=8).receptive_field == 70


def test_patchgan_logit_sees_only_its_patch() -> None:
    d = PatchGANDiscriminator((1, 64, 64), condition_channels=1, width=8, n_layers=1).eval()
    x, c = torch.randn(1, 1, 64, 64), torch.randn(1, 1, 64, 64)
    y = x.clone()
    y[0, 0, 60:, 60:] += 1.0  # bottom-right corner only
    diff = (d(x, c) - d(y, c)).abs()[0]
    assert diff[0, 0] == 0 and diff[-1, -1] > 0


def test_patchgan_needs_the_condition_and_room_for_a_patch() -> None:
    d = PatchGANDiscriminator((1, 28, 28), condition_channels=2, width=8)
    with pytest.raises(ValueError, match="condition"):
        d(torch.randn(1, 1, 28, 28))
    with pytest.raises(ValueError, match="n_layers <= 3"):
        PatchGANDiscriminator((1, 28, 28), n_layers=4)


@pytest.mark.parametrize("corruption", ["mask", "noise", "downsample"])
def test_pix2pix_config_builds_nets_for_each_corruption(
    compose_cfg: ComposeFn, corruption: str
) -> None:
    cfg = compose_cfg("task=restoration", f"corruption={corruption}")
    shape = (1, 28, 28)
    objective = build_objective(cfg)
    g, d = build_networks(cfg, objective, shape, 0)
    fix = objective.corruption
    clean = torch.rand(2, *shape) * 2 - 1
    corrupted = fix(clean, torch.Generator().manual_seed(0))
    out = g(corrupted.network_input)
    assert out.shape == clean.shape
    assert d(out, corrupted.network_input).shape == (2, 1, 1)  # 70x70 patches: one on 28 px

"""PacGAN packing: shapes, equality with the inner D on joined samples, and the checks."""

from __future__ import annotations

import pytest
import torch

from ganlab.build import build_networks, build_objective
from ganlab.errors import ConfigError
from ganlab.nets import DCGANDiscriminator, MLPDiscriminator
from ganlab.nets.packing import PackedDiscriminator, packed_shape

from ..conftest import ComposeFn


def test_packed_shape_multiplies_features_or_channels() -> None:
    assert packed_shape((2,), 2) == (4,)
    assert packed_shape((1, 32, 32), 3) == (3, 32, 32)
    assert packed_shape((3, 16, 16), 1) == (3, 16, 16)
    with pytest.raises(ValueError, match="pack"):
        packed_shape((2,), 0)


def test_packed_mlp_equals_inner_on_concatenated_points() -> None:
    torch.manual_seed(0)
    inner = MLPDiscriminator(shape=packed_shape((2,), 2), hidden=[16, 16]).eval()
    packed = PackedDiscriminator(inner, 2)
    x = torch.randn(6, 2)
    logits = packed(x)
    assert logits.shape == (3,)
    joined = torch.stack([torch.cat([x[2 * i], x[2 * i + 1]]) for i in range(3)])
    torch.testing.assert_close(logits, inner(joined))


def test_packed_dcgan_equals_inner_on_channel_concatenated_images() -> None:
    torch.manual_seed(0)
    inner = DCGANDiscriminator(shape=packed_shape((1, 16, 16), 3), width=4).eval()
    packed = PackedDiscriminator(inner, 3)
    x = torch.randn(6, 1, 16, 16)
    logits = packed(x)
    assert logits.shape == (2,)
    joined = torch.cat([x[0::3], x[1::3], x[2::3]], dim=1)  # sample 3i, 3i+1, 3i+2 as channels
    torch.testing.assert_close(logits, inner(joined))


def test_batch_not_divisible_by_pack_is_refused_in_forward() -> None:
    packed = PackedDiscriminator(MLPDiscriminator(shape=(4,), hidden=[8]), 2)
    with pytest.raises(ValueError, match=r"divisible by model\.pack"):
        packed(torch.randn(5, 2))


def test_build_networks_packs_d_and_checks_batch_and_conditioning(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg("model=mlp_2d", "data=ring8", "model.pack=2")
    generator, discriminator = build_networks(cfg, build_objective(cfg), (2,), 0, batch_size=100)
    assert isinstance(discriminator, PackedDiscriminator) and discriminator.pack == 2
    assert discriminator.inner.body[0].in_features == 4
    assert generator(torch.randn(8, 2)).shape == (8, 2)
    assert discriminator(torch.randn(8, 2)).shape == (4,)
    with pytest.raises(ConfigError, match=r"model.pack=2: data.batch_size=99"):
        build_networks(cfg, build_objective(cfg), (2,), 0, batch_size=99)
    conditional = compose_cfg("model=cgan_mlp", "model.pack=2")
    with pytest.raises(ConfigError, match="unconditional"):
        build_networks(conditional, build_objective(conditional), (1, 28, 28), 10, batch_size=64)
    plain = compose_cfg("model=mlp_2d", "data=ring8")
    _, unpacked = build_networks(plain, build_objective(plain), (2,), 0, batch_size=100)
    assert isinstance(unpacked, MLPDiscriminator)


def test_pack_below_one_is_a_config_error(compose_cfg: ComposeFn) -> None:
    from ganlab.config.checks import validate

    with pytest.raises(ConfigError, match=r"model.pack: expected an integer >= 1"):
        validate(compose_cfg("model=mlp_2d", "data=ring8", "model.pack=0"))

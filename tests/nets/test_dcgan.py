"""DCGAN nets: shapes, supported resolutions and Radford et al.'s layer rules."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.nets import DCGANDiscriminator, DCGANGenerator

from ..tolerances import assert_close_to_scale


@pytest.mark.parametrize(
    ("resolution", "channels", "batch", "width"),
    [
        (28, 1, 4, 16),
        (28, 3, 4, 16),
        (32, 1, 4, 16),
        (32, 3, 4, 16),
        (64, 1, 3, 8),
        (64, 3, 3, 8),
        (128, 1, 2, 4),
        (128, 3, 2, 4),
    ],
)
def test_shapes_and_range(resolution: int, channels: int, batch: int, width: int) -> None:
    shape = (channels, resolution, resolution)
    g = DCGANGenerator(shape, z_dim=16, width=width)
    d = DCGANDiscriminator(list(shape), width=width)
    x = g(torch.randn(batch, 16))
    assert x.shape == (batch, *shape)
    assert x.min() >= -1 and x.max() <= 1 and x.min() < 0 < x.max()
    assert d(x).shape == (batch,)
    assert g.shape == shape and d.shape == shape and g.z_dim == 16
    assert g.num_classes == 0 and d.num_classes == 0


@pytest.mark.parametrize(("resolution", "base"), [(8, 4), (14, 7), (28, 7), (32, 4), (56, 7)])
def test_base_and_depth(resolution: int, base: int) -> None:
    g = DCGANGenerator((1, resolution, resolution), width=4)
    d = DCGANDiscriminator((1, resolution, resolution), width=4)
    assert g.net[0].kernel_size == (base, base)  # z as 1x1 -> base x base
    assert d.head.kernel_size == (base, base)  # base x base -> one logit
    n_up = sum(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2) for m in g.modules())
    assert base * 2**n_up == resolution


@pytest.mark.parametrize("resolution", [30, 4, 7, 12, 48, 100])
def test_unsupported_resolution_fails_at_construction(resolution: int) -> None:
    for net in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ValueError, match=f"resolution {resolution} is not supported"):
            net((1, resolution, resolution))


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 32, 64), "square"), ((2,), "not an image"), ((0, 32, 32), "shape"), ("abc", "shape")],
)
def test_bad_shapes(shape, message: str) -> None:
    for net in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ValueError, match=message):
            net(shape)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "width 0"),
        ({"norm": "instance"}, "norm 'instance'"),
        ({"conditioning": "film", "num_classes": 10}, "conditioning 'film'"),
        ({"num_classes": -1}, "num_classes -1"),
        ({"spectral_norm": "false"}, "spectral_norm 'false'"),
    ],
)
def test_bad_discriminator_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DCGANDiscriminator((1, 28, 28), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"z_dim": 0}, "z_dim 0"), ({"width": 2.5}, "width 2.5"), ({"embed_dim": 0}, "embed_dim 0")],
)
def test_bad_generator_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DCGANGenerator((1, 28, 28), num_classes=10, **kwargs)


def _followers(seq: nn.Sequential, kind: type) -> list[nn.Module | None]:
    """The module right after each ``kind`` layer of ``seq`` (None at the end)."""
    layers = list(seq)
    return [
        layers[i + 1] if i + 1 < len(layers) else None
        for i, m in enumerate(layers)
        if isinstance(m, kind)
    ]


def test_generator_layer_rules() -> None:
    g = DCGANGenerator((3, 64, 64), width=8)
    after = _followers(g.net, nn.ConvTranspose2d)
    assert isinstance(after[-1], nn.Tanh)  # no batch norm at G's output
    assert all(isinstance(m, nn.BatchNorm2d) for m in after[:-1])
    assert all(isinstance(m, nn.ReLU) for m in _followers(g.net, nn.BatchNorm2d))
    assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in g.modules())
    convs = [m for m in g.net if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [64, 32, 16, 8, 3]  # width * 2^(k-1) ... width, C


def test_discriminator_layer_rules() -> None:
    d = DCGANDiscriminator((3, 64, 64), width=8)
    after = _followers(d.features, nn.Conv2d)
    assert isinstance(after[0], nn.LeakyReLU)  # no batch norm at D's input
    assert all(isinstance(m, nn.BatchNorm2d) for m in after[1:])
    slopes = [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 4
    assert not any(
        isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.ReLU)) for m in d.modules()
    )
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64]


def test_normal_init() -> None:
    g = DCGANGenerator((3, 64, 64), width=64)
    big = g.net[3]  # ConvTranspose2d 512 -> 256, 2M weights
    assert big.weight.numel() > 1_000_000
    assert big.weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert big.weight.mean().abs().item() < 1e-3
    bn = g.net[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.25)
    assert torch.all(bn.bias == 0) and torch.all(g.net[-2].bias == 0)


@pytest.mark.parametrize(("norm", "kind"), [("layer", nn.GroupNorm), ("none", None)])
def test_critic_norms_have_no_batch_norm(norm: str, kind: type | None) -> None:
    d = DCGANDiscriminator((1, 32, 32), width=8, norm=norm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    norms = [m for m in d.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == (2 if kind else 0)
    assert all(m.num_groups == 1 for m in norms)
    # Without batch norm each sample's logit depends on that sample alone (needed for WGAN-GP).
    x = torch.randn(4, 1, 32, 32)
    assert_close_to_scale(d(x[:2]), d(x)[:2])  # another batch size: other kernels, same values


def test_spectral_norm_wraps_every_weight() -> None:
    torch.manual_seed(0)  # power iteration converges at a rate that depends on the weights
    d = DCGANDiscriminator((1, 32, 32), width=8, norm="none", spectral_norm=True, num_classes=10)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    assert all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert parametrize.is_parametrized(d.projection.embed, "weight")
    x, y = torch.randn(4, 1, 32, 32), torch.randint(0, 10, (4,))
    for _ in range(10):  # one power iteration per training forward
        d(x, y)
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1).detach(), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    plain = DCGANDiscriminator((1, 32, 32), width=8)
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


@pytest.mark.parametrize("num_classes", [0, 10])
def test_every_parameter_gets_a_gradient(num_classes: int) -> None:
    g = DCGANGenerator((1, 28, 28), z_dim=8, width=8, num_classes=num_classes)
    d = DCGANDiscriminator((1, 28, 28), width=8, num_classes=num_classes)
    y = torch.randint(0, 10, (4,)) if num_classes else None
    d(g(torch.randn(4, 8), y), y).square().mean().backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name

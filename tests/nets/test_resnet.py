"""SNGAN ResNet nets: shapes, depth per resolution, blocks, conditioning, spectral norm, init."""

import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from torch.nn.utils import parametrize

from ganlab.nets import ResNetDiscriminator, ResNetGenerator
from ganlab.nets.conditional import ConditionalBatchNorm2d
from ganlab.nets.resnet import DownBlock, OptimizedBlock, UpBlock

from ..tolerances import FLOAT32_REL, assert_close_to_scale, scale_of

MODEL_CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
Y1 = torch.tensor([0, 1, 2, 3])
Y2 = torch.tensor([4, 5, 6, 7])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These nets are tiny: a second thread only adds contention on a shared CPU (8x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("resolution", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(resolution: int, channels: int) -> None:
    shape = (channels, resolution, resolution)
    g = ResNetGenerator(shape, z_dim=16, width=8)
    d = ResNetDiscriminator(list(shape), width=8)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, *shape)
    assert x.min() >= -1 and x.max() <= 1 and x.min() < 0 < x.max()
    assert d(x).shape == (2,)
    assert g.shape == shape and d.shape == shape and g.z_dim == 16
    assert g.num_classes == 0 and d.num_classes == 0


@pytest.mark.parametrize(
    ("resolution", "base", "up_blocks", "down_blocks", "final"),
    [(32, 4, 3, 1, 8), (64, 4, 4, 2, 8), (128, 4, 5, 3, 8), (28, 7, 2, 1, 7), (8, 4, 1, 0, 4)],
)
def test_depth(resolution: int, base: int, up_blocks: int, down_blocks: int, final: int) -> None:
    g = ResNetGenerator((1, resolution, resolution), z_dim=4, width=4)
    assert g.base == base and len(g.blocks) == up_blocks
    assert g.linear.out_features == 4 * base * base
    d = ResNetDiscriminator((1, resolution, resolution), width=4)
    kinds = [(type(b), getattr(b, "downsample", None)) for b in d.blocks]
    # the optimized block, down-blocks to <= 8 x 8, then two blocks without pooling (SNGAN CIFAR)
    expected = [(OptimizedBlock, None)]
    expected += [(DownBlock, True)] * down_blocks + [(DownBlock, False)] * 2
    assert kinds == expected
    assert d.blocks(torch.randn(1, 1, resolution, resolution)).shape == (1, 4, final, final)


@pytest.mark.parametrize("resolution", [30, 4, 7, 12, 48, 100])
def test_unsupported_resolution_fails_at_construction(resolution: int) -> None:
    for net in (ResNetGenerator, ResNetDiscriminator):
        with pytest.raises(ValueError, match=rf"resolution {resolution} is not supported.*4·2\^k"):
            net((1, resolution, resolution))


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 32, 64), "square"), ((2,), "not an image"), ((0, 32, 32), "shape"), ("abc", "shape")],
)
def test_bad_shapes(shape, message: str) -> None:
    for net in (ResNetGenerator, ResNetDiscriminator):
        with pytest.raises(ValueError, match=message):
            net(shape)


@pytest.mark.parametrize(
    ("net", "kwargs", "message"),
    [
        (ResNetGenerator, {"z_dim": 0}, "z_dim 0"),
        (ResNetGenerator, {"width": 2.5}, "width 2.5"),
        (ResNetGenerator, {"num_classes": -1}, "num_classes -1"),
        (ResNetDiscriminator, {"width": 0}, "width 0"),
        (ResNetDiscriminator, {"num_classes": 1.5}, "num_classes 1.5"),
        (ResNetDiscriminator, {"spectral_norm": "false"}, "spectral_norm 'false'"),
    ],
)
def test_bad_arguments(net: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        net((1, 32, 32), **kwargs)


def _zero_residual(block: nn.Module) -> nn.Module:
    """Zero the block's last conv, leaving only the shortcut."""
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()
    return block


def test_block_shortcuts() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    up = _zero_residual(UpBlock(4, 6))
    sc = up.shortcut
    assert isinstance(sc, nn.Conv2d) and sc.kernel_size == (1, 1)
    nearest = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert_close_to_scale(up(x), sc(nearest))  # 1x1 conv on the upsampled input

    pool = nn.functional.avg_pool2d
    down = _zero_residual(DownBlock(4, 4, downsample=True))
    assert_close_to_scale(down(x), down.shortcut(pool(x, 2)))
    plain = _zero_residual(DownBlock(4, 4, downsample=False))
    assert isinstance(plain.shortcut, nn.Identity)
    assert torch.allclose(plain(x), x)
    assert isinstance(DownBlock(4, 6, downsample=False).shortcut, nn.Conv2d)
    first = _zero_residual(OptimizedBlock(4, 6))
    assert_close_to_scale(first(x), first.shortcut(pool(x, 2)))
    assert first(x).shape == (2, 6, 4, 4)


def test_generator_batch_norms() -> None:
    g = ResNetGenerator((1, 32, 32), z_dim=8, width=8)
    norms = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 2 * 3 + 1 and all(m.affine for m in norms)
    cg = ResNetGenerator((1, 32, 32), z_dim=8, width=8, num_classes=10)
    cbns = [m for m in cg.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(cbns) == 2 * 3  # every batch norm in the blocks ...
    assert all(not m.bn.affine for m in cbns)
    assert isinstance(cg.out[0], nn.BatchNorm2d) and cg.out[0].affine  # ... not the last one
    for m in cbns:
        assert m.gain.weight.shape == (10, 8)
        assert torch.all(m.gain.weight == 1) and torch.all(m.bias.weight == 0)


def test_conditional_batch_norm_applies_the_class_gain_and_bias() -> None:
    cbn = ConditionalBatchNorm2d(num_features=2, num_classes=3)
    with torch.no_grad():
        cbn.gain.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.0, 0.5]]))
        cbn.bias.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [5.0, 0.0]]))
    x = torch.randn(4, 2, 3, 3) * 3 + 1
    y = torch.tensor([1, 2, 0, 1])
    normed = nn.functional.batch_norm(x, None, None, training=True)
    expected = normed * cbn.gain.weight[y][:, :, None, None] + cbn.bias.weight[y][:, :, None, None]
    assert_close_to_scale(cbn(x, y), expected)


def test_conditional_generator_output_depends_on_the_label() -> None:
    torch.manual_seed(0)
    g = ResNetGenerator((1, 32, 32), z_dim=8, width=8, num_classes=10).eval()
    z = torch.randn(4, 8)
    # Gains 1 and biases 0: at initialisation every class is plain batch norm.
    assert torch.allclose(g(z, Y1), g(z, Y2))
    with torch.no_grad():  # as after training: classes get their own gains and biases
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gain.weight.normal_(1.0, 0.2)
                m.bias.weight.normal_(0.0, 0.2)
    assert torch.equal(g(z, Y1), g(z, Y1))
    assert not torch.allclose(g(z, Y1), g(z, Y2))
    assert g(z, Y1).shape == (4, 1, 32, 32)


@pytest.mark.parametrize("spectral_norm", [True, False])
def test_projection_discriminator_depends_on_the_label(spectral_norm: bool) -> None:
    torch.manual_seed(0)
    d = ResNetDiscriminator((1, 32, 32), width=8, num_classes=10, spectral_norm=spectral_norm)
    d.eval()  # no power iteration: two calls see the same weights
    assert d.projection is not None and d.projection.embed.embedding_dim == 8
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    logits = d(x, Y1)
    assert logits.shape == (4,)
    assert torch.equal(logits, d(x, Y1))
    assert not torch.allclose(logits, d(x, Y2))
    # the class term is <embed(y), h> on the pooled features h
    h = nn.functional.relu(d.blocks(x)).sum(dim=(2, 3))
    diff = ((d.projection.embed.weight[Y1] - d.projection.embed.weight[Y2]) * h).sum(dim=1)
    # a difference of two logits: its rounding is relative to the logits, not to the difference
    atol = FLOAT32_REL * scale_of(logits)
    torch.testing.assert_close(logits - d(x, Y2), diff, rtol=0.0, atol=atol)


def test_labels_are_required_by_conditional_nets_only() -> None:
    z, x = torch.randn(4, 8), torch.randn(4, 1, 32, 32)
    g = ResNetGenerator((1, 32, 32), z_dim=8, width=4, num_classes=10)
    d = ResNetDiscriminator((1, 32, 32), width=4, num_classes=10)
    for net, inputs in ((g, z), (d, x)):
        with pytest.raises(ValueError, match=r"num_classes=10.*needs labels y"):
            net(inputs)
        with pytest.raises(ValueError, match=r"shape \[4\]"):
            net(inputs, Y1[:3])
        with pytest.raises(ValueError, match="integer class indices"):
            net(inputs, Y1.float())
    # Unlabelled sets yield y = -1: unconditional nets ignore labels.
    none = torch.full((4,), -1)
    g0 = ResNetGenerator((1, 32, 32), z_dim=8, width=4).eval()
    d0 = ResNetDiscriminator((1, 32, 32), width=4).eval()
    assert d0.projection is None
    assert torch.equal(g0(z, none), g0(z)) and torch.equal(d0(x, none), d0(x))


def test_spectral_norm_wraps_every_weight() -> None:
    torch.manual_seed(0)  # power iteration converges at a rate that depends on the weights
    d = ResNetDiscriminator((1, 32, 32), width=8, num_classes=10)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert len(layers) == 3 + 3 + 2 + 2 + 1 + 1  # blocks' convs, linear head, projection
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    x, y = torch.randn(2, 1, 32, 32), torch.randint(0, 10, (2,))
    for _ in range(30):  # one power iteration per training forward
        d(x, y)
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1).detach(), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    plain = ResNetDiscriminator((1, 32, 32), width=8, num_classes=10, spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_discriminator_has_no_batch_norm() -> None:
    d = ResNetDiscriminator((1, 32, 32), width=8, num_classes=10).eval()
    norms = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
    assert not any(isinstance(m, norms) for m in d.modules())
    # each sample's logit depends on that sample alone (needed for gradient penalties)
    x, y = torch.randn(4, 1, 32, 32), torch.randint(0, 10, (4,))
    assert_close_to_scale(d(x[:2], y[:2]), d(x, y)[:2])


@pytest.mark.parametrize("num_classes", [0, 10])
def test_every_parameter_gets_a_gradient(num_classes: int) -> None:
    g = ResNetGenerator((1, 32, 32), z_dim=8, width=8, num_classes=num_classes)
    d = ResNetDiscriminator((1, 32, 32), width=8, num_classes=num_classes)
    y = torch.randint(0, 10, (4,)) if num_classes else None
    d(g(torch.randn(4, 8), y), y).square().mean().backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_xavier_init() -> None:
    torch.manual_seed(0)
    g = ResNetGenerator((3, 32, 32))  # default width 256
    conv, shortcut = g.blocks[0].conv1, g.blocks[0].shortcut
    fan = 256 * 9  # fan-in = fan-out of a 3x3 conv, 256 -> 256
    # xavier_uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), std a / sqrt(3)
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2) * math.sqrt(1 / fan), rel=0.01)
    assert conv.weight.abs().max() <= math.sqrt(2) * math.sqrt(3 / fan)  # gain sqrt(2) (ReLU)
    assert shortcut.weight.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.02)  # gain 1
    assert torch.all(conv.bias == 0) and torch.all(g.linear.bias == 0)
    d = ResNetDiscriminator((3, 32, 32), spectral_norm=False, num_classes=10)
    assert d.blocks[1].conv1.weight.std().item() == pytest.approx(
        math.sqrt(2) * math.sqrt(2 / (2 * 128 * 9)), rel=0.02
    )
    assert torch.all(d.blocks[1].conv1.bias == 0)
    assert d.projection.embed.weight.abs().max() <= math.sqrt(6 / (10 + 128))


@pytest.mark.parametrize(
    ("name", "conditional"), [("sngan_resnet", False), ("sngan_resnet_cond", True)]
)
def test_configs_are_the_sngan_cifar_setting(name: str, conditional: bool) -> None:
    cfg = OmegaConf.load(MODEL_CONF / f"{name}.yaml")
    assert cfg.name == name and cfg.conditional is conditional
    assert cfg.generator.z_dim == 128 and cfg.generator.width == 256
    assert cfg.discriminator.width == 128 and cfg.discriminator.spectral_norm is True
    shape = OmegaConf.create([3, 32, 32])  # as the datamodule's
    num_classes = 10 if conditional else 0
    g = instantiate(cfg.generator, shape=shape, num_classes=num_classes)
    d = instantiate(cfg.discriminator, shape=shape, num_classes=num_classes)
    assert isinstance(g, ResNetGenerator) and isinstance(d, ResNetDiscriminator)
    assert len(g.blocks) == 3 and len(d.blocks) == 4
    # the CIFAR-10 nets' sizes: about 4.3M parameters in G and 1.05M in D
    assert sum(p.numel() for p in g.parameters()) == pytest.approx(4.3e6, rel=0.02)
    assert sum(p.numel() for p in d.parameters()) == pytest.approx(1.05e6, rel=0.02)
    y = torch.randint(0, 10, (2,)) if conditional else None
    with torch.no_grad():
        x = g(torch.randn(2, 128), y)
        assert x.shape == (2, 3, 32, 32) and d(x, y).shape == (2,)

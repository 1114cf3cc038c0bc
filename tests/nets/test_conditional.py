"""Class conditioning: label embeddings in G, concat and projection in D, label checks."""

import pytest
import torch
from torch import nn

from ganlab.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ganlab.nets.conditional import ConcatEmbedding, ProjectionHead

SHAPE = (1, 28, 28)
Y1 = torch.tensor([0, 1, 2, 3])
Y2 = torch.tensor([4, 5, 6, 7])


def generators(num_classes: int = 10) -> list[nn.Module]:
    return [
        MLPGenerator(SHAPE, z_dim=8, hidden=(16,), num_classes=num_classes),
        DCGANGenerator(SHAPE, z_dim=8, width=4, num_classes=num_classes),
    ]


def discriminators(conditioning: str, num_classes: int = 10) -> list[nn.Module]:
    return [
        MLPDiscriminator(SHAPE, hidden=(16,), num_classes=num_classes, conditioning=conditioning),
        DCGANDiscriminator(SHAPE, width=4, num_classes=num_classes, conditioning=conditioning),
    ]


def test_generator_output_depends_on_the_label() -> None:
    z = torch.randn(4, 8)
    for g in generators():
        g.eval()  # batch norm on running statistics: each sample is computed alone
        assert g.num_classes == 10
        assert torch.equal(g(z, Y1), g(z, Y1))
        assert not torch.allclose(g(z, Y1), g(z, Y2))
        assert g(z, Y1).shape == (4, *SHAPE)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_discriminator_depends_on_the_label(conditioning: str) -> None:
    x = torch.rand(4, *SHAPE) * 2 - 1
    for d in discriminators(conditioning):
        d.eval()
        logits = d(x, Y1)
        assert logits.shape == (4,)
        assert torch.equal(logits, d(x, Y1))
        assert not torch.allclose(logits, d(x, Y2))


def test_conditioning_modules() -> None:
    mlp_concat, dcgan_concat = discriminators("concat")
    mlp_proj, dcgan_proj = discriminators("projection")
    assert mlp_concat.concat is not None and mlp_concat.projection is None
    assert dcgan_concat.features[0].in_channels == 1 + 10  # label channels at the input
    assert mlp_proj.concat is None and mlp_proj.projection.embed.embedding_dim == 16
    assert dcgan_proj.features[0].in_channels == 1
    assert dcgan_proj.projection.embed.embedding_dim == 8 * 7 * 7  # last feature map, flattened


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_missing_labels_raise(conditioning: str) -> None:
    x = torch.randn(4, *SHAPE)
    for net in [*generators(), *discriminators(conditioning)]:
        inputs = torch.randn(4, 8) if hasattr(net, "z_dim") else x
        with pytest.raises(ValueError, match=r"num_classes=10.*needs labels y"):
            net(inputs)
        with pytest.raises(ValueError, match=r"shape \[4\]"):
            net(inputs, Y1[:3])
        with pytest.raises(ValueError, match="integer class indices"):
            net(inputs, Y1.float())


def test_unconditional_nets_ignore_labels() -> None:
    """Datamodules of unlabelled sets yield y = -1; an unconditional net must not mind."""
    none = torch.full((4,), -1)
    z, x = torch.randn(4, 8), torch.randn(4, *SHAPE)
    for g in generators(num_classes=0):
        g.eval()
        assert torch.equal(g(z, none), g(z))
    for d in discriminators("projection", num_classes=0):
        d.eval()
        assert d.projection is None and d.concat is None
        assert torch.equal(d(x, none), d(x))


def test_concat_embedding_on_vectors_and_maps() -> None:
    concat = ConcatEmbedding(num_classes=3, embed_dim=2)
    with torch.no_grad():
        concat.embed.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    y = torch.tensor([2, 0])
    vec = concat(torch.zeros(2, 3), y)
    assert vec.tolist() == [[0, 0, 0, 5, 6], [0, 0, 0, 1, 2]]
    maps = concat(torch.zeros(2, 1, 4, 4), y)
    assert maps.shape == (2, 3, 4, 4)
    assert torch.all(maps[0, 1] == 5) and torch.all(maps[0, 2] == 6) and torch.all(maps[1, 2] == 2)


def test_projection_is_the_inner_product_with_the_class_embedding() -> None:
    head = ProjectionHead(num_classes=2, features=3)
    assert head.embed.weight.std().item() < 0.1  # starts at the output layer's N(0, 0.02) scale
    with torch.no_grad():
        head.embed.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [2.0, 2.0, 2.0]]))
    h = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    assert head(h, torch.tensor([0, 1])).tolist() == [-2.0, 12.0]
    assert head(h.view(2, 3, 1, 1), torch.tensor([1, 0])).tolist() == [12.0, -2.0]

"""MLP nets: Goodfellow et al. 2014 on images, PacGAN's nets on 2D points, maxout."""

import pytest
import torch
from torch import nn

from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.nets.dropout import BatchDropout
from ganlab.nets.mlp import Maxout

from ..tolerances import assert_close_to_scale


def test_maxout_takes_the_max_of_adjacent_pieces() -> None:
    x = torch.tensor([[1.0, 5.0, -2.0, -3.0, 0.0, 4.0]])
    assert Maxout(2)(x).tolist() == [[5.0, -2.0, 4.0]]
    assert Maxout(3)(x).tolist() == [[5.0, 4.0]]


def test_images() -> None:
    g = MLPGenerator([1, 28, 28], hidden=(64, 64))
    d = MLPDiscriminator([1, 28, 28], hidden=(32, 32), dropout=0.5, input_dropout=0.2)
    x = g(torch.randn(5, 100))
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1 and x.min() < 0 < x.max()
    assert d(x).shape == (5,)
    assert g.shape == (1, 28, 28) and g.z_dim == 100 and g.num_classes == 0


def test_points_with_linear_output() -> None:
    g = MLPGenerator((2,), z_dim=2, hidden=[16] * 4, batch_norm=True, output="linear")
    d = MLPDiscriminator((2,), hidden=[8] * 3, activation="maxout", maxout_pieces=5)
    assert not any(isinstance(m, nn.Tanh) for m in g.modules())
    with torch.no_grad():
        g.out.bias.fill_(3.0)  # a linear output is not squashed into [-1, 1]
    x = g(torch.randn(7, 2))
    assert x.shape == (7, 2) and x.min() > 2
    assert d(x).shape == (7,)


def test_layer_sizes() -> None:
    g = MLPGenerator((2,), z_dim=2, hidden=[400] * 4, batch_norm=True, output="linear")
    assert [m.num_features for m in g.modules() if isinstance(m, nn.BatchNorm1d)] == [400] * 4
    assert all(m.bias is None for m in g.body if isinstance(m, nn.Linear))  # BN has the shift
    d = MLPDiscriminator((1, 28, 28), hidden=(240, 240), maxout_pieces=5)
    linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 1200),
        (240, 1200),
        (240, 1),
    ]  # maxout 240 x 5 twice, then one logit
    assert not any(isinstance(m, nn.BatchNorm1d) for m in MLPGenerator((2,)).modules())


@pytest.mark.parametrize(
    ("activation", "kind"),
    [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("tanh", nn.Tanh), ("maxout", Maxout)],
)
def test_activations(activation: str, kind: type) -> None:
    g = MLPGenerator((2,), z_dim=2, hidden=(8,), activation=activation, output="linear")
    d = MLPDiscriminator((2,), hidden=(8, 8), activation=activation)
    assert sum(isinstance(m, kind) for m in g.body) == 1
    assert sum(isinstance(m, kind) for m in d.body) == 2
    assert g(torch.randn(3, 2)).shape == (3, 2) and d(torch.randn(3, 2)).shape == (3,)
    if activation == "leaky_relu":
        assert next(m for m in d.body if isinstance(m, kind)).negative_slope == 0.2


def test_dropout_is_active_in_training_only() -> None:
    d = MLPDiscriminator((2,), hidden=(64,), dropout=0.5, input_dropout=0.2)
    assert [m.p for m in d.modules() if isinstance(m, BatchDropout)] == [0.2, 0.5]
    x = torch.randn(4, 2)
    assert not torch.equal(d(x), d(x))
    d.eval()
    assert torch.equal(d(x), d(x))


def test_every_parameter_gets_a_gradient() -> None:
    g = MLPGenerator((1, 8, 8), z_dim=4, hidden=(16,), batch_norm=True)
    d = MLPDiscriminator((1, 8, 8), hidden=(16, 16))
    d(g(torch.randn(6, 4))).mean().backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_orthogonal_init_gives_gdpp_scaled_orthogonal_weights() -> None:
    torch.manual_seed(0)
    g = MLPGenerator(
        (2,), z_dim=256, hidden=[128, 128], activation="tanh", output="linear", init="orthogonal"
    )
    d = MLPDiscriminator((2,), hidden=[128, 128], activation="tanh", init="orthogonal")
    square = g.body[2].weight  # 128 x 128: W W^T = gain^2 I
    eye = torch.eye(128)
    # float32 QR is orthogonal to about n * eps = 1.5e-5 of the scale; 1e-4 leaves room.
    assert_close_to_scale(square @ square.T, 1.4**2 * eye, rel=1e-4)
    wide = g.body[0].weight  # 128 x 256: orthonormal rows, scaled
    assert_close_to_scale(wide @ wide.T, 1.4**2 * eye, rel=1e-4)
    assert all(m.bias.abs().max() == 0 for m in d.modules() if isinstance(m, nn.Linear))
    default = MLPGenerator((2,), z_dim=256, hidden=[128, 128], output="linear")
    assert default.body[2].weight.std() < 0.03  # N(0, 0.02) stays the default


def test_uniform_init_uses_the_released_codes_ranges() -> None:
    torch.manual_seed(0)
    g = MLPGenerator((1, 28, 28), init="uniform")  # default bound 0.05
    d = MLPDiscriminator((1, 28, 28), init="uniform", init_scale=0.005)
    g_weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.Linear)])
    d_weights = torch.cat([m.weight.flatten() for m in d.modules() if isinstance(m, nn.Linear)])
    assert 0.049 < g_weights.abs().max() <= 0.05
    assert 0.0049 < d_weights.abs().max() <= 0.005
    assert abs(g_weights.std().item() - 0.05 / 3**0.5) < 1e-3  # U(-b, b) has std b / sqrt(3)
    assert all(m.bias.abs().max() == 0 for m in d.modules() if isinstance(m, nn.Linear))


def test_onehot_labels_enter_g_as_mirza_and_osinderos_y() -> None:
    g = MLPGenerator((1, 8, 8), z_dim=4, hidden=(16,), num_classes=3, label_input="onehot")
    assert g.body[0].in_features == 4 + 3
    assert not any("embed" in name for name, _ in g.named_parameters())
    z = torch.zeros(2, 4)
    assert not torch.equal(g(z, torch.tensor([0, 0])), g(z, torch.tensor([0, 1])))
    plain = MLPGenerator((1, 8, 8), z_dim=4, hidden=(16,), label_input="onehot")  # no labels
    assert plain.body[0].in_features == 4 and plain(z).shape == (2, 1, 8, 8)


def test_generator_dropout_acts_in_training_only() -> None:
    g = MLPGenerator((1, 8, 8), z_dim=4, hidden=(64,), dropout=0.5, num_classes=3)
    z, y = torch.rand(5, 4) * 2 - 1, torch.tensor([0, 1, 2, 0, 1])
    assert not torch.equal(g(z, y), g(z, y))  # CGAN's G dropout: a second source of noise
    g.eval()
    assert torch.equal(g(z, y), g(z, y))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"z_dim": 0}, "z_dim 0"),
        ({"hidden": 400}, "hidden 400"),
        ({"hidden": [400, 0]}, r"hidden \[400, 0\]"),
        ({"activation": "gelu"}, "activation 'gelu'"),
        ({"output": "sigmoid"}, "output 'sigmoid'"),
        ({"batch_norm": "false"}, "batch_norm 'false'"),
        ({"maxout_pieces": 0}, "maxout_pieces 0"),
        ({"init": "xavier"}, "init 'xavier'"),
        ({"init_scale": 0}, "init_scale 0"),
        ({"dropout": 1.0}, "dropout 1.0"),
        ({"label_input": "film"}, "label_input 'film'"),
        ({"num_classes": 10, "label_input": "onehot", "embed_dim": 100}, "embed_dim 100"),
        ({"embed_dim": -1}, "embed_dim -1"),
        ({"num_classes": 1.5}, "num_classes 1.5"),
        ({"shape": []}, r"shape \[\]"),
    ],
)
def test_bad_generator_arguments(kwargs: dict, message: str) -> None:
    kwargs = {"shape": (2,), **kwargs}
    with pytest.raises(ValueError, match=message):
        MLPGenerator(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dropout": 1.0}, "dropout 1.0"),
        ({"input_dropout": -0.1}, "input_dropout -0.1"),
        ({"hidden": "240"}, "hidden '240'"),
        ({"activation": "swish"}, "activation 'swish'"),
        ({"conditioning": "film"}, "conditioning 'film'"),
        ({"init": "kaiming"}, "init 'kaiming'"),
        ({"init_scale": "small"}, "init_scale 'small'"),
        ({"shape": (2, -1)}, "shape"),
    ],
)
def test_bad_discriminator_arguments(kwargs: dict, message: str) -> None:
    kwargs = {"shape": (2,), **kwargs}
    with pytest.raises(ValueError, match=message):
        MLPDiscriminator(**kwargs)

"""Fully connected G and D: Goodfellow et al. 2014 on images, PacGAN's nets on 2D points."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets import checks
from ganlab.nets.conditional import CONDITIONING, ConcatEmbedding, ProjectionHead, require_labels
from ganlab.nets.dropout import BatchDropout
from ganlab.nets.init import INITS, initialise

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "maxout")
OUTPUTS = ("tanh", "linear")
LABEL_INPUTS = ("embedding", "onehot")


class Maxout(nn.Module):
    """Maximum over each group of ``pieces`` adjacent units (Goodfellow et al. 2013).

    Goodfellow et al. 2014 build D from maxout units; PacGAN's 2D D uses 5 pieces.
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(1, (-1, self.pieces)).amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


def _activation(name: str, pieces: int) -> nn.Module:
    if name == "maxout":
        return Maxout(pieces)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    return nn.ReLU() if name == "relu" else nn.Tanh()


def _hidden_layers(
    in_features: int,
    hidden: Sequence[int],
    activation: str,
    pieces: int,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] per hidden layer.

    A maxout layer of width n needs n * pieces linear units.
    """
    fan_out = pieces if activation == "maxout" else 1
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(in_features, width * fan_out, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width * fan_out))
        layers.append(_activation(activation, pieces))
        if dropout > 0:
            layers.append(BatchDropout(dropout))
        in_features = width
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (plus a class embedding) -> hidden layers -> ``prod(shape)`` outputs, reshaped.

    ``output="linear"`` is for 2D points (PacGAN's G has a linear output); images use tanh to
    land in [-1, 1] (Goodfellow et al. 2014 used a sigmoid for [0, 1] data).
    The label enters as a learned embedding (``embed_dim`` defaults to ``z_dim``, so label and
    noise enter with equal width) or, with ``label_input="onehot"``, as CGAN's one-hot y.
    ``dropout`` after each hidden layer is Mirza & Osindero's (CGAN applies 0.5 to G as to D).
    ``init`` is ``"normal"`` (N(0, 0.02), DCGAN and PacGAN), ``"orthogonal"`` (GDPP) or
    ``"uniform"`` (Goodfellow et al.'s code); ``init_scale`` overrides its std, gain or bound.
    """

    def __init__(
        self,
        shape: Sequence[int],
        z_dim: int = 100,
        hidden: Sequence[int] = (1200, 1200),
        activation: str = "relu",
        batch_norm: bool = False,
        output: str = "tanh",
        dropout: float = 0.0,
        num_classes: int = 0,
        label_input: str = "embedding",
        embed_dim: int | None = None,
        maxout_pieces: int = 5,
        init: str = "normal",
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape = checks.data_shape(owner, shape)
        self.z_dim = checks.positive_int(owner, "z_dim", z_dim)
        self.num_classes = checks.num_classes(owner, num_classes)
        hidden = checks.positive_ints(owner, "hidden", hidden)
        checks.choice(owner, "activation", activation, ACTIVATIONS)
        checks.choice(owner, "output", output, OUTPUTS)
        checks.choice(owner, "init", init, tuple(INITS))
        init_scale = checks.optional_positive(owner, "init_scale", init_scale)
        batch_norm = checks.flag(owner, "batch_norm", batch_norm)
        pieces = checks.positive_int(owner, "maxout_pieces", maxout_pieces)
        dropout = checks.probability(owner, "dropout", dropout)
        checks.choice(owner, "label_input", label_input, LABEL_INPUTS)
        onehot = label_input == "onehot"
        if onehot and embed_dim is not None:
            raise ValueError(
                f"{owner}: embed_dim {embed_dim} with label_input 'onehot' is invalid; a one-hot "
                f"label is num_classes wide (leave embed_dim null)"
            )
        if onehot:
            embed_dim = self.num_classes
        else:
            embed_dim = self.z_dim if embed_dim is None else embed_dim
            embed_dim = checks.positive_int(owner, "embed_dim", embed_dim)

        self.concat = (
            ConcatEmbedding(self.num_classes, embed_dim, onehot) if self.num_classes else None
        )
        in_features = self.z_dim + (embed_dim if self.num_classes else 0)
        self.body = _hidden_layers(
            in_features, hidden, activation, pieces, batch_norm=batch_norm, dropout=dropout
        )
        last = nn.Linear(hidden[-1] if hidden else in_features, math.prod(self.shape))
        self.out = nn.Sequential(last, nn.Tanh()) if output == "tanh" else last
        initialise(self, init, init_scale)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, z.shape[0])
        if self.concat is not None:
            z = self.concat(z, y)
        return self.out(self.body(z)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """Flattened x -> hidden layers -> one logit, with dropout as in Goodfellow et al. 2014.

    ``conditioning="concat"`` appends a ``num_classes``-dim label embedding to the input (what
    the first layer sees is then as expressive as Mirza & Osindero's one-hot y); ``"projection"``
    adds <embed(y), h> on the last hidden features (Miyato & Koyama 2018).
    """

    def __init__(
        self,
        shape: Sequence[int],
        hidden: Sequence[int] = (240, 240),
        activation: str = "maxout",
        maxout_pieces: int = 5,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        num_classes: int = 0,
        conditioning: str = "concat",
        init: str = "normal",
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape = checks.data_shape(owner, shape)
        self.num_classes = checks.num_classes(owner, num_classes)
        hidden = checks.positive_ints(owner, "hidden", hidden)
        checks.choice(owner, "activation", activation, ACTIVATIONS)
        pieces = checks.positive_int(owner, "maxout_pieces", maxout_pieces)
        dropout = checks.probability(owner, "dropout", dropout)
        input_dropout = checks.probability(owner, "input_dropout", input_dropout)
        checks.choice(owner, "conditioning", conditioning, CONDITIONING)
        checks.choice(owner, "init", init, tuple(INITS))
        init_scale = checks.optional_positive(owner, "init_scale", init_scale)

        in_features = math.prod(self.shape)
        self.input_dropout = BatchDropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.concat: ConcatEmbedding | None = None
        if self.num_classes and conditioning == "concat":
            self.concat = ConcatEmbedding(self.num_classes, self.num_classes)
            in_features += self.num_classes
        self.body = _hidden_layers(in_features, hidden, activation, pieces, dropout=dropout)
        features = hidden[-1] if hidden else in_features
        self.head = nn.Linear(features, 1)
        self.projection: ProjectionHead | None = None
        if self.num_classes and conditioning == "projection":
            self.projection = ProjectionHead(self.num_classes, features)
        initialise(self, init, init_scale)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, x.shape[0])
        h = self.input_dropout(x.flatten(1))
        if self.concat is not None:
            h = self.concat(h, y)
        h = self.body(h)
        logits = self.head(h).squeeze(1)
        if self.projection is not None:
            logits = logits + self.projection(h, y)
        return logits

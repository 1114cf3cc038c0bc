"""DCGAN generator and discriminator (Radford et al. 2015) for square images of base * 2^k pixels.

The paper's rules: strided (transposed) convolutions instead of pooling, no hidden fully
connected layers, batch norm in G and D except at G's output and D's input, ReLU in G with a
tanh output, LeakyReLU(0.2) in D, weights from N(0, 0.02).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.nets import checks
from ganlab.nets.conditional import CONDITIONING, ConcatEmbedding, ProjectionHead, require_labels
from ganlab.nets.init import normal_init

NORMS = ("batch", "layer", "none")


class DCGANGenerator(nn.Module):
    """z (plus a class embedding) -> base x base -> doubling transposed convs -> tanh image.

    z is read as a 1x1 map and projected to base x base by a transposed conv (no fully
    connected layer); channels halve from ``width * 2^(k-1)`` to ``width`` as resolution doubles.
    ``embed_dim`` defaults to ``z_dim``, so label and noise enter with equal width.
    """

    def __init__(
        self,
        shape: Sequence[int],
        z_dim: int = 100,
        width: int = 64,
        num_classes: int = 0,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape, base, k = checks.square_image_geometry(owner, shape)
        self.z_dim = checks.positive_int(owner, "z_dim", z_dim)
        width = checks.positive_int(owner, "width", width)
        self.num_classes = checks.num_classes(owner, num_classes)
        embed_dim = checks.positive_int(
            owner, "embed_dim", self.z_dim if embed_dim is None else embed_dim
        )

        self.concat = ConcatEmbedding(self.num_classes, embed_dim) if self.num_classes else None
        in_features = self.z_dim + (embed_dim if self.num_classes else 0)
        channels = width * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, channels, base, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
        ]
        for _ in range(k - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, self.shape[0], 4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        normal_init(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, z.shape[0])
        if self.concat is not None:
            z = self.concat(z, y)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Image -> stride-2 convs doubling channels -> a base x base conv to one logit.

    ``norm="layer"`` (GroupNorm with one group) is for WGAN-GP critics, which must not use batch
    norm because the gradient penalty is per sample (Gulrajani et al. 2017). ``spectral_norm``
    wraps every conv (and the projection embedding) as in Miyato et al. 2018, usually with
    ``norm="none"``. Conditioning: ``"concat"`` adds ``num_classes`` constant label channels to
    the input, ``"projection"`` adds <embed(y), h> on the last feature map (Miyato & Koyama 2018).
    """

    def __init__(
        self,
        shape: Sequence[int],
        width: int = 64,
        num_classes: int = 0,
        conditioning: str = "projection",
        norm: str = "batch",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.shape, base, k = checks.square_image_geometry(owner, shape)
        width = checks.positive_int(owner, "width", width)
        self.num_classes = checks.num_classes(owner, num_classes)
        checks.choice(owner, "conditioning", conditioning, CONDITIONING)
        checks.choice(owner, "norm", norm, NORMS)
        spectral_norm = checks.flag(owner, "spectral_norm", spectral_norm)

        in_channels = self.shape[0]
        self.concat: ConcatEmbedding | None = None
        if self.num_classes and conditioning == "concat":
            self.concat = ConcatEmbedding(self.num_classes, self.num_classes)
            in_channels += self.num_classes
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
        ]
        channels = width
        for _ in range(k - 1):
            layers.append(
                nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1, bias=norm == "none")
            )
            if norm == "batch":
                layers.append(nn.BatchNorm2d(2 * channels))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, 2 * channels))
            layers.append(nn.LeakyReLU(0.2))
            channels *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 1, base)
        self.projection: ProjectionHead | None = None
        if self.num_classes and conditioning == "projection":
            self.projection = ProjectionHead(self.num_classes, channels * base * base)
        normal_init(self)
        if spectral_norm:
            self._apply_spectral_norm()

    def _apply_spectral_norm(self) -> None:
        """Wrap after initialisation, so the power iteration starts from the final weights."""
        for m in list(self.modules()):
            if isinstance(m, nn.Conv2d):
                _spectral_norm(m)
        if self.projection is not None:
            _spectral_norm(self.projection.embed)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = require_labels(self, y, x.shape[0])
        if self.concat is not None:
            x = self.concat(x, y)
        h = self.features(x)
        logits = self.head(h).flatten()
        if self.projection is not None:
            logits = logits + self.projection(h, y)
        return logits

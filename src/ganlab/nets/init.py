"""Weight initialisation shared by the networks."""

from __future__ import annotations

from torch import nn

_WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """Draw linear/conv weights from N(0, std) and norm scales from N(1, std); zero all biases.

    Radford et al. 2015 (DCGAN) and Lin et al. 2018 (PacGAN) initialise every weight from
    N(0, 0.02). Embeddings keep their own initialisation: a label embedding fed next to z ~ N(0, 1)
    should have z's scale, not 0.02.
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.normal_(m.weight, 0.0, std)
        elif isinstance(m, _NORMS) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def orthogonal_init(module: nn.Module, gain: float = 1.4) -> None:
    """Orthogonal linear/conv weights scaled by ``gain``, zero biases.

    GDPP's 2D nets (Elfeki et al. 2019, the 2 x 128 tanh MLPs of the ring and grid
    benchmarks) start this way, with gain 1.4; at N(0, 0.02) their tanh layers start
    almost linear and with tiny outputs.
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.orthogonal_(m.weight, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def uniform_init(module: nn.Module, bound: float = 0.05) -> None:
    """Linear/conv weights from U(-bound, bound), zero biases.

    Goodfellow et al. 2014's released MNIST code (pylearn2's ``irange``) starts G at bound 0.05
    and D at 0.005; D's tiny start keeps its first SGD steps at lr 0.1 from saturating it.
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.uniform_(m.weight, -bound, bound)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


INITS = {"normal": normal_init, "orthogonal": orthogonal_init, "uniform": uniform_init}
"""Each takes the module and optionally its scale: std, gain or bound."""


def initialise(module: nn.Module, name: str, scale: float | None) -> None:
    """Apply ``INITS[name]`` with ``scale`` or, if None, that scheme's default scale."""
    if scale is None:
        INITS[name](module)
    else:
        INITS[name](module, scale)

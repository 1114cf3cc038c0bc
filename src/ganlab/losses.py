"""Adversarial losses and penalties: plain tensor code on discriminator logits.

An adversarial loss gives D's and G's objectives (both minimised) and a hook run after each D
optimizer step; a relativistic one (``relativistic = True``) also needs D's logits on the real
batch in G's step. A penalty is a separate object called in the D step with
``(D, real, fake, y)`` and added to D's loss.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.noise import batch_rand


def _check_number(
    owner: str,
    name: str,
    value: object,
    minimum: float | None = None,
    strict: bool = False,
    hint: str = "",
) -> None:
    """Raise unless ``value`` is a finite number, >= ``minimum`` (> if ``strict``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{owner}: {name} {value!r} is invalid; use a finite number{bound}{hint}")


@dataclass(frozen=True)
class AdversarialLoss(ABC):
    """D minimises ``d_loss``; G minimises ``g_loss``; ``after_d_step`` runs after D's step."""

    # Whether G's objective compares fakes with reals (it then gets ``real_logits``).
    relativistic: ClassVar[bool] = False

    @abstractmethod
    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's objective on its logits for a real and a generated batch."""

    @abstractmethod
    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """G's objective; ``real_logits`` (D on the real batch) for relativistic losses."""

    def after_d_step(self, discriminator: nn.Module) -> None:  # noqa: B027 (optional hook)
        """Constrain D after its optimizer step (only weight clipping needs it)."""


@dataclass(frozen=True)
class _LogisticLoss(AdversarialLoss):
    """D is a logistic classifier, real vs fake: -E[log D(x)] - E[log(1 - D(G(z)))].

    With D = sigmoid(logit), -log D = softplus(-logit) and log(1 - D) = -softplus(logit),
    which stay finite for any logit.
    """

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


@dataclass(frozen=True)
class MinimaxLoss(_LogisticLoss):
    """The saturating game of Goodfellow et al. 2014 (eq. 1): G minimises E[log(1 - D(G(z)))]."""

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -F.softplus(fake_logits).mean()


@dataclass(frozen=True)
class NonSaturatingLoss(_LogisticLoss):
    """G maximises E[log D(G(z))] instead, which keeps its gradient strong while D easily
    rejects its samples early in training (Goodfellow et al. 2014, section 3)."""

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return F.softplus(-fake_logits).mean()


@dataclass(frozen=True)
class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017): D pulls real to ``b`` and fake to ``a``; G pulls fake to ``c``.

    The paper's codings are (a, b, c) = (-1, 1, 0), the default, and (0, 1, 1).
    """

    a: float = -1.0
    b: float = 1.0
    c: float = 0.0

    def __post_init__(self) -> None:
        for name in ("a", "b", "c"):
            _check_number("LeastSquaresLoss", name, getattr(self, name))
        if self.a == self.b:
            raise ValueError(
                f"LeastSquaresLoss: a and b are both {self.a:g}, so D has no target to tell real "
                "from fake; use distinct targets, e.g. a=-1, b=1"
            )

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return (
            0.5 * (real_logits - self.b).square().mean()
            + 0.5 * (fake_logits - self.a).square().mean()
        )

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return 0.5 * (fake_logits - self.c).square().mean()


@dataclass(frozen=True)
class HingeLoss(AdversarialLoss):
    """SNGAN's hinge loss (Miyato et al. 2018): D = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.mean()


@dataclass(frozen=True)
class RelativisticPairingLoss(AdversarialLoss):
    """RpGAN (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): each real sample is paired
    with a fake one, D minimises E[softplus(-(D(x) - D(G(z))))] and G the mirror image,
    E[softplus(-(D(G(z)) - D(x)))]. Pairing makes the loss landscape free of the bad local
    optima of the plain logistic loss (R3GAN, section 2)."""

    relativistic: ClassVar[bool] = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        _check_paired(real_logits, fake_logits)
        return F.softplus(fake_logits - real_logits).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        if real_logits is None:
            raise ValueError("RelativisticPairingLoss: G's loss needs D's logits on real data")
        _check_paired(real_logits, fake_logits)
        return F.softplus(real_logits - fake_logits).mean()


def _check_paired(real_logits: Tensor, fake_logits: Tensor) -> None:
    if real_logits.shape != fake_logits.shape:
        raise ValueError(
            f"RelativisticPairingLoss: real logits {list(real_logits.shape)} and fake logits "
            f"{list(fake_logits.shape)} must pair one to one; give G's batch the data's size"
        )


@dataclass(frozen=True)
class WassersteinLoss(AdversarialLoss):
    """WGAN critic loss E[D(G(z))] - E[D(x)] (Arjovsky et al. 2017).

    The critic must be Lipschitz: either ``clip`` its weights after every step (the paper's
    Algorithm 1, clip 0.01) or leave ``clip=None`` and add a ``GradientPenalty`` (WGAN-GP).
    """

    clip: float | None = None

    def __post_init__(self) -> None:
        if self.clip is not None:
            _check_number(
                "WassersteinLoss",
                "clip",
                self.clip,
                0.0,
                strict=True,
                hint=" (Arjovsky et al. 2017 use 0.01), or null for no clipping",
            )

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.mean()

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Clamp every critic parameter to [-clip, clip] in place."""
        if self.clip is None:
            return
        with torch.no_grad():
            for p in discriminator.parameters():
                p.clamp_(-self.clip, self.clip)


def _input_gradients(discriminator: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """dD(x)/dx per sample, flattened to ``[B, -1]``, kept in the graph so a penalty on it
    backpropagates to D's parameters."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x, y).sum(), x, create_graph=True)
    return grad.flatten(1)


@dataclass(frozen=True)
class GradientPenalty:
    """WGAN-GP (Gulrajani et al. 2017): weight * E[(||grad D(x_hat)||_2 - target)^2].

    ``x_hat`` is a uniformly random point on the segment between each real sample and its fake
    partner; the paper uses weight 10 and target 1.
    """

    name: ClassVar[str] = "gp"
    weight: float = 10.0
    target: float = 1.0

    def __post_init__(self) -> None:
        _check_number(
            "GradientPenalty", "weight", self.weight, 0.0, hint=" (Gulrajani et al. 2017 use 10)"
        )
        _check_number("GradientPenalty", "target", self.target, 0.0)

    def __call__(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor, y: Tensor | None = None
    ) -> Tensor:
        if real.shape != fake.shape:
            raise ValueError(
                f"GradientPenalty: real {list(real.shape)} and fake {list(fake.shape)} batches "
                "must have the same shape to be interpolated"
            )
        # Per sample, drawn for the global batch: 1 or N processes interpolate alike.
        alpha = batch_rand((real.shape[0], *[1] * (real.dim() - 1)), real.device, real.dtype)
        x_hat = torch.lerp(real.detach(), fake.detach(), alpha)
        norms = _input_gradients(discriminator, x_hat, y).norm(dim=1)
        return self.weight * (norms - self.target).square().mean()


@dataclass(frozen=True)
class _ZeroCenteredPenalty:
    """gamma / 2 * E[||grad D(x)||^2] on the real batch or, with ``on_fake``, on G's."""

    gamma: float = 10.0
    on_fake: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_number(
            type(self).__name__, "gamma", self.gamma, 0.0, hint=" (Mescheder et al. 2018 use 10)"
        )

    def __call__(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor, y: Tensor | None = None
    ) -> Tensor:
        grad = _input_gradients(discriminator, fake if self.on_fake else real, y)
        return 0.5 * self.gamma * grad.square().sum(dim=1).mean()


@dataclass(frozen=True)
class R1Penalty(_ZeroCenteredPenalty):
    """R1 (Mescheder et al. 2018): gamma / 2 * E[||grad D(x)||^2] on real data only."""

    name: ClassVar[str] = "r1"


@dataclass(frozen=True)
class R2Penalty(_ZeroCenteredPenalty):
    """R2: the same on generated data; R3GAN adds it to R1 so that D stays smooth around
    both distributions, which its convergence argument needs (Huang et al. 2024, section 2)."""

    name: ClassVar[str] = "r2"
    on_fake: ClassVar[bool] = True

"""Losses against values worked out by hand; penalties against linear discriminators."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ganlab.losses import (
    AdversarialLoss,
    GradientPenalty,
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    R1Penalty,
    R2Penalty,
    RelativisticPairingLoss,
    WassersteinLoss,
)

from .tolerances import EPS32

LOSS_CONF = Path(__file__).resolve().parents[1] / "conf" / "loss"

# Logits used throughout: D(real) = [2, -1], D(fake) = [0.5, -3].
# softplus(x) = log(1 + e^x): softplus(-2) = 0.126928, softplus(1) = 1.313262,
# softplus(0.5) = 0.974077, softplus(-3) = 0.048587, softplus(-0.5) = 0.474077,
# softplus(3) = 3.048587.
REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


@pytest.mark.parametrize(
    ("loss", "d_expected", "g_expected"),
    [
        # d = (0.126928 + 1.313262) / 2 + (0.974077 + 0.048587) / 2; g = -(0.974077 + 0.048587) / 2
        (MinimaxLoss(), 1.231427, -0.511332),
        # g = (0.474077 + 3.048587) / 2
        (NonSaturatingLoss(), 1.231427, 1.761332),
        # d = 1/2 * ((2-1)^2 + (-1-1)^2) / 2 + 1/2 * ((0.5+1)^2 + (-3+1)^2) / 2 = 1.25 + 1.5625
        # g = 1/2 * (0.5^2 + 3^2) / 2
        (LeastSquaresLoss(), 2.8125, 2.3125),
        # (a, b, c) = (0, 1, 1): d = 1/2 * (1 + 4) / 2 + 1/2 * (0.25 + 9) / 2 = 1.25 + 2.3125
        # g = 1/2 * ((0.5-1)^2 + (-3-1)^2) / 2
        (LeastSquaresLoss(a=0.0, b=1.0, c=1.0), 3.5625, 4.0625),
        # d = (relu(-1) + relu(2)) / 2 + (relu(1.5) + relu(-2)) / 2; g = -(0.5 - 3) / 2
        (HingeLoss(), 1.75, 1.25),
        # d = (0.5 - 3) / 2 - (2 - 1) / 2; g = -(0.5 - 3) / 2
        (WassersteinLoss(), -1.75, 1.25),
    ],
    ids=["minimax", "ns", "lsgan", "lsgan_011", "hinge", "wgan"],
)
def test_loss_values(loss: AdversarialLoss, d_expected: float, g_expected: float) -> None:
    # float32 means of a few softplus / square terms: exact to a few rounding steps (8 eps).
    rel = 8 * EPS32
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d_expected, rel=rel)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(g_expected, rel=rel)
    assert loss.g_loss(FAKE).item() == pytest.approx(g_expected, rel=rel)


def test_relativistic_pairing_values() -> None:
    # d = (softplus(0.5 - 2) + softplus(-3 + 1)) / 2 = (0.201413 + 0.126928) / 2
    # g = (softplus(2 - 0.5) + softplus(-1 + 3)) / 2 = (1.701413 + 2.126928) / 2
    loss = RelativisticPairingLoss()
    assert loss.relativistic and not NonSaturatingLoss().relativistic
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(0.1641705, rel=8 * EPS32)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(1.9141705, rel=8 * EPS32)
    # Pairing: swapping which fake meets which real changes the value.
    assert loss.d_loss(REAL, FAKE.flip(0)).item() != pytest.approx(0.1641705, rel=1e-3)


def test_relativistic_pairing_needs_paired_real_logits() -> None:
    loss = RelativisticPairingLoss()
    with pytest.raises(ValueError, match="logits on real data"):
        loss.g_loss(FAKE)
    with pytest.raises(ValueError, match="pair one to one"):
        loss.d_loss(REAL, torch.zeros(3))


def test_softplus_form_is_finite_for_extreme_logits() -> None:
    real, fake = torch.tensor([200.0, -200.0]), torch.tensor([200.0, -200.0])
    for loss in (MinimaxLoss(), NonSaturatingLoss()):
        assert torch.isfinite(loss.d_loss(real, fake))
        assert torch.isfinite(loss.g_loss(fake))
    # A confident wrong D on a real sample costs about its logit: -log sigmoid(-200) = 200.
    assert MinimaxLoss().d_loss(torch.tensor([-200.0]), torch.tensor([-200.0])).item() == (
        pytest.approx(200.0)
    )


def test_weight_clipping_clamps_every_parameter() -> None:
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[-1.0, 0.005, 1.0]]))
        critic.bias.fill_(-0.5)
    WassersteinLoss(clip=0.01).after_d_step(critic)
    assert critic.weight[0].tolist() == pytest.approx([-0.01, 0.005, 0.01])
    assert critic.bias.item() == pytest.approx(-0.01)


def test_no_clip_and_other_losses_leave_d_alone() -> None:
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.fill_(5.0)
    for loss in (WassersteinLoss(), HingeLoss(), NonSaturatingLoss()):
        loss.after_d_step(critic)
    assert torch.all(critic.weight == 5.0)


class LinearD(nn.Module):
    """D(x, y) = <w, flatten(x)>: its input gradient is w everywhere."""

    def __init__(self, weight: list[float]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(weight))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return x.flatten(1) @ self.w


def test_gradient_penalty_is_zero_for_unit_gradient_norm() -> None:
    d = LinearD([0.6, 0.8])
    penalty = GradientPenalty()(d, torch.randn(8, 2), torch.randn(8, 2))
    # |w| = 1 to a float32 rounding step or two, so weight * (|w| - 1)^2 <= 10 * (2 eps)^2.
    assert 0.0 <= penalty.item() <= 10 * (2 * EPS32) ** 2


def test_gradient_penalty_value_and_backprop() -> None:
    d = LinearD([3.0, 4.0])  # |grad| = 5: 10 * (5 - 1)^2 = 160
    penalty = GradientPenalty(weight=10.0)(d, torch.randn(8, 2), torch.randn(8, 2))
    assert penalty.item() == pytest.approx(160.0)
    penalty.backward()
    # d/dw 10 (|w| - 1)^2 = 20 (|w| - 1) w / |w| = 80 * [0.6, 0.8]
    assert d.w.grad.tolist() == pytest.approx([48.0, 64.0])


def test_gradient_penalty_on_images_with_other_target() -> None:
    d = LinearD([0.5] * 16)  # a [1, 4, 4] image; |grad| = 0.5 * 4 = 2
    real, fake = torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4)
    assert GradientPenalty(weight=2.0, target=1.0)(d, real, fake).item() == pytest.approx(2.0)
    assert GradientPenalty(weight=2.0, target=2.0)(d, real, fake).item() == pytest.approx(0.0)


def test_gradient_penalty_interpolates_each_sample_on_its_segment() -> None:
    d = LinearD([1.0] * 6)
    real, fake = torch.zeros(64, 6), torch.ones(64, 6)
    GradientPenalty()(d, real, fake)
    (x_hat,) = d.seen
    t = x_hat[:, 0]
    assert torch.allclose(x_hat, t[:, None].expand(-1, 6))  # on the segment real -> fake
    assert t.min() >= 0 and t.max() <= 1
    assert t.std() > 0.1  # one random point per sample, not one per batch


def test_r1_value_ignores_fake_and_backprops() -> None:
    d = LinearD([3.0, 4.0])  # gamma / 2 * |w|^2 = 5 * 25
    r1 = R1Penalty(gamma=10.0)
    penalty = r1(d, torch.randn(8, 2), torch.full((8, 2), 1e6))
    assert penalty.item() == pytest.approx(125.0)
    penalty.backward()
    assert d.w.grad.tolist() == pytest.approx([30.0, 40.0])  # d/dw 5 |w|^2 = 10 w


class TanhD(nn.Module):
    """A small nonlinear D in float64, so finite differences are exact to ~1e-9."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)


def test_r2_equals_a_finite_difference_gradient_norm_on_fakes() -> None:
    d = TanhD()
    real = torch.randn(4, 3, dtype=torch.float64) * 1e3  # R2 must not look at the reals
    fake = torch.randn(4, 3, dtype=torch.float64)
    h = 1e-6
    squared = []
    for sample in fake:
        grad = [
            (d(sample + h * e[None]) - d(sample - h * e[None])).item() / (2 * h)
            for e in torch.eye(3, dtype=torch.float64)
        ]
        squared.append(sum(g * g for g in grad))
    expected = 0.5 * 0.4 * sum(squared) / len(squared)
    assert R2Penalty(gamma=0.4)(d, real, fake).item() == pytest.approx(expected, rel=1e-7)
    assert R2Penalty.name == "r2" and R2Penalty(gamma=0.4)(d, fake, real).item() != pytest.approx(
        expected, rel=1e-3
    )


def test_penalties_pass_labels_to_d() -> None:
    seen = []

    def d(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        seen.append(y)
        return x.sum(dim=1)

    y = torch.tensor([0, 1])
    GradientPenalty()(d, torch.randn(2, 3), torch.randn(2, 3), y)
    R1Penalty()(d, torch.randn(2, 3), torch.randn(2, 3), y)
    R2Penalty()(d, torch.randn(2, 3), torch.randn(2, 3), y)
    assert all(s is y for s in seen) and len(seen) == 3


def test_penalty_names() -> None:
    assert GradientPenalty().name == "gp"
    assert R1Penalty().name == "r1"


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: WassersteinLoss(clip=0.0), "clip 0.0"),
        (lambda: WassersteinLoss(clip=-0.01), "clip -0.01"),
        (lambda: GradientPenalty(weight=-1.0), "weight -1.0"),
        (lambda: GradientPenalty(target=-1.0), "target -1.0"),
        (lambda: GradientPenalty(weight=float("nan")), "weight nan"),
        (lambda: R1Penalty(gamma=-10.0), "gamma -10.0"),
        (lambda: R1Penalty(gamma="10"), "gamma '10'"),
        (lambda: R2Penalty(gamma=-0.1), "R2Penalty: gamma -0.1"),
        (lambda: LeastSquaresLoss(a=1.0, b=1.0), "a and b"),
    ],
)
def test_bad_arguments_raise(build, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        build()


def test_gradient_penalty_rejects_mismatched_batches() -> None:
    with pytest.raises(ValueError, match="same shape"):
        GradientPenalty()(LinearD([1.0, 1.0]), torch.randn(4, 2), torch.randn(3, 2))


@pytest.mark.parametrize("path", sorted(LOSS_CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_loss_configs_instantiate(path: Path) -> None:
    cfg = _load(path)
    assert cfg.name == path.stem
    loss = instantiate(cfg.adversarial)
    assert isinstance(loss, AdversarialLoss)
    for key, node in cfg.penalties.items():
        assert node.every == 1  # every D step unless a run asks for lazy regularization
        assert instantiate(_term(node)).name == key
    assert cfg.g_penalties == {}


def _load(path: Path) -> DictConfig:
    """A loss file where it sits in the composed config (its interpolations name loss.*)."""
    return OmegaConf.create({"loss": OmegaConf.load(path)}).loss


def _term(node: DictConfig) -> DictConfig:
    """A penalty's node without ``every`` and ``decay``, which belong to the schedule."""
    settings = OmegaConf.to_container(node, resolve=True)
    return OmegaConf.create({k: v for k, v in settings.items() if k not in ("every", "decay")})


def test_loss_configs_carry_paper_values() -> None:
    assert instantiate(OmegaConf.load(LOSS_CONF / "wgan.yaml").adversarial).clip == 0.01
    gp = OmegaConf.load(LOSS_CONF / "wgan_gp.yaml")
    assert instantiate(gp.adversarial).clip is None
    assert instantiate(_term(gp.penalties.gp)).weight == 10.0
    assert instantiate(_term(OmegaConf.load(LOSS_CONF / "ns_r1.yaml").penalties.r1)).gamma == 10.0
    r3gan = _load(LOSS_CONF / "r3gan.yaml")  # R3GAN's CIFAR-10 preset: gamma 0.05 -> 0.005
    assert instantiate(r3gan.adversarial).relativistic
    assert [instantiate(_term(r3gan.penalties[k])).gamma for k in ("r1", "r2")] == [0.05, 0.05]
    assert r3gan.penalties.r2.decay == {"to": 0.1, "kimg": 20000}

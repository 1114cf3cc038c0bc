"""Unrolled GAN (Metz et al. 2017): G scored by D after k look-ahead steps, D left as it was.

The look-ahead is checked against a hand-written one: a linear D, whose non-saturating loss
has a gradient in closed form, unrolled by explicit SGD steps.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.losses import NonSaturatingLoss
from ganlab.objective import GANObjective
from ganlab.objective.base import Batch
from ganlab.train import train

from .conftest import TINY, ComposeFn

LR = 0.3


class LinearD(nn.Module):
    """D(x) = x w + b, with a batch-norm buffer it never uses (so buffers are checked)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, x: Tensor, condition: object) -> Tensor:
        if self.training:
            self.seen += 1
        return self.linear(x).squeeze(1)


def nets() -> tuple[nn.Module, LinearD, Tensor, Tensor]:
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    d = LinearD()
    return g, d, torch.randn(16, 3), torch.randn(16, 2) * 2


def objective_grads(steps: int) -> tuple[list[Tensor], LinearD, dict[str, Tensor]]:
    g, d, z, real = nets()
    before = {k: v.clone() for k, v in d.state_dict().items()}
    objective = GANObjective(NonSaturatingLoss(), unrolled_steps=steps, unrolled_lr=LR)
    objective.bind(g, d)
    loss, _ = objective.g_main(Batch(real, None, lambda: g(z)))
    loss.backward()
    return [p.grad.clone() for p in g.parameters()], d, before


def hand_written_grads(steps: int) -> list[Tensor]:
    """k explicit SGD steps of a linear D on softplus(-D(real)) + softplus(D(fake))."""
    g, d, z, real = nets()
    fake = g(z)
    w, b = d.linear.weight.detach()[0], d.linear.bias.detach()[0]
    for _ in range(steps):
        real_logits, fake_logits = real @ w + b, fake @ w + b
        # d/dlogit softplus(-l) = -sigmoid(-l); d/dlogit softplus(l) = sigmoid(l)
        real_coef = -torch.sigmoid(-real_logits) / len(real)
        fake_coef = torch.sigmoid(fake_logits) / len(fake)
        grad_w = real_coef @ real + fake_coef @ fake
        grad_b = real_coef.sum() + fake_coef.sum()
        w, b = w - LR * grad_w, b - LR * grad_b
    F.softplus(-(fake @ w + b)).mean().backward()
    return [p.grad.clone() for p in g.parameters()]


@pytest.mark.parametrize("steps", [1, 3])
def test_the_unrolled_step_matches_a_hand_written_one(steps: int) -> None:
    ours, d, before = objective_grads(steps)
    expected = hand_written_grads(steps)
    for a, b in zip(ours, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    plain = objective_grads(0)[0]
    assert not all(torch.allclose(a, b, rtol=1e-3) for a, b in zip(ours, plain, strict=True))
    # D is restored: its parameters and buffers are as before, and G's phase left no gradient.
    for key, value in d.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in d.parameters())


def test_unrolling_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"phases\.unrolled_steps: expected 0 or more"):
        GANObjective(NonSaturatingLoss(), unrolled_steps=-1)
    with pytest.raises(ValueError, match=r"phases\.unrolled_lr: .* positive look-ahead"):
        GANObjective(NonSaturatingLoss(), unrolled_steps=2, unrolled_lr=None)


def test_an_unrolled_run_trains_and_resumes_its_config(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "model=mlp", "phases.unrolled_steps=2")
    assert cfg.phases.unrolled_lr == cfg.optim.discriminator.lr
    summary = train(cfg)
    assert summary["g_steps"] == 2 and summary["final"]["loss/g"] > 0
    with pytest.raises(ConfigError, match=r"phases\.unrolled_steps: expected an integer >= 0"):
        train(compose_cfg(*TINY, "phases.unrolled_steps=-2"))

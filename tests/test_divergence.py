"""The divergence guard on runs that really diverge or collapse (no injected values)."""

from __future__ import annotations

import pytest

from ganlab.callbacks import DivergenceError
from ganlab.train import train

from .conftest import ComposeFn

SMALL = [
    "data=digits",
    "data.batch_size=16",
    "model=mlp",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
    "logger=csv",
    "callbacks=quiet",
]
# An unclipped critic under SGD with a huge learning rate overflows within a few steps.
EXPLODING = ["loss=wgan", "loss.adversarial.clip=null", "optim=sgd", "optim.discriminator.lr=1e8"]


def test_nan_stops_the_run_naming_step_and_quantity(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*SMALL, *EXPLODING, "gan.max_g_steps=200")
    with pytest.raises(
        DivergenceError, match=r"diverged at G step \d+ \(D step \d+\): .*(nan|inf|not finite)"
    ):
        train(cfg)


def test_rollback_reloads_last_checkpoint_and_lowers_the_learning_rate(
    compose_cfg: ComposeFn, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = compose_cfg(
        *SMALL,
        *EXPLODING,
        "gan.max_g_steps=200",
        "callbacks.checkpoint.every_g_steps=5",
        "callbacks.divergence.action=rollback",
        "callbacks.divergence.max_rollbacks=2",
    )
    with pytest.raises(DivergenceError, match=r"rolled back 2 time\(s\) already"):
        train(cfg)
    out = capfd.readouterr().out
    assert out.count("rolled back to last.ckpt") == 2
    assert "learning rates x0.5" in out


def test_a_discriminator_that_wins_outright_is_a_warning_in_the_summary(
    compose_cfg: ComposeFn,
) -> None:
    cfg = compose_cfg(
        *SMALL,
        "model.discriminator.hidden=[64]",
        "model.discriminator.dropout=0",
        "model.discriminator.input_dropout=0",
        "optim.generator.lr=1e-9",
        "optim.discriminator.lr=1e-2",
        "gan.max_g_steps=150",
        "callbacks.divergence.win_threshold=0.01",
        "callbacks.divergence.win_steps=3",
    )
    summary = train(cfg)
    assert summary["g_steps"] == 150
    assert len(summary["warnings"]) == 1 and "wins outright" in summary["warnings"][0]

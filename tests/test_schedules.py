"""Progress-driven values: R3GAN's cosine schedules of lr, beta2 and gamma, and the EMA's
half-life with StyleGAN2-ADA's ramp-up; in plain PyTorch, then through a real training run."""

from __future__ import annotations

import csv
import math
from functools import partial
from pathlib import Path

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.losses import NonSaturatingLoss
from ganlab.module import GANModule
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.objective import GANObjective
from ganlab.schedules import Cosine, KimgCosine
from ganlab.train import train

from .conftest import TINY, ComposeFn

SMALL_MLP = ["model=mlp", "model.generator.hidden=[16]", "model.discriminator.hidden=[16]"]


def test_cosine_goes_from_start_to_end_and_holds() -> None:
    curve = Cosine(1.0, 0.1, 100.0)
    assert curve(0.0) == 1.0
    assert curve(50.0) == pytest.approx(0.55, rel=1e-12)  # half way: the mean
    assert curve(25.0) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2, rel=1e-12)
    assert curve(100.0) == pytest.approx(0.1, rel=1e-12) and curve(1e6) == curve(100.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [((1.0, 0.1, 0.0), "kimg"), ((1.0, float("nan"), 10.0), "end"), ((True, 0.1, 1.0), "start")],
)
def test_cosine_rejects_bad_values(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cosine(*args)


def _adam(lr: float = 2e-4, betas: tuple[float, float] = (0.0, 0.9)) -> torch.optim.Adam:
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=lr, betas=betas)


# These drive the scheduler without training, which torch warns about.
@pytest.mark.filterwarnings("ignore:Detected call of")
def test_kimg_cosine_sets_lr_and_beta2_from_progress() -> None:
    optimizer = _adam()
    scheduler = KimgCosine(optimizer, kimg=20000, lr_end=5e-5, beta2_end=0.99)
    group = optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(2e-4) and group["betas"] == (0.0, 0.9)
    scheduler.step_to(10000)
    assert group["lr"] == pytest.approx(1.25e-4, rel=1e-12)
    assert group["betas"][0] == 0.0 and group["betas"][1] == pytest.approx(0.945, rel=1e-12)
    scheduler.step_to(30000)
    assert group["lr"] == pytest.approx(5e-5, rel=1e-12)
    assert group["betas"][1] == pytest.approx(0.99, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_kimg_cosine_resumes_on_the_same_curve() -> None:
    first = KimgCosine(_adam(), kimg=100, lr_end=1e-5)
    first.step_to(40)
    again = KimgCosine(_adam(), kimg=100, lr_end=1e-5)
    again.load_state_dict(first.state_dict())
    assert again.progress_kimg == 40
    first.step_to(41)
    again.step_to(41)
    assert again.get_last_lr() == first.get_last_lr()


def test_kimg_cosine_refuses_beta2_for_an_optimizer_without_betas() -> None:
    sgd = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="beta2_end: SGD has no betas"):
        KimgCosine(sgd, kimg=10, beta2_end=0.99)


def _module(**gan: float | None) -> GANModule:
    objective = GANObjective(loss=NonSaturatingLoss())
    g = MLPGenerator(shape=(2,), z_dim=2, hidden=[4])
    d = MLPDiscriminator(shape=(2,), hidden=[4])
    adam = partial(torch.optim.Adam, lr=1e-3)
    return GANModule(g, d, objective, adam, adam, **gan)


def test_ema_half_life_is_stylegan2_adas() -> None:
    """beta = 0.5 ** (images this step / half-life in images), the half-life at most
    rampup x images seen (StyleGAN2-ADA's training_loop.py)."""
    module = _module(ema_kimg=1.0)
    module.images_seen = 64
    assert module._ema_decay() == pytest.approx(0.5 ** (64 / 1000), rel=1e-12)
    ramped = _module(ema_kimg=1.0, ema_rampup=0.05)
    ramped.images_seen = 640
    ramped._images_at_ema = 576
    assert ramped._ema_decay() == pytest.approx(0.5 ** (64 / 32), rel=1e-12)  # 0.05 x 640 = 32
    ramped.images_seen = 100_000
    ramped._images_at_ema = 99_936
    assert ramped._ema_decay() == pytest.approx(0.5 ** (64 / 1000), rel=1e-12)  # ramp is over
    assert _module(ema_decay=0.999)._ema_decay() == 0.999


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["gan.ema_decay=0.99", "gan.ema_kimg=10"], "gan.ema_decay and gan.ema_kimg"),
        (["gan.ema_rampup=0.05"], "gan.ema_rampup needs gan.ema_kimg"),
        (["gan.ema_kimg=0"], "gan.ema_kimg"),
        (["loss=r3gan", "loss.penalties.r1.decay.kimg=0"], "loss.penalties.r1.decay"),
        (["loss=r3gan", "loss.penalties.r1.gamma=-1"], "loss.penalties.r1.gamma"),
    ],
)
def test_bad_schedule_settings_name_their_field(
    compose_cfg: ComposeFn, overrides: list[str], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        train(compose_cfg(*TINY, *SMALL_MLP, *overrides))


def test_a_scheduler_that_cannot_drive_the_optimizer_is_named_before_training(
    compose_cfg: ComposeFn,
) -> None:
    cfg = compose_cfg(*TINY, *SMALL_MLP, "optim=sgd")
    cfg.optim.scheduler = {
        "_target_": "ganlab.schedules.KimgCosine",
        "_partial_": True,
        "kimg": 10,
        "beta2_end": 0.99,
    }
    with pytest.raises(ConfigError, match=r"optim\.scheduler: beta2_end: SGD has no betas"):
        train(cfg)


def test_r3gan_schedules_follow_kimg_in_a_real_run(compose_cfg: ComposeFn) -> None:
    """loss=r3gan optim=r3gan over 0.19 kimg (the schedules end at 0.16): the logged lr,
    beta2 and gamma's decay factor are the cosine's values at the logged kimg."""
    cfg = compose_cfg(
        *TINY,
        *SMALL_MLP,
        "loss=r3gan",
        "optim=r3gan",
        "optim.scheduler.kimg=0.16",
        "loss.penalties.r1.decay.kimg=0.16",
        "gan.max_g_steps=12",
        "gan.ema_kimg=0.1",
        "gan.ema_rampup=0.05",
    )
    summary = train(cfg)
    rows = list(csv.DictReader((Path(summary["run_dir"]) / "metrics.csv").open()))
    logged = [r for r in rows if r.get("lr/g")]
    assert len(logged) == 12
    lr = Cosine(2e-4, 5e-5, 0.16)
    decay = Cosine(1.0, 0.1, 0.16)
    for row in logged:
        kimg = float(row["progress/kimg"])
        assert float(row["lr/g"]) == pytest.approx(lr(kimg), rel=1e-6)
        assert float(row["beta2/d"]) == pytest.approx(Cosine(0.9, 0.99, 0.16)(kimg), rel=1e-6)
        # gamma's factor is taken when the D step runs, one batch (0.016 kimg) earlier.
        assert float(row["penalty/r2_decay"]) == pytest.approx(decay(kimg - 0.016), rel=1e-6)
    assert float(logged[-1]["lr/g"]) == pytest.approx(5e-5, rel=1e-6)
    assert summary["g_steps"] == 12 and math.isfinite(summary["final"]["loss/d_total"])

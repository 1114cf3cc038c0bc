"""In-process training runs from composed configs: real Hydra, real Lightning Trainer."""

from __future__ import annotations

import csv
import json
from importlib import metadata
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ganlab.config import CONF_DIR
from ganlab.errors import ConfigError, DataError
from ganlab.train import train

from .conftest import TINY, ComposeFn

# Restoration models (task: restoration) have their own runs in tests/restoration.
MODELS = sorted(
    p.stem
    for p in (CONF_DIR / "model").glob("*.yaml")
    if OmegaConf.load(p).get("task", "generation") == "generation"
)
LOSSES = sorted(p.stem for p in (CONF_DIR / "loss").glob("*.yaml"))
NARROW = {
    "mlp": ["model.generator.hidden=[64,64]", "model.discriminator.hidden=[32,32]"],
    "dcgan": ["model.generator.width=8", "model.discriminator.width=8"],
    "cdcgan": ["model.generator.width=8", "model.discriminator.width=8"],
    "sngan_resnet": ["model.generator.width=16", "model.discriminator.width=16"],
    "sngan_resnet_cond": ["model.generator.width=16", "model.discriminator.width=16"],
}


# Every model with the default loss and every loss with the MLP run in the fast suite (the
# golden curves of tests/test_golden.py train one of each for 20 steps); the rest of the grid
# is slow.
GRID = [
    pytest.param(model, loss, marks=() if loss == "ns" or model == "mlp" else pytest.mark.slow)
    for model in MODELS
    for loss in LOSSES
]


@pytest.mark.parametrize(("model", "loss"), GRID)
def test_two_steps_for_every_model_and_loss(compose_cfg: ComposeFn, model: str, loss: str) -> None:
    cfg = compose_cfg(*TINY, f"model={model}", f"loss={loss}", *NARROW.get(model, []))
    summary = train(cfg)
    assert summary["g_steps"] == 2
    assert summary["d_steps"] == 2
    final = summary["final"]
    assert torch.isfinite(torch.tensor([final["loss/d"], final["loss/g"]])).all()
    run = Path(cfg.paths.run_dir)
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "g0000001.png",
        "g0000002.png",
    ]


def test_2d_mixture_run_draws_scatter_plots(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "data=ring8", "model=mlp_2d", "data.batch_size=64")
    summary = train(cfg)
    assert summary["g_steps"] == 2
    assert len(list((Path(cfg.paths.run_dir) / "samples").glob("*.png"))) == 2


def test_n_critic_counts_d_and_g_steps_and_kimg(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(
        *TINY,
        "optim=adam_wgan_gp",
        "loss=wgan_gp",
        "gan.max_g_steps=3",
        "model.generator.width=8",
        "model.discriminator.width=8",
    )
    summary = train(cfg)
    assert (summary["g_steps"], summary["d_steps"]) == (3, 15)
    assert summary["kimg"] == pytest.approx(15 * 16 / 1000)
    assert summary["batch_size"] == {"per_rank": 16, "global": 16}


def test_max_kimg_ends_the_run(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(
        *TINY,
        "gan.max_g_steps=null",
        "gan.max_kimg=0.08",
        "model.generator.width=8",
        "model.discriminator.width=8",
    )
    summary = train(cfg)
    assert summary["d_steps"] == 5  # 5 x 16 images = 0.08 kimg
    assert summary["kimg"] == pytest.approx(0.08)


def test_conditional_models_get_the_batch_labels(
    compose_cfg: ComposeFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ganlab.build as build

    seen: list[torch.Tensor | None] = []
    original = build.build_networks

    def recording_build(*args: object, **kwargs: object):
        generator, discriminator = original(*args, **kwargs)
        discriminator.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[1]))
        return generator, discriminator

    monkeypatch.setattr(build, "build_networks", recording_build)
    cfg = compose_cfg(
        *TINY, "model=cdcgan", "model.generator.width=8", "model.discriminator.width=8"
    )
    train(cfg)
    assert seen and all(y is not None and y.dtype == torch.long for y in seen)
    assert all(((y >= 0) & (y < 10)).all() for y in seen)
    assert len({tuple(y.tolist()) for y in seen}) > 1  # real labels of different batches


def test_ema_generator_is_checkpointed_and_differs(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(
        *TINY, "gan.ema_decay=0.5", "model.generator.width=8", "model.discriminator.width=8"
    )
    train(cfg)
    state = torch.load(Path(cfg.paths.run_dir) / "checkpoints" / "last.ckpt", weights_only=True)[
        "state_dict"
    ]
    ema_keys = [k for k in state if k.startswith("generator_ema.")]
    assert ema_keys
    key = ema_keys[0]
    assert not torch.equal(state[key], state[key.replace("generator_ema.", "generator.", 1)])


def test_summary_and_metrics_csv(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "model=mlp", *NARROW["mlp"])
    train(cfg)
    run = Path(cfg.paths.run_dir)
    summary = json.loads((run / "summary.json").read_text())
    for key in (
        "name",
        "seed",
        "overrides",
        "kimg",
        "wall_time_s",
        "images_per_s",
        "final",
        "versions",
    ):
        assert key in summary
    assert summary["versions"]["torch"] == metadata.version("torch")
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    for column in (
        "loss/d",
        "loss/g",
        "loss/combined",
        "logits/real",
        "logits/fake",
        "grad_norm/d",
        "grad_norm/g",
        "lr/g",
        "lr/d",
        "progress/kimg",
    ):
        assert column in header


def test_combined_loss_uses_alpha(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "gan.alpha=0.25", "model=mlp", *NARROW["mlp"])
    final = train(cfg)["final"]
    assert final["loss/combined"] == pytest.approx(0.25 * final["loss/g"] + 0.75 * final["loss/d"])


def test_same_seed_same_losses(compose_cfg: ComposeFn) -> None:
    first = train(compose_cfg(*TINY, "model=mlp", *NARROW["mlp"], "seed=7"))["final"]
    second = train(compose_cfg(*TINY, "model=mlp", *NARROW["mlp"], "seed=7"))["final"]
    third = train(compose_cfg(*TINY, "model=mlp", *NARROW["mlp"], "seed=8"))["final"]
    assert first["loss/d"] == second["loss/d"] and first["loss/g"] == second["loss/g"]
    assert first["loss/d"] != third["loss/d"]


def _dcgan_losses(compose_cfg: ComposeFn, *extra: str) -> tuple[float, float]:
    final = train(compose_cfg(*TINY, "model=dcgan", *NARROW["dcgan"], "seed=3", *extra))["final"]
    return final["loss/d"], final["loss/g"]


def test_channels_last_trains_the_same_model(compose_cfg: ComposeFn) -> None:
    """A memory layout, not a different computation: the losses agree to rounding."""
    base = _dcgan_losses(compose_cfg)
    assert _dcgan_losses(compose_cfg, "gan.channels_last=true") == pytest.approx(base, rel=1e-4)


@pytest.mark.slow
def test_compiled_networks_train_the_same_model(compose_cfg: ComposeFn) -> None:
    base = _dcgan_losses(compose_cfg)
    assert _dcgan_losses(compose_cfg, "gan.compile=true") == pytest.approx(base, rel=1e-4)


def test_resolution_the_net_cannot_make_is_a_config_error(compose_cfg: ComposeFn) -> None:
    with pytest.raises(ConfigError, match=r"^model\.generator: .*30"):
        train(compose_cfg(*TINY, "data.resolution=30"))


def test_conditional_model_needs_labels(compose_cfg: ComposeFn) -> None:
    with pytest.raises(ConfigError, match=r"model\.conditional"):
        train(compose_cfg(*TINY, "data=ring8", "model=cgan_mlp"))


def test_missing_image_folder_is_a_data_error(compose_cfg: ComposeFn, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    with pytest.raises(DataError, match=str(missing)):
        train(compose_cfg(*TINY, "data=image_folder", f"data.root={missing}", "data.resolution=32"))


def test_resume_without_checkpoint_is_a_config_error(compose_cfg: ComposeFn) -> None:
    with pytest.raises(ConfigError, match="resume=true"):
        train(compose_cfg(*TINY, "resume=true"))


def test_resume_continues_the_counters(compose_cfg: ComposeFn, tmp_path: Path) -> None:
    narrow = ["model=mlp", *NARROW["mlp"]]
    first = compose_cfg(*TINY, *narrow)
    train(first)
    resumed = compose_cfg(
        *TINY,
        *narrow,
        f"resume={first.paths.run_dir}",
        "gan.max_g_steps=5",
        f"paths.run_dir={tmp_path / 'second'}",
    )
    summary = train(resumed)
    assert (summary["g_steps"], summary["d_steps"]) == (5, 5)
    assert summary["resumed_from"] == str(Path(first.paths.run_dir) / "checkpoints" / "last.ckpt")
    with open(tmp_path / "second" / "metrics.csv", newline="") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps and min(steps) == 3


def test_tensorboard_logger_writes_events_and_images(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "logger=tensorboard", "model=mlp", *NARROW["mlp"])
    train(cfg)
    run = Path(cfg.paths.run_dir)
    (events,) = (run / "tensorboard").rglob("events.out.tfevents.*")
    assert events.stat().st_size > 0
    assert (run / "metrics.csv").is_file()


def test_resolved_config_is_saved_in_the_run(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "model=mlp", *NARROW["mlp"], "optim.generator.lr=3e-4")
    train(cfg)
    saved = (Path(cfg.paths.run_dir) / "config.yaml").read_text()
    assert "lr: 0.0003" in saved
    assert "${" not in saved


def test_resume_auto_continues_this_run_folder(compose_cfg: ComposeFn) -> None:
    narrow = [*TINY, "model=mlp", *NARROW["mlp"], "resume=auto"]
    first = train(compose_cfg(*narrow))
    assert first["resumed_from"] is None  # nothing to continue yet: a fresh start
    again = train(compose_cfg(*narrow, "gan.max_g_steps=4"))
    assert again["resumed_from"] == str(Path(first["run_dir"]) / "checkpoints" / "last.ckpt")
    assert (again["g_steps"], again["d_steps"]) == (4, 4)

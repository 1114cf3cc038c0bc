"""Restoration runs through the real ``train()`` path: Hydra composition, Lightning Trainer,
callbacks, checkpoints and summary.json, with tiny nets on the digits set."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganlab.config import CONF_DIR
from ganlab.errors import ConfigError
from ganlab.train import train

from ..conftest import TINY, ComposeFn, install_evaluator

CORRUPTIONS = ["mask", "noise", "downsample"]
LOSSES = sorted(p.stem for p in (CONF_DIR / "loss").glob("*.yaml"))
SMALL = [
    "task=restoration",
    "model.generator.depth=3",
    "model.generator.width=8",
    "model.discriminator.width=8",
    "model.discriminator.n_layers=2",
]


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_two_steps_per_corruption(compose_cfg: ComposeFn, corruption: str) -> None:
    cfg = compose_cfg(*TINY, *SMALL, f"corruption={corruption}")
    summary = train(cfg)
    assert (summary["g_steps"], summary["d_steps"]) == (2, 2)
    assert cfg.name == f"pix2pix_{corruption}_digits"
    final = summary["final"]
    for key in ("loss/d", "loss/g", "loss/l1", "loss/g_total"):
        assert torch.isfinite(torch.tensor(final[key])), key
    assert final["loss/g_total"] == pytest.approx(
        final["loss/g"] + 100 * final["loss/l1"], rel=1e-5
    )
    run = Path(cfg.paths.run_dir)
    assert (run / "checkpoints" / "last.ckpt").is_file()
    grids = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert grids == ["g0000001.png", "g0000002.png"]
    with Image.open(run / "samples" / grids[-1]) as grid:
        # 16 fixed images as (input, output, target) triplets, 4 triplets per row, 32 px + 2 px
        assert grid.size == (12 * 34 + 2, 4 * 34 + 2)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_adversarial_loss_trains_with_patch_logits(compose_cfg: ComposeFn, loss: str) -> None:
    overrides = [*TINY, *SMALL, "corruption=noise", f"loss={loss}"]
    if loss == "wgan_gp":
        overrides.append("model.discriminator.norm=instance")
    summary = train(compose_cfg(*overrides))
    assert summary["g_steps"] == 2
    assert torch.isfinite(
        torch.tensor([summary["final"]["loss/d"], summary["final"]["loss/g"]])
    ).all()


def test_the_discriminator_sees_the_input_beside_the_image(
    compose_cfg: ComposeFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ganlab.build as build

    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = build.build_networks

    def recording(*args: object, **kwargs: object):
        generator, discriminator = original(*args, **kwargs)
        discriminator.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs))
        return generator, discriminator

    monkeypatch.setattr(build, "build_networks", recording)
    train(compose_cfg(*TINY, *SMALL, "corruption=mask", "gan.max_g_steps=1"))
    assert len(seen) == 3  # real and fake in the D step, fake in the G step
    (real, condition), (fake, same) = seen[0], seen[1]
    assert condition.shape == (16, 2, 32, 32) and torch.equal(condition, same)
    holes = condition[:, 1:].bool()
    assert torch.equal(fake[~holes], real[~holes])  # known pixels pasted back


def test_l1_weight_zero_leaves_only_the_adversarial_term(compose_cfg: ComposeFn) -> None:
    final = train(compose_cfg(*TINY, *SMALL, "corruption=noise", "task.objective.l1_weight=0"))[
        "final"
    ]
    assert final["loss/g_total"] == pytest.approx(final["loss/g"])


def test_resume_continues_the_corruption_stream_exactly(
    compose_cfg: ComposeFn, tmp_path: Path
) -> None:
    common = [*TINY, *SMALL, "corruption=mask", "corruption.shape=free_form"]
    common += ["callbacks.samples.every_g_steps=100", "trainer.deterministic=true"]
    whole = compose_cfg(*common, "gan.max_g_steps=4", f"paths.run_dir={tmp_path / 'whole'}")
    train(whole)
    first = compose_cfg(*common, f"paths.run_dir={tmp_path / 'first'}")
    train(first)
    ckpt = torch.load(tmp_path / "first" / "checkpoints" / "last.ckpt", weights_only=True)
    assert "corruption" in ckpt["ganlab_rng"]
    resumed = compose_cfg(
        *common,
        "gan.max_g_steps=4",
        f"resume={tmp_path / 'first'}",
        f"paths.run_dir={tmp_path / 'second'}",
    )
    train(resumed)

    def rows(run: str) -> dict[int, tuple[str, ...]]:
        with open(tmp_path / run / "metrics.csv", newline="") as f:
            columns = ("loss/d", "loss/g", "loss/l1")
            return {int(r["step"]): tuple(r[c] for c in columns) for r in csv.DictReader(f)}

    reference, after = rows("whole"), rows("second")
    assert sorted(after) == [3, 4]
    assert after == {3: reference[3], 4: reference[4]}


def test_metrics_and_baselines_land_in_the_summary(
    compose_cfg: ComposeFn, digits_evaluator: Path, tmp_path: Path
) -> None:
    install_evaluator(digits_evaluator, tmp_path)
    cfg = compose_cfg(
        *TINY,
        *SMALL,
        "corruption=downsample",
        "corruption.factor=2",
        "metrics=restoration",
        "metrics.num_images=64",
        "metrics.every_g_steps=1",
    )
    train(cfg)
    summary = json.loads((Path(cfg.paths.run_dir) / "summary.json").read_text())
    final = summary["metrics"]["final"]
    for name in ("input", "bicubic"):
        for metric in ("psnr", "ssim", "fid"):
            assert f"metrics/baseline/{name}/{metric}" in final
    assert {"metrics/psnr", "metrics/ssim", "metrics/fid"} <= set(final)
    assert final["metrics/baseline/bicubic/psnr"] > final["metrics/baseline/input/psnr"] > 10
    assert 0 < final["metrics/ssim"] <= 1 and final["metrics/fid"] > 0
    assert summary["metrics"]["best"]["g_step"] in (1, 2)
    assert (Path(cfg.paths.run_dir) / "checkpoints" / "best.ckpt").is_file()


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["task=restoration"], r"^corruption: task=restoration needs one"),
        (["corruption=noise"], r"^corruption: a corruption is set but task=generation"),
        (["task=restoration", "corruption=noise", "model=dcgan"], r"model=dcgan is a generation"),
        (["model=pix2pix"], r"model=pix2pix is a restoration model but task=generation"),
        (
            ["task=restoration", "corruption=downsample", "data.resolution=30"],
            r"^corruption: .*divisible by 4",
        ),
        (
            ["task=restoration", "corruption=mask", "corruption.fraction=2"],
            r"^corruption: .*fraction",
        ),
        (["task=restoration", "corruption=noise", "metrics=domain"], r"^metrics: .*restoration"),
        (["metrics=restoration"], r"^metrics: RestorationMetrics does not measure task=generation"),
    ],
)
def test_mismatched_settings_are_config_errors(
    compose_cfg: ComposeFn, overrides: list[str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        train(compose_cfg(*TINY, *overrides))


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("task.objective.l1_weight=-1", "task.objective.l1_weight"),
        ("model.generator.depth=0", "model.generator.depth"),
        ("model.discriminator.n_layers=0", "model.discriminator.n_layers"),
        ("corruption.sigma=0", "corruption.sigma"),
    ],
)
def test_bad_restoration_values_name_their_field(
    compose_cfg: ComposeFn, override: str, field: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(field)}: expected"):
        train(compose_cfg(*TINY, "task=restoration", "corruption=noise", override))

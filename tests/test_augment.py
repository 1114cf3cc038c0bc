"""Augments at D's door: what each transform does, the properties every augment keeps
(shape, dtype, device, identity at p = 0, per-sample draws, gradients), and bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

from ganlab.augment import AdaptiveAugment, DiffAugment
from ganlab.augment.diffaugment import brightness, contrast, cutout, saturation, translation
from ganlab.errors import ConfigError
from ganlab.train import train

from .conftest import TINY, ComposeFn

POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]
ADA_TRANSFORMS = list(AdaptiveAugment().weights)


def _augment(name: str, p: float = 1.0) -> torch.nn.Module:
    """DiffAugment with policy ``name``, or ADA (``ada``: all transforms; ``ada:<transform>``:
    that one alone) at strength ``p``."""
    if name == "ada":
        return AdaptiveAugment(p=p, adaptive=False)
    if name.startswith("ada:"):
        only = {t: float(t == name[4:]) for t in ADA_TRANSFORMS}
        return AdaptiveAugment(p=p, adaptive=False, **only)
    return DiffAugment(name, p=p)


AUGMENTS = [*POLICIES, "ada", *(f"ada:{t}" for t in ADA_TRANSFORMS)]


def _images(n: int = 6, dtype: torch.dtype = torch.float32) -> Tensor:
    torch.manual_seed(1)
    return torch.rand(n, 3, 16, 16, dtype=dtype) * 2 - 1


@pytest.mark.parametrize("name", AUGMENTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_device_are_kept(name: str, dtype: torch.dtype) -> None:
    x = _images(dtype=dtype)
    y = _augment(name)(x)
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device


@pytest.mark.parametrize("name", AUGMENTS)
def test_p_zero_is_the_identity(name: str) -> None:
    x = _images()
    assert _augment(name, p=0.0)(x) is x


@pytest.mark.parametrize("name", AUGMENTS)
def test_each_sample_gets_its_own_draw(name: str) -> None:
    x = _images(1).expand(8, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    y = _augment(name)(x)
    distinct = {tuple(sample.flatten().tolist()) for sample in y}
    assert len(distinct) >= 2 if name.startswith("ada:") else len(distinct) >= 4


# ADA's transforms one by one are checked above; gradcheck takes them all together.
@pytest.mark.parametrize("name", [*POLICIES, "ada"])
def test_gradients_pass_gradcheck(name: str) -> None:
    augment = _augment(name)
    channels = 3 if name.startswith("ada") else 2
    x = torch.rand(2, channels, 8, 8, dtype=torch.float64, requires_grad=True)

    def seeded(images: Tensor) -> Tensor:
        torch.manual_seed(3)  # the same draws at every evaluation gradcheck makes
        return augment(images)

    assert torch.autograd.gradcheck(seeded, (x,), eps=1e-6, atol=1e-5)


def test_p_applies_each_transform_to_about_that_share_of_samples() -> None:
    x = _images(400)
    torch.manual_seed(0)
    y = DiffAugment("color", p=0.3)(x)
    changed = (y - x).flatten(1).abs().amax(dim=1) > 0
    # A sample is untouched only if none of color's 3 transforms chose it: 0.7^3 = 0.343.
    assert abs((~changed).float().mean().item() - 0.343) < 0.08


def test_brightness_shifts_each_image_by_one_offset_in_half_a_unit() -> None:
    x = _images(64)
    shift = brightness(x) - x
    per_image = shift.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)
    assert per_image.abs().max() <= 0.5 and per_image[:, 0].std() > 0.2


def test_saturation_and_contrast_keep_the_means_they_scale_around() -> None:
    x = _images(16)
    assert torch.allclose(saturation(x).mean(dim=1), x.mean(dim=1), atol=1e-5)
    assert torch.allclose(contrast(x).mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)


def _shifted(x: Tensor, dy: int, dx: int) -> Tensor:
    """``x`` moved so that output[i, j] = x[i + dy, j + dx], zeros from outside."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    out[..., max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = x[
        ..., max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
    ]
    return out


def test_translation_is_a_whole_pixel_shift_of_at_most_an_eighth() -> None:
    x = _images(12)
    y = translation(x)
    for sample, moved in zip(x, y, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(_shifted(sample, dy, dx), moved)
        ]
        assert len(matches) == 1  # 16 px: shifts in [-2, 2]


def test_cutout_zeroes_one_rectangle_of_at_most_half_each_side() -> None:
    x = _images(12).abs() + 0.1  # no pixel is zero before the cutout
    y = cutout(x)
    for sample, cut in zip(x, y, strict=True):
        zero = (cut == 0).all(dim=0)
        rows, cols = zero.any(dim=1).nonzero().flatten(), zero.any(dim=0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        box = zero[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all() and zero.sum() == box.numel()  # one filled rectangle
        assert torch.equal(cut[:, ~zero], sample[:, ~zero])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: DiffAugment("color,zoom"),
            r"augment\.policy: .*'zoom'.*color, translation, cutout",
        ),
        (lambda: DiffAugment(""), r"augment\.policy: '' names no transform"),
        (lambda: DiffAugment(p=1.5), r"augment\.p: expected a probability in \[0, 1\], got 1\.5"),
        (lambda: DiffAugment(p=-0.1), r"augment\.p"),
    ],
)
def test_bad_settings_name_the_field(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


SMALL_MLP = ["model=mlp", "model.generator.hidden=[16]", "model.discriminator.hidden=[16]"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([*SMALL_MLP, "augment=diffaugment", "augment.policy=[color,zoom]"], r"policy"),
        ([*SMALL_MLP, "augment=diffaugment", "augment.p=2"], r"augment\.p"),
        ([*SMALL_MLP, "augment=diffaugment", "data=ring8"], r"augment: DiffAugment transforms"),
        (
            ["augment=diffaugment", "task=restoration", "model=pix2pix", "corruption=mask"],
            r"augment: DiffAugment would transform the image but not the corrupted input",
        ),
    ],
)
def test_bad_augment_settings_fail_before_training(
    compose_cfg: ComposeFn, overrides: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        train(compose_cfg(*TINY, *overrides))


def test_a_run_with_diffaugment_is_reproducible_from_its_seed(
    compose_cfg: ComposeFn, tmp_path: Path
) -> None:
    """Two runs from one seed draw the same augmentations; without them the run differs."""
    dcgan = [*TINY, "model=dcgan", "model.generator.width=8", "model.discriminator.width=8"]

    def run(name: str, *extra: str) -> dict:
        return train(compose_cfg(*dcgan, f"paths.run_dir={tmp_path / name}", *extra))

    first = run("a", "augment=diffaugment")
    again = run("b", "augment=diffaugment")
    plain = run("c")
    assert first["final"] == again["final"]
    assert first["final"]["loss/d"] != plain["final"]["loss/d"]


def test_ada_blits_are_exact_flips_and_quarter_turns() -> None:
    x = _images(8)
    torch.manual_seed(0)
    flipped = _augment("ada:xflip")(x)
    for sample, out in zip(x, flipped, strict=True):
        assert torch.allclose(out, sample, atol=1e-5) != torch.allclose(
            out, sample.flip(-1), atol=1e-5
        )
    torch.manual_seed(1)
    turned = _augment("ada:rotate90")(x)
    for sample, out in zip(x, turned, strict=True):
        hits = [k for k in range(4) if torch.allclose(out, sample.rot90(k, (-2, -1)), atol=1e-5)]
        assert len(hits) == 1


def test_ada_integer_translation_moves_whole_pixels_within_an_eighth() -> None:
    x = _images(8)
    torch.manual_seed(2)
    moved = _augment("ada:xint")(x)
    for sample, out in zip(x, moved, strict=True):
        inner = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.allclose(
                out[:, 2:-2, 2:-2], sample[:, 2 + dy : 14 + dy, 2 + dx : 14 + dx], atol=1e-5
            )
        ]
        assert len(inner) == 1  # the interior is the image shifted by at most 16 / 8 pixels


def test_ada_brightness_and_contrast_on_grayscale_are_affine_per_image() -> None:
    x = _images(64)[:, :1]
    torch.manual_seed(3)
    y = _augment("ada:brightness")(x)
    shift = (y - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)
    assert 0.12 < shift[:, 0].std() < 0.3  # N(0, 0.2)
    y = _augment("ada:contrast")(x)
    ratio = y.flatten(1)[:, 0] / x.flatten(1)[:, 0]
    assert torch.allclose(y.flatten(1), x.flatten(1) * ratio[:, None], rtol=1e-4, atol=1e-6)


def test_ada_p_follows_the_sign_of_d_on_reals() -> None:
    """Every 4 D steps p moves by sign(r_t - 0.6) x images / 500k, within [0, 1]."""
    ada = AdaptiveAugment()
    for _ in range(3):
        ada.observe(torch.ones(64), 64)
    assert float(ada.p) == 0.0  # not yet an interval
    ada.observe(torch.ones(64), 64)
    assert float(ada.p) == pytest.approx(4 * 64 / 500_000, rel=1e-12)
    assert float(ada.logged()["augment/rt"]) == 1.0
    for _ in range(8):  # r_t = -1: down again, and not below 0
        ada.observe(-torch.ones(64), 64)
    assert float(ada.p) == 0.0
    mixed = torch.tensor([1.0] * 7 + [-1.0] * 3)  # r_t = 0.4 < 0.6
    for _ in range(4):
        ada.observe(mixed, 10)
    assert float(ada.p) == 0.0 and float(ada.logged()["augment/rt"]) == pytest.approx(0.4)


def test_ada_state_resumes_mid_interval() -> None:
    ada = AdaptiveAugment(speed_kimg=1)
    for _ in range(6):
        ada.observe(torch.ones(8), 8)
    again = AdaptiveAugment(speed_kimg=1)
    again.load_state_dict(ada.state_dict())
    for augment in (ada, again):
        for _ in range(2):
            augment.observe(torch.ones(8), 8)
    assert float(again.p) == float(ada.p) == pytest.approx(2 * 4 * 8 / 1000)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AdaptiveAugment(p=1.2), r"augment\.p: expected a probability"),
        (lambda: AdaptiveAugment(target=1.0), r"augment\.target: expected a number in \(0, 1\)"),
        (lambda: AdaptiveAugment(target=0), r"augment\.target"),
        (lambda: AdaptiveAugment(interval=0), r"augment\.interval"),
        (lambda: AdaptiveAugment(speed_kimg=0), r"augment\.speed_kimg"),
        (lambda: AdaptiveAugment(hue=2), r"augment\.hue: expected a probability"),
    ],
)
def test_bad_ada_settings_name_the_field(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_ada_strength_rises_while_d_overfits_64_images(compose_cfg: ComposeFn) -> None:
    """64 training images: D soon tells them apart (r_t > 0.6), so p climbs, logged as it goes."""
    cfg = compose_cfg(
        *TINY,
        *SMALL_MLP,
        "data.limit=64",
        "augment=ada",
        "augment.speed_kimg=1",
        "gan.max_g_steps=60",
        "gan.log_every=20",
    )
    summary = train(cfg)
    final = summary["final"]
    assert final["augment/rt"] > 0.6
    # 15 adjustments of 0.064 each: p rose in most of them (all 15 up would be 0.96).
    assert final["augment/p"] >= 0.064 * 7


def _ada_rank(rank: int, init: str, out: str) -> None:
    """One of two gloo processes: observe this rank's logits once, adjust, write p and r_t."""
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        ada = AdaptiveAugment(p=0.5, interval=1, speed_kimg=1.0)
        ones = torch.ones(64)
        logits = ones if rank == 0 else torch.cat([ones[:16], -ones[:48]])
        ada.observe(logits, 64)
        Path(out, f"rank{rank}").write_text(f"{float(ada.p)} {float(ada.last_rt)}")
    finally:
        torch.distributed.destroy_process_group()


def test_ada_p_is_the_same_on_every_rank_from_the_summed_signs(tmp_path: Path) -> None:
    """Two real gloo processes: rank 0's reals all score positive (r_t 1), rank 1's a quarter
    (r_t -0.5). p moves by the global r_t, (64 - 32) / 128 = 0.25 < 0.6, over the 128 images
    of both: 0.5 - 128 / 1000 on both ranks (alone, rank 0 would rise and rank 1 fall)."""
    import torch.multiprocessing as mp

    mp.spawn(_ada_rank, args=(f"file://{tmp_path / 'pg'}", str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        p, rt = map(float, (tmp_path / f"rank{rank}").read_text().split())
        assert p == pytest.approx(0.5 - 0.128, abs=1e-12) and rt == pytest.approx(0.25, abs=1e-12)

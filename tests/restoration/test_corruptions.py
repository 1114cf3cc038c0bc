"""Each corruption does what its settings say, on fixed images, reproducibly from a seed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlab.restoration import DownsampleCorruption, MaskCorruption, NoiseCorruption

from ..tolerances import assert_close_to_scale


def clean_images(n: int = 8, size: int = 28) -> torch.Tensor:
    """A fixed batch in [-1, 1]: smooth gradients plus a bright square, no randomness."""
    ramp = torch.linspace(-0.8, 0.8, size)
    images = (ramp.view(1, 1, size, 1) * ramp.view(1, 1, 1, size)).repeat(n, 1, 1, 1)
    images[:, :, 8:16, 10:20] = 0.9
    return images


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", ["box", "free_form"])
@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_mask_covers_the_configured_fraction(shape: str, fraction: float) -> None:
    clean = clean_images(n=64)
    out = MaskCorruption(fraction=fraction, shape=shape)(clean, rng())
    per_image = out.mask.flatten(1).mean(1)
    # boxes round their sides to whole pixels; strokes stop within one disc of the target
    assert per_image.mean().item() == pytest.approx(fraction, abs=0.02)
    assert (per_image - fraction).abs().max().item() < 0.06
    assert set(out.mask.unique().tolist()) <= {0.0, 1.0}
    known = out.mask == 0
    assert torch.equal(out.image[known], clean[known])  # known pixels are untouched
    assert (out.image[~known] == 0).all()  # holes are mid grey
    assert out.network_input.shape == (64, 2, 28, 28)


def test_boxes_are_single_rectangles_and_strokes_are_not() -> None:
    clean = clean_images(n=16)
    box = MaskCorruption(0.25, "box")(clean, rng()).mask[:, 0]
    for m in box:
        rows, cols = m.any(1).nonzero(), m.any(0).nonzero()
        bounding = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert m.sum() == bounding  # the mask fills its bounding box
    strokes = MaskCorruption(0.25, "free_form")(clean, rng()).mask[:, 0]
    filled = [(m.sum() / ((m.any(1).sum()) * (m.any(0).sum()))).item() for m in strokes]
    assert min(filled) < 0.9


def test_masks_depend_on_the_seed_only() -> None:
    clean = clean_images()
    corruption = MaskCorruption(0.3, "free_form")
    first = corruption(clean, rng(1)).mask
    assert torch.equal(first, corruption(clean, rng(1)).mask)
    assert not torch.equal(first, corruption(clean, rng(2)).mask)
    assert not torch.equal(first[0], first[1])  # every image gets its own holes


def test_mask_baselines_and_pasting_the_known_pixels() -> None:
    clean = clean_images()
    corruption = MaskCorruption(0.25)
    out = corruption(clean, rng())
    baselines = corruption.baselines(out)
    assert set(baselines) == {"input", "mean_fill"}
    holes = out.mask.bool()
    known_mean = (clean * ~holes).sum((1, 2, 3)) / (~holes).sum((1, 2, 3))
    filled = baselines["mean_fill"]
    assert torch.allclose(filled[0][holes[0]], known_mean[0].expand(int(holes[0].sum())))
    output = torch.full_like(clean, 0.5)
    composed = corruption.compose(output, out)
    assert torch.equal(composed[holes], output[holes])
    assert torch.equal(composed[~holes], clean[~holes])
    assert torch.equal(MaskCorruption(0.25, paste_known=False).compose(output, out), output)


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.2])
def test_noise_has_the_configured_sigma(sigma: float) -> None:
    grey = torch.zeros(32, 1, 28, 28)  # mid grey: clipping at 0 and 1 is 2.5 sigma away or more
    out = NoiseCorruption(sigma)(grey, rng())
    measured = ((out.image - grey) / 2).std().item()  # back on the [0, 1] scale
    assert measured == pytest.approx(sigma, rel=0.03)
    assert out.mask is None and out.image.abs().max() <= 1
    assert out.network_input.shape == grey.shape


def test_noise_is_clipped_to_the_image_range() -> None:
    white = torch.ones(4, 1, 28, 28)
    out = NoiseCorruption(0.2)(white, rng())
    assert out.image.max() <= 1 and out.image.min() >= -1
    assert (out.image < 1).any()


@pytest.mark.parametrize(("factor", "size"), [(2, 28), (4, 28), (4, 32), (2, 64)])
def test_downsample_sizes_and_bicubic_baseline(factor: int, size: int) -> None:
    clean = F.interpolate(clean_images(4), size=(size, size), mode="bilinear")
    corruption = DownsampleCorruption(factor)
    out = corruption(clean, rng())
    assert out.observed.shape == (4, 1, size // factor, size // factor)
    assert out.image.shape == clean.shape  # G sees the bicubic upsampling at full size
    assert corruption.observed_size(size) == size // factor
    baselines = corruption.baselines(out)
    assert set(baselines) == {"input", "bicubic"}
    assert torch.equal(baselines["bicubic"], out.image)
    nearest = baselines["input"]
    assert nearest.shape == clean.shape
    assert torch.equal(nearest[..., ::factor, ::factor], out.observed)
    # the low-resolution image keeps the mean of each block (antialiased downsampling)
    blocks = F.avg_pool2d(clean, factor)
    assert (out.observed - blocks).abs().mean() < 0.05


def test_downsample_keeps_a_constant_image() -> None:
    flat = torch.full((2, 3, 28, 28), 0.3)
    out = DownsampleCorruption(4)(flat, rng())
    assert_close_to_scale(out.image, flat)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MaskCorruption(fraction=1.5), "fraction"),
        (lambda: MaskCorruption(fraction=0), "fraction"),
        (lambda: MaskCorruption(shape="circle"), "shape"),
        (lambda: NoiseCorruption(sigma=0), "sigma"),
        (lambda: DownsampleCorruption(factor=3), "factor"),
    ],
)
def test_bad_settings_name_themselves(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_downsample_refuses_sizes_it_cannot_divide() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        DownsampleCorruption(4).check_shape((1, 30, 30))

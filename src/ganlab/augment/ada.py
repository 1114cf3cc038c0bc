"""ADA (Karras et al. 2020): StyleGAN2-ADA's augmentation pipeline with an adaptive strength.

Each transform is applied to each sample with probability ``p`` times its own weight, with
StyleGAN2-ADA's distributions (``training/augment.py``, pipeline ``bgc``):

- pixel blitting: x-flip, rotation by a multiple of 90 degrees, integer translation up to
  1/8 of each side;
- geometry: isotropic scaling 2^N(0, 0.2), rotation U(-180, 180) degrees (before and after
  the anisotropic scaling, each with 1 - sqrt(1 - p), so that one of them happens with p),
  anisotropic scaling 2^N(0, 0.2), fractional translation N(0, 0.125) of each side;
- color: brightness + N(0, 0.2), contrast x 2^N(0, 0.5), luma flip, hue rotation
  U(-180, 180) degrees, saturation x 2^N(0, 1) (hue and saturation only for RGB).

The geometric transforms are composed into one matrix per sample and applied in one
resampling, as in StyleGAN2-ADA; ganlab samples bilinearly with reflected borders, where
StyleGAN2-ADA also upsamples 2x with a wavelet filter first (less aliasing, the same
transforms). The color transforms compose into one 4x4 matrix per sample.

The strength adapts (``adaptive: true``): D's main phase reports the sign of its logits on
the augmented reals (``observe``); every ``interval`` D steps, r_t = E[sign(D(x))] is
compared with ``target`` and p moves by sign(r_t - target) x images / (``speed_kimg`` x 1000),
within [0, 1]: from 0 to 1 in 500k images at the paper's speed. The sums are all-reduced over
DDP ranks, so p is the same everywhere. p and the running sums are buffers: checkpoints keep
them and a resumed run continues with the same p (StyleGAN2-ADA's own resume starts again
from p = 0 unless told otherwise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.augment.checks import check_images, check_probability

# Luma axis of RGB, as a homogeneous 4-vector (StyleGAN2-ADA's).
_LUMA = torch.tensor([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3)


def _chosen(n: int, probability: float, device: torch.device) -> Tensor:
    """Which of ``n`` samples a transform applies to."""
    return torch.rand(n, device=device) < probability


def _translate(tx: Tensor, ty: Tensor) -> Tensor:
    m = torch.eye(3, device=tx.device).repeat(len(tx), 1, 1)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale(sx: Tensor, sy: Tensor) -> Tensor:
    m = torch.eye(3, device=sx.device).repeat(len(sx), 1, 1)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate(theta: Tensor) -> Tensor:
    m = torch.eye(3, device=theta.device).repeat(len(theta), 1, 1)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


class AdaptiveAugment(nn.Module):
    """StyleGAN2-ADA's ``bgc`` pipeline at strength ``p``, adapted toward ``target``."""

    def __init__(
        self,
        p: float = 0.0,
        adaptive: bool = True,
        target: float = 0.6,
        interval: int = 4,
        speed_kimg: float = 500.0,
        xflip: float = 1.0,
        rotate90: float = 1.0,
        xint: float = 1.0,
        scale: float = 1.0,
        rotate: float = 1.0,
        aniso: float = 1.0,
        xfrac: float = 1.0,
        brightness: float = 1.0,
        contrast: float = 1.0,
        lumaflip: float = 1.0,
        hue: float = 1.0,
        saturation: float = 1.0,
    ) -> None:
        super().__init__()
        check_probability("augment.p", p)
        if not isinstance(target, int | float) or not 0 < target < 1:
            raise ValueError(f"augment.target: expected a number in (0, 1), got {target!r}")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f"augment.interval: expected an integer >= 1, got {interval!r}")
        if not isinstance(speed_kimg, int | float) or speed_kimg <= 0:
            raise ValueError(f"augment.speed_kimg: expected a positive number, got {speed_kimg!r}")
        self.weights = {
            "xflip": xflip,
            "rotate90": rotate90,
            "xint": xint,
            "scale": scale,
            "rotate": rotate,
            "aniso": aniso,
            "xfrac": xfrac,
            "brightness": brightness,
            "contrast": contrast,
            "lumaflip": lumaflip,
            "hue": hue,
            "saturation": saturation,
        }
        for name, weight in self.weights.items():
            check_probability(f"augment.{name}", weight)
        self.adaptive = bool(adaptive)
        self.target = float(target)
        self.interval = interval
        self.speed_kimg = float(speed_kimg)
        self.register_buffer("p", torch.tensor(float(p), dtype=torch.float64))
        # Since the last adjustment: summed signs of D's real logits, their count, the D
        # steps observed and the real images they saw (over all ranks).
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("sign_count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("images", torch.zeros((), dtype=torch.float64))
        self.register_buffer("last_rt", torch.zeros((), dtype=torch.float64))

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Images with 1 or 3 channels (grayscale or RGB), before training."""
        check_images("AdaptiveAugment", shape)
        if shape[0] not in (1, 3):
            raise ValueError(
                f"augment: AdaptiveAugment's color transforms need 1 or 3 channels, the data "
                f"has {shape[0]}; use augment=diffaugment or augment=none"
            )

    # ------------------------------------------------------------------ adaptation

    def observe(self, real_logits: Tensor, batch_images: int) -> None:
        """D's logits on this D step's augmented reals; every ``interval`` steps p moves."""
        if not self.adaptive:
            return
        logits = real_logits.detach().to(torch.float64)
        self.sign_sum += logits.sign().sum()
        self.sign_count += logits.numel()
        self.images += batch_images
        self.steps += 1
        if int(self.steps) % self.interval == 0:
            self._adjust()

    def _adjust(self) -> None:
        stats = torch.stack([self.sign_sum, self.sign_count, self.images])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(stats)
        sign_sum, count, images = stats.tolist()
        rt = sign_sum / max(count, 1.0)
        step = math.copysign(images / (self.speed_kimg * 1000), rt - self.target)
        self.p.copy_((self.p + step).clamp(0.0, 1.0))
        self.last_rt.fill_(rt)
        self.sign_sum.zero_()
        self.sign_count.zero_()
        self.images.zero_()

    def logged(self) -> dict[str, Tensor]:
        """The curves a run logs: the strength and the last overfitting measure r_t."""
        return {"augment/p": self.p.float(), "augment/rt": self.last_rt.float()}

    # ------------------------------------------------------------------ the transforms

    def forward(self, x: Tensor) -> Tensor:
        p = float(self.p)
        if p == 0:
            return x
        x = self._geometric(x, p)
        return self._color(x, p)

    def _geometric(self, x: Tensor, p: float) -> Tensor:
        b, _, h, w = x.shape
        dev = x.device
        w_ = self.weights
        # g maps an output pixel (centred, in pixels) to the input pixel it samples.
        g = torch.eye(3, device=dev).repeat(b, 1, 1)
        if w_["xflip"] > 0:
            flip = torch.floor(torch.rand(b, device=dev) * 2)
            flip = torch.where(_chosen(b, w_["xflip"] * p, dev), flip, torch.zeros_like(flip))
            g = g @ _scale(1 - 2 * flip, torch.ones_like(flip))
        if w_["rotate90"] > 0:
            quarter = torch.floor(torch.rand(b, device=dev) * 4)
            quarter = torch.where(_chosen(b, w_["rotate90"] * p, dev), quarter, 0 * quarter)
            g = g @ _rotate(-math.pi / 2 * quarter)
        if w_["xint"] > 0:
            t = (torch.rand(b, 2, device=dev) * 2 - 1) * 0.125
            t = torch.where(_chosen(b, w_["xint"] * p, dev)[:, None], t, torch.zeros_like(t))
            g = g @ _translate(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if w_["scale"] > 0:
            s = torch.exp2(torch.randn(b, device=dev) * 0.2)
            s = torch.where(_chosen(b, w_["scale"] * p, dev), s, torch.ones_like(s))
            g = g @ _scale(1 / s, 1 / s)
        p_rot = 1 - math.sqrt(max(1 - w_["rotate"] * p, 0.0))
        for turn in ("before", "after"):
            if turn == "after" and w_["aniso"] > 0:
                s = torch.exp2(torch.randn(b, device=dev) * 0.2)
                s = torch.where(_chosen(b, w_["aniso"] * p, dev), s, torch.ones_like(s))
                g = g @ _scale(1 / s, s)
            if w_["rotate"] > 0:
                theta = (torch.rand(b, device=dev) * 2 - 1) * math.pi
                theta = torch.where(_chosen(b, p_rot, dev), theta, torch.zeros_like(theta))
                g = g @ _rotate(theta)
        if w_["xfrac"] > 0:
            t = torch.randn(b, 2, device=dev) * 0.125
            t = torch.where(_chosen(b, w_["xfrac"] * p, dev)[:, None], t, torch.zeros_like(t))
            g = g @ _translate(-t[:, 0] * w, -t[:, 1] * h)
        if torch.equal(g, torch.eye(3, device=dev).expand_as(g)):
            return x
        # Pixels to affine_grid's normalised coordinates (align_corners=False): x_n = 2 x / W.
        to_unit = _scale(torch.full((b,), 2 / w, device=dev), torch.full((b,), 2 / h, device=dev))
        theta = (to_unit @ g @ torch.linalg.inv(to_unit))[:, :2, :].to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(
            x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
        )

    def _color(self, x: Tensor, p: float) -> Tensor:
        b, channels = x.shape[:2]
        dev, w_ = x.device, self.weights
        eye = torch.eye(4, device=dev)
        c = eye.repeat(b, 1, 1)
        luma = _LUMA.to(dev)
        if w_["brightness"] > 0:
            shift = torch.randn(b, device=dev) * 0.2
            shift = torch.where(_chosen(b, w_["brightness"] * p, dev), shift, 0 * shift)
            m = eye.repeat(b, 1, 1)
            m[:, :3, 3] = shift[:, None]
            c = m @ c
        if w_["contrast"] > 0:
            k = torch.exp2(torch.randn(b, device=dev) * 0.5)
            k = torch.where(_chosen(b, w_["contrast"] * p, dev), k, torch.ones_like(k))
            c = torch.diag_embed(torch.stack([k, k, k, torch.ones_like(k)], dim=1)) @ c
        outer = torch.outer(luma, luma)
        if w_["lumaflip"] > 0:
            flip = torch.floor(torch.rand(b, 1, 1, device=dev) * 2)
            flip = torch.where(_chosen(b, w_["lumaflip"] * p, dev)[:, None, None], flip, 0 * flip)
            c = (eye - 2 * outer * flip) @ c
        if w_["hue"] > 0 and channels > 1:
            theta = (torch.rand(b, device=dev) * 2 - 1) * math.pi
            theta = torch.where(_chosen(b, w_["hue"] * p, dev), theta, torch.zeros_like(theta))
            c = _rotate_around(luma, theta) @ c
        if w_["saturation"] > 0 and channels > 1:
            s = torch.exp2(torch.randn(b, 1, 1, device=dev))
            s = torch.where(_chosen(b, w_["saturation"] * p, dev)[:, None, None], s, 1 + 0 * s)
            c = (outer + (eye - outer) * s) @ c
        if torch.equal(c, eye.expand_as(c)):
            return x
        c = c.to(x.dtype)
        flat = x.reshape(b, channels, -1)
        if channels == 3:
            flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
        else:  # grayscale: the mean response of the three channels, as StyleGAN2-ADA does
            rows = c[:, :3, :].mean(dim=1, keepdim=True)
            flat = flat * rows[:, :, :3].sum(dim=2, keepdim=True) + rows[:, :, 3:]
        return flat.reshape(x.shape)

    def extra_repr(self) -> str:
        mode = f"adaptive to r_t={self.target:g}" if self.adaptive else "fixed"
        return f"p={float(self.p):.4f}, {mode}"


def _rotate_around(axis: Tensor, theta: Tensor) -> Tensor:
    """4x4 homogeneous rotations by ``theta`` about the unit 3-vector in ``axis[:3]``."""
    x, y, z = axis[:3].tolist()
    c, s = torch.cos(theta), torch.sin(theta)
    t = 1 - c
    m = torch.eye(4, device=theta.device).repeat(len(theta), 1, 1)
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = t * x * x + c, t * x * y - s * z, t * x * z + s * y
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = t * x * y + s * z, t * y * y + c, t * y * z - s * x
    m[:, 2, 0], m[:, 2, 1], m[:, 2, 2] = t * x * z - s * y, t * y * z + s * x, t * z * z + c
    return m
